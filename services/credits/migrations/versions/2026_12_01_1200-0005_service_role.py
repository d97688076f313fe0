"""The credits service's own role: the ledger through its functions and tables, with
entries and draws insert-only (no UPDATE or DELETE privilege, besides the triggers that
refuse changes), and no table it owns: it cannot drop a trigger or a constraint.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from alembic import op

from videogen_common.migrations import service_role_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROLE = "videogen_credits"
GRANTS = {
    "entries": "SELECT, INSERT",
    "draws": "SELECT, INSERT",
    "idempotency_keys": "SELECT, INSERT",
    "epochs": "SELECT, INSERT",
    "accounts": "SELECT, INSERT, UPDATE",
    "grants": "SELECT, INSERT, UPDATE",
    "holds": "SELECT, INSERT, UPDATE",
    "plans": "SELECT, INSERT, UPDATE",
}


def upgrade() -> None:
    op.execute(service_role_sql(ROLE, "credits", GRANTS))


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA credits FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA credits FROM {ROLE}")
