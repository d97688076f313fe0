"""Ledger mutations as one database function, so a batch of requests is one round trip.

Each item runs in its own subtransaction (the EXCEPTION block): it succeeds or leaves no
trace, and gets its own outcome, while the batch shares one commit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OUTCOME_TYPE = """
CREATE TYPE credits.outcome AS (
    ord int, status text, entry_id bigint, user_id uuid, kind text, amount bigint,
    balance_after bigint, reference text, description text, actor text,
    created_at timestamptz, balance bigint, required bigint, replayed boolean
);
"""

# The first result stored for a key, or a row with status NULL when the key is new.
REPLAY = """
CREATE FUNCTION credits.replay(p_ord int, p_key text, p_fp text) RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    k credits.idempotency_keys;
    r credits.outcome;
BEGIN
    SELECT * INTO k FROM credits.idempotency_keys WHERE key = p_key;
    IF NOT FOUND THEN
        RETURN r;
    END IF;
    r.ord := p_ord;
    r.replayed := true;
    IF k.fingerprint <> p_fp THEN
        r.status := 'key_reused';
    ELSIF k.outcome = 'insufficient' THEN
        r.status := 'insufficient';
        r.balance := k.balance;
        r.required := k.required;
    ELSE
        SELECT 'ok', e.id, e.user_id, e.kind, e.amount, e.balance_after, e.reference,
               e.description, e.actor, e.created_at, e.balance_after
          INTO r.status, r.entry_id, r.user_id, r.kind, r.amount, r.balance_after,
               r.reference, r.description, r.actor, r.created_at, r.balance
          FROM credits.entries e WHERE e.id = k.entry_id;
    END IF;
    RETURN r;
END $$;
"""

# A conflict with a committed charge or refund: when it was made under this very key
# (a concurrent retry that won the race), its result is the answer; otherwise ``status``.
CONFLICT = """
CREATE FUNCTION credits.conflict(p_ord int, p_key text, p_fp text, p_status text)
RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    r credits.outcome;
BEGIN
    r := credits.replay(p_ord, p_key, p_fp);
    IF r.status IS NULL THEN
        r.ord := p_ord;
        r.replayed := false;
        r.status := p_status;
    END IF;
    RETURN r;
END $$;
"""

# p_op is 'deduct', 'add' or 'refund'. Statuses: ok, insufficient, no_account,
# no_charge, already_refunded, reference_charged, key_reused.
APPLY_ONE = """
CREATE FUNCTION credits.apply_one(
    p_ord int, p_op text, p_user uuid, p_amount bigint, p_kind text, p_ref text,
    p_key text, p_fp text, p_desc text, p_actor text
) RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    r credits.outcome;
    v_user uuid := p_user;
    v_balance bigint;
    v_delta bigint;
    v_unlimited boolean;
    v_constraint text;
