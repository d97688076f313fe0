"""GET /media/<kind>/<name>: stored videos and uploaded images, through signed links.

Generation hands each owner links signed with MEDIA_URL_SECRET that expire; a <video>
or <img> element cannot send a bearer token, so the link is the permission. Anything
unsigned, expired, or not a stored file's name is refused before the disk is touched.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from videogen_common import media_urls


class MediaFiles:
    def __init__(self, directory: Path, secret: str) -> None:
        self._directory = directory
        self._secret = secret
        directory.mkdir(parents=True, exist_ok=True)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        relative = f"{request.match_info['kind']}/{request.match_info['name']}"
        expires = request.query.get("expires", "")
        signature = request.query.get("signature", "")
        if not media_urls.check(self._secret, relative, expires, signature):
            # One answer for forged, expired and unknown: nothing to learn by probing.
            raise web.HTTPForbidden(reason="Missing, invalid or expired media link")
        path = self._directory / relative
        if not path.is_file():
            raise web.HTTPNotFound(reason="No such media")
        # The type is ours, from the name we gave the file, never sniffed by the browser.
        return web.FileResponse(
            path,
            headers={
                "Content-Type": media_urls.content_type(relative),
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": "inline",
                "Cache-Control": "private, max-age=300",
            },
        )
