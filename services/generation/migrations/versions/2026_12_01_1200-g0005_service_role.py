"""The generation service's own role: its generations and their event log only.

Revision ID: g0005
Revises: g0004
Create Date: 2026-12-01
"""

from alembic import op

from videogen_common.migrations import service_role_sql

revision = "g0005"
down_revision = "g0004"
branch_labels = None
depends_on = None

ROLE = "videogen_generation"
GRANTS = {
    "generations": "SELECT, INSERT, UPDATE",
    # Events older than GENERATION_EVENTS_KEEP_S are pruned.
    "events": "SELECT, INSERT, DELETE",
}


def upgrade() -> None:
    op.execute(service_role_sql(ROLE, "generation", GRANTS))


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA generation FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA generation FROM {ROLE}")
