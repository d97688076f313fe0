"""Alembic environment for the webhook_gateway schema (its own schema and version table)."""

from videogen_common.migrations import run_online

run_online("webhook_gateway")
