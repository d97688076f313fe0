"""Alembic environment for the credits schema (its own schema and version table)."""

from videogen_common.migrations import run_online

run_online("credits")
