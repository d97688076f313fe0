"""Our own copies of outputs (Replicate deletes API outputs after about an hour) and of
uploaded input images: a local directory served under a public base URL (the API
gateway's /media), or an S3-compatible bucket (s3_storage.py) where configured.

Generations keep the plain URL of each stored file; whoever is shown one gets a signed
link that expires (link()), and only the owner's own generations are ever shown.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from videogen_common import media_urls

from .output_fetch import OutputFetcher

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class StorageError(Exception):
    pass


class LocalStorage:
    def __init__(
        self,
        directory: Path,
        public_base_url: str,
        fetcher: OutputFetcher,
        *,
        url_secret: str,
        url_ttl_s: int,
    ) -> None:
        self.directory = directory
        self.public_base_url = public_base_url.rstrip("/")
        self._fetcher = fetcher
        self._url_secret, self._url_ttl_s = url_secret, url_ttl_s
        (directory / "videos").mkdir(parents=True, exist_ok=True)
        (directory / "inputs").mkdir(parents=True, exist_ok=True)

    def _url(self, relative: str) -> str:
        return f"{self.public_base_url}/{relative}"

    def link(self, url: str) -> str:
        """A signed, expiring link for a URL of ours; any other URL as it is."""
        relative = media_urls.relative_of(url, self.public_base_url)
        if relative is None:
            return url
        return (
            f"{self._url(relative)}?{media_urls.sign(self._url_secret, relative, self._url_ttl_s)}"
        )

    def _write_atomically(self, relative: str, chunks) -> None:
        target = self.directory / relative
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            with open(partial, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            os.replace(partial, target)  # readers never see half a file
        except OSError as error:  # a full disk, a missing mount
            partial.unlink(missing_ok=True)
            raise StorageError(f"writing {relative}: {error}") from None

    async def save_image(self, generation_id: str, data: bytes, content_type: str) -> str:
        relative = f"inputs/{generation_id}.{EXTENSIONS[content_type]}"
        self._write_atomically(relative, [data])
        return self._url(relative)

    async def discard(self, url: str) -> None:
        """Remove a file this storage wrote, by its URL (an upload nobody will use)."""
        relative = media_urls.relative_of(url, self.public_base_url)
        if relative is not None:
            (self.directory / relative).unlink(missing_ok=True)

    async def copy_video(self, generation_id: str, source_url: str) -> str:
        relative = f"videos/{generation_id}.mp4"
        self._write_atomically(relative, await self._fetcher.fetch(source_url))
        return self._url(relative)
