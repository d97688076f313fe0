"""When the last create of a generation was sent, while its outcome is unknown.

A create whose answer was lost may still be recorded by the provider later. The time it
was sent is kept durably (set before sending, cleared by an answer that says nothing was
recorded), so no path (the request, recovery, another replica after a crash) sends
another before GENERATION_CREATE_SETTLE_S has passed since it and a lookup made after
that found nothing.

Revision ID: g0006
Revises: g0005
Create Date: 2026-12-02
"""

from alembic import op

revision = "g0006"
down_revision = "g0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE generation.generations ADD COLUMN create_sent_at timestamptz;
        -- Rows written before this column may have a create in flight: treat them as
        -- sent now, so the next create waits for the window and a lookup.
        UPDATE generation.generations SET create_sent_at = now()
            WHERE prediction_id IS NULL AND status IN ('queued', 'starting', 'processing')
              AND charge IN ('reserved', 'charged');
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE generation.generations DROP COLUMN create_sent_at")
