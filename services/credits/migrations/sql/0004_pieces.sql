-- The pieces every movement of credits is made of. Callers hold the account row lock.

-- One entry: the account's balance (and debt) move by it, in the same statement order
-- as the entry ids, and watchers on every replica hear of it at commit.
CREATE FUNCTION credits.post(p_user uuid, p_kind text, p_amount bigint, p_ref text,
                             p_desc text, p_actor text, p_debt bigint DEFAULT 0)
RETURNS credits.entries
LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
    e credits.entries;
BEGIN
    UPDATE credits.accounts SET balance = balance + p_amount, debt = debt + p_debt,
           updated_at = now()
     WHERE user_id = p_user RETURNING balance INTO v_balance;
    INSERT INTO credits.entries
        (user_id, kind, amount, balance_after, reference, description, actor, debt_delta)
    VALUES (p_user, p_kind, p_amount, v_balance, coalesce(p_ref, ''), coalesce(p_desc, ''),
            coalesce(p_actor, ''), p_debt)
    RETURNING * INTO e;
    PERFORM pg_notify('credits_balance',
                      concat_ws(',', p_user, v_balance, e.id, p_kind, p_amount));
    RETURN e;
END $$;

-- Held credits changed without an entry (a hold opened or resolved): watchers re-read.
CREATE FUNCTION credits.announce_hold(p_user uuid, p_amount bigint) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_notify('credits_balance', concat_ws(',', p_user,
        (SELECT balance FROM credits.accounts WHERE user_id = p_user), 0, 'hold', p_amount));
$$;

-- Take p_amount from the user's live grants in spend order: higher priority first, then
-- the soonest expiry (never-expiring last), then the oldest. Takes all or nothing:
-- ids and takes are NULL when the live grants hold less; available is what they hold
-- (scanned only as far as needed when there is enough).
CREATE FUNCTION credits.take(p_user uuid, p_amount bigint, OUT available bigint,
                             OUT ids bigint[], OUT takes bigint[])
LANGUAGE plpgsql AS $$
DECLARE
    g record;
    v_need bigint := p_amount;
    v_take bigint;
BEGIN
    available := 0;
    ids := '{}';
    takes := '{}';
    IF p_amount <= 0 THEN
        RETURN;
    END IF;
    FOR g IN SELECT id, remaining FROM credits.grants
              WHERE user_id = p_user AND NOT drained
                AND (expires_at IS NULL OR expires_at > now())
              ORDER BY priority DESC, expires_at ASC NULLS LAST, id
                FOR UPDATE LOOP
        available := available + g.remaining;
        v_take := least(v_need, g.remaining);
        ids := ids || g.id;
        takes := takes || v_take;
        v_need := v_need - v_take;
        EXIT WHEN v_need = 0;
    END LOOP;
    IF v_need > 0 THEN
        ids := NULL;
        takes := NULL;
        RETURN;
    END IF;
    UPDATE credits.grants gr SET remaining = gr.remaining - t.take
      FROM unnest(ids, takes) AS t(id, take) WHERE gr.id = t.id;
END $$;

