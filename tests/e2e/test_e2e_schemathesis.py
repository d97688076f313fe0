"""Schemathesis against the live API gateway, driven by the gateway's own /openapi.json.

Every documented operation (but the /api/events stream, /openapi.json, and the auth
routes, which answer 501 by design while no Supabase project is configured) gets
schemathesis' coverage phase (boundary and schema-violating values) and one bounded
fuzzing pass, as a random signed-in user, and an admin for /api/admin. No answer may be
a 5xx; every answer must have a documented status, content type, headers and body shape;
and every schema-violating request must be refused with a 4xx.

The gateway serves from this test's event loop, so schemathesis' synchronous engine
(requests over loopback) runs in a worker thread.
"""

import asyncio
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
# An endless stream, text for Prometheus, and the document itself (schemathesis never
# calls the operation its schema came from).
EXCLUDED_PATHS = [
    "/api/events",
    "/openapi.json",
    "/api/auth/signup",
    "/api/auth/signin",
    "/api/auth/signout",
]
# Only a failed generation can be retried, and only an unfinished one canceled: the
# emulator's generations succeed in a moment, so these may never answer 200 here.
MAY_NEVER_SUCCEED = {"POST /api/generation/{id}/retry", "POST /api/generation/{id}/cancel"}
SEED = 20250601
MAX_EXAMPLES = 25
BUDGET_S = 45.0  # a safety stop: one fuzzing pass ends well before it


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    statuses: dict = field(default_factory=lambda: defaultdict(Counter))
    requests: int = 0
    stop_reason: str = ""


def _describe(check: str, label: str, failure, code_sample: str, response) -> str:
    answer = (
        "no response"
        if response is None
        else (f"{response.status_code} {response.content[:300]!r}")
    )
    return (
        f"{check} on {label}: {failure.title}\n  {failure.message.strip()}\n"
        f"  answer: {answer}\n  reproduce: {code_sample}"
    )


def run_schemathesis(
    base_url: str, user_auth: str, admin_auth: str, stop: threading.Event
) -> Outcome:
    import schemathesis
    from schemathesis.engine import events, from_schema

    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "headers": {"Authorization": user_auth},
            "request-timeout": 15,
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "operations": [
                {"include-path-regex": "^/api/admin/", "headers": {"Authorization": admin_auth}}
            ],
        }
    )
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config, timeout=10)
    schema = schema.exclude(path=EXCLUDED_PATHS)
    outcome = Outcome()
    deadline = time.monotonic() + BUDGET_S
    stream = from_schema(schema).execute()
    for event in stream:
        if stop.is_set() or time.monotonic() > deadline:
            stream.stop()
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, interaction in recorder.interactions.items():
                if interaction.response is not None:
                    label = recorder.cases[case_id].value.operation.label
                    outcome.requests += 1
                    outcome.statuses[label][interaction.response.status_code] += 1
            for case_id, nodes in recorder.checks.items():
                interaction = recorder.interactions.get(case_id)
                for node in nodes:
                    if node.failure_info is not None:
                        outcome.failures.append(
                            _describe(
                                node.name,
                                recorder.cases[case_id].value.operation.label,
                                node.failure_info.failure,
                                node.failure_info.code_sample,
                                interaction.response if interaction else None,
                            )
                        )
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            outcome.errors.append(repr(event))
        elif isinstance(event, events.EngineFinished):
            outcome.stop_reason = str(event.stop_reason)
            outcome.failures.extend(f"after run: {f.title}: {f.message}" for f in event.failures)
    return outcome


@pytest.mark.parametrize(
    "api_settings_overrides", [{"api_gateway_generation_rate_limit": "1000/minute"}]
)
async def test_schemathesis_finds_no_server_errors_and_no_undocumented_answers(
    api, funded_user, monkeypatch
):
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # requests: loopback only, whatever the env
    _, doc, _ = await api.call("GET", "/openapi.json")
    operations = {
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method in item
        if path not in EXCLUDED_PATHS
    }
    # Credits enough that generations start rather than all ending at 402.
    user, admin = await funded_user(1_000_000), str(uuid.uuid4())
    stop = threading.Event()
    started = time.monotonic()
    try:
        outcome = await asyncio.to_thread(
            run_schemathesis,
            api.app.base_url,
            api.auth(user)["Authorization"],
            api.auth(admin, role="admin")["Authorization"],
            stop,
        )
    finally:
        stop.set()
    elapsed = time.monotonic() - started
    print(
        f"schemathesis: {outcome.requests} requests in {elapsed:.1f} s, "
        f"stopped: {outcome.stop_reason}"
    )
    for label, statuses in sorted(outcome.statuses.items()):
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    unique = list(dict.fromkeys(outcome.failures))
    assert not outcome.errors, "\n".join(outcome.errors)
    assert not unique, f"{len(unique)} distinct failures:\n" + "\n\n".join(unique)
    assert outcome.stop_reason == "completed", "schemathesis ran out of time"
    # Every operation was tested, and each got past validation at least once.
    assert set(outcome.statuses) == operations
    assert {
        label
        for label, statuses in outcome.statuses.items()
        if not any(200 <= code < 300 for code in statuses)
    } <= MAY_NEVER_SUCCEED
