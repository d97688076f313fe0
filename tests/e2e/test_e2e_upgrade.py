"""Generations written before holds (charged at once, refunded on failure) still settle
after the upgrade: a failed one is refunded once, a running one that then succeeds
stays charged once, and neither gets a hold."""

import json
import uuid

import psycopg

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb
from videogen_common.db import libpq_url


def _old_row(stack, user: str, status: str, prediction: str | None) -> str:
    """As the charge-and-refund flow wrote it: charged, then submitted."""
    gid = str(uuid.uuid4())
    with psycopg.connect(libpq_url(stack.database_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO generation.generations (id, user_id, idempotency_key, fingerprint,"
            " model, resolution, prompt, duration_s, provider_model, provider_input, price,"
            " status, charge, prediction_id, error, completed_at, next_poll_at)"
            " VALUES (%s, %s, %s, 'f', 't2v-14B', '480p', 'a fox in the snow', 5,"
            " 'wavespeedai/wan-2.1-t2v-480p', %s, 10, %s, 'charged', %s, %s,"
            " CASE WHEN %s THEN now() END, now())",
            (
                gid,
                user,
                f"old-{gid}",
                json.dumps({"prompt": "a fox"}),
                status,
                prediction,
                "GPU fell over" if status == "failed" else None,
                status == "failed",
            ),
        )
    return gid


async def test_rows_charged_before_holds_settle_the_old_way(
    stack, funded_user, ledger, wait_for, send_webhook
):
    user = await funded_user(100)
    failed = _old_row(stack, user, "failed", None)
    stack.emulator.update_config({"paused": True, "webhook_drop_all": True})
    job = stack.emulator.create_prediction(
        model="wavespeedai/wan-2.1-t2v-480p",
        version="hidden",
        input={"prompt": "a fox"},
        webhook=None,
        webhook_events_filter=None,
    )
    running = _old_row(stack, user, "processing", job.id)
    generation = stack.generation_app.flow.credits
    for gid in (failed, running):  # the old flow's Deduct, keyed by the generation
        await generation.charge(await stack.generation_app.flow.repo.get(gid))
    assert (await ledger(user))[0] == 80

    async def refunded():
        g = (
            await stack.generation_api.GetGeneration(
                gpb.GetGenerationRequest(user_id=user, generation_id=failed)
            )
        ).generation
        return g if g.refunded else None

    await wait_for(refunded)
    status, _ = await send_webhook(
        running,
        {
            "id": job.id,
            "status": "succeeded",
            "logs": "",
            "output": f"{stack.emulator.base_url}/files/{job.id}.mp4",
        },
    )
    assert status == 200
    done = (
        await stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=running)
        )
    ).generation
    assert done.status == gpb.STATUS_SUCCEEDED and not done.reserved
    balance, entries = await ledger(user)
    kinds = sorted((e.kind, e.reference) for e in entries if e.reference)
    assert balance == 90
    assert kinds == sorted(
        [
            (cpb.ENTRY_KIND_USAGE, failed),
            (cpb.ENTRY_KIND_REFUND, failed),
            (cpb.ENTRY_KIND_USAGE, running),
        ]
    )
    holds = await stack.credits_admin.ListGrants(cpb.ListGrantsRequest(user_id=user))
    assert list(holds.open_holds) == []
