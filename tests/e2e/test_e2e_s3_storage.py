"""Outputs copied into an S3-compatible bucket (moto's S3 server on loopback)."""

import urllib.request

import boto3
import pytest
from moto.server import ThreadedMotoServer

from videogen.generation.v1 import generation_pb2 as gpb
from videogen_generation.main import start as start_generation

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _presigned_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


@pytest.fixture
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server._server.server_port}"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **KEYS)
    client.create_bucket(Bucket="videos")
    yield url, client
    server.stop()


async def test_success_and_uploads_land_in_the_bucket(
    stack, s3_server, funded_user, wait_for, tmp_path
):
    url, client = s3_server
    port = stack.generation_app.port
    await stack.generation_app.stop(0)
    stack.generation_app = await start_generation(
        stack.generation_settings(
            media_dir=tmp_path / "unused",
            generation_grpc_address=f"127.0.0.1:{port}",
            generation_s3_bucket="videos",
            generation_s3_endpoint_url=url,
            generation_s3_region="us-east-1",
            generation_s3_access_key_id="testing",
            generation_s3_secret_access_key="testing",
            generation_media_base_url="https://cdn.example.test",
        )
    )
    user = await funded_user(100)
    gen = (
        await stack.generation_api.CreateGeneration(
            gpb.CreateGenerationRequest(
                user_id=user,
                idempotency_key="s3",
                model="i2v-14B",
                resolution="480p",
                prompt="the cat in this photo starts to dance",
                duration_s=5,
                image_bytes=PNG,
            )
        )
    ).generation
    # Shown as presigned GETs of the bucket (they expire); stored under the base URL.
    assert (await stack.generation_app.flow.repo.get(gen.id)).image_url == (
        f"https://cdn.example.test/inputs/{gen.id}.png"
    )
    assert _presigned_get(gen.image_url) == PNG

    async def copied():
        g = (
            await stack.generation_api.GetGeneration(
                gpb.GetGenerationRequest(user_id=user, generation_id=gen.id)
            )
        ).generation
        return g if g.video_url else None

    final = await wait_for(copied)
    assert "X-Amz-Signature=" in final.video_url and "X-Amz-Expires=21600" in final.video_url
    assert b"ftyp" in _presigned_get(final.video_url)[:32]
    video = client.get_object(Bucket="videos", Key=f"videos/{gen.id}.mp4")
    assert video["ContentType"] == "video/mp4" and b"ftyp" in video["Body"].read()[:32]
    image = client.get_object(Bucket="videos", Key=f"inputs/{gen.id}.png")
    assert image["Body"].read() == PNG
