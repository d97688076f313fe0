"""Grants, holds and the draws between them: every credit belongs to a grant (with a
priority and an optional expiry); a usage or a hold records what it drew from each
grant; a debt records what a reversed payment had already paid for.

Existing accounts get one never-expiring grant ("migrated") holding their balance, and
accounts on the old unlimited `pro` plan move to `unlimited`, which keeps their terms.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KINDS = (
    "('signup_grant','usage','refund','purchase','grant','admin_adjustment',"
    "'subscription','promo','expiry','reversal','debt_payment')"
)
SOURCES = "('signup','purchase','subscription','promo','admin','migrated')"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE credits.plans
            ADD COLUMN allotment bigint NOT NULL DEFAULT 0 CHECK (allotment >= 0),
            ADD COLUMN rollover_cap bigint NOT NULL DEFAULT 0 CHECK (rollover_cap >= 0);
        INSERT INTO credits.plans (code, unlimited, description) VALUES
            ('unlimited', true, 'Not charged (internal users)');
        UPDATE credits.accounts SET plan = 'unlimited' WHERE plan = 'pro';
        UPDATE credits.plans SET unlimited = false, description = 'Monthly allotment'
         WHERE code = 'pro';

        ALTER TABLE credits.accounts
            ADD COLUMN reserved bigint NOT NULL DEFAULT 0
                CONSTRAINT ck_accounts_reserved CHECK (reserved >= 0),
            ADD COLUMN debt bigint NOT NULL DEFAULT 0
                CONSTRAINT ck_accounts_debt CHECK (debt >= 0),
            ADD COLUMN plan_period_end timestamptz,
            ADD CONSTRAINT ck_accounts_reserved_within_balance CHECK (reserved <= balance);
        -- Room in each page for updates in place (HOT): a balance changes on every usage.
        ALTER TABLE credits.accounts SET (fillfactor = 80);
        """
    )
    op.execute(
        f"""
        ALTER TABLE credits.entries
            ADD COLUMN debt_delta bigint NOT NULL DEFAULT 0,
            DROP CONSTRAINT ck_entries_kind,
            ADD CONSTRAINT ck_entries_kind CHECK (kind IN {KINDS}),
            DROP CONSTRAINT ck_entries_amount_sign,
            ADD CONSTRAINT ck_entries_amount_sign CHECK (
                (kind = 'usage' AND amount <= 0)
                OR (kind = 'admin_adjustment' AND amount <> 0)
                OR (kind IN ('refund', 'signup_grant') AND amount >= 0)
                OR (kind IN ('purchase', 'grant', 'subscription', 'promo') AND amount > 0)
                OR (kind IN ('expiry', 'debt_payment') AND amount < 0)
                -- A reversal may take nothing back (all spent: it is all debt).
                OR (kind = 'reversal' AND amount <= 0)
            ),
            ADD CONSTRAINT ck_entries_debt CHECK (
                debt_delta = 0 OR kind IN ('reversal', 'debt_payment'));
        -- A grant expires through one entry of its own, once (later returns of its
        -- shares have references of their own).
        CREATE UNIQUE INDEX uq_entries_expiry_reference
            ON credits.entries (reference) WHERE kind = 'expiry';
        CREATE UNIQUE INDEX uq_entries_reversal_reference
            ON credits.entries (reference) WHERE kind = 'reversal';

        CREATE TABLE credits.grants (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES credits.accounts (user_id),
            source text NOT NULL CONSTRAINT ck_grants_source CHECK (source IN {SOURCES}),
            amount bigint NOT NULL CHECK (amount > 0),
            remaining bigint NOT NULL,
            -- Credits that left through expiry (the sweep's entry or a late return's).
            expired bigint NOT NULL DEFAULT 0 CHECK (expired >= 0),
            priority int NOT NULL CHECK (priority BETWEEN 0 AND 100),
            expires_at timestamptz,
            -- Subscription allotments: the end of the billing period they belong to.
            period_end timestamptz,
            reference text NOT NULL DEFAULT '',
            -- The entry that brought the credits in.
            entry_id bigint NOT NULL REFERENCES credits.entries (id),
            -- Set when the payment behind it was refunded or disputed.
            reversed_by bigint REFERENCES credits.entries (id),
            created_at timestamptz NOT NULL DEFAULT now(),
            -- Nothing left. The indexes below name this, never `remaining`: a usage that
            -- leaves credits in its grant then changes no indexed value, so PostgreSQL
            -- updates the row in place (HOT) instead of adding index entries each time.
            drained boolean GENERATED ALWAYS AS (remaining = 0) STORED,
            CONSTRAINT ck_grants_remaining CHECK (remaining BETWEEN 0 AND amount),
            CONSTRAINT ck_grants_accounted CHECK (remaining + expired <= amount)
        ) WITH (fillfactor = 80);
        CREATE INDEX ix_grants_spend ON credits.grants
            (user_id, priority DESC, expires_at ASC NULLS LAST, id) WHERE NOT drained;
        CREATE INDEX ix_grants_due ON credits.grants (expires_at)
            WHERE NOT drained AND expires_at IS NOT NULL;
        -- A payment or an invoice brings its credits in once.
        CREATE UNIQUE INDEX uq_grants_paid_reference ON credits.grants (source, reference)
            WHERE source IN ('purchase', 'subscription') AND reference <> '';
        CREATE UNIQUE INDEX uq_grants_signup ON credits.grants (user_id)
            WHERE source = 'signup';

        CREATE TABLE credits.holds (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES credits.accounts (user_id),
            reference text NOT NULL CONSTRAINT uq_holds_reference UNIQUE,
            amount bigint NOT NULL CHECK (amount >= 0),
            status text NOT NULL DEFAULT 'open'
                CONSTRAINT ck_holds_status CHECK (status IN ('open', 'captured', 'released')),
            -- Released on its own when this passes (the hold sweep).
            expires_at timestamptz NOT NULL,
            captured bigint CHECK (captured >= 0 AND captured <= amount),
            -- The usage entry of a capture.
            entry_id bigint REFERENCES credits.entries (id),
            release_reason text,
            created_at timestamptz NOT NULL DEFAULT now(),
            resolved_at timestamptz,
            CONSTRAINT ck_holds_resolution CHECK (
                (status = 'open' AND resolved_at IS NULL AND captured IS NULL)
                OR (status = 'captured' AND resolved_at IS NOT NULL AND captured IS NOT NULL)
                OR (status = 'released' AND resolved_at IS NOT NULL AND captured IS NULL))
        );
        CREATE INDEX ix_holds_due ON credits.holds (expires_at) WHERE status = 'open';
        CREATE INDEX ix_holds_user ON credits.holds (user_id) WHERE status = 'open';

        -- What a usage (entry) or a hold took from each grant. Written once, never changed:
        -- a capture writes its usage's draws, a refund or release reads them back. Only
        -- the ledger's own functions write it, right after the rows it names; no foreign
        -- keys, whose checks would double the cost of every usage (Reconcile checks that
        -- every usage drew its amount).
        CREATE TABLE credits.draws (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            grant_id bigint NOT NULL,
            entry_id bigint,
            hold_id bigint,
            amount bigint NOT NULL CHECK (amount > 0),
            CONSTRAINT ck_draws_owner CHECK ((entry_id IS NULL) <> (hold_id IS NULL))
        );
        CREATE INDEX ix_draws_entry ON credits.draws (entry_id) WHERE entry_id IS NOT NULL;
        CREATE INDEX ix_draws_hold ON credits.draws (hold_id) WHERE hold_id IS NOT NULL;
        CREATE TRIGGER tr_draws_append_only BEFORE UPDATE OR DELETE ON credits.draws
            FOR EACH ROW EXECUTE FUNCTION credits.refuse_entry_change();

        ALTER TABLE credits.idempotency_keys
            ADD COLUMN hold_id bigint REFERENCES credits.holds (id),
            DROP CONSTRAINT ck_idempotency_keys_outcome,
            DROP CONSTRAINT idempotency_keys_outcome_check,
            ADD CONSTRAINT ck_idempotency_keys_outcome CHECK (
                (outcome = 'ok' AND (entry_id IS NOT NULL OR hold_id IS NOT NULL))
                OR (outcome IN ('insufficient', 'in_debt')
                    AND balance IS NOT NULL AND required IS NOT NULL));
        """
    )
    # Every account's balance as one grant, created by the newest entry it has. Entries
    # up to the epoch predate draws: their usages drew from no particular grant.
    op.execute(
        """
        CREATE TABLE credits.epochs (
            name text PRIMARY KEY,
            entry_id bigint NOT NULL
        );
        INSERT INTO credits.epochs (name, entry_id)
        SELECT 'grants', coalesce(max(id), 0) FROM credits.entries;
        INSERT INTO credits.grants (user_id, source, amount, remaining, priority, entry_id)
        SELECT a.user_id, 'migrated', a.balance, a.balance, 10,
               (SELECT max(e.id) FROM credits.entries e WHERE e.user_id = a.user_id)
          FROM credits.accounts a WHERE a.balance > 0;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE credits.idempotency_keys DROP CONSTRAINT ck_idempotency_keys_outcome,
            DROP COLUMN hold_id;
        ALTER TABLE credits.idempotency_keys ADD CONSTRAINT ck_idempotency_keys_outcome
            CHECK ((outcome = 'ok' AND entry_id IS NOT NULL)
                   OR (outcome = 'insufficient' AND balance IS NOT NULL
                       AND required IS NOT NULL)),
            ADD CONSTRAINT idempotency_keys_outcome_check
            CHECK (outcome IN ('ok', 'insufficient'));
        DROP TABLE credits.epochs;
        DROP TABLE credits.draws;
        DROP TABLE credits.holds;
        DROP TABLE credits.grants;
        DROP INDEX credits.uq_entries_expiry_reference;
        DROP INDEX credits.uq_entries_reversal_reference;
        ALTER TABLE credits.entries DROP CONSTRAINT ck_entries_debt, DROP COLUMN debt_delta;
        ALTER TABLE credits.accounts DROP CONSTRAINT ck_accounts_reserved_within_balance,
            DROP COLUMN reserved, DROP COLUMN debt, DROP COLUMN plan_period_end;
        UPDATE credits.plans SET unlimited = true WHERE code = 'pro';
        UPDATE credits.accounts SET plan = 'pro' WHERE plan = 'unlimited';
        DELETE FROM credits.plans WHERE code = 'unlimited';
        ALTER TABLE credits.plans DROP COLUMN allotment, DROP COLUMN rollover_cap;
        """
    )
