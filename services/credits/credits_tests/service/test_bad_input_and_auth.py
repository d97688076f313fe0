"""Bad input names the field and changes nothing; callers are authenticated per RPC."""

import grpc
import pytest

from videogen.credits.v1 import credits_pb2 as pb
from videogen_common.caller_auth import AuthedStub

from ..helpers import account_with, balance_of, entries_of, new_key, rpc_error

BAD_DEDUCTS = [
    ({"amount": 0}, "amount"),
    ({"amount": -5}, "amount"),
    ({"amount": 1_000_001}, "amount"),
    ({"amount": 2**62}, "amount"),
    ({"user_id": "not-a-uuid"}, "user_id"),
    ({"user_id": ""}, "user_id"),
    ({"reference": ""}, "reference"),
    ({"reference": "r" * 201}, "reference"),
    ({"idempotency_key": ""}, "idempotency_key"),
    ({"idempotency_key": "k" * 201}, "idempotency_key"),
    ({"description": "d" * 501}, "description"),
]


@pytest.mark.parametrize("change, field", BAD_DEDUCTS)
async def test_bad_deduct_names_the_field_and_changes_nothing(credits, change, field):
    user = await account_with(credits, 50)
    values = dict(user_id=user, amount=5, reference="gen-x", idempotency_key=new_key())
    values.update(change)
    error = await rpc_error(credits.generation.Deduct(pb.DeductRequest(**values)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in [v.field for v in error.violations]
    assert await balance_of(credits, user) == 50
    assert len(await entries_of(credits, user)) == 2


async def test_every_bad_field_is_named_at_once(credits):
    error = await rpc_error(
        credits.generation.Deduct(
            pb.DeductRequest(user_id="x", amount=0, reference="", idempotency_key="")
        )
    )
    assert {v.field for v in error.violations} == {
        "user_id",
        "amount",
        "reference",
        "idempotency_key",
    }


async def test_unknown_user_is_invalid_argument(credits):
    error = await rpc_error(
        credits.generation.Deduct(
            pb.DeductRequest(
                user_id="00000000-0000-4000-8000-000000000000",
                amount=1,
                reference="gen-y",
                idempotency_key=new_key(),
            )
        )
    )
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "UNKNOWN_ACCOUNT")
    assert [v.field for v in error.violations] == ["user_id"]
    error = await rpc_error(
        credits.api.GetBalance(pb.GetBalanceRequest(user_id="00000000-0000-4000-8000-000000000000"))
    )
    assert error.reason == "UNKNOWN_ACCOUNT"


@pytest.mark.parametrize(
    "kind, actor, description, field",
    [
        (pb.ENTRY_KIND_UNSPECIFIED, "", "", "kind"),
        (pb.ENTRY_KIND_USAGE, "", "", "kind"),
        (pb.ENTRY_KIND_REFUND, "", "", "kind"),
        (pb.ENTRY_KIND_SIGNUP_GRANT, "", "", "kind"),
        (99, "", "", "kind"),
        (pb.ENTRY_KIND_ADMIN_ADJUSTMENT, "", "reason", "actor"),
        (pb.ENTRY_KIND_ADMIN_ADJUSTMENT, "admin-1", "", "description"),
    ],
)
async def test_bad_add_is_refused(credits, kind, actor, description, field):
    user = await account_with(credits, 50)
    error = await rpc_error(
        credits.admin.Add(
            pb.AddRequest(
                user_id=user,
                amount=5,
                kind=kind,
                idempotency_key=new_key(),
                actor=actor,
                description=description,
            )
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in [v.field for v in error.violations]
    assert await balance_of(credits, user) == 50


async def test_bad_page_token_and_size(credits):
    user = await account_with(credits, 50)
    error = await rpc_error(
        credits.api.ListTransactions(
            pb.ListTransactionsRequest(user_id=user, page_size=1000, page_token="garbage!")
        )
    )
    assert {v.field for v in error.violations} == {"page_size", "page_token"}


async def test_missing_and_wrong_tokens_are_unauthenticated(credits):
    user = await account_with(credits, 50)
    request = pb.GetBalanceRequest(user_id=user)
    missing = await rpc_error(credits.anonymous.GetBalance(request))
    forged = await rpc_error(AuthedStub(credits.anonymous, "x" * 32).GetBalance(request))
    assert missing.code == forged.code == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    "caller, rpc, request_",
    [
        ("api", "Deduct", pb.DeductRequest()),
        ("payments", "Refund", pb.RefundRequest()),
        ("generation", "Add", pb.AddRequest()),
        ("api", "Reconcile", pb.ReconcileRequest()),
        ("generation", "SetPlan", pb.SetPlanRequest()),
    ],
)
async def test_callers_are_authorized_per_rpc(credits, caller, rpc, request_):
    error = await rpc_error(getattr(getattr(credits, caller), rpc)(request_))
    assert error.code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "caller, kind",
    [
        ("admin", pb.ENTRY_KIND_PURCHASE),
        ("payments", pb.ENTRY_KIND_ADMIN_ADJUSTMENT),
    ],
)
async def test_callers_are_authorized_per_kind(credits, caller, kind):
    user = await account_with(credits, 50)
    error = await rpc_error(
        getattr(credits, caller).Add(
            pb.AddRequest(
                user_id=user,
                amount=5,
                kind=kind,
                idempotency_key=new_key(),
                actor="a",
                description="d",
            )
        )
    )
    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert await balance_of(credits, user) == 50
