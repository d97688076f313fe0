"""Alembic environment for the generation schema (its own schema and version table)."""

from videogen_common.migrations import run_online

run_online("generation")
