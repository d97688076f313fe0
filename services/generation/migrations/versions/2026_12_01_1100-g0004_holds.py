"""Generations on holds: credits are reserved while a video renders, captured on
success, released otherwise. Rows charged the old way (charged -> refunded) settle as
before.

Revision ID: g0004
Revises: g0003
Create Date: 2026-12-01
"""

from alembic import op

revision = "g0004"
down_revision = "g0003"
branch_labels = None
depends_on = None

STATES = "('pending','reserved','captured','released','charged','none','refunded')"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE generation.generations
            DROP CONSTRAINT generations_charge_check,
            ADD CONSTRAINT ck_generations_charge CHECK (charge IN {STATES});

        -- The money moves only forward: pending -> reserved | charged | none;
        -- reserved -> captured | released | charged (a hold that timed out under a
        -- delivered video is charged instead); charged -> refunded.
        CREATE OR REPLACE FUNCTION generation.charge_may_move(old text, new text)
        RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
            SELECT old = new
                OR (old = 'pending' AND new IN ('reserved', 'charged', 'none'))
                OR (old = 'reserved' AND new IN ('captured', 'released', 'charged'))
                OR (old = 'charged' AND new = 'refunded')
        $$;

        CREATE OR REPLACE FUNCTION generation.guard_transition() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status <> OLD.status AND (
                generation.status_rank(OLD.status) = 3
                OR generation.status_rank(NEW.status) <= generation.status_rank(OLD.status)
            ) THEN
                RAISE EXCEPTION 'generation %: status % -> % refused', OLD.id, OLD.status,
                    NEW.status USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.progress < OLD.progress THEN
                RAISE EXCEPTION 'generation %: progress went back', OLD.id
                    USING ERRCODE = 'check_violation';
            END IF;
            IF NOT generation.charge_may_move(OLD.charge, NEW.charge) THEN
                RAISE EXCEPTION 'generation %: charge % -> % refused', OLD.id, OLD.charge,
                    NEW.charge USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.prediction_id IS DISTINCT FROM OLD.prediction_id
               AND OLD.prediction_id IS NOT NULL THEN
                RAISE EXCEPTION 'generation %: prediction id is set once', OLD.id
                    USING ERRCODE = 'check_violation';
            END IF;
            NEW.updated_at := now();
            RETURN NEW;
        END $$;

        DROP INDEX generation.ix_generations_to_refund;
        CREATE INDEX ix_generations_to_settle ON generation.generations (seq)
            WHERE (charge IN ('pending', 'reserved', 'charged')
                   AND status IN ('failed', 'canceled', 'timed_out'))
               OR (charge IN ('pending', 'reserved') AND status = 'succeeded');
        """
    )


def downgrade() -> None:
    raise NotImplementedError("holds cannot be turned back into charges")
