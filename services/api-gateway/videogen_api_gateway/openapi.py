"""GET /openapi.json: an OpenAPI 3.1 document of every route (a test checks they match).

The shapes are the ones shapes.py and the error middleware write, every answer an
operation can give is listed, and a generation links to its status, cancel and retry:
tests/e2e/test_e2e_schemathesis.py holds the running gateway to all of it.
"""

from __future__ import annotations

import re
from functools import cache

_SCHEMAS: dict[str, dict] = {}


def _named(name: str, schema: dict) -> dict:
    """Put `schema` under components/schemas and answer a reference to it."""
    _SCHEMAS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict) -> dict:
    """An object in which every one of these properties is always present."""
    return {"type": "object", "required": list(properties), "properties": properties}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_NULLABLE_STR = {"type": ["string", "null"]}
_UUID = {"type": "string", "format": "uuid"}
_AMOUNT_MAX = 1_000_000  # the credits service's default CREDITS_AMOUNT_MAX

# Answers
_ERROR = _named(
    "Error",
    _object(
        {
            "detail": {
                "anyOf": [
                    _STR,
                    {
                        "type": "array",
                        "description": "One entry per invalid field",
                        "items": _object(
                            {
                                "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                                "msg": _STR,
                                "type": _STR,
                            }
                        ),
                    },
                ]
            }
        }
    ),
)
_INSUFFICIENT = _named(
    "InsufficientCredits",
    {
        "anyOf": [
            _object(
                {"detail": {"const": "Insufficient credits"}, "balance": _INT, "required": _INT}
            ),
            _object(
                {"detail": {"const": "The account is in debt"}, "debt": _INT, "required": _INT}
            ),
        ]
    },
)
_STATUS = {"enum": ["queued", "processing", "completed", "failed", "canceled", "rejected"]}
_PROGRESS = {"type": "integer", "minimum": 0, "maximum": 100}
_GENERATION = _named(
    "Generation",
    _object(
        {
            "id": _UUID,
            "user_id": _UUID,
            "type": {"enum": ["text-to-video", "image-to-video"]},
            "job_id": _NULLABLE_STR,
            "error_message": _NULLABLE_STR,
            "status": _STATUS,
            "prompt": _STR,
            "negative_prompt": _NULLABLE_STR,
            "model": _STR,
            "resolution": _STR,
            "duration": _INT,
            "seed": {"type": ["integer", "null"]},
            "image_url": _NULLABLE_STR,
            "video_url": _NULLABLE_STR,
            "error": _NULLABLE_STR,
            "progress": _PROGRESS,
            "credits_used": _INT,
            "price": _INT,
            "created_at": _STR,
            "completed_at": _NULLABLE_STR,
            "retry_of": {"type": ["string", "null"], "format": "uuid"},
            "refunded": _BOOL,
        }
    ),
)
_GENERATION_STATUS = _named(
    "GenerationStatus",
    _object(
        {
            "id": _UUID,
            "status": _STATUS,
            "progress": _PROGRESS,
            "video_url": _NULLABLE_STR,
            "error": _NULLABLE_STR,
            "logs": _NULLABLE_STR,
        }
    ),
)
_NEXT = {
    "next_cursor": {
        "type": ["string", "null"],
        "description": "?cursor= for the next page; null on the last",
    }
}
_GENERATIONS = _named(
    "Generations", _object({"generations": {"type": "array", "items": _GENERATION}, **_NEXT})
)
_TRANSACTION = _named(
    "Transaction",
    _object(
        {
            "id": _INT,
            "user_id": _UUID,
            "amount": _INT,
            "type": {
                "enum": [
                    "bonus",
                    "deduction",
                    "refund",
                    "purchase",
                    "adjustment",
                    "subscription",
                    "promo",
                    "expiry",
                    "reversal",
                    "debt_payment",
                ]
            },
            "generation_id": _NULLABLE_STR,
            "reference": _NULLABLE_STR,
            "description": _NULLABLE_STR,
            "actor": _NULLABLE_STR,
            "balance_after": _INT,
            "created_at": _STR,
        }
    ),
)
_TRANSACTIONS = _named(
    "Transactions", _object({"transactions": {"type": "array", "items": _TRANSACTION}, **_NEXT})
)
_GRANT_ROW = _named(
    "Grant",
    _object(
        {
            "id": _INT,
            "source": _STR,
            "amount": _INT,
            "remaining": _INT,
            "priority": _INT,
            "expires_at": _NULLABLE_STR,
        }
    ),
)
_CREDITS = _named(
    "Credits",
    _object(
        {
            "credits": _INT,
            "reserved": _INT,
            "debt": _INT,
            "low_balance": _BOOL,
            "plan": _STR,
            "grants": {"type": "array", "items": _GRANT_ROW},
            "next_expiry": {"anyOf": [_object({"amount": _INT, "at": _STR}), {"type": "null"}]},
        }
    ),
)
_ME = _named(
    "Me",
    _object(
        {
            "id": _UUID,
            "email": _NULLABLE_STR,
            "credits": _INT,
            "subscription_tier": _STR,
            "plan": _STR,
            "plan_period_end": _NULLABLE_STR,
            "debt": _INT,
            "low_balance": _BOOL,
            "is_admin": _BOOL,
            "created_at": _STR,
            "updated_at": _STR,
        }
    ),
)
_RANGE = {"type": "array", "items": _INT, "minItems": 2, "maxItems": 2}
_CATALOG = _named(
    "Catalog",
    _object(
        {
            "models": {
                "type": "array",
                "items": _object(
                    {
                        "model": _STR,
                        "task": _STR,
                        "default_resolution": _STR,
                        "prices": {"type": "object", "additionalProperties": _INT},
                    }
                ),
            },
            "limits": _object(
                {
                    "prompt_length": _RANGE,
                    "negative_prompt_length_max": _INT,
                    "duration": _RANGE,
                    "image_bytes_max": _INT,
                    "image_types": {"type": "array", "items": _STR},
                }
            ),
        }
    ),
)
_PACKAGES = _named(
    "Packages",
    _object(
        {
            "packages": {
                "type": "array",
                "items": _object({"id": _STR, "credits": _INT, "price": _INT, "currency": _STR}),
            },
            "plans": {
                "type": "array",
                "items": _object(
                    {"code": _STR, "allotment": _INT, "rollover_cap": _INT, "unlimited": _BOOL}
                ),
            },
        }
    ),
)
_EVENTS_TOKEN = _named("EventsToken", _object({"token": _STR, "expires_in": _INT}))
_GRANTED = _named("Granted", _object({"transaction": _TRANSACTION, "credits": _INT}))
_RECONCILED = _named(
    "Reconciled",
    _object(
        {
            "accounts_checked": _INT,
            "drifts": {
                "type": "array",
                "items": _object(
                    {
                        "user_id": _STR,
                        "balance": _INT,
                        "entries_sum": _INT,
                        "broken_entry_id": {"type": ["integer", "null"]},
                        "description": _STR,
                    }
                ),
            },
        }
    ),
)
_HEALTH = _object({"status": {"const": "healthy"}})
_ROOT = _object({"message": _STR, "version": _STR})
_CREDENTIALS = _object({"email": {"type": "string", "format": "email"}, "password": _STR})
_SIGNED_IN = _object(
    {"user": {"type": ["object", "null"]}, "session": {"type": ["object", "null"]}}
)
_SIGNED_OUT = _object({"message": _STR})
_DOCUMENT = _object({"openapi": _STR, "info": {"type": "object"}, "paths": {"type": "object"}})

