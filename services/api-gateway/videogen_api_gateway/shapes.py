"""Our messages in the seed system's JSON shapes (field names its frontend reads)."""

from __future__ import annotations

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb

# The seed's frontend knows queued, processing, completed and failed.
SEED_STATUS = {
    gpb.STATUS_QUEUED: "queued",
    gpb.STATUS_STARTING: "processing",
    gpb.STATUS_PROCESSING: "processing",
    gpb.STATUS_SUCCEEDED: "completed",
    gpb.STATUS_FAILED: "failed",
    gpb.STATUS_CANCELED: "canceled",
    gpb.STATUS_TIMED_OUT: "failed",
    gpb.STATUS_REJECTED: "rejected",
}


def seed_status(g: gpb.Generation) -> str:
    # "completed" always comes with its video: until the copy is stored, it is still
    # processing (at 100%).
    if g.status == gpb.STATUS_SUCCEEDED and not g.video_url:
        return "processing"
    return SEED_STATUS[g.status]


KIND_TYPE = {
    cpb.ENTRY_KIND_SIGNUP_GRANT: "bonus",
    cpb.ENTRY_KIND_USAGE: "deduction",
    cpb.ENTRY_KIND_REFUND: "refund",
    cpb.ENTRY_KIND_PURCHASE: "purchase",
    cpb.ENTRY_KIND_GRANT: "bonus",
    cpb.ENTRY_KIND_ADMIN_ADJUSTMENT: "adjustment",
    cpb.ENTRY_KIND_SUBSCRIPTION: "subscription",
    cpb.ENTRY_KIND_PROMO: "promo",
    cpb.ENTRY_KIND_EXPIRY: "expiry",
    cpb.ENTRY_KIND_REVERSAL: "reversal",
    cpb.ENTRY_KIND_DEBT_PAYMENT: "debt_payment",
}
SOURCE_NAME = {
    cpb.GRANT_SOURCE_SIGNUP: "signup",
    cpb.GRANT_SOURCE_PURCHASE: "purchase",
    cpb.GRANT_SOURCE_SUBSCRIPTION: "subscription",
    cpb.GRANT_SOURCE_PROMO: "promo",
    cpb.GRANT_SOURCE_ADMIN: "admin",
    cpb.GRANT_SOURCE_MIGRATED: "migrated",
}


def _time(stamp, present: bool = True) -> str | None:
    if not present:
        return None
    return stamp.ToDatetime().isoformat() + "Z"


# The seed's words for our terminal states, where an error message names one.
SEED_WORD = {
    "succeeded": "completed",
    "failed": "failed",
    "canceled": "canceled",
    "timed_out": "failed",
    "rejected": "rejected",
}


def generation_json(g: gpb.Generation) -> dict:
    return {
        "id": g.id,
        "user_id": g.user_id,
        # The seed's history fields: an image makes it image-to-video.
        "type": "image-to-video" if g.image_url else "text-to-video",
        "job_id": g.provider_job_id or None,
        "error_message": g.error or None,
        "status": seed_status(g),
        "prompt": g.prompt,
        "negative_prompt": g.negative_prompt or None,
        "model": g.model,
        "resolution": g.resolution,
        "duration": g.duration_s,
        "seed": g.seed if g.HasField("seed") else None,
        "image_url": g.image_url or None,
        "video_url": g.video_url or None,
        "error": g.error or None,
        "progress": g.progress,
        "credits_used": g.credits_used,
        "price": g.price,
        "created_at": _time(g.created_at),
        "completed_at": _time(g.completed_at, g.HasField("completed_at")),
        "retry_of": g.retry_of or None,
        "refunded": g.refunded,
    }


def status_json(g: gpb.Generation) -> dict:
    return {
        "id": g.id,
        "status": seed_status(g),
        "progress": g.progress,
        "video_url": g.video_url or None,
        "error": g.error or None,
        "logs": g.logs or None,
    }


def transaction_json(e: cpb.Entry) -> dict:
    linked = e.kind in (cpb.ENTRY_KIND_USAGE, cpb.ENTRY_KIND_REFUND)
    return {
        "id": e.id,
        "user_id": e.user_id,
        "amount": e.amount,
        "type": KIND_TYPE[e.kind],
        "generation_id": e.reference if linked else None,
        "reference": e.reference or None,
        "description": e.description or None,
        "actor": e.actor or None,
        "balance_after": e.balance_after,
        "created_at": _time(e.created_at),
    }


def grant_json(g: cpb.Grant) -> dict:
    return {
        "id": g.id,
        "source": SOURCE_NAME.get(g.source, "unknown"),
        "amount": g.amount,
        "remaining": g.remaining,
        "priority": g.priority,
        "expires_at": _time(g.expires_at, g.HasField("expires_at")),
    }


def hold_json(h: cpb.Hold) -> dict:
    return {
        "id": h.id,
        "reference": h.reference,
        "amount": h.amount,
        "expires_at": _time(h.expires_at, h.HasField("expires_at")),
    }


def next_expiry_json(account: cpb.Account) -> dict | None:
    if not account.HasField("next_expiry"):
        return None
    return {"amount": account.next_expiry.amount, "at": _time(account.next_expiry.at)}


def account_json(a: cpb.Account, listed: cpb.ListGrantsResponse) -> dict:
    """An account as operators see it: GET /api/admin/users/{user_id}."""
    return {
        "user_id": a.user_id,
        "credits": a.balance,
        "reserved": a.reserved,
        "debt": a.debt,
        "low_balance": a.low_balance,
        "plan": a.plan,
        "plan_period_end": _time(a.plan_period_end, a.HasField("plan_period_end")),
        "next_expiry": next_expiry_json(a),
        "grants": [grant_json(g) for g in listed.grants],
        "holds": [hold_json(h) for h in listed.open_holds],
    }
