"""After the faults: the money and the jobs, checked against PostgreSQL, the provider's own
records and what the workload was told. Each broken rule is one violation line."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import aiohttp
import psycopg

from .workload import Records

SIGNUP_GRANT = 100
OPEN = {"queued", "starting", "processing"}
GAVE_UP = {"failed", "canceled", "timed_out"}
RUNNING_AT_PROVIDER = {"starting", "processing"}


@dataclass
class Snapshot:
    accounts: dict[str, int]
    entries: list[tuple]  # (user_id, kind, amount, reference, balance_after, id)
    generations: dict[str, dict]
    predictions: list[dict]
    holds: dict[str, str]  # reference -> status

    @property
    def open_generations(self) -> int:
        return sum(1 for g in self.generations.values() if g["status"] in OPEN)


async def snapshot(database_url: str, emulator_url: str) -> Snapshot:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        accounts = dict(
            await (
                await conn.execute("SELECT user_id::text, balance FROM credits.accounts")
            ).fetchall()
        )
        entries = await (
            await conn.execute(
                "SELECT user_id::text, kind, amount, reference, balance_after, id"
                " FROM credits.entries ORDER BY id"
            )
        ).fetchall()
        cursor = await conn.execute(
            "SELECT id::text, user_id::text, status, charge, price, prediction_id,"
            " video_url, copy_lost FROM generation.generations"
        )
        names = [c.name for c in cursor.description]
        generations = {
            row[0]: dict(zip(names, row, strict=False)) for row in await cursor.fetchall()
        }
        holds = dict(
            await (await conn.execute("SELECT reference, status FROM credits.holds")).fetchall()
        )
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{emulator_url}/_emulator/predictions") as response:
            predictions = (await response.json())["predictions"]
        for prediction in predictions:
            url = f"{emulator_url}/_emulator/predictions/{prediction['id']}/deliveries"
            async with session.get(url) as response:
                sent = await response.json() if response.status == 200 else {}
            prediction["deliveries"] = sent.get("deliveries", [])
    return Snapshot(accounts, list(entries), generations, predictions, holds)


def settled(snap: Snapshot) -> bool:
    """Nothing left for recovery: every generation ended and owes nothing."""
    for gen in snap.generations.values():
        if gen["status"] in OPEN or (
            gen["status"] in GAVE_UP and gen["charge"] in ("pending", "reserved", "charged")
        ):
            return False
        if gen["status"] == "succeeded" and (
            not gen["video_url"] or gen["charge"] in ("pending", "reserved")
        ):
            return False
    return True


def generation_of(prediction: dict) -> str:
    query = parse_qs(urlparse(prediction.get("webhook") or "").query)
    return (query.get("generation_id") or [""])[0]


def audit(snap: Snapshot, records: Records) -> list[str]:
    found: list[str] = []
    found += _ledger(snap)
    found += _generations(snap)
    found += _provider(snap)
    found += _keys(snap, records)
    found += _replays(snap)
    found += _conservation(snap, records)
    return found


def _ledger(snap: Snapshot) -> list[str]:
    found, sums, last = [], Counter(), {}
    for user, _, amount, _, balance_after, _ in snap.entries:
        sums[user] += amount
        if balance_after != sums[user]:
            found.append(
                f"account {user}: an entry's balance_after {balance_after} does not"
                f" follow from the entries before it ({sums[user]})"
            )
        last[user] = balance_after
    for user, balance in snap.accounts.items():
        if balance != sums[user] or balance < 0:
            found.append(f"account {user}: balance {balance}, entries sum {sums[user]}")
    return found


def _by_reference(snap: Snapshot) -> dict[tuple[str, str], int]:
    counts: Counter = Counter()
    for _, kind, _, reference, _, _ in snap.entries:
        counts[(kind, reference)] += 1
    return counts


def _generations(snap: Snapshot) -> list[str]:
    found, counts = [], _by_reference(snap)
    for gid, gen in snap.generations.items():
        status, hold = gen["status"], snap.holds.get(gid)
        charged, refunded = counts[("usage", gid)], counts[("refund", gid)]
        if status in OPEN:
            found.append(f"generation {gid}: still {status} after the recovery window")
            continue
        if hold == "open":
            found.append(f"generation {gid}: {status}, its hold still open")
        if status == "succeeded":
            if (charged, refunded) != (1, 0) or hold == "released" and charged != 1:
                found.append(
                    f"generation {gid}: succeeded with {charged} charges and "
                    f"{refunded} refunds (hold {hold})"
                )
            if not gen["video_url"]:
                found.append(f"generation {gid}: succeeded without a video")
        elif status in GAVE_UP:
            # Not delivered: its hold released (nothing in the history), or an old-style
            # charge refunded exactly once.
            settled_ = gen["charge"] in ("released", "refunded", "none")
            if not settled_ or charged != refunded or charged > 1 or hold == "captured":
                found.append(
                    f"generation {gid}: {status} with {charged} charges, {refunded}"
                    f" refunds, hold {hold}, charge {gen['charge']}"
                )
        elif status == "rejected" and (charged or hold not in (None, "released")):
            found.append(f"generation {gid}: rejected yet charged (hold {hold})")
    return found


def _provider(snap: Snapshot) -> list[str]:
    found, counts = [], _by_reference(snap)
    jobs: dict[str, list[dict]] = defaultdict(list)
    for prediction in snap.predictions:
        jobs[generation_of(prediction)].append(prediction)
    for gid, predictions in jobs.items():
        gen = snap.generations.get(gid)
        if gen is None:
            found.append(f"provider jobs {[p['id'] for p in predictions]} for no generation")
            continue
        if len(predictions) > 1:
            # When each was recorded and how it ended tells which path sent the second.
            told = ", ".join(
                f"{p['id']} {p.get('created_at')} {p.get('status')}" for p in predictions
            )
            found.append(f"generation {gid}: {len(predictions)} jobs at the provider ({told})")
        if not counts[("usage", gid)] and gid not in snap.holds:
            found.append(f"generation {gid}: a job ran at the provider, neither held nor paid")
        for p in predictions:
            if p["lost"]:
                continue
            if (
                gen["status"] == "succeeded"
                and p["id"] == gen["prediction_id"]
                and p["status"] != "succeeded"
            ):
                found.append(f"generation {gid}: succeeded, its job {p['status']}")
            if gen["status"] != "succeeded" and p["status"] == "succeeded":
                found.append(
                    f"generation {gid}: {gen['status']} although its job "
                    f"{p['id']} succeeded (paid for, not delivered)"
                )
            if gen["status"] not in OPEN and p["status"] in RUNNING_AT_PROVIDER:
                found.append(
                    f"generation {gid}: {gen['status']}, its job {p['id']} still {p['status']}"
                )
    return found


def _replays(snap: Snapshot) -> list[str]:
    """A webhook captured long ago and sent again must be refused as stale."""
    return [
        f"job {p['id']}: a stale replay of {d['webhook_id']} was accepted"
        for p in snap.predictions
        for d in p.get("deliveries", [])
        if d["outcome"] == "replayed_stale" and 200 <= (d["http_status"] or 0) < 300
    ]


def _keys(snap: Snapshot, records: Records) -> list[str]:
    found = []
    for (user, key), ids in records.keys.items():
        if len(ids) != 1:
            found.append(f"key {key} of {user} answered with {len(ids)} generations")
        for gid in ids:
            gen = snap.generations.get(gid)
            if gen is None or gen["user_id"] != user:
                found.append(f"key {key} of {user} named {gid}, which is not the user's")
    return found


def _conservation(snap: Snapshot, records: Records) -> list[str]:
    """Every account holds what came in minus what its delivered videos cost: the
    signup grant, each acknowledged purchase and grant once, each success's price."""
    found, counts = [], _by_reference(snap)
    expected: Counter = Counter()
    for user in snap.accounts:
        expected[user] += SIGNUP_GRANT
    for payment, (user, credits, _) in records.purchases.items():
        made = counts[("purchase", payment)]
        if payment in records.paid and made != 1:
            found.append(f"purchase {payment}: acknowledged, credited {made} times")
        elif made > 1:
            found.append(f"purchase {payment}: credited {made} times")
        expected[user] += credits * made
    granted = Counter()
    for user, kind, amount, _, _, _ in snap.entries:
        if kind == "grant":
            granted[user] += amount
    wanted = Counter()
    for key in records.granted:
        user, amount = records.grants[key]
        wanted[user] += amount
    for user in set(granted) | set(wanted):
        if granted[user] != wanted[user]:
            found.append(
                f"account {user}: granted {granted[user]}, admins were answered for {wanted[user]}"
            )
        expected[user] += granted[user]
    for gen in snap.generations.values():
        if gen["status"] == "succeeded":
            expected[gen["user_id"]] -= gen["price"]
    for user, balance in snap.accounts.items():
        if balance != expected[user]:
            found.append(f"account {user}: balance {balance}, expected {expected[user]}")
    return found
