"""Reconcile: every invariant of the ledger, checked per account in one snapshot.

- balance = Σ entries, and each entry's balance_after follows from the one before;
- balance = Σ remaining of the grants + reserved, reserved = Σ open holds;
- debt = Σ debt moves of the entries;
- every usage (and every other draw on grants) drew exactly its amount, and every open
  hold holds exactly its amount.
"""

from __future__ import annotations

from .domain import Drift

_MINE = "(CAST(:u AS uuid) IS NULL OR {col} = :u)"
_DRAWN_KINDS = "('usage', 'reversal', 'debt_payment', 'admin_adjustment')"

RECONCILE = f"""
WITH chain AS (
    SELECT user_id, id, amount, debt_delta, balance_after,
           lag(balance_after, 1, 0::bigint) OVER (PARTITION BY user_id ORDER BY id) AS before
      FROM credits.entries WHERE {_MINE.format(col="user_id")}),
sums AS (
    SELECT user_id, sum(amount) AS total, sum(debt_delta) AS debt,
           min(id) FILTER (WHERE before + amount <> balance_after) AS broken,
           (array_agg(balance_after ORDER BY id DESC))[1] AS last_after
      FROM chain GROUP BY user_id),
grant_sums AS (
    SELECT user_id, sum(remaining) AS remaining FROM credits.grants
     WHERE {_MINE.format(col="user_id")} GROUP BY user_id),
hold_sums AS (
    SELECT user_id, sum(amount) AS held FROM credits.holds
     WHERE status = 'open' AND {_MINE.format(col="user_id")} GROUP BY user_id),
bad_draws AS (
    SELECT e.user_id, min(e.id) AS entry_id FROM credits.entries e
     CROSS JOIN LATERAL (SELECT coalesce(sum(d.amount), 0) AS drawn FROM credits.draws d
                          WHERE d.entry_id = e.id) d
     WHERE e.kind IN {_DRAWN_KINDS} AND e.amount < 0 AND {_MINE.format(col="e.user_id")}
       AND e.id > (SELECT entry_id FROM credits.epochs WHERE name = 'grants')
       AND d.drawn <> -e.amount
     GROUP BY e.user_id),
bad_holds AS (
    SELECT h.user_id, min(h.id) AS hold_id FROM credits.holds h
     CROSS JOIN LATERAL (SELECT coalesce(sum(d.amount), 0) AS drawn FROM credits.draws d
                          WHERE d.hold_id = h.id) d
     WHERE h.status = 'open' AND d.drawn <> h.amount AND {_MINE.format(col="h.user_id")}
     GROUP BY h.user_id),
checked AS (
    SELECT a.user_id::text AS user_id, a.balance, a.reserved, a.debt,
           coalesce(s.total, 0) AS total, coalesce(s.debt, 0) AS entries_debt,
           coalesce(s.broken, 0) AS broken, coalesce(s.last_after, 0) AS last_after,
           coalesce(g.remaining, 0) AS remaining, coalesce(h.held, 0) AS held,
           coalesce(bd.entry_id, 0) AS bad_draw, coalesce(bh.hold_id, 0) AS bad_hold
      FROM credits.accounts a
      LEFT JOIN sums s ON s.user_id = a.user_id
      LEFT JOIN grant_sums g ON g.user_id = a.user_id
      LEFT JOIN hold_sums h ON h.user_id = a.user_id
      LEFT JOIN bad_draws bd ON bd.user_id = a.user_id
      LEFT JOIN bad_holds bh ON bh.user_id = a.user_id
     WHERE {_MINE.format(col="a.user_id")})
SELECT c.*, n.n AS checked_count FROM (SELECT count(*) AS n FROM checked) n
  LEFT JOIN checked c ON (c.balance <> c.total OR c.last_after <> c.balance OR c.broken <> 0
       OR c.balance <> c.remaining + c.reserved OR c.reserved <> c.held
       OR c.debt <> c.entries_debt OR c.bad_draw <> 0 OR c.bad_hold <> 0)
"""


def drifts_of(rows) -> tuple[int, list[Drift]]:
    drifts = []
    for r in rows:
        if r.user_id is None:
            continue
        problems = []
        if r.balance != r.total:
            problems.append(f"balance {r.balance} != sum of entries {r.total}")
        if r.last_after != r.balance:
            problems.append(f"last balance_after {r.last_after} != balance {r.balance}")
        if r.broken:
            problems.append(f"entry {r.broken} does not follow from the one before")
        if r.balance != r.remaining + r.reserved:
            problems.append(
                f"balance {r.balance} != grants' remaining {r.remaining} + reserved {r.reserved}"
            )
        if r.reserved != r.held:
            problems.append(f"reserved {r.reserved} != open holds {r.held}")
        if r.debt != r.entries_debt:
            problems.append(f"debt {r.debt} != entries' debt {r.entries_debt}")
        if r.bad_draw:
            problems.append(f"entry {r.bad_draw} did not draw its amount from grants")
        if r.bad_hold:
            problems.append(f"hold {r.bad_hold} does not hold its amount")
        if problems:
            drifts.append(
                Drift(r.user_id, r.balance, int(r.total), int(r.broken), "; ".join(problems))
            )
    return int(rows[0].checked_count), drifts
