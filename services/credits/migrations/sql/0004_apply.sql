-- One batch of ledger requests, one round trip: each item in its own subtransaction,
-- with its own outcome; idempotency keys claimed in the same transaction as the effect.

CREATE TYPE credits.request AS (
    op text, user_id uuid, amount bigint, kind text, reference text, key text,
    fingerprint text, description text, actor text, source text, priority int,
    expires_at timestamptz, timeout_s int, period_end timestamptz, rollover_cap bigint
);

CREATE TYPE credits.outcome AS (
    ord int, status text, entry_id bigint, user_id uuid, kind text, amount bigint,
    balance_after bigint, reference text, description text, actor text,
    created_at timestamptz, balance bigint, required bigint, replayed boolean,
    hold_id bigint, hold_amount bigint, hold_status text, captured bigint, debt bigint
);

CREATE FUNCTION credits.with_entry(r credits.outcome, e credits.entries)
RETURNS credits.outcome
LANGUAGE plpgsql AS $$
BEGIN
    r.entry_id := e.id; r.user_id := e.user_id; r.kind := e.kind; r.amount := e.amount;
    r.balance_after := e.balance_after; r.reference := e.reference;
    r.description := e.description; r.actor := e.actor; r.created_at := e.created_at;
    SELECT balance, debt INTO r.balance, r.debt FROM credits.accounts
     WHERE user_id = e.user_id;
    RETURN r;
END $$;

CREATE FUNCTION credits.with_hold(r credits.outcome, p_hold bigint) RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    h credits.holds;
BEGIN
    SELECT * INTO h FROM credits.holds WHERE id = p_hold;
    r.hold_id := h.id; r.hold_amount := h.amount; r.hold_status := h.status;
    r.captured := h.captured; r.user_id := h.user_id; r.reference := h.reference;
    IF r.balance IS NULL THEN
        SELECT balance, debt INTO r.balance, r.debt FROM credits.accounts
         WHERE user_id = h.user_id;
    END IF;
    RETURN r;
END $$;

-- The first result stored for a key, or a row with status NULL when the key is new.
CREATE FUNCTION credits.replay(p_ord int, p_key text, p_fp text) RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    k credits.idempotency_keys;
    e credits.entries;
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
        r.status := 'insufficient'; r.balance := k.balance; r.required := k.required;
    ELSIF k.outcome = 'in_debt' THEN
        r.status := 'in_debt'; r.debt := k.balance; r.required := k.required;
    ELSE
        r.status := 'ok';
        IF k.entry_id IS NOT NULL THEN
            SELECT * INTO e FROM credits.entries WHERE id = k.entry_id;
            r := credits.with_entry(r, e);
            r.balance := e.balance_after;
        END IF;
        IF k.hold_id IS NOT NULL THEN
            r := credits.with_hold(r, k.hold_id);
        END IF;
    END IF;
    RETURN r;
END $$;

-- A conflict with a committed effect: when it was made under this very key (a
-- concurrent retry that won the race), its result is the answer; otherwise ``status``.
CREATE FUNCTION credits.conflict(r credits.outcome, p credits.request, p_status text)
RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    v credits.outcome;
BEGIN
    v := credits.replay(r.ord, p.key, p.fingerprint);
    IF v.status IS NOT NULL THEN
        RETURN v;
    END IF;
    r.status := p_status;
    RETURN r;
END $$;

-- The account row, locked; NULL plan when there is no such account.
CREATE FUNCTION credits.lock_account(p_user uuid, OUT debt bigint, OUT unlimited boolean)
LANGUAGE sql AS $$
    SELECT a.debt, p.unlimited FROM credits.accounts a
      JOIN credits.plans p ON p.code = a.plan
     WHERE a.user_id = p_user FOR UPDATE OF a;
$$;

