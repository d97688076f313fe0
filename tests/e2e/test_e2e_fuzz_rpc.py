"""Every RPC of both services, fuzzed by Hypothesis from the protobuf descriptors
(boundary, huge, empty and control-character values; unknown enum values; ids that do
and do not exist), against the real servers: never UNKNOWN or INTERNAL.

The examples run in a worker thread over blocking channels while the servers keep the
test's event loop."""

import asyncio
import json
import uuid

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb

TOKENS = {
    "credits": {
        "api": "e2e-api-credits-token-000",
        "generation": "e2e-generation-token-000",
        "payments": "e2e-payments-token-00000",
        "admin": "e2e-admin-token-000000",
    },
    "generation": {"api": "e2e-api-generation-token", "webhooks": "e2e-webhooks-token-0000"},
}
CALLERS = {
    "Deduct": ("generation",),
    "Refund": ("generation", "admin"),
    "Add": ("payments", "admin"),
    "SetPlan": ("payments", "admin"),
    "Reconcile": ("admin",),
    "ApplyProviderUpdate": ("webhooks",),
}
FORBIDDEN = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
EXAMPLES = 40
INT_EDGES = {
    F.TYPE_INT32: (-(2**31), -1, 0, 1, 2**31 - 1),
    F.TYPE_INT64: (-(2**63), -1, 0, 1, 10, 2**31, 2**63 - 1),
}
ODD_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202e",
    "x" * 201,
    "y" * 5000,
    "é" * 300,
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "'; DROP TABLE x; --",
    "https://example.com/a.png",
    "http://127.0.0.1:1/x",
)


def _text(known: list[str]):
    return st.one_of(
        st.sampled_from(ODD_TEXT),
        st.text(max_size=40),
        st.sampled_from(known) if known else st.nothing(),
        st.uuids().map(str),
    )


def _plausible(name: str, known: list[str]):
    """Values that get past the first checks, so the fuzz reaches the deeper paths."""
    user, generation = known[0], known[1]
    hints = {
        "user_id": st.sampled_from(known[:1] + [known[2]]),
        "generation_id": st.sampled_from([generation, known[2]]),
        "reference": st.sampled_from([generation, "cs_test_1", known[2]]),
        "idempotency_key": st.text(min_size=1, max_size=20).filter(str.strip),
        "amount": st.integers(-50, 200),
        "model": st.sampled_from(["t2v-14B", "t2v-1.3B", "i2v-14B"]),
        "resolution": st.sampled_from(["480p", "720p"]),
        "prompt": st.sampled_from(
            ["a red fox running through the snow", "a storm over the sea [fail]"]
        ),
        "duration_s": st.integers(0, 11),
        "seed": st.integers(-1, 2**31),
        "plan": st.sampled_from(["free", "pro", "gold"]),
        "kind": st.sampled_from([4, 5, 6, 0, 9]),
        "kinds": st.lists(st.integers(0, 7), max_size=3),
        "page_size": st.integers(-1, 201),
        "description": st.text(max_size=20),
        "actor": st.text(max_size=10),
        "reason": st.text(max_size=10),
        "prediction_json": st.sampled_from(
            [
                json.dumps({"id": "p1", "status": s, "logs": " 40%|", "output": o}).encode()
                for s, o in (
                    ("processing", None),
                    ("succeeded", "http://127.0.0.1:1/v.mp4"),
                    ("failed", None),
                    ("canceled", None),
                )
            ]
        ),
        "image_url": st.sampled_from(["https://example.com/a.png", "http://x/a.png"]),
        "after_entry_id": st.integers(-1, 5),
        "after_event_id": st.integers(-1, 5),
    }
    del user
    return hints.get(name)


def _value(field, known: list[str]):
    plausible = _plausible(field.name, known)
    generic = _generic(field, known)
    return generic if plausible is None else st.one_of(plausible, plausible, generic)


def _generic(field, known: list[str]):
    if field.type == F.TYPE_STRING:
        return _text(known)
    if field.type in INT_EDGES:
        bits = 31 if field.type == F.TYPE_INT32 else 63
        return st.one_of(
            st.sampled_from(INT_EDGES[field.type]),
            st.integers(-(2**bits), 2**bits - 1),
            st.integers(-5, 600),
        )
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type == F.TYPE_ENUM:
        return st.integers(0, 12)  # open enums: unknown numbers arrive as they are
    if field.type == F.TYPE_BYTES:
        return st.one_of(
            st.binary(max_size=64),
            st.sampled_from(
                [
                    b"",
                    b"{}",
                    b"[]",
                    b"null",
                    b'{"id": 1}',
                    b'{"id": "p", "status": "succeeded"}',
                    json.dumps(
                        {"id": "p", "status": "succeeded", "output": "http://127.0.0.1:1/v"}
                    ).encode(),
                    b"\x89PNG\r\n\x1a\n" + bytes(40),
                    b"\xff" * 100,
                ]
            ),
        )
    return st.nothing()


def message(descriptor, cls, known: list[str]):
    """Half the examples keep to plausible values wherever there are some, to get past
    validation into the ledger and the flow; the other half mix in anything."""

    def fields(clean: bool) -> st.SearchStrategy[dict]:
        required, optional = {}, {}
        for f in descriptor.fields:
            if f.type == F.TYPE_MESSAGE:
                continue
            plausible = _plausible(f.name, known)
            if clean and plausible is not None:
                required[f.name] = plausible
            elif f.is_repeated:
                optional[f.name] = (
                    plausible if plausible is not None else st.lists(_generic(f, known), max_size=4)
                )
            else:
                optional[f.name] = _value(f, known)
        return st.fixed_dictionaries(required, optional=optional)

    return st.booleans().flatmap(fields).map(lambda values: cls(**values))


def _rpcs():
    for module, service, name in (
        (cpb, "credits", "CreditsService"),
        (gpb, "generation", "GenerationService"),
    ):
        descriptor = module.DESCRIPTOR.services_by_name[name]
        for method in descriptor.methods:
            yield pytest.param(
                module, service, descriptor.full_name, method, id=f"{service}.{method.name}"
            )


@pytest.mark.parametrize("module, service, full_name, method", list(_rpcs()))
async def test_no_rpc_answers_unknown_or_internal(
    stack, funded_user, t2v_request, module, service, full_name, method
):
    user = await funded_user(100)
    made = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    known = [user, made.id, str(uuid.uuid4())]
    port = stack.credits_app.port if service == "credits" else stack.generation_app.port
    request_cls = getattr(module, method.input_type.name)
    response_cls = getattr(module, method.output_type.name)
    callers = CALLERS.get(method.name, ("api",))

    def fuzz() -> list:
        found = []
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            path = f"/{full_name}/{method.name}"
            kinds = channel.unary_stream if method.server_streaming else channel.unary_unary
            call = kinds(
                path,
                request_serializer=request_cls.SerializeToString,
                response_deserializer=response_cls.FromString,
            )

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(message(method.input_type, request_cls, known), st.sampled_from(callers))
            def check(request, caller):
                metadata = (("authorization", f"Bearer {TOKENS[service][caller]}"),)
                try:
                    if method.server_streaming:
                        next(iter(call(request, metadata=metadata, timeout=3)))
                    else:
                        call(request, metadata=metadata, timeout=10)
                except grpc.RpcError as error:
                    if (
                        error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                        and method.server_streaming
                    ):
                        return  # a watch that had nothing to say yet
                    if error.code() in FORBIDDEN:
                        found.append((request, error.code(), error.details()))
                    assert error.code() not in FORBIDDEN, (request, error.details())

            check()
        return found

    assert await asyncio.to_thread(fuzz) == []
