"""Signed, expiring links to stored media (videos, uploaded input images).

Generation signs the links it hands out; the API gateway's /media checks them. Both
hold MEDIA_URL_SECRET, nobody else: a link works for whoever holds it, until it
expires, and no link can be made up for a path nobody was given. (An S3 bucket does the
same with its own presigned URLs.)
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from urllib.parse import urlsplit

# Stored files: <kind>/<generation id>.<extension>, nothing else is ever served.
MEDIA_PATH = re.compile(r"^(videos/[0-9a-f-]{36}\.mp4|inputs/[0-9a-f-]{36}\.(png|jpg|webp))$")
CONTENT_TYPES = {
    "mp4": "video/mp4",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
}
# Expiries are rounded up to this step, so a list fetched twice in a row names the same
# URLs and a browser's cache of them holds.
EXPIRY_STEP_S = 300


def relative_of(url: str, public_base_url: str) -> str | None:
    """The stored file a URL of ours names (its query, a signature, left out), or None
    for a URL that is not under our base URL or names nothing we store."""
    prefix = public_base_url.rstrip("/") + "/"
    if not url.startswith(prefix):
        return None
    relative = urlsplit(url[len(prefix) :]).path
    return relative if MEDIA_PATH.match(relative) else None


def input_of(url: str, public_base_url: str) -> str | None:
    """The generation whose uploaded image a URL of ours names, if it names one."""
    relative = relative_of(url, public_base_url)
    if relative is None or not relative.startswith("inputs/"):
        return None
    return relative[len("inputs/") :].split(".", 1)[0]


def _signature(secret: str, relative: str, expires: int) -> str:
    message = f"{relative}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, relative: str, ttl_s: int, now: float | None = None) -> str:
    """The query string that makes ``relative`` readable for at least ``ttl_s``."""
    moment = time.time() if now is None else now
    expires = math.ceil((moment + ttl_s) / EXPIRY_STEP_S) * EXPIRY_STEP_S
    return f"expires={expires}&signature={_signature(secret, relative, expires)}"


def check(
    secret: str, relative: str, expires: str, signature: str, now: float | None = None
) -> bool:
    """Whether this link was signed with ``secret`` and has not expired."""
    if not MEDIA_PATH.match(relative) or not expires.isdigit() or len(expires) > 12:
        return False
    moment = time.time() if now is None else now
    if int(expires) < moment:
        return False
    return hmac.compare_digest(_signature(secret, relative, int(expires)), signature)


def content_type(relative: str) -> str:
    return CONTENT_TYPES[relative.rsplit(".", 1)[1]]