-- usage (a charge) or a negative admin adjustment: drawn from the grants in spend order.
CREATE FUNCTION credits.op_take(r credits.outcome, p credits.request) RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    acct record;
    t record;
    v_amount bigint := p.amount;
    e credits.entries;
BEGIN
    IF p.kind = 'usage' AND EXISTS (SELECT 1 FROM credits.entries
                                     WHERE kind = 'usage' AND reference = p.reference) THEN
        RETURN credits.conflict(r, p, 'reference_charged');
    END IF;
    SELECT a.debt, p_.unlimited, a.balance INTO acct FROM credits.accounts a
      JOIN credits.plans p_ ON p_.code = a.plan WHERE a.user_id = p.user_id FOR UPDATE OF a;
    IF NOT FOUND THEN
        r.status := 'no_account';
        RETURN r;
    END IF;
    IF p.kind = 'usage' THEN
        IF acct.unlimited THEN
            v_amount := 0;
        ELSIF acct.debt > 0 THEN
            r.status := 'in_debt'; r.debt := acct.debt; r.required := p.amount;
            RETURN r;
        END IF;
    END IF;
    IF v_amount > 0 THEN
        -- The common case in one statement: the first grant in spend order covers it
        -- all; the grant, the balance, the entry and its draw move together.
        WITH g AS (
            UPDATE credits.grants gr SET remaining = gr.remaining - v_amount
             WHERE gr.id = (SELECT id FROM credits.grants
                             WHERE user_id = p.user_id AND NOT drained
                               AND (expires_at IS NULL OR expires_at > now())
                             ORDER BY priority DESC, expires_at ASC NULLS LAST, id
                             LIMIT 1 FOR UPDATE)
               AND gr.remaining >= v_amount
            RETURNING gr.id),
        a AS (
            UPDATE credits.accounts SET balance = balance - v_amount, updated_at = now()
             WHERE user_id = p.user_id AND EXISTS (SELECT 1 FROM g)
            RETURNING balance),
        n AS (
            INSERT INTO credits.entries
                (user_id, kind, amount, balance_after, reference, description, actor)
            SELECT p.user_id, p.kind, -v_amount, a.balance, p.reference,
                   coalesce(p.description, ''), coalesce(p.actor, '') FROM a
            RETURNING *),
        d AS (
            INSERT INTO credits.draws (grant_id, entry_id, amount)
            SELECT g.id, n.id, v_amount FROM g, n)
        SELECT n.* INTO e FROM n;
        IF e.id IS NOT NULL THEN
            PERFORM pg_notify('credits_balance', concat_ws(',', p.user_id, e.balance_after,
                                                           e.id, p.kind, -v_amount));
            r.entry_id := e.id; r.user_id := e.user_id; r.kind := e.kind;
            r.amount := e.amount; r.balance_after := e.balance_after;
            r.reference := e.reference; r.description := e.description;
            r.actor := e.actor; r.created_at := e.created_at;
            r.balance := e.balance_after; r.debt := acct.debt;
            r.status := 'ok';
            RETURN r;
        END IF;
    END IF;
    -- Several grants (or none): take them one by one, all or nothing.
    SELECT * INTO t FROM credits.take(p.user_id, v_amount);
    IF t.ids IS NULL THEN
        r.status := 'insufficient'; r.balance := t.available; r.required := v_amount;
        RETURN r;
    END IF;
    e := credits.post(p.user_id, p.kind, -v_amount, p.reference, p.description, p.actor);
    PERFORM credits.record_draws(t.ids, t.takes, e.id, NULL);
    r := credits.with_entry(r, e);
    r.status := 'ok';
    r.balance := e.balance_after;
    RETURN r;
END $$;

-- Credits in: an entry and the grant that holds them.
CREATE FUNCTION credits.op_grant(r credits.outcome, p credits.request) RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    acct record;
    e credits.entries;
