"""Our own copies of outputs (Replicate deletes API outputs after about an hour) and of
uploaded input images: a local directory served under a public base URL (the API
gateway's /media), or an S3-compatible bucket (s3_storage.py) where configured."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx

OUTPUT_BYTES_MAX = 512 * 1024 * 1024
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class StorageError(Exception):
    pass


class LocalStorage:
    def __init__(self, directory: Path, public_base_url: str, timeout_s: float) -> None:
        self.directory = directory
        self.public_base_url = public_base_url.rstrip("/")
        self._timeout_s = timeout_s
        (directory / "videos").mkdir(parents=True, exist_ok=True)
        (directory / "inputs").mkdir(parents=True, exist_ok=True)

    def _url(self, relative: str) -> str:
        return f"{self.public_base_url}/{relative}"

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
        prefix = self.public_base_url + "/"
        if url.startswith(prefix):
            relative = url[len(prefix) :]
            if ".." not in relative.split("/"):
                (self.directory / relative).unlink(missing_ok=True)

    async def copy_video(self, generation_id: str, source_url: str) -> str:
        relative = f"videos/{generation_id}.mp4"
        self._write_atomically(relative, await download(source_url, self._timeout_s))
        return self._url(relative)


async def download(source_url: str, timeout_s: float) -> list[bytes]:
    """The output's bytes, refusing more than OUTPUT_BYTES_MAX."""
    chunks, size = [], 0
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=True) as client:
            async with client.stream("GET", source_url) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > OUTPUT_BYTES_MAX:
                        raise StorageError("output larger than the limit")
                    chunks.append(chunk)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        # ValueError and InvalidURL: an output URL that is not one (a provider's bug).
        raise StorageError(f"downloading the output: {type(error).__name__}") from None
    return chunks
