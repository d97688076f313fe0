-- Subscriptions and the two sweeps.

-- A paid invoice of a subscription: its period's allotment (the plan's, passed in as
-- amount), expiring at expires_at (the period's end plus a grace for the next invoice).
-- Unused allotment of earlier periods carries over up to rollover_cap (it then expires
-- with this period); the rest expires now. A second invoice for the same period (an
-- upgrade) tops the period up to the new plan's allotment.
CREATE FUNCTION credits.op_allot(r credits.outcome, p credits.request)
RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    acct record;
    g credits.grants;
    v_given bigint;
    v_grant bigint;
    v_cap bigint := coalesce(p.rollover_cap, 0);
    v_carry bigint;
    e credits.entries;
BEGIN
    SELECT * INTO acct FROM credits.lock_account(p.user_id);
    IF acct.unlimited IS NULL THEN
        r.status := 'no_account';
        RETURN r;
    END IF;
    FOR g IN SELECT * FROM credits.grants
              WHERE user_id = p.user_id AND source = 'subscription' AND NOT drained
                AND period_end < p.period_end
                AND (expires_at IS NULL OR expires_at > now())
              ORDER BY period_end DESC, id FOR UPDATE LOOP
        v_carry := least(g.remaining, v_cap);
        v_cap := v_cap - v_carry;
        IF g.remaining > v_carry THEN
            PERFORM credits.post(p.user_id, 'expiry', v_carry - g.remaining,
                                 'rollover:' || g.id, 'unused allotment past the rollover cap',
                                 'system');
            UPDATE credits.grants SET expired = expired + remaining - v_carry,
                   remaining = v_carry WHERE id = g.id;
        END IF;
        IF v_carry > 0 THEN
            UPDATE credits.grants SET expires_at = p.expires_at WHERE id = g.id;
        END IF;
    END LOOP;
    SELECT coalesce(sum(amount), 0) INTO v_given FROM credits.grants
     WHERE user_id = p.user_id AND source = 'subscription' AND period_end = p.period_end;
    IF p.amount - v_given <= 0 THEN
        RETURN credits.allot_nothing(r, p);  -- this period already has its allotment
    END IF;
    e := credits.post(p.user_id, 'subscription', p.amount - v_given, p.reference,
                      p.description, p.actor);
    v_grant := credits.open_grant(p.user_id, 'subscription', p.amount - v_given, p.priority,
                                  p.expires_at, p.reference, e.id);
    UPDATE credits.grants SET period_end = p.period_end WHERE id = v_grant;
    r := credits.with_entry(r, e);
    r.status := 'ok';
    RETURN r;
END $$;

-- An invoice that brings nothing new (the period already has its allotment): answered
-- with the account's newest entry, so the key still has a first result to replay.
CREATE FUNCTION credits.allot_nothing(r credits.outcome, p credits.request)
RETURNS credits.outcome
LANGUAGE plpgsql AS $$
DECLARE
    e credits.entries;
BEGIN
    SELECT * INTO e FROM credits.entries WHERE user_id = p.user_id ORDER BY id DESC LIMIT 1;
    IF NOT FOUND THEN
        r.status := 'nothing_due';
        RETURN r;
    END IF;
    r := credits.with_entry(r, e);
    r.status := 'ok';
    RETURN r;
END $$;

-- Grants whose expires_at passed lose what they still hold, through one expiry entry
-- each. Accounts locked by someone else are left for the next sweep.
CREATE FUNCTION credits.expire_due(p_limit int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    a record;
    g credits.grants;
    v_done int := 0;
BEGIN
    FOR a IN SELECT DISTINCT user_id FROM credits.grants
              WHERE NOT drained AND expires_at <= now() LIMIT p_limit LOOP
        PERFORM 1 FROM credits.accounts WHERE user_id = a.user_id FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        FOR g IN SELECT * FROM credits.grants
                  WHERE user_id = a.user_id AND NOT drained AND expires_at <= now()
                  ORDER BY id FOR UPDATE LOOP
            PERFORM credits.post(a.user_id, 'expiry', -g.remaining, 'grant:' || g.id,
                                 'expired ' || g.source || ' credits', 'system');
            UPDATE credits.grants SET expired = expired + remaining, remaining = 0
             WHERE id = g.id;
            v_done := v_done + 1;
        END LOOP;
    END LOOP;
    RETURN v_done;
END $$;

-- Holds past their timeout are released, once, as a release would.
CREATE FUNCTION credits.release_due_holds(p_limit int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    h credits.holds;
    v_done int := 0;
BEGIN
    FOR d IN SELECT id, user_id FROM credits.holds
              WHERE status = 'open' AND expires_at <= now() ORDER BY expires_at
              LIMIT p_limit LOOP
        PERFORM 1 FROM credits.accounts WHERE user_id = d.user_id FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        SELECT * INTO h FROM credits.holds WHERE id = d.id FOR UPDATE;
        CONTINUE WHEN h.status <> 'open';
        PERFORM credits.unreserve(h);
        PERFORM credits.resolve_hold(h, 'released', NULL, NULL, 'timed out');
        v_done := v_done + 1;
    END LOOP;
    RETURN v_done;
END $$;
