"""Random sequences of Deduct / Add / Refund / retries against the real service and a
plain Python model of the ledger; the invariants are checked after every step."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from videogen.credits.v1 import credits_pb2 as pb
from videogen.credits.v1 import credits_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.grpc_status import parse_rpc_error

from ..conftest import TOKENS


@dataclass(frozen=True)
class Step:
    op: str  # deduct | add | refund | retry
    amount: int
    reference: str
    key: str


steps = st.lists(
    st.builds(
        Step,
        op=st.sampled_from(["deduct", "deduct", "add", "refund", "refund", "retry"]),
        # 0 and -1 stand for "exactly the balance" and "one more than the balance".
        amount=st.one_of(st.integers(1, 60), st.sampled_from([0, -1])),
        reference=st.sampled_from([f"r{i}" for i in range(5)]),
        key=st.sampled_from([f"k{i}" for i in range(8)]),
    ),
    max_size=25,
)


@dataclass
class Model:
    balance: int = 100
    charges: dict[str, int] = field(default_factory=dict)
    refunded: set[str] = field(default_factory=set)
    keys: dict[str, tuple[tuple, tuple]] = field(default_factory=dict)

    def apply(self, step: Step) -> tuple:
        params = (
            step.op,
            step.amount if step.op != "refund" else 0,
            step.reference if step.op != "add" else "",
        )
        if step.key in self.keys:
            first_params, first_result = self.keys[step.key]
            return first_result if first_params == params else ("IDEMPOTENCY_KEY_REUSED",)
        if step.op == "deduct":
            if step.reference in self.charges:
                return ("REFERENCE_ALREADY_CHARGED",)
            if self.balance < step.amount:
                result = ("INSUFFICIENT_CREDITS", self.balance)
            else:
                self.balance -= step.amount
                self.charges[step.reference] = step.amount
                result = ("OK", self.balance)
        elif step.op == "add":
            self.balance += step.amount
            result = ("OK", self.balance)
        else:
            if step.reference not in self.charges:
                return ("CHARGE_NOT_FOUND",)
            if step.reference in self.refunded:
                return ("ALREADY_REFUNDED",)
            self.balance += self.charges[step.reference]
            self.refunded.add(step.reference)
            result = ("OK", self.balance)
        self.keys[step.key] = (params, result)
        return result


def _call(stub, step: Step, user: str, run: str) -> tuple:
    reference, key = f"{run}-{step.reference}", f"{run}-{step.key}"
    try:
        if step.op == "deduct":
            r = stub["generation"].Deduct(
                pb.DeductRequest(
                    user_id=user, amount=step.amount, reference=reference, idempotency_key=key
                )
            )
        elif step.op == "add":
            r = stub["payments"].Add(
                pb.AddRequest(
                    user_id=user,
                    amount=step.amount,
                    kind=pb.ENTRY_KIND_PURCHASE,
                    idempotency_key=key,
                )
            )
        else:
            r = stub["generation"].Refund(
                pb.RefundRequest(reference=reference, idempotency_key=key)
            )
        return ("OK", r.balance)
    except grpc.RpcError as error:
        remote = parse_rpc_error(error)
        if remote.reason == "INSUFFICIENT_CREDITS":
            return (remote.reason, int(remote.metadata["balance"]))
        return (remote.reason,)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sequence=steps)
def test_service_matches_the_model(threaded_server, sequence):
    with grpc.insecure_channel(f"127.0.0.1:{threaded_server.port}") as channel:
        raw = credits_pb2_grpc.CreditsServiceStub(channel)
        stub = {name: AuthedStub(raw, token) for name, token in TOKENS.items()}
        user, run = str(uuid.uuid4()), uuid.uuid4().hex
        stub["api"].EnsureAccount(pb.EnsureAccountRequest(user_id=user))
        model, previous = Model(), None
        for step in sequence:
            if step.op == "retry":
                if previous is None:
                    continue
                step = previous
            elif step.amount <= 0:
                step = replace(step, amount=max(model.balance - step.amount, 1))
            assert _call(stub, step, user, run) == model.apply(step), step
            previous = step
            balance = stub["api"].GetBalance(pb.GetBalanceRequest(user_id=user)).account.balance
            assert balance == model.balance >= 0  # available: no holds, no expiry here
            report = stub["admin"].Reconcile(pb.ReconcileRequest(user_id=user))
            assert list(report.drifts) == []
