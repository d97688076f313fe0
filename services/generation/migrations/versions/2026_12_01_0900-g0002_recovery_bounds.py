"""Recovery that no single row can stop: leases with an owner, per-row backoff, bounded
output copies, and a count of polls the provider answered with "not found".

Revision ID: g0002
Revises: g0001
Create Date: 2026-12-01
"""

from alembic import op

revision = "g0002"
down_revision = "g0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE generation.generations
            -- Who holds the lease: a renewal or release by anyone else changes nothing.
            ADD COLUMN lease_owner uuid,
            -- Recovery steps that failed unexpectedly in a row, and when to try again.
            ADD COLUMN recovery_failures int NOT NULL DEFAULT 0,
            ADD COLUMN recover_after timestamptz,
            -- Attempts to copy the output; past the bound the copy is given up as lost
            -- and the provider's URL is kept.
            ADD COLUMN copy_attempts int NOT NULL DEFAULT 0,
            ADD COLUMN copy_lost boolean NOT NULL DEFAULT false,
            -- Polls in a row the provider answered 404 (it no longer knows the job).
            ADD COLUMN provider_missing int NOT NULL DEFAULT 0;

        DROP INDEX generation.ix_generations_to_settle;
        -- Money to settle: one index per kind of work, so each kind is claimed on its own
        -- and none waits behind another.
        CREATE INDEX ix_generations_to_refund ON generation.generations (seq)
            WHERE charge IN ('pending', 'charged')
              AND status IN ('failed', 'canceled', 'timed_out');
        CREATE INDEX ix_generations_to_copy ON generation.generations (seq)
            WHERE status = 'succeeded' AND video_url IS NULL AND NOT copy_lost;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX generation.ix_generations_to_copy;
        DROP INDEX generation.ix_generations_to_refund;
        CREATE INDEX ix_generations_to_settle ON generation.generations (updated_at)
            WHERE (charge = 'charged' AND status IN ('failed', 'canceled', 'timed_out'))
               OR (status = 'succeeded' AND video_url IS NULL);
        ALTER TABLE generation.generations
            DROP COLUMN lease_owner, DROP COLUMN recovery_failures, DROP COLUMN recover_after,
            DROP COLUMN copy_attempts, DROP COLUMN copy_lost, DROP COLUMN provider_missing;
        """
    )
