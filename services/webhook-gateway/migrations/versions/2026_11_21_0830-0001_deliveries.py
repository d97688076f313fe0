"""Processed webhook ids, so a replayed or redelivered webhook has no second effect.

Revision ID: w0001
Revises:
Create Date: 2026-11-21
"""

from alembic import op

revision = "w0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE webhook_gateway.deliveries (
            source text NOT NULL,
            webhook_id text NOT NULL CHECK (length(webhook_id) BETWEEN 1 AND 200),
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source, webhook_id)
        );
        CREATE INDEX ix_deliveries_processed_at ON webhook_gateway.deliveries (processed_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE webhook_gateway.deliveries")