BEGIN
    SELECT * INTO acct FROM credits.lock_account(p.user_id);
    IF acct.unlimited IS NULL THEN
        r.status := 'no_account';
        RETURN r;
    END IF;
    e := credits.post(p.user_id, p.kind, p.amount, p.reference, p.description, p.actor);
    PERFORM credits.open_grant(p.user_id, p.source, p.amount, p.priority, p.expires_at,
                               p.reference, e.id);
    r := credits.with_entry(r, e);
    r.status := 'ok';
    RETURN r;
END $$;

-- Exactly what a usage took, back to the grants it came from, once.
CREATE FUNCTION credits.op_refund(r credits.outcome, p credits.request)
RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    u record;
    d record;
    e credits.entries;
    v_back bigint := 0;
BEGIN
    SELECT id, user_id, -amount AS amount INTO u FROM credits.entries
     WHERE kind = 'usage' AND reference = p.reference;
    IF NOT FOUND THEN
        r.status := 'no_charge';
        RETURN r;
    END IF;
    IF EXISTS (SELECT 1 FROM credits.entries WHERE kind = 'refund' AND reference = p.reference)
    THEN
        RETURN credits.conflict(r, p, 'already_refunded');
    END IF;
    PERFORM credits.lock_account(u.user_id);
    e := credits.post(u.user_id, 'refund', u.amount, p.reference, p.description, p.actor);
    SELECT array_agg(grant_id ORDER BY id) AS ids, array_agg(amount ORDER BY id) AS amounts,
           coalesce(sum(amount), 0)::bigint AS total INTO d
      FROM credits.draws WHERE entry_id = u.id;
    PERFORM credits.give_back(u.user_id, d.ids, d.amounts, p.reference);
    -- A usage from before grants existed drew from no grant in particular.
    PERFORM credits.give_back_unknown(u.user_id, u.amount - d.total, e.id);
    r := credits.with_entry(r, e);
    r.status := 'ok';
    RETURN r;
END $$;

-- Credits set aside while work runs: drawn from grants like a usage, but no entry yet.
CREATE FUNCTION credits.op_reserve(r credits.outcome, p credits.request)
RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    acct record;
    t record;
    v_amount bigint := p.amount;
    v_hold bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM credits.holds WHERE reference = p.reference) THEN
        RETURN credits.conflict(r, p, 'hold_exists');
    END IF;
    IF EXISTS (SELECT 1 FROM credits.entries WHERE kind = 'usage' AND reference = p.reference)
    THEN
        RETURN credits.conflict(r, p, 'reference_charged');
    END IF;
    SELECT * INTO acct FROM credits.lock_account(p.user_id);
    IF acct.unlimited IS NULL THEN
        r.status := 'no_account';
        RETURN r;
    END IF;
    IF acct.unlimited THEN
        v_amount := 0;
    ELSIF acct.debt > 0 THEN
        r.status := 'in_debt'; r.debt := acct.debt; r.required := p.amount;
        RETURN r;
    END IF;
    SELECT * INTO t FROM credits.take(p.user_id, v_amount);
    IF t.ids IS NULL THEN
        r.status := 'insufficient'; r.balance := t.available; r.required := v_amount;
        RETURN r;
    END IF;
    INSERT INTO credits.holds (user_id, reference, amount, expires_at)
    VALUES (p.user_id, p.reference, v_amount, now() + make_interval(secs => p.timeout_s))
    RETURNING id INTO v_hold;
    PERFORM credits.record_draws(t.ids, t.takes, NULL, v_hold);
    UPDATE credits.accounts SET reserved = reserved + v_amount, updated_at = now()
     WHERE user_id = p.user_id;
    PERFORM credits.announce_hold(p.user_id, v_amount);
    r.status := 'ok';
    RETURN credits.with_hold(r, v_hold);
END $$;

-- The hold of a reference, locked (its account first), or NULL; resolved ones refused.
CREATE FUNCTION credits.open_hold(p_reference text) RETURNS credits.holds
LANGUAGE plpgsql AS $$
DECLARE
    v_user uuid;
    h credits.holds;
