"""Pure rules: input checks, fingerprints, outcome mapping, page tokens, policy."""

from datetime import UTC, datetime

import pytest

from videogen_common.errors import InsufficientCredits, InvalidArgument, PermissionDenied
from videogen_common.status_table import http_status_for
from videogen_common.wire import encode_page_token
from videogen_credits import policy
from videogen_credits.domain import (
    AlreadyRefunded,
    ChargeNotFound,
    Entry,
    IdempotencyKeyReused,
    Kind,
    Mutation,
    Op,
    ReferenceAlreadyCharged,
)
from videogen_credits.mutations_store import Outcome
from videogen_credits.outcomes import settle
from videogen_credits.rules import Rules
from videogen_credits.service import PAGE_KIND, decode_page_token

USER = "6f1c1d3e-8a55-4d6b-9d55-2f1b8e0c4a11"


def mutation(**changes) -> Mutation:
    values = dict(
        op=Op.TAKE,
        user_id=USER,
        amount=5,
        kind=Kind.USAGE,
        reference="gen-1",
        idempotency_key="k1",
        description="d",
        actor="generation",
    )
    values.update(changes)
    return Mutation(**values)


@pytest.mark.parametrize(
    "amount, message",
    [
        (0, "must not be zero"),
        (-1, "must be positive"),
        (1_000_001, "must be at most 1000000"),
    ],
)
def test_amount_rules_name_the_field(amount, message):
    found = []
    Rules(amount_max=1_000_000).amount(amount, found)
    assert [(v.field, v.description) for v in found] == [("amount", message)]


def test_signed_amount_allows_negative_but_not_beyond_max():
    rules, found = Rules(amount_max=10), []
    rules.amount(-10, found, signed=True)
    assert found == []
    rules.amount(-11, found, signed=True)
    assert found[0].field == "amount"


@pytest.mark.parametrize("value", ["", "not-a-uuid", "123", USER + "x"])
def test_malformed_user_ids_are_refused(value):
    found = []
    Rules(10).user_id(value, found)
    assert [v.field for v in found] == ["user_id"]


def test_user_id_is_normalised():
    assert Rules(10).user_id(USER.upper(), []) == USER


@pytest.mark.parametrize(
    "value, problem",
    [
        ("", "is required"),
        ("   ", "is required"),
        ("x" * 201, "at most 200"),
        ("a\x00b", "control characters"),
    ],
)
def test_key_rules(value, problem):
    found = []
    Rules(10).key(value, found)
    assert found[0].field == "idempotency_key" and problem in found[0].description


def test_fingerprint_ignores_free_text_but_not_parameters():
    base = mutation()
    assert base.fingerprint == mutation(description="other", actor="x").fingerprint
    for change in (
        {"amount": 6},
        {"user_id": USER[:-1] + "2"},
        {"reference": "gen-2"},
        {"op": Op.GRANT},
        {"kind": Kind.GRANT},
    ):
        assert mutation(**change).fingerprint != base.fingerprint, change


def entry() -> Entry:
    return Entry(1, USER, Kind.USAGE, -5, 95, "gen-1", "", "generation", datetime.now(UTC))


def test_settle_ok_and_replay():
    applied = settle(Outcome("ok", entry(), 95, None, True), mutation())
    assert applied.balance == 95 and applied.replayed and applied.entry.amount == -5


@pytest.mark.parametrize(
    "status, error",
    [
        ("key_reused", IdempotencyKeyReused),
        ("no_charge", ChargeNotFound),
        ("already_refunded", AlreadyRefunded),
        ("reference_charged", ReferenceAlreadyCharged),
        ("no_account", InvalidArgument),
    ],
)
def test_settle_maps_each_refusal(status, error):
    with pytest.raises(error):
        settle(Outcome(status, None, None, None, False), mutation())


def test_insufficient_credits_carries_balance_and_price_and_maps_to_402():
    with pytest.raises(InsufficientCredits) as caught:
        settle(Outcome("insufficient", None, 3, 5, False), mutation())
    assert caught.value.metadata == {"balance": "3", "required": "5"}
    assert http_status_for(caught.value) == 402


def test_unknown_outcome_is_a_programming_error():
    with pytest.raises(AssertionError):
        settle(Outcome("surprise", None, None, None, False), mutation())


def test_page_token_round_trip_and_garbage():
    found = []
    assert decode_page_token(encode_page_token(PAGE_KIND, 12345), found) == 12345 and found == []
    for garbage in (
        "???",
        "e:12",
        encode_page_token(PAGE_KIND, 1)[:-1] + "!",
        "eDox",
        encode_page_token("g", 1),
    ):
        found = []
        decode_page_token(garbage, found)
        assert [v.field for v in found] == ["page_token"], garbage


def test_policy_per_rpc_and_kind():
    policy.authorize(policy.GENERATION, "Deduct")
    with pytest.raises(PermissionDenied):
        policy.authorize(policy.API, "Deduct")
    with pytest.raises(PermissionDenied):
        policy.authorize("stranger", "GetBalance")
    policy.authorize_add(policy.PAYMENTS, Kind.PURCHASE)
    with pytest.raises(PermissionDenied):
        policy.authorize_add(policy.ADMIN, Kind.PURCHASE)
    with pytest.raises(PermissionDenied):
        policy.authorize_add(policy.PAYMENTS, Kind.ADMIN_ADJUSTMENT)
