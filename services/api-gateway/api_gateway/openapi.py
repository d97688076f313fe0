"""GET /openapi.json: an OpenAPI 3.1 document of every route (a test checks they match)."""
from __future__ import annotations

from functools import cache

_ERROR = {"type": "object", "required": ["detail"],
          "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array"}]}}}
_NULLABLE_STR = {"type": ["string", "null"]}
_GENERATION = {"type": "object", "required": ["id", "status", "created_at", "credits_used"],
               "properties": {
                   "id": {"type": "string", "format": "uuid"},
                   "status": {"enum": ["queued", "processing", "completed", "failed",
                                       "canceled"]},
                   "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                   "video_url": _NULLABLE_STR, "error": _NULLABLE_STR,
                   "created_at": {"type": "string"}, "completed_at": _NULLABLE_STR,
                   "credits_used": {"type": "integer"}, "prompt": {"type": "string"},
                   "model": {"type": "string"}, "resolution": {"type": "string"},
                   "duration": {"type": "integer"}}}
_T2V = {"type": "object", "required": ["prompt"], "properties": {
    "prompt": {"type": "string", "minLength": 10, "maxLength": 500},
    "negative_prompt": {"type": ["string", "null"], "maxLength": 200},
    "model": {"type": "string", "enum": ["t2v-14B", "t2v-1.3B"], "default": "t2v-14B"},
    "resolution": {"type": "string", "enum": ["480p", "720p"], "default": "720p"},
    "duration": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5},
    "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": 2147483647}}}
_I2V = {"type": "object", "required": ["prompt"], "properties": {
    **_T2V["properties"],
    "model": {"type": "string", "enum": ["i2v-14B"], "default": "i2v-14B"},
    "image_url": {"type": "string", "format": "uri", "pattern": "^https://"}}}
_I2V_FORM = {"type": "object", "required": ["prompt", "image"], "properties": {
    **{k: v for k, v in _I2V["properties"].items() if k != "image_url"},
    "image": {"type": "string", "contentMediaType": "application/octet-stream"}}}
_GRANT = {"type": "object", "required": ["amount", "reason"], "properties": {
    "amount": {"type": "integer"}, "reason": {"type": "string", "minLength": 1},
    "kind": {"enum": ["grant", "adjustment"], "default": "grant"}}}
_PAGE = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                     "maximum": 100, "default": 50}},
         {"name": "cursor", "in": "query", "schema": {"type": "string"}}]


def _path(name: str, fmt: str = "uuid") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string",
                                                                      "format": fmt}}


IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string",
                                                                     "maxLength": 200}}

# (method, path, summary, public, request schema or None, success schema, parameters)
ROUTES = [
    ("get", "/health", "Liveness", True, None, {"type": "object"}, []),
    ("get", "/openapi.json", "This document", True, None, {"type": "object"}, []),
    ("get", "/metrics", "Prometheus metrics", True, None, {"type": "string"}, []),
    ("post", "/api/generation/text-to-video", "Start a text-to-video generation", False,
     _T2V, _GENERATION, [IDEMPOTENCY]),
    ("post", "/api/generation/image-to-video", "Start an image-to-video generation", False,
     _I2V, _GENERATION, [IDEMPOTENCY]),
    ("get", "/api/generation/status/{id}", "A generation's status and progress", False,
     None, {"type": "object"}, [_path("id")]),
    ("get", "/api/generation/history", "The user's generations, newest first", False, None,
     {"type": "object", "required": ["generations"]}, _PAGE),
    ("post", "/api/generation/{id}/cancel", "Cancel and refund", False, None, _GENERATION,
     [_path("id")]),
    ("post", "/api/generation/{id}/retry", "Retry a failed generation", False, None,
     _GENERATION, [_path("id"), IDEMPOTENCY]),
    ("get", "/api/generation/catalog", "Models, resolutions, prices, limits", True, None,
     {"type": "object"}, []),
    ("get", "/api/credits/packages", "Credit packages for sale", True, None,
     {"type": "object"}, []),
    ("get", "/api/users/me", "The user's profile", False, None, {"type": "object"}, []),
    ("get", "/api/users/credits", "The user's balance", False, None,
     {"type": "object", "required": ["credits"]}, []),
    ("get", "/api/users/transactions", "The user's ledger, newest first", False, None,
     {"type": "object", "required": ["transactions"]}, _PAGE),
    ("post", "/api/events/token", "A short-lived token for EventSource", False, None,
     {"type": "object"}, []),
    ("get", "/api/events", "Server-Sent Events: balance and generation changes", True, None,
     {"type": "string"}, [{"name": "token", "in": "query", "schema": {"type": "string"}}]),
    ("post", "/api/admin/users/{user_id}/credits", "Admin: grant or adjust credits", False,
     _GRANT, {"type": "object"}, [_path("user_id"), IDEMPOTENCY]),
    ("get", "/api/admin/users/{user_id}/transactions", "Admin: a user's ledger", False,
     None, {"type": "object"}, [_path("user_id"), *_PAGE]),
    ("post", "/api/admin/reconcile", "Admin: check balances against entries", False, None,
     {"type": "object"}, [{"name": "user_id", "in": "query",
                           "schema": {"type": "string", "format": "uuid"}}]),
]


def _operation(summary, public, request, success, parameters, path) -> dict:
    media = {"text/event-stream" if path == "/api/events" else "application/json":
             {"schema": success}}
    responses = {"200": {"description": "OK", "content": media}}
    errors = {"400", "404", "422", "429", "503", "504"} | ({"401"} if not public else set())
    if "generation/" in path and request is not None:
        errors.add("402")
    for code in sorted(errors):
        responses[code] = {"description": "Error",
                           "content": {"application/json": {"schema": _ERROR}}}
    operation = {"summary": summary, "parameters": parameters, "responses": responses}
    if not public:
        operation["security"] = [{"bearer": []}]
    if request is not None:
        content = {"application/json": {"schema": request}}
        if path.endswith("image-to-video"):
            content["multipart/form-data"] = {"schema": _I2V_FORM}
        operation["requestBody"] = {"required": True, "content": content}
    return operation


@cache
def document() -> dict:
    paths: dict[str, dict] = {}
    for method, path, summary, public, request, success, parameters in ROUTES:
        paths.setdefault(path, {})[method] = _operation(summary, public, request, success,
                                                        parameters, path)
    return {
        "openapi": "3.1.0",
        "info": {"title": "videogen API", "version": "1.0.0",
                 "description": "Credit-metered AI video generation (Wan2.1)."},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "bearerFormat": "JWT"}}},
    }
