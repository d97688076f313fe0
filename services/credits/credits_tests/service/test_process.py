"""The service as a process: TLS, metrics, JSON logs without secrets, SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from videogen.credits.v1 import credits_pb2 as pb
from videogen.credits.v1 import credits_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.testing.certs import make_loopback_certs
from videogen_common.testing.waits import free_port
from videogen_credits.main import start

from ..conftest import TOKENS, credits_settings
from ..helpers import new_user


async def test_tls_when_certificates_are_configured(credits_db, tmp_path):
    certs = make_loopback_certs(tmp_path)
    app = await start(
        credits_settings(
            credits_db, credits_tls_cert_path=certs.cert_path, credits_tls_key_path=certs.key_path
        )
    )
    try:
        credentials = grpc.ssl_channel_credentials(certs.ca_path.read_bytes())
        async with grpc.aio.secure_channel(f"localhost:{app.port}", credentials) as channel:
            stub = AuthedStub(credits_pb2_grpc.CreditsServiceStub(channel), TOKENS["api"])
            created = await stub.EnsureAccount(pb.EnsureAccountRequest(user_id=new_user()))
            assert created.account.balance == 100
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as plain:
            stub = AuthedStub(credits_pb2_grpc.CreditsServiceStub(plain), TOKENS["api"])
            with pytest.raises(grpc.RpcError) as refused:
                await stub.EnsureAccount(pb.EnsureAccountRequest(user_id=new_user()), timeout=2)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await app.stop(0)


def _wait_serving(address: str, process: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert process.poll() is None, "credits exited early"
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise AssertionError("credits never became SERVING")


def test_process_serves_metrics_logs_json_without_secrets_and_stops_on_sigterm(credits_db):
    port, metrics_port = free_port(), free_port()
    env = dict(
        os.environ,
        DATABASE_URL=credits_db,
        CREDITS_CALLER_TOKENS=json.dumps(TOKENS),
        CREDITS_GRPC_ADDRESS=f"127.0.0.1:{port}",
        CREDITS_METRICS_PORT=str(metrics_port),
        LOG_LEVEL="DEBUG",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "videogen_credits.main"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_serving(f"127.0.0.1:{port}", process)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = AuthedStub(credits_pb2_grpc.CreditsServiceStub(channel), TOKENS["api"])
            stub.EnsureAccount(pb.EnsureAccountRequest(user_id=new_user()))
            with pytest.raises(grpc.RpcError):
                stub.GetBalance(pb.GetBalanceRequest(user_id="bad"))
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics").read()
        text = metrics.decode()
        assert (
            'grpc_server_handled_total{code="OK",method="EnsureAccount",service="credits"} 1.0'
        ) in text
        assert (
            'grpc_server_handled_total{code="INVALID_ARGUMENT",method="GetBalance",'
            'service="credits"} 1.0'
        ) in text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
    logs = process.stderr.read()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert any(line["message"] == "credits stopped" for line in lines)
    assert all(line["service"] == "credits" for line in lines)
    for token in TOKENS.values():
        assert token not in logs
