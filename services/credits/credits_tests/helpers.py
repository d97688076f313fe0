"""Small helpers for credits tests."""

from __future__ import annotations

import uuid

import grpc

from videogen.credits.v1 import credits_pb2 as pb
from videogen_common.grpc_status import RemoteError, parse_rpc_error


def new_user() -> str:
    return str(uuid.uuid4())


def new_key(prefix: str = "k") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


async def rpc_error(call) -> RemoteError:
    try:
        await call
    except grpc.RpcError as error:
        return parse_rpc_error(error)
    raise AssertionError("the call succeeded but an error was expected")


async def account_with(credits, balance: int) -> str:
    """A new account (signup grant 100) moved to ``balance`` by an admin adjustment."""
    user = new_user()
    await credits.api.EnsureAccount(pb.EnsureAccountRequest(user_id=user))
    if balance != 100:
        await credits.admin.Add(
            pb.AddRequest(
                user_id=user,
                amount=balance - 100,
                kind=pb.ENTRY_KIND_ADMIN_ADJUSTMENT,
                idempotency_key=new_key("setup"),
                description="test setup",
                actor="tests",
            )
        )
    return user


async def balance_of(credits, user: str) -> int:
    response = await credits.api.GetBalance(pb.GetBalanceRequest(user_id=user))
    return response.account.balance


async def entries_of(credits, user: str) -> list[pb.Entry]:
    entries, token = [], ""
    while True:
        page = await credits.api.ListTransactions(
            pb.ListTransactionsRequest(user_id=user, page_size=200, page_token=token)
        )
        entries.extend(page.entries)
        token = page.next_page_token
        if not token:
            return entries


async def assert_consistent(credits, user: str) -> None:
    """Σ entries = what the user has (available + reserved), the chain holds, and
    Reconcile agrees (grants, holds, draws and debt too)."""
    entries = await entries_of(credits, user)
    account = (await credits.api.GetBalance(pb.GetBalanceRequest(user_id=user))).account
    assert account.total == account.available + account.reserved == sum(e.amount for e in entries)
    assert account.available >= 0 and account.reserved >= 0
    running = 0
    for entry in reversed(entries):
        running += entry.amount
        assert entry.balance_after == running
    report = await credits.admin.Reconcile(pb.ReconcileRequest(user_id=user))
    assert report.accounts_checked == 1
    assert list(report.drifts) == []
