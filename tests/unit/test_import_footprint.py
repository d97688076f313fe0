"""What a service process loads just by starting: the heavy packages it does not use on
its own paths stay out of its memory (measured, import alone: SQLAlchemy ~24 MB, boto3
~30 MB, OpenTelemetry's SDK and instrumentations ~10 MB). Each is imported only where
it is used: SQLAlchemy by the credits service's engine and the migrations, boto3 with an
S3 bucket, the SDK when tracing is on."""

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "alembic", "boto3", "botocore", "opentelemetry.sdk")
# The service modules whose import must leave out each of them.
SERVICES = {
    "videogen_generation.main": HEAVY,
    "videogen_webhook_gateway.main": HEAVY,
    "videogen_api_gateway.main": HEAVY,
    # The ledger's multi-statement transactions still go through SQLAlchemy.
    "videogen_credits.main": ("alembic", "boto3", "botocore", "opentelemetry.sdk"),
}


def loaded_after_import(module: str) -> set[str]:
    """Every module in sys.modules once ``module`` is imported by a fresh interpreter."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("module", sorted(SERVICES))
def test_a_service_does_not_load_what_it_does_not_use(module):
    loaded = loaded_after_import(module)
    assert f"{module}" in loaded  # the import itself ran
    unexpected = sorted(
        name
        for name in loaded
        for heavy in SERVICES[module]
        if name == heavy or name.startswith(f"{heavy}.")
    )
    assert unexpected == [], f"{module} loads {unexpected}"