# Request bodies. null is taken as "not given" (the default), as the seed's API did.
_T2V_FIELDS = {
    "prompt": {"type": "string", "minLength": 10, "maxLength": 500},
    "negative_prompt": {"type": ["string", "null"], "maxLength": 200},
    "model": {"enum": ["t2v-14B", "t2v-1.3B", None], "default": "t2v-14B"},
    "resolution": {"enum": ["480p", "720p", None], "default": "720p"},
    "duration": {"type": ["integer", "null"], "minimum": 1, "maximum": 10, "default": 5},
    "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": 2147483647},
}
_I2V_FIELDS = {**_T2V_FIELDS, "model": {"enum": ["i2v-14B", None], "default": "i2v-14B"}}
_T2V = _named("TextToVideo", {"type": "object", "required": ["prompt"], "properties": _T2V_FIELDS})
_I2V = _named(
    "ImageToVideo",
    {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            **_I2V_FIELDS,
            "image_url": {
                "type": ["string", "null"],
                "maxLength": 2048,
                "pattern": "^https://.",
                "description": "An https URL with a host name (or send the image as "
                "multipart/form-data)",
            },
        },
    },
)
_I2V_FORM = _named(
    "ImageToVideoForm",
    {
        "type": "object",
        "required": ["prompt", "image"],
        "properties": {
            **_I2V_FIELDS,
            "image": {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": "A PNG, JPEG or WebP image of at most 10 MB",
            },
        },
    },
)
_GRANT = _named(
    "GrantRequest",
    {
        "type": "object",
        "required": ["amount", "reason"],
        "properties": {
            "amount": {
                "type": "integer",
                "minimum": -_AMOUNT_MAX,
                "maximum": _AMOUNT_MAX,
                "not": {"const": 0},
                "description": "Positive for a grant; an adjustment may be negative. "
                "At most the ledger's CREDITS_AMOUNT_MAX (1,000,000 "
                "unless set).",
            },
            "reason": {
                "type": "string",
                "maxLength": 500,
                "description": "Recorded with the "
                "entry: not blank, no control characters but tab and newline",
                "allOf": [{"pattern": "\\S"}, {"pattern": "^[^\\x00-\\x08\\x0b-\\x1f]*$"}],
            },
            "kind": {"enum": ["grant", "promo", "adjustment"], "default": "grant"},
            "expires_at": {
                "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
                "description": "Grants only: when the credits expire (future; "
                "null or absent: never)",
            },
            "priority": {
                "anyOf": [{"type": "integer", "minimum": 0, "maximum": 100}, {"type": "null"}],
                "description": "Grants only: higher is spent first (null or absent: "
                "the source's default)",
            },
        },
        # Only an adjustment may take credits away; it has no expiry or priority.
        "anyOf": [
            {
                "required": ["kind"],
                "properties": {"kind": {"const": "adjustment"}},
                "not": {"anyOf": [{"required": ["expires_at"]}, {"required": ["priority"]}]},
            },
            {"properties": {"amount": {"minimum": 1}}},
        ],
    },
)

