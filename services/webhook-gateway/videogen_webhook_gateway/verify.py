"""Standard Webhooks verification (what Replicate signs with), on the raw bytes.

The `standardwebhooks` package does the cryptography and the 5 minute tolerance; this
module classifies its failures (400 malformed, 401 not authentic), accepts several
secrets for rotation, and guards the inputs the package would crash on.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping, Sequence

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from stripe import SignatureVerificationError, WebhookSignature

from .domain import Malformed, NotAuthentic

REQUIRED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
STRIPE_TOLERANCE_S = 300
_STRIPE_HEADER = re.compile(r"^t=\d{1,12}(,[a-z0-9]{1,8}=[0-9a-zA-Z_]{1,256})+$")


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


def stripe_verifier(secret: str):
    """Stripe-Signature (t=…,v1=…): hex HMAC-SHA256 over "t.body", checked by `stripe`."""

    def verify(body: bytes, headers: Mapping[str, str]) -> tuple[str, dict]:
        header = headers.get("Stripe-Signature")
        if not header:
            raise Malformed("missing Stripe-Signature header")
        if not _STRIPE_HEADER.match(header):
            raise Malformed("Stripe-Signature must look like t=<unix seconds>,v1=<hex>")
        try:
            WebhookSignature.verify_header(body, header, secret, STRIPE_TOLERANCE_S)
        except SignatureVerificationError as error:
            raise NotAuthentic(str(error).split(".")[0]) from None
        except (ValueError, IndexError, UnicodeDecodeError):
            raise Malformed("unreadable Stripe-Signature header or body") from None
        try:
            event = json.loads(body)
        except ValueError:
            raise Malformed("body is not JSON") from None
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise Malformed("body must be a Stripe event object")
        return event["id"], event

    return verify
