"""Generations, with forward-only status and exactly-once charge bookkeeping.

Revision ID: g0001
Revises:
Create Date: 2026-11-21
"""

from alembic import op

revision = "g0001"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = "'queued','starting','processing','succeeded','failed','canceled','timed_out','rejected'"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE generation.generations (
            id uuid PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            user_id uuid NOT NULL,
            idempotency_key text NOT NULL,
            fingerprint text NOT NULL,
            model text NOT NULL,
            resolution text NOT NULL,
            prompt text NOT NULL,
            negative_prompt text NOT NULL DEFAULT '',
            duration_s int NOT NULL CHECK (duration_s BETWEEN 1 AND 10),
            seed bigint,
            image_url text,
            provider_model text NOT NULL,
            provider_input jsonb NOT NULL,
            price int NOT NULL CHECK (price > 0),
            status text NOT NULL CONSTRAINT ck_generations_status CHECK (status IN ({STATUSES})),
            progress int NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
            -- pending: not known to be charged; charged; none: never charged; refunded.
            charge text NOT NULL DEFAULT 'pending'
                CHECK (charge IN ('pending', 'charged', 'none', 'refunded')),
            prediction_id text UNIQUE,
            output_url text,
            video_url text,
            error text,
            logs text NOT NULL DEFAULT '',
            retry_of uuid REFERENCES generation.generations (id),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            submitted_at timestamptz,
            completed_at timestamptz,
            last_news_at timestamptz,
            next_poll_at timestamptz,
            poll_attempts int NOT NULL DEFAULT 0,
            -- Whoever set this owns the row's next step until then; recovery waits.
            lease_until timestamptz,
            CONSTRAINT uq_generations_user_key UNIQUE (user_id, idempotency_key),
            CONSTRAINT ck_generations_success_is_complete
                CHECK (status <> 'succeeded' OR progress = 100),
            CONSTRAINT ck_generations_rejected_never_charged
                CHECK (status <> 'rejected' OR charge = 'none')
        );
        CREATE INDEX ix_generations_user_seq ON generation.generations (user_id, seq DESC);
        CREATE INDEX ix_generations_unfinished ON generation.generations (next_poll_at)
            WHERE status IN ('queued', 'starting', 'processing');
        CREATE INDEX ix_generations_to_settle ON generation.generations (updated_at)
            WHERE (charge = 'charged' AND status IN ('failed', 'canceled', 'timed_out'))
               OR (status = 'succeeded' AND video_url IS NULL);
        """
    )
    op.execute(
        """
        CREATE FUNCTION generation.status_rank(s text) RETURNS int
        LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE s WHEN 'queued' THEN 0 WHEN 'starting' THEN 1
                          WHEN 'processing' THEN 2 ELSE 3 END
        $$;

        -- The database keeps the state machine honest whatever the code does: status only
        -- moves forward, a terminal state never changes, progress never goes back, and the
        -- charge moves pending -> charged | none, charged -> refunded only.
        CREATE FUNCTION generation.guard_transition() RETURNS trigger
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
            IF NEW.charge <> OLD.charge AND NOT (
                (OLD.charge = 'pending' AND NEW.charge IN ('charged', 'none'))
                OR (OLD.charge = 'charged' AND NEW.charge = 'refunded')
            ) THEN
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
        CREATE TRIGGER tr_generations_guard BEFORE UPDATE ON generation.generations
            FOR EACH ROW EXECUTE FUNCTION generation.guard_transition();

        -- Watchers on any replica learn of every visible change when it commits.
        CREATE FUNCTION generation.announce() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.status <> OLD.status OR NEW.progress <> OLD.progress
               OR NEW.video_url IS DISTINCT FROM OLD.video_url
               OR NEW.charge <> OLD.charge THEN
                PERFORM pg_notify('generation_changes', NEW.user_id::text || ',' || NEW.id::text);
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER tr_generations_announce AFTER INSERT OR UPDATE ON generation.generations
            FOR EACH ROW EXECUTE FUNCTION generation.announce();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE generation.generations;
        DROP FUNCTION generation.announce();
        DROP FUNCTION generation.guard_transition();
        DROP FUNCTION generation.status_rank(text);
        """
    )
