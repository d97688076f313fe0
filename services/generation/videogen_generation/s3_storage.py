"""Outputs and uploads in an S3-compatible bucket (AWS S3, R2, MinIO...), through boto3.

boto3 is synchronous: each call runs in a worker thread with its own timeouts and
bounded retries, so the event loop never waits on the bucket.
"""

from __future__ import annotations

import asyncio
import io

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from videogen_common.media_urls import relative_of

from .output_fetch import OutputFetcher
from .storage import EXTENSIONS, StorageError


class S3Storage:
    def __init__(
        self,
        bucket: str,
        public_base_url: str,
        timeout_s: float,
        fetcher: OutputFetcher,
        *,
        url_ttl_s: int,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.public_base_url = public_base_url.rstrip("/")
        self._fetcher = fetcher
        self._url_ttl_s = url_ttl_s
        # Credentials: given here, or boto3's own chain (environment, instance role...).
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(
                # SigV4 presigned URLs (X-Amz-Expires): what every current store accepts.
                signature_version="s3v4",
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def _url(self, key: str) -> str:
        return f"{self.public_base_url}/{key}"

    def link(self, url: str) -> str:
        """A presigned, expiring GET of an object of ours (signed here, no request made);
        any other URL as it is."""
        key = relative_of(url, self.public_base_url)
        if key is None:
            return url
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self._url_ttl_s,
        )

    async def _put(self, key: str, body: bytes, content_type: str) -> str:
        try:
            await asyncio.to_thread(
                self._client.upload_fileobj,
                io.BytesIO(body),
                self.bucket,
                key,
                ExtraArgs={"ContentType": content_type},
            )
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"writing {key}: {error}") from None
        return self._url(key)

    async def save_image(self, generation_id: str, data: bytes, content_type: str) -> str:
        return await self._put(
            f"inputs/{generation_id}.{EXTENSIONS[content_type]}", data, content_type
        )

    async def discard(self, url: str) -> None:
        key = relative_of(url, self.public_base_url)
        if key is not None:
            try:
                await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)
            except (BotoCoreError, ClientError):
                pass  # an orphan upload costs storage, not correctness

    async def copy_video(self, generation_id: str, source_url: str) -> str:
        body = b"".join(await self._fetcher.fetch(source_url))
        return await self._put(f"videos/{generation_id}.mp4", body, "video/mp4")
