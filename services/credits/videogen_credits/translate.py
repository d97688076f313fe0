"""Domain values <-> protobuf messages, for the servicer. No rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from videogen.credits.v1 import credits_pb2 as pb
from videogen_common.wire import timestamp

from .domain import Account, Entry, Grant, Hold, HoldStatus, Kind, Package, Plan, Source

KIND_TO_PB = {kind: getattr(pb, f"ENTRY_KIND_{kind.name}") for kind in Kind}
KIND_FROM_PB = {v: k for k, v in KIND_TO_PB.items()}
SOURCE_TO_PB = {source: getattr(pb, f"GRANT_SOURCE_{source.name}") for source in Source}
SOURCE_FROM_PB = {v: k for k, v in SOURCE_TO_PB.items()}
HOLD_STATUS_TO_PB = {s: getattr(pb, f"HOLD_STATUS_{s.name}") for s in HoldStatus}


def optional_time(message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    return getattr(message, field).ToDatetime(tzinfo=UTC)


@overload
def entry_pb(entry: Entry) -> pb.Entry: ...
@overload
def entry_pb(entry: None) -> None: ...
def entry_pb(entry: Entry | None) -> pb.Entry | None:
    if entry is None:
        return None
    return pb.Entry(
        id=entry.id,
        user_id=entry.user_id,
        kind=KIND_TO_PB[entry.kind],
        amount=entry.amount,
        balance_after=entry.balance_after,
        reference=entry.reference,
        description=entry.description,
        actor=entry.actor,
        created_at=timestamp(entry.created_at),
        debt_delta=entry.debt_delta,
    )


def account_pb(account: Account, low: bool) -> pb.Account:
    message = pb.Account(
        user_id=account.user_id,
        balance=account.available,
        plan=account.plan,
        low_balance=low,
        unlimited=account.unlimited,
        created_at=timestamp(account.created_at),
        available=account.available,
        reserved=account.reserved,
        total=account.total,
        debt=account.debt,
        plan_period_end=timestamp(account.plan_period_end),
    )
    if account.next_expiry_at is not None:
        message.next_expiry.CopyFrom(
            pb.ExpiryNotice(amount=account.next_expiry_amount, at=timestamp(account.next_expiry_at))
        )
    return message


def grant_pb(grant: Grant) -> pb.Grant:
    return pb.Grant(
        id=grant.id,
        source=SOURCE_TO_PB[grant.source],
        amount=grant.amount,
        remaining=grant.remaining,
        expired=grant.expired,
        priority=grant.priority,
        expires_at=timestamp(grant.expires_at),
        reference=grant.reference,
        created_at=timestamp(grant.created_at),
        reversed=grant.reversed,
    )


@overload
def hold_pb(hold: Hold) -> pb.Hold: ...
@overload
def hold_pb(hold: None) -> None: ...
def hold_pb(hold: Hold | None) -> pb.Hold | None:
    if hold is None:
        return None
    return pb.Hold(
        id=hold.id,
        user_id=hold.user_id,
        reference=hold.reference,
        amount=hold.amount,
        status=HOLD_STATUS_TO_PB[hold.status],
        captured=hold.captured or 0,
        expires_at=timestamp(hold.expires_at),
    )


def package_pb(package: Package) -> pb.Package:
    return pb.Package(
        id=package.id, credits=package.credits, price=package.price, currency=package.currency
    )


def plan_pb(plan: Plan) -> pb.Plan:
    return pb.Plan(
        code=plan.code,
        allotment=plan.allotment,
        rollover_cap=plan.rollover_cap,
        unlimited=plan.unlimited,
    )