BEGIN
    SELECT user_id INTO v_user FROM credits.holds WHERE reference = p_reference;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM credits.lock_account(v_user);
    SELECT * INTO h FROM credits.holds WHERE reference = p_reference FOR UPDATE;
    RETURN h;
END $$;

CREATE FUNCTION credits.op_resolve(r credits.outcome, p credits.request)
RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    h credits.holds;
    e credits.entries;
    v_amount bigint;
BEGIN
    h := credits.open_hold(p.reference);
    IF h.id IS NULL THEN
        r.status := 'no_hold';
        RETURN r;
    ELSIF h.status = 'captured' THEN
        RETURN credits.conflict(r, p, 'hold_captured');
    ELSIF h.status = 'released' THEN
        RETURN credits.conflict(r, p, 'hold_released');
    END IF;
    -- An unlimited account held nothing: its usage is recorded at 0.
    v_amount := CASE WHEN h.amount = 0 THEN 0 ELSE p.amount END;
    IF p.op = 'capture' AND v_amount > h.amount THEN
        r.status := 'capture_exceeds'; r.required := h.amount;
        RETURN r;
    END IF;
    PERFORM credits.unreserve(h);
    IF p.op = 'release' THEN
        PERFORM credits.resolve_hold(h, 'released', NULL, NULL,
                                     coalesce(nullif(p.description, ''), 'released'));
    ELSE
        e := credits.post(h.user_id, 'usage', -v_amount, p.reference, p.description,
                          p.actor);
        PERFORM credits.resolve_hold(h, 'captured', v_amount, e.id, NULL);
        r := credits.with_entry(r, e);
    END IF;
    r.status := 'ok';
    RETURN credits.with_hold(r, h.id);
END $$;

-- A refunded or disputed payment: what is left of its grant goes, once; what was
-- already spent becomes the account's debt.
CREATE FUNCTION credits.op_reverse(r credits.outcome, p credits.request)
RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    g credits.grants;
    t record;
    v_user uuid;
    v_paid bigint;
    v_back bigint;
    v_ids bigint[];
    v_takes bigint[];
    e credits.entries;
BEGIN
    SELECT * INTO g FROM credits.grants WHERE source = 'purchase' AND reference = p.reference;
    IF FOUND THEN
        v_user := g.user_id;
    ELSE  -- a purchase from before grants existed
        SELECT user_id, amount INTO v_user, v_paid FROM credits.entries
         WHERE kind = 'purchase' AND reference = p.reference ORDER BY id LIMIT 1;
        IF NOT FOUND THEN
            r.status := 'no_payment';
            RETURN r;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM credits.entries WHERE kind = 'reversal'
                AND reference = p.reference) THEN
        RETURN credits.conflict(r, p, 'already_reversed');
    END IF;
    PERFORM credits.lock_account(v_user);
    IF g.id IS NOT NULL THEN
        SELECT * INTO g FROM credits.grants WHERE id = g.id FOR UPDATE;
        v_back := g.remaining;
        v_ids := ARRAY[g.id];
        v_takes := ARRAY[v_back];
        v_paid := g.amount - g.expired;
    ELSE
        SELECT * INTO t FROM credits.take(v_user, v_paid);
        IF t.ids IS NULL THEN
            SELECT * INTO t FROM credits.take(v_user, t.available);
        END IF;
        v_ids := t.ids;
        v_takes := t.takes;
        SELECT coalesce(sum(x), 0) INTO v_back FROM unnest(t.takes) AS x;
    END IF;
    e := credits.post(v_user, 'reversal', -v_back, p.reference, p.description, p.actor,
                      v_paid - v_back);
    IF g.id IS NOT NULL THEN
        UPDATE credits.grants SET remaining = 0, reversed_by = e.id WHERE id = g.id;
    END IF;
    PERFORM credits.record_draws(v_ids, v_takes, e.id, NULL);
    r := credits.with_entry(r, e);
    r.status := 'ok';
    RETURN r;
