"""Ledger tables: plans, accounts, append-only entries, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KINDS = "('signup_grant','usage','refund','purchase','grant','admin_adjustment')"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE credits.plans (
            code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,31}$'),
            -- Paid plans are not charged for usage; their usage is still recorded.
            unlimited boolean NOT NULL,
            description text NOT NULL DEFAULT ''
        );
        INSERT INTO credits.plans (code, unlimited, description) VALUES
            ('free', false, 'Pay per generation with credits'),
            ('pro', true, 'Unlimited generations');

        CREATE TABLE credits.accounts (
            user_id uuid PRIMARY KEY,
            balance bigint NOT NULL,
            plan text NOT NULL DEFAULT 'free' REFERENCES credits.plans (code),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_accounts_balance_non_negative CHECK (balance >= 0)
        );
        """
    )
    op.execute(
        f"""
        CREATE TABLE credits.entries (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES credits.accounts (user_id),
            kind text NOT NULL CONSTRAINT ck_entries_kind CHECK (kind IN {KINDS}),
            amount bigint NOT NULL,
            balance_after bigint NOT NULL
                CONSTRAINT ck_entries_balance_after_non_negative CHECK (balance_after >= 0),
            reference text NOT NULL DEFAULT '',
            description text NOT NULL DEFAULT '',
            actor text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_entries_amount_sign CHECK (
                (kind = 'usage' AND amount <= 0)
                OR (kind = 'admin_adjustment' AND amount <> 0)
                OR (kind IN ('refund', 'signup_grant') AND amount >= 0)
                OR (kind IN ('purchase', 'grant') AND amount > 0)
            )
        );
        CREATE INDEX ix_entries_user_id_id ON credits.entries (user_id, id DESC);
        -- A reference is charged at most once and refunded at most once.
        CREATE UNIQUE INDEX uq_entries_usage_reference
            ON credits.entries (reference) WHERE kind = 'usage';
        CREATE UNIQUE INDEX uq_entries_refund_reference
            ON credits.entries (reference) WHERE kind = 'refund';
        CREATE UNIQUE INDEX uq_entries_signup_grant
            ON credits.entries (user_id) WHERE kind = 'signup_grant';

        CREATE FUNCTION credits.refuse_entry_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'credits.entries is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER tr_entries_append_only
            BEFORE UPDATE OR DELETE ON credits.entries
            FOR EACH ROW EXECUTE FUNCTION credits.refuse_entry_change();
        CREATE TRIGGER tr_entries_no_truncate
            BEFORE TRUNCATE ON credits.entries
            FOR EACH STATEMENT EXECUTE FUNCTION credits.refuse_entry_change();
        """
    )
    op.execute(
        """
        CREATE TABLE credits.idempotency_keys (
            key text PRIMARY KEY,
            -- Hash of the parameters that define the effect (operation, user, amount...).
            fingerprint text NOT NULL,
            outcome text NOT NULL CHECK (outcome IN ('ok', 'insufficient')),
            entry_id bigint REFERENCES credits.entries (id),
            balance bigint,
            required bigint,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_idempotency_keys_outcome CHECK (
                (outcome = 'ok' AND entry_id IS NOT NULL)
                OR (outcome = 'insufficient' AND balance IS NOT NULL AND required IS NOT NULL)
            )
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE credits.idempotency_keys;
        DROP TABLE credits.entries;
        DROP FUNCTION credits.refuse_entry_change();
        DROP TABLE credits.accounts;
        DROP TABLE credits.plans;
        """
    )
