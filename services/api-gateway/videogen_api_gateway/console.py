"""GET /admin: the operators' console, a static page over the admin routes.

The page and its modules are files of this package, served from a fixed list (nothing
else under /admin can be asked for) with a policy that lets them load only from this
origin: no CDN, no inline script. Anyone may load the page; what it shows comes from
the admin routes, which check the role in the JWT the operator pastes in.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

HERE = Path(__file__).resolve().parent / "console"
FILES = {
    "console.js": "text/javascript",
    "console.css": "text/css",
}
# Videos may come from the bucket's presigned links on another host.
POLICY = (
    "default-src 'self'; media-src 'self' https: http:; img-src 'self' data:;"
    " object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _file(name: str, content_type: str) -> web.Response:
    return web.Response(body=(HERE / name).read_bytes(), content_type=content_type, headers=HEADERS)


async def page(request: web.Request) -> web.Response:
    return _file("index.html", "text/html")


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in FILES:
        raise web.HTTPNotFound(reason="Not found")
    return _file(name, FILES[name])


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin", page)
    app.router.add_get("/admin/static/{name}", static)