END $$;

-- Statuses: ok, insufficient, in_debt, no_account, no_charge, no_hold, no_payment,
-- already_refunded, already_reversed, reference_charged, reference_credited,
-- hold_exists, hold_captured, hold_released, capture_exceeds, key_reused.
CREATE FUNCTION credits.apply_one(p_ord int, p credits.request) RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    r credits.outcome;
    v_constraint text;
BEGIN
    r := credits.replay(p_ord, p.key, p.fingerprint);
    IF r.status IS NOT NULL THEN
        RETURN r;
    END IF;
    r.ord := p_ord;
    r.replayed := false;
    BEGIN
        r := CASE p.op
            WHEN 'take' THEN credits.op_take(r, p)
            WHEN 'grant' THEN credits.op_grant(r, p)
            WHEN 'refund' THEN credits.op_refund(r, p)
            WHEN 'reserve' THEN credits.op_reserve(r, p)
            WHEN 'capture' THEN credits.op_resolve(r, p)
            WHEN 'release' THEN credits.op_resolve(r, p)
            WHEN 'reverse' THEN credits.op_reverse(r, p)
            WHEN 'allot' THEN credits.op_allot(r, p)
        END;
        IF r.status = 'ok' AND NOT r.replayed THEN
            INSERT INTO credits.idempotency_keys (key, fingerprint, outcome, entry_id, hold_id)
            VALUES (p.key, p.fingerprint, 'ok', r.entry_id, r.hold_id);
        ELSIF r.status = 'insufficient' AND NOT r.replayed THEN
            -- A refusal is a result too: the same key answers the same later.
            INSERT INTO credits.idempotency_keys (key, fingerprint, outcome, balance, required)
            VALUES (p.key, p.fingerprint, 'insufficient', r.balance, r.required);
        ELSIF r.status = 'in_debt' AND NOT r.replayed THEN
            INSERT INTO credits.idempotency_keys (key, fingerprint, outcome, balance, required)
            VALUES (p.key, p.fingerprint, 'in_debt', r.debt, r.required);
        END IF;
        RETURN r;
    EXCEPTION
        WHEN unique_violation THEN
            -- Another transaction won a race for the same key or reference; this item's
            -- writes are rolled back with the block. The violating insert waited for the
            -- winner to commit.
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            r.replayed := false;
            RETURN credits.conflict(r, p, CASE v_constraint
                WHEN 'uq_entries_usage_reference' THEN 'reference_charged'
                WHEN 'uq_entries_refund_reference' THEN 'already_refunded'
                WHEN 'uq_entries_reversal_reference' THEN 'already_reversed'
                WHEN 'uq_holds_reference' THEN 'hold_exists'
                WHEN 'uq_grants_paid_reference' THEN 'reference_credited'
                WHEN 'idempotency_keys_pkey' THEN 'key_reused'
                ELSE 'unique:' || v_constraint END);
    END;
END $$;

CREATE FUNCTION credits.apply_batch(
    p_ops text[], p_users uuid[], p_amounts bigint[], p_kinds text[], p_refs text[],
    p_keys text[], p_fps text[], p_descs text[], p_actors text[], p_sources text[],
    p_priorities int[], p_expires timestamptz[], p_timeouts int[],
    p_periods timestamptz[], p_caps bigint[]
) RETURNS SETOF credits.outcome
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_ops, 1), 0) LOOP
        RETURN NEXT credits.apply_one(i, ROW(
            p_ops[i], p_users[i], p_amounts[i], p_kinds[i], p_refs[i], p_keys[i], p_fps[i],
            p_descs[i], p_actors[i], p_sources[i], p_priorities[i], p_expires[i],
            p_timeouts[i], p_periods[i], p_caps[i])::credits.request);
    END LOOP;
END $$;