BEGIN
    r := credits.replay(p_ord, p_key, p_fp);
    IF r.status IS NOT NULL THEN
        RETURN r;
    END IF;
    r.ord := p_ord;
    r.replayed := false;
    BEGIN
        IF p_op = 'refund' THEN
            SELECT e.user_id, -e.amount INTO v_user, v_delta
              FROM credits.entries e WHERE e.kind = 'usage' AND e.reference = p_ref;
            IF NOT FOUND THEN
                r.status := 'no_charge';
                RETURN r;
            END IF;
            IF EXISTS (SELECT 1 FROM credits.entries
                        WHERE kind = 'refund' AND reference = p_ref) THEN
                RETURN credits.conflict(p_ord, p_key, p_fp, 'already_refunded');
            END IF;
            UPDATE credits.accounts SET balance = balance + v_delta, updated_at = now()
             WHERE user_id = v_user RETURNING balance INTO v_balance;
        ELSIF p_op = 'deduct' THEN
            -- A charged reference is refused as such, whatever the balance is now.
            IF EXISTS (SELECT 1 FROM credits.entries
                        WHERE kind = 'usage' AND reference = p_ref) THEN
                RETURN credits.conflict(p_ord, p_key, p_fp, 'reference_charged');
            END IF;
            UPDATE credits.accounts a
               SET balance = a.balance - CASE WHEN p.unlimited THEN 0 ELSE p_amount END,
                   updated_at = now()
              FROM credits.plans p
             WHERE a.user_id = p_user AND p.code = a.plan
               AND (p.unlimited OR a.balance >= p_amount)
            RETURNING a.balance, p.unlimited INTO v_balance, v_unlimited;
            v_delta := CASE WHEN v_unlimited THEN 0 ELSE -p_amount END;
        ELSE
            UPDATE credits.accounts SET balance = balance + p_amount, updated_at = now()
             WHERE user_id = p_user AND balance + p_amount >= 0
            RETURNING balance INTO v_balance;
            v_delta := p_amount;
        END IF;
        IF v_balance IS NULL THEN
            SELECT balance INTO v_balance FROM credits.accounts WHERE user_id = p_user;
            IF NOT FOUND THEN
                r.status := 'no_account';
                RETURN r;
            END IF;
            -- A refusal is a result too: the same key answers the same later.
            INSERT INTO credits.idempotency_keys (key, fingerprint, outcome, balance, required)
            VALUES (p_key, p_fp, 'insufficient', v_balance, abs(p_amount));
            r.status := 'insufficient';
            r.balance := v_balance;
            r.required := abs(p_amount);
            RETURN r;
        END IF;
        INSERT INTO credits.entries
            (user_id, kind, amount, balance_after, reference, description, actor)
        VALUES (v_user, p_kind, v_delta, v_balance, p_ref, p_desc, p_actor)
        RETURNING id, user_id, kind, amount, balance_after, reference, description,
                  actor, created_at
             INTO r.entry_id, r.user_id, r.kind, r.amount, r.balance_after, r.reference,
                  r.description, r.actor, r.created_at;
        INSERT INTO credits.idempotency_keys (key, fingerprint, outcome, entry_id)
        VALUES (p_key, p_fp, 'ok', r.entry_id);
        PERFORM pg_notify('credits_balance',
                          concat_ws(',', v_user, v_balance, r.entry_id, p_kind, v_delta));
        r.status := 'ok';
        r.balance := v_balance;
        RETURN r;
    EXCEPTION WHEN unique_violation THEN
        -- Another transaction won a race for the same key or reference; this item's
        -- writes are rolled back with the block.
        -- The violating insert waited for the winner to commit.
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'uq_entries_usage_reference' THEN
            RETURN credits.conflict(p_ord, p_key, p_fp, 'reference_charged');
        ELSIF v_constraint = 'uq_entries_refund_reference' THEN
            RETURN credits.conflict(p_ord, p_key, p_fp, 'already_refunded');
        ELSIF v_constraint = 'idempotency_keys_pkey' THEN
            RETURN credits.replay(p_ord, p_key, p_fp);
        END IF;
        RAISE;
    END;
END $$;
"""

APPLY_BATCH = """
CREATE FUNCTION credits.apply_batch(
    p_ops text[], p_users uuid[], p_amounts bigint[], p_kinds text[], p_refs text[],
    p_keys text[], p_fps text[], p_descs text[], p_actors text[]
) RETURNS SETOF credits.outcome
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_ops, 1), 0) LOOP
        RETURN NEXT credits.apply_one(i, p_ops[i], p_users[i], p_amounts[i], p_kinds[i],
                                      p_refs[i], p_keys[i], p_fps[i], p_descs[i],
                                      p_actors[i]);
    END LOOP;
END $$;
"""


def upgrade() -> None:
    for statement in (OUTCOME_TYPE, REPLAY, CONFLICT, APPLY_ONE, APPLY_BATCH):
        op.execute(statement)


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION credits.apply_batch(text[], uuid[], bigint[], text[], text[],
                                          text[], text[], text[], text[]);
        DROP FUNCTION credits.apply_one(int, text, uuid, bigint, text, text, text, text,
                                        text, text);
        DROP FUNCTION credits.conflict(int, text, text, text);
        DROP FUNCTION credits.replay(int, text, text);
        DROP TYPE credits.outcome;
        """
    )
