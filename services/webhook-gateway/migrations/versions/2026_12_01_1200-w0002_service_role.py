"""The webhook gateway's own role: it records delivery ids, and reaches nothing else.

Revision ID: w0002
Revises: w0001
Create Date: 2026-12-01
"""

from alembic import op

from videogen_common.migrations import service_role_sql

revision = "w0002"
down_revision = "w0001"
branch_labels = None
depends_on = None

ROLE = "videogen_webhook_gateway"


def upgrade() -> None:
    op.execute(service_role_sql(ROLE, "webhook_gateway", {"deliveries": "SELECT, INSERT"}))


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA webhook_gateway FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA webhook_gateway FROM {ROLE}")
