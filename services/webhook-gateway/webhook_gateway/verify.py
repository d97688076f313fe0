"""Standard Webhooks verification (what Replicate signs with), on the raw bytes.

The `standardwebhooks` package does the cryptography and the 5 minute tolerance; this
module classifies its failures (400 malformed, 401 not authentic), accepts several
secrets for rotation, and guards the inputs the package would crash on.
"""
from __future__ import annotations

import binascii
import json
from collections.abc import Mapping, Sequence

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from .refusals import Malformed, NotAuthentic

REQUIRED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class Verifier:
    def __init__(self, secrets: Sequence[str]) -> None:
        # A bad secret is a configuration error: it stops the service at start.
        self._webhooks = [Webhook(secret) for secret in secrets]

    def verify(self, body: bytes, headers: Mapping[str, str]) -> tuple[str, dict]:
        """(webhook id, parsed JSON object) of an authentic webhook, or raise."""
        lowered = {k.lower(): v for k, v in headers.items()}
        missing = [h for h in REQUIRED_HEADERS if not lowered.get(h)]
        if missing:
            raise Malformed(f"missing headers: {', '.join(missing)}")
        if not lowered["webhook-timestamp"].isdigit():
            raise Malformed("webhook-timestamp must be unix seconds")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("body is not UTF-8") from None
        wanted = {h: lowered[h] for h in REQUIRED_HEADERS}
        last_error = "no secret configured"
        for webhook in self._webhooks:
            try:
                webhook.verify(text, wanted, json_parse=False)
                break
            except WebhookVerificationError as error:
                last_error = str(error)
            except (ValueError, binascii.Error):
                last_error = "malformed signature"
        else:
            raise NotAuthentic(last_error)
        try:
            data = json.loads(text)
        except ValueError:
            raise Malformed("body is not JSON") from None
        if not isinstance(data, dict):
            raise Malformed("body must be a JSON object")
        return lowered["webhook-id"], data
