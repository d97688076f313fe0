"""The Replicate webhook endpoint, with webhooks signed by the standardwebhooks package."""

import asyncio
import base64
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from standardwebhooks import Webhook

from videogen.generation.v1 import generation_pb2 as gpb
from videogen_webhook_gateway.main import start as start_gateway
from videogen_webhook_gateway.settings import WebhookGatewaySettings


def signed(
    secret: str, body: bytes, *, webhook_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    webhook_id = webhook_id or f"msg_{secrets.token_hex(8)}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(webhook_id, at, body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


async def _post(url: str, body: bytes, headers: dict) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as response:
            try:
                payload = await response.json(content_type=None)
            except ValueError:
                payload = {}
            return response.status, payload


def _url(stack, gen_id: str) -> str:
    return f"{stack.gateway_app.base_url}/api/webhooks/replicate?generation_id={gen_id}"


def _body(prediction_id: str, status: str, logs: str = "") -> bytes:
    return json.dumps(
        {
            "id": prediction_id,
            "status": status,
            "logs": logs,
            "output": None,
            "error": "boom" if status == "failed" else None,
        }
    ).encode()


async def _status(stack, user, gen_id):
    return (
        await stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=gen_id)
        )
    ).generation


async def test_a_valid_webhook_is_applied_once_even_delivered_three_times(
    stack, paused_generation, ledger
):
    user, gen, prediction_id = paused_generation
    body = _body(prediction_id, "failed")
    headers = signed(stack.emulator.webhook_secret, body)
    answers = [await _post(_url(stack, gen.id), body, headers) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 200]
    assert [a[1].get("duplicate", False) for a in answers] == [False, True, True]
    final = await _status(stack, user, gen.id)
    assert final.status == gpb.STATUS_FAILED and final.refunded
    assert (await ledger(user))[0] == 100


def _tamper(headers, body, secret):
    return headers, body.replace(b"failed", b"succeeded")


REFUSALS = {
    "forged signature": (
        401,
        lambda h, b, s: (
            {**h, "webhook-signature": "v1," + base64.b64encode(bytes(32)).decode()},
            b,
        ),
    ),
    "tampered body": (401, _tamper),
    "wrong secret": (
        401,
        lambda h, b, s: (signed("whsec_" + base64.b64encode(b"x" * 32).decode(), b), b),
    ),
    "stale timestamp": (
        401,
        lambda h, b, s: (signed(s, b, at=datetime.now(UTC) - timedelta(minutes=6)), b),
    ),
    "future timestamp": (
        401,
        lambda h, b, s: (signed(s, b, at=datetime.now(UTC) + timedelta(minutes=6)), b),
    ),
    "malformed base64": (401, lambda h, b, s: ({**h, "webhook-signature": "v1,@@not-base64@@"}, b)),
    "signature without version": (401, lambda h, b, s: ({**h, "webhook-signature": "garbage"}, b)),
    "missing id": (400, lambda h, b, s: ({k: v for k, v in h.items() if k != "webhook-id"}, b)),
    "missing signature": (
        400,
        lambda h, b, s: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
    ),
    "timestamp not a number": (400, lambda h, b, s: ({**h, "webhook-timestamp": "yesterday"}, b)),
    "not JSON": (415, lambda h, b, s: ({**h, "content-type": "text/plain"}, b)),
    "signed but not JSON": (400, lambda h, b, s: (signed(s, b"not json"), b"not json")),
    "oversized": (
        413,
        lambda h, b, s: (
            signed(s, b"[" + b"0," * (3 * 1024 * 1024) + b"0]"),
            b"[" + b"0," * (3 * 1024 * 1024) + b"0]",
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_bad_webhooks_are_refused_and_change_nothing(stack, paused_generation, case):
    user, gen, prediction_id = paused_generation
    body = _body(prediction_id, "failed")
    status, make = REFUSALS[case]
    headers, sent = make(
        signed(stack.emulator.webhook_secret, body), body, stack.emulator.webhook_secret
    )
    answer, payload = await _post(_url(stack, gen.id), sent, headers)
    assert answer == status, payload
    assert "detail" in payload
    assert (await _status(stack, user, gen.id)).status == gpb.STATUS_STARTING


async def test_without_a_secret_the_endpoint_refuses_everything(stack, paused_generation):
    user, gen, prediction_id = paused_generation
    closed = await start_gateway(
        WebhookGatewaySettings(
            _env_file=None,
            database_url=stack.service_urls["webhook-gateway"],
            webhook_gateway_port=0,
            replicate_webhook_secret="",
            generation_address="127.0.0.1:1",
            webhook_gateway_generation_token="e2e-webhooks-token-0000",
        )
    )
    try:
        body = _body(prediction_id, "failed")
        answer, _ = await _post(
            f"{closed.base_url}/api/webhooks/replicate",
            body,
            signed(stack.emulator.webhook_secret, body),
        )
        assert answer == 503
    finally:
        await closed.stop()
    assert (await _status(stack, user, gen.id)).status == gpb.STATUS_STARTING


async def test_rotation_accepts_either_secret(stack, paused_generation):
    user, gen, prediction_id = paused_generation
    new_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    rotating = await start_gateway(
        WebhookGatewaySettings(
            _env_file=None,
            database_url=stack.service_urls["webhook-gateway"],
            webhook_gateway_port=0,
            replicate_webhook_secret=f"{new_secret} {stack.emulator.webhook_secret}",
            generation_address=f"127.0.0.1:{stack.generation_app.port}",
            webhook_gateway_generation_token="e2e-webhooks-token-0000",
        )
    )
    try:
        for secret, status in (
            (stack.emulator.webhook_secret, "processing"),
            (new_secret, "failed"),
        ):
            body = _body(prediction_id, status, logs=" 50%|█████")
            answer, _ = await _post(
                f"{rotating.base_url}/api/webhooks/replicate", body, signed(secret, body)
            )
            assert answer == 200
    finally:
        await rotating.stop()
    assert (await _status(stack, user, gen.id)).status == gpb.STATUS_FAILED


async def test_generation_down_is_503_then_the_retry_applies_once(
    stack, paused_generation, ledger, tmp_path
):
    from videogen_generation.main import start as start_generation

    user, gen, prediction_id = paused_generation
    port = stack.generation_app.port
    await stack.generation_app.stop(0)
    body = _body(prediction_id, "failed")
    headers = signed(stack.emulator.webhook_secret, body)
    started = time.monotonic()
    answer, _ = await _post(_url(stack, gen.id), body, headers)
    assert answer == 503 and time.monotonic() - started < 15
    stack.generation_app = await start_generation(
        stack.generation_settings(
            media_dir=tmp_path / "m", generation_grpc_address=f"127.0.0.1:{port}"
        )
    )
    # Like Replicate, retry until accepted: the gateway's channel reconnects with backoff.
    for _ in range(40):
        answer, payload = await _post(_url(stack, gen.id), body, headers)
        if answer != 503:
            break
        await asyncio.sleep(0.25)
    assert (answer, payload.get("duplicate", False)) == (200, False)
    assert (await _post(_url(stack, gen.id), body, headers))[1]["duplicate"] is True
    assert (await _status(stack, user, gen.id)).refunded
    assert (await ledger(user))[0] == 100