# Parameters
_PAGE = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
    },
    {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 200}},
]


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": _UUID}


def _idempotency(max_length: int = 200) -> dict:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "description": "The same key with the same request answers the first result, charged once",
        "schema": {"type": "string", "maxLength": max_length},
    }


IDEMPOTENCY = _idempotency()
# The ledger's keys are 200 characters at most, and an admin's are stored as "admin:<key>".
_ADMIN_IDEMPOTENCY = {
    **_idempotency(200 - len("admin:")),
    "required": True,
    "description": "Required: a retried grant with the same key grants once",
}
_ADMIN_IDEMPOTENCY["schema"] = {**_ADMIN_IDEMPOTENCY["schema"], "minLength": 1, "pattern": "\\S"}

# Answers every operation can give besides its own: 400 for a malformed request line or
# header; with a user (or an upstream) behind it, 401 and the upstream's 502, 503 and 504.
_ANY = {"400"}
_UPSTREAM = {"502", "503", "504"}
_USER = {"401", *_UPSTREAM}
_BODY = {"413", "422"}
_CREATE = {*_USER, *_BODY, "402", "409", "429"}
_ADMIN = {*_USER, "404", "422"}  # 404: the admin surface does not exist for others

# (method, path, summary, public, request schema or None, success schema, parameters,
#  error statuses)
_AUTH = {"400", "422", "429", "501", "502", "503"}  # 501: Supabase Auth not configured

