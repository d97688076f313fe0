"""An ordered log of what watchers see (status, progress, video, refund), kept for a
bounded time, so a client that reconnects gets every event it missed, from any replica.

Revision ID: g0003
Revises: g0002
Create Date: 2026-12-01
"""

from alembic import op

revision = "g0003"
down_revision = "g0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE generation.events (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id uuid NOT NULL,
            generation_id uuid NOT NULL,
            status text NOT NULL,
            progress int NOT NULL,
            video_url text,
            charge text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_events_user_id ON generation.events (user_id, id);
        CREATE INDEX ix_events_created_at ON generation.events (created_at);

        -- Each visible change is logged and announced when it commits; the notification
        -- only wakes watchers, who read the log after their position.
        CREATE OR REPLACE FUNCTION generation.announce() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            v_event bigint;
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.status <> OLD.status OR NEW.progress <> OLD.progress
               OR NEW.video_url IS DISTINCT FROM OLD.video_url
               OR NEW.charge <> OLD.charge THEN
                INSERT INTO generation.events
                    (user_id, generation_id, status, progress, video_url, charge)
                VALUES (NEW.user_id, NEW.id, NEW.status, NEW.progress, NEW.video_url,
                        NEW.charge)
                RETURNING id INTO v_event;
                PERFORM pg_notify('generation_changes', NEW.user_id::text || ','
                                  || NEW.id::text || ',' || v_event::text);
            END IF;
            RETURN NULL;
        END $$;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION generation.announce() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.status <> OLD.status OR NEW.progress <> OLD.progress
               OR NEW.video_url IS DISTINCT FROM OLD.video_url
               OR NEW.charge <> OLD.charge THEN
                PERFORM pg_notify('generation_changes', NEW.user_id::text || ',' || NEW.id::text);
            END IF;
            RETURN NULL;
        END $$;
        DROP TABLE generation.events;
        """
    )
