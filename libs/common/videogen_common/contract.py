"""The API's limits, one home for every service that checks or states them. Standard
library only."""

from __future__ import annotations

# An Idempotency-Key (HTTP) or idempotency_key (gRPC), in characters.
IDEMPOTENCY_KEY_LENGTH_MAX = 200
# Lists: what a page holds when the caller does not say, and the most it may ask for
# over HTTP (the gRPC services allow more to their internal callers).
PAGE_SIZE_DEFAULT = 50
HTTP_PAGE_SIZE_MAX = 100
# A page token or cursor, in characters.
PAGE_TOKEN_LENGTH_MAX = 200
# An uploaded input image.
IMAGE_BYTES_MAX = 10 * 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
# A generation in one of these is still running (and holds its user's credits); every
# other status is final. Named as the wire names them (generation status, lower case).
OPEN_GENERATION_STATUSES = ("queued", "starting", "processing")