ROUTES = [
    ("get", "/", "What this is", True, None, _ROOT, [], set()),
    ("get", "/health", "Liveness", True, None, _HEALTH, [], set()),
    (
        "post",
        "/api/auth/signup",
        "Sign up (Supabase Auth)",
        True,
        _CREDENTIALS,
        _SIGNED_IN,
        [],
        _AUTH,
    ),
    (
        "post",
        "/api/auth/signin",
        "Sign in (Supabase Auth)",
        True,
        _CREDENTIALS,
        _SIGNED_IN,
        [],
        _AUTH,
    ),
    (
        "post",
        "/api/auth/signout",
        "Sign out (Supabase Auth)",
        True,
        None,
        _SIGNED_OUT,
        [],
        {"401", *_AUTH},
    ),
    ("get", "/openapi.json", "This document", True, None, _DOCUMENT, [], set()),
    (
        "post",
        "/api/generation/text-to-video",
        "Start a text-to-video generation",
        False,
        _T2V,
        _GENERATION,
        [IDEMPOTENCY],
        _CREATE,
    ),
    (
        "post",
        "/api/generation/image-to-video",
        "Start an image-to-video generation",
        False,
        _I2V,
        _GENERATION,
        [IDEMPOTENCY],
        _CREATE,
    ),
    (
        "get",
        "/api/generation/status/{id}",
        "A generation's status and progress",
        False,
        None,
        _GENERATION_STATUS,
        [_path("id")],
        {*_USER, "404"},
    ),
    (
        "get",
        "/api/generation/history",
        "The user's generations, newest first",
        False,
        None,
        _GENERATIONS,
        _PAGE,
        {*_USER, "422"},
    ),
    (
        "post",
        "/api/generation/{id}/cancel",
        "Cancel and refund",
        False,
        None,
        _GENERATION,
        [_path("id")],
        {*_USER, "404", "409"},
    ),
    (
        "post",
        "/api/generation/{id}/retry",
        "Retry a failed generation",
        False,
        None,
        _GENERATION,
        [_path("id"), IDEMPOTENCY],
        {*_USER, "402", "404", "409", "422", "429"},
    ),
    (
        "get",
        "/api/generation/catalog",
        "Models, resolutions, prices, limits",
        True,
        None,
        _CATALOG,
        [],
        _UPSTREAM,
    ),
    (
        "get",
        "/api/credits/packages",
        "Credit packages for sale, and the plans",
        True,
        None,
        _PACKAGES,
        [],
        _UPSTREAM,
    ),
    ("get", "/api/users/me", "The user's profile", False, None, _ME, [], _USER),
    ("get", "/api/users/credits", "The user's balance", False, None, _CREDITS, [], _USER),
    (
        "get",
        "/api/users/transactions",
        "The user's ledger, newest first",
        False,
        None,
        _TRANSACTIONS,
        _PAGE,
        {*_USER, "422"},
    ),
    (
        "post",
        "/api/events/token",
        "A short-lived token for EventSource",
        False,
        None,
        _EVENTS_TOKEN,
        [
            {
                "name": "user_id",
                "in": "query",
                "description": "Admins only: a token for this user's events (the console)",
                "schema": _UUID,
            }
        ],
        {*_USER, "404", "422"},
    ),
    (
        "get",
        "/api/events",
        "Server-Sent Events: balance and generation changes",
        True,
        None,
        _STR,
        [{"name": "token", "in": "query", "schema": {"type": "string"}}],
        _USER,
    ),
    (
        "post",
        "/api/admin/users/{user_id}/credits",
        "Admin: grant or adjust credits",
        False,
        _GRANT,
        _GRANTED,
        [_path("user_id"), _ADMIN_IDEMPOTENCY],
        {*_ADMIN, *_BODY, "409"},
    ),
    (
        "get",
        "/api/admin/users/{user_id}/transactions",
        "Admin: a user's ledger",
        False,
        None,
        _TRANSACTIONS,
        [_path("user_id"), *_PAGE],
        _ADMIN,
    ),
    (
        "post",
        "/api/admin/reconcile",
        "Admin: check balances against entries",
        False,
        None,
        _RECONCILED,
        [
            {
                "name": "user_id",
                "in": "query",
                "description": "Absent or empty: all",
                "schema": {"anyOf": [_UUID, {"const": ""}]},
            }
        ],
        _ADMIN,
    ),
]
ROUTES += [
    (
        "get",
        "/api/admin/generations/stuck",
        "Admin: open generations of any user, oldest first",
        False,
        None,
        _named(
            "StuckGenerations", _object({"generations": {"type": "array", "items": _GENERATION}})
        ),
        [
            {
                "name": "older_than_s",
                "in": "query",
                "schema": {"type": "integer", "minimum": 0, "maximum": 30 * 86400, "default": 600},
            },
            {
                "name": "limit",
                "in": "query",
                "schema": {"type": "integer", "minimum": 0, "maximum": 200, "default": 50},
            },
        ],
        _ADMIN,
    ),
    (
        "get",
        "/api/admin/generations/{id}",
        "Admin: one generation of any user and its changes",
        False,
        None,
        _named(
            "GenerationHistory",
            _object(
                {
                    "generation": _GENERATION,
                    "changes": {
                        "type": "array",
                        "items": _object(
                            {
                                "event_id": _INT,
                                "status": _STATUS,
                                "progress": _PROGRESS,
                                "charge": _STR,
                                "at": _STR,
                            }
                        ),
                    },
                }
            ),
        ),
        [_path("id")],
        _ADMIN,
    ),
]
_HOLD = _object({"id": _INT, "reference": _STR, "amount": _INT, "expires_at": _NULLABLE_STR})
ROUTES += [
    (
        "get",
        "/api/admin/users/{user_id}",
        "Admin: one account, its grants and open holds",
        False,
        None,
        _named(
            "AdminAccount",
            _object(
                {
                    "user_id": _UUID,
                    "credits": _INT,
                    "reserved": _INT,
                    "debt": _INT,
                    "low_balance": _BOOL,
                    "plan": _STR,
                    "plan_period_end": _NULLABLE_STR,
                    "next_expiry": {
                        "anyOf": [_object({"amount": _INT, "at": _STR}), {"type": "null"}]
                    },
                    "grants": {"type": "array", "items": _GRANT_ROW},
                    "holds": {"type": "array", "items": _HOLD},
                }
            ),
        ),
        [_path("user_id")],
        _ADMIN,
    ),
    (
        "get",
        "/api/admin/users/{user_id}/generations",
        "Admin: a user's generations, newest first",
        False,
        None,
        _GENERATIONS,
        [_path("user_id"), *_PAGE],
        _ADMIN,
    ),
]
_MEDIA = {"/api/events": "text/event-stream"}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}


