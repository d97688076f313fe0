"""The generation service as its callers see it: who may call what, what a bad request
is told, the catalog, and a job that completes with no webhook ever arriving."""

from __future__ import annotations

import uuid

import grpc

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb
from videogen_common.grpc_status import parse_rpc_error
from videogen_common.testing.waits import eventually


async def _error(call):
    try:
        await call
    except grpc.RpcError as error:
        return parse_rpc_error(error)
    raise AssertionError("expected an error")


async def funded_user(generation) -> str:
    user = str(uuid.uuid4())
    await generation.credits.EnsureAccount(cpb.EnsureAccountRequest(user_id=user))
    return user


async def balance(generation, user: str) -> cpb.Account:
    reply = await generation.credits.GetBalance(cpb.GetBalanceRequest(user_id=user))
    return reply.account


def t2v(user: str, key: str) -> gpb.CreateGenerationRequest:
    return gpb.CreateGenerationRequest(
        user_id=user,
        idempotency_key=key,
        model="t2v-14B",
        resolution="480p",
        prompt="a red fox running through fresh snow",
        duration_s=5,
    )


async def test_catalog_lists_models_prices_and_limits(generation):
    catalog = await generation.api.GetCatalog(gpb.GetCatalogRequest())
    prices = {(m.model, p.resolution): p.credits for m in catalog.models for p in m.prices}
    assert prices == {
        ("i2v-14B", "480p"): 15,
        ("i2v-14B", "720p"): 25,
        ("t2v-1.3B", "480p"): 5,
        ("t2v-14B", "480p"): 10,
        ("t2v-14B", "720p"): 20,
    }
    assert (catalog.limits.prompt_length_min, catalog.limits.duration_s_max) == (10, 10)


async def test_a_caller_without_a_token_or_with_a_forged_one_is_unauthenticated(generation):
    request = gpb.GetCatalogRequest()
    missing = await _error(generation.anonymous.GetCatalog(request))
    forged = await _error(
        generation.anonymous.GetCatalog(request, metadata=[("authorization", "Bearer forged")])
    )
    assert missing.code == forged.code == grpc.StatusCode.UNAUTHENTICATED


async def test_each_caller_may_call_only_its_own_rpcs(generation):
    user = await funded_user(generation)
    # The webhook gateway cannot spend a user's credits, the API cannot forge provider news.
    spend = await _error(generation.webhooks.CreateGeneration(t2v(user, "k")))
    forge = await _error(
        generation.api.ApplyProviderUpdate(
            gpb.ApplyProviderUpdateRequest(generation_id=str(uuid.uuid4()), prediction_json=b"{}")
        )
    )
    assert spend.code == forge.code == grpc.StatusCode.PERMISSION_DENIED
    assert (await balance(generation, user)).available == 100
    assert generation.emulator.store.history == {}


async def test_bad_requests_name_each_field_and_create_nothing(generation):
    user = await funded_user(generation)
    error = await _error(
        generation.api.CreateGeneration(
            gpb.CreateGenerationRequest(
                user_id=user,
                idempotency_key="k",
                model="t2v-1.3B",
                resolution="720p",
                prompt="short",
                duration_s=11,
            )
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in error.violations} == {"resolution", "prompt", "duration"}
    listed = await generation.api.ListGenerations(gpb.ListGenerationsRequest(user_id=user))
    assert list(listed.generations) == []
    assert (await balance(generation, user)).available == 100
    bad_user = await _error(
        generation.api.GetGeneration(
            gpb.GetGenerationRequest(user_id="nope", generation_id=str(uuid.uuid4()))
        )
    )
    assert [v.field for v in bad_user.violations] == ["user_id"]


async def test_without_webhooks_polling_completes_the_job_and_charges_it_once(generation):
    user = await funded_user(generation)
    created = (await generation.api.CreateGeneration(t2v(user, "k"))).generation

    async def finished():
        reply = await generation.api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=created.id)
        )
        g = reply.generation
        return g if g.status == gpb.STATUS_SUCCEEDED and g.video_url else None  # our copy

    done = await eventually(finished, timeout_s=30)
    assert done.video_url and done.credits_used == 10
    account = await balance(generation, user)
    assert (account.available, account.reserved) == (90, 0)
    [job] = generation.emulator.store.history.values()
    assert job.webhook.endswith(f"generation_id={created.id}")