CREATE FUNCTION credits.record_draws(p_ids bigint[], p_takes bigint[], p_entry bigint,
                                     p_hold bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO credits.draws (grant_id, entry_id, hold_id, amount)
    SELECT id, p_entry, p_hold, take FROM unnest(p_ids, p_takes) AS t(id, take)
     WHERE take > 0;
$$;

-- A new grant for credits an entry just brought in. An account in debt pays it first,
-- from these very credits.
CREATE FUNCTION credits.open_grant(p_user uuid, p_source text, p_amount bigint,
                                   p_priority int, p_expires timestamptz, p_ref text,
                                   p_entry bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_grant bigint;
    v_debt bigint;
    v_pay bigint;
    e credits.entries;
BEGIN
    INSERT INTO credits.grants (user_id, source, amount, remaining, priority, expires_at,
                                reference, entry_id)
    VALUES (p_user, p_source, p_amount, p_amount, p_priority, p_expires, coalesce(p_ref, ''),
            p_entry)
    RETURNING id INTO v_grant;
    SELECT debt INTO v_debt FROM credits.accounts WHERE user_id = p_user;
    v_pay := least(v_debt, p_amount);
    IF v_pay > 0 THEN
        e := credits.post(p_user, 'debt_payment', -v_pay, 'grant:' || v_grant,
                          'paid towards the debt', 'system', -v_pay);
        UPDATE credits.grants SET remaining = remaining - v_pay WHERE id = v_grant;
        PERFORM credits.record_draws(ARRAY[v_grant], ARRAY[v_pay], e.id, NULL);
    END IF;
    RETURN v_grant;
END $$;

-- Shares of credits coming back (a refund, a release, the rest of a capture) go to the
-- grants they came from. A share of a grant that has expired leaves at once through
-- its own expiry entry: nothing expired ever comes back to life. A share of a grant
-- whose payment was reversed pays the debt, or is taken back too.
CREATE FUNCTION credits.give_back(p_user uuid, p_ids bigint[], p_amounts bigint[],
                                  p_ref text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    g credits.grants;
    e credits.entries;
    v_share bigint;
    v_debt bigint;
    v_pay bigint;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
        v_share := p_amounts[i];
        CONTINUE WHEN v_share <= 0;
        SELECT * INTO g FROM credits.grants WHERE id = p_ids[i] FOR UPDATE;
        IF g.reversed_by IS NOT NULL THEN
            SELECT debt INTO v_debt FROM credits.accounts WHERE user_id = p_user;
            v_pay := least(v_debt, v_share);
            -- The share leaves from the grant it came back to (its draws say so).
            IF v_pay > 0 THEN
                e := credits.post(p_user, 'debt_payment', -v_pay,
                                  'return:' || p_ref || ':' || g.id,
                                  'returned credits of a reversed payment', 'system', -v_pay);
                PERFORM credits.record_draws(ARRAY[g.id], ARRAY[v_pay], e.id, NULL);
            END IF;
            IF v_share > v_pay THEN
                e := credits.post(p_user, 'reversal', v_pay - v_share,
                                  'return:' || p_ref || ':' || g.id,
                                  'returned credits of a reversed payment', 'system');
                PERFORM credits.record_draws(ARRAY[g.id], ARRAY[v_share - v_pay], e.id, NULL);
            END IF;
        ELSIF g.expires_at IS NOT NULL AND g.expires_at <= now() THEN
            PERFORM credits.post(p_user, 'expiry', -v_share,
                                 'grant:' || g.id || ':' || p_ref,
                                 'expired (returned after its grant expired)', 'system');
            UPDATE credits.grants SET expired = expired + v_share WHERE id = g.id;
        ELSE
            UPDATE credits.grants SET remaining = remaining + v_share WHERE id = g.id;
        END IF;
    END LOOP;
END $$;

-- The grant that takes back credits whose origin is unknown (usage from before grants
-- existed, refunded now): the account's never-expiring "migrated" grant, a new one.
CREATE FUNCTION credits.give_back_unknown(p_user uuid, p_amount bigint, p_entry bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_amount > 0 THEN
        PERFORM credits.open_grant(p_user, 'migrated', p_amount, 10, NULL, '', p_entry);
    END IF;
END $$;

-- Opens the account on first sight, with its signup grant, exactly once.
CREATE FUNCTION credits.open_account(p_user uuid, p_grant bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    e credits.entries;
BEGIN
    INSERT INTO credits.accounts (user_id, balance) VALUES (p_user, 0)
    ON CONFLICT (user_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_grant > 0 THEN
        e := credits.post(p_user, 'signup_grant', p_grant, '', 'Signup grant', 'system');
        PERFORM credits.open_grant(p_user, 'signup', p_grant, 20, NULL, '', e.id);
    END IF;
    RETURN true;
END $$;

-- The first step of ending a hold: its credits are no longer reserved (before any entry,
-- so that reserved <= balance holds at every statement).
CREATE FUNCTION credits.unreserve(p_hold credits.holds) RETURNS void
LANGUAGE sql AS $$
    UPDATE credits.accounts SET reserved = reserved - p_hold.amount, updated_at = now()
     WHERE user_id = p_hold.user_id;
$$;

-- A hold ends (after unreserve, and after its usage entry for a capture): the captured
-- part becomes the usage's draws, in the order the hold took them; the rest goes back.
CREATE FUNCTION credits.resolve_hold(p_hold credits.holds, p_status text, p_captured bigint,
                                     p_entry bigint, p_reason text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    v_keep bigint := coalesce(p_captured, 0);
    v_kept bigint;
    v_ids bigint[] := '{}';
    v_back bigint[] := '{}';
BEGIN
    UPDATE credits.holds SET status = p_status, captured = p_captured, entry_id = p_entry,
           release_reason = p_reason, resolved_at = now()
     WHERE id = p_hold.id;
    FOR d IN SELECT grant_id, amount FROM credits.draws WHERE hold_id = p_hold.id
              ORDER BY id LOOP
        v_kept := least(v_keep, d.amount);
        v_keep := v_keep - v_kept;
        IF v_kept > 0 THEN
            PERFORM credits.record_draws(ARRAY[d.grant_id], ARRAY[v_kept], p_entry, NULL);
        END IF;
        v_ids := v_ids || d.grant_id;
        v_back := v_back || (d.amount - v_kept);
    END LOOP;
    PERFORM credits.give_back(p_hold.user_id, v_ids, v_back, 'hold:' || p_hold.id);
    PERFORM credits.announce_hold(p_hold.user_id, p_hold.amount);
END $$;