def _operation_id(method: str, path: str) -> str:
    return f"{method}_" + re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")


# A generation's id leads to its status, cancel and retry.
_GENERATION_LINKS = {
    name: {"operationId": _operation_id(method, path), "parameters": {"id": "$response.body#/id"}}
    for name, method, path in (
        ("status", "get", "/api/generation/status/{id}"),
        ("cancel", "post", "/api/generation/{id}/cancel"),
        ("retry", "post", "/api/generation/{id}/retry"),
    )
}


def _error(code: str) -> dict:
    response = {
        "description": "Error",
        "content": {"application/json": {"schema": _INSUFFICIENT if code == "402" else _ERROR}},
    }
    if code == "429":
        response["headers"] = _RETRY_AFTER
    return response


def _operation(method, path, summary, public, request, success, parameters, errors) -> dict:
    ok = {
        "description": "OK",
        "content": {_MEDIA.get(path, "application/json"): {"schema": success}},
    }
    if success is _GENERATION:
        ok["links"] = _GENERATION_LINKS
    responses = {"200": ok, **{code: _error(code) for code in sorted(_ANY | errors)}}
    operation = {
        "operationId": _operation_id(method, path),
        "summary": summary,
        "parameters": parameters,
        "responses": responses,
    }
    if not public:
        operation["security"] = [{"bearer": []}]
    if request is not None:
        content = {"application/json": {"schema": request}}
        if request is _I2V:
            content["multipart/form-data"] = {"schema": _I2V_FORM}
        operation["requestBody"] = {"required": True, "content": content}
    return operation


@cache
def document() -> dict:
    paths: dict[str, dict] = {}
    for method, path, *rest in ROUTES:
        paths.setdefault(path, {})[method] = _operation(method, path, *rest)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "videogen API",
            "version": "1.0.0",
            "description": "Credit-metered AI video generation (Wan2.1).",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(_SCHEMAS.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
