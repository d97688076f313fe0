"""Webhooks signed the way each sender signs them."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from standardwebhooks import Webhook
from stripe import WebhookSignature

REPLICATE_SECRET = "whsec_" + "c2VydmljZS10ZXN0LXJlcGxpY2F0ZS1zZWNyZXQtMzI="
STRIPE_SECRET = "whsec_service_test_stripe_secret"


def replicate_headers(body: str, *, secret: str = REPLICATE_SECRET, age_s: int = 0) -> dict:
    webhook_id = f"msg_{secrets.token_hex(8)}"
    at = datetime.now(UTC) - timedelta(seconds=age_s)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
        "content-type": "application/json",
    }


def stripe_headers(body: str) -> dict:
    return {
        "Stripe-Signature": WebhookSignature.generate_signature_header(body, STRIPE_SECRET),
        "content-type": "application/json",
    }
