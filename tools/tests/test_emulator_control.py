"""The /_emulator control API and the `python -m replicate_emulator` entry point."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from replicate_emulator import EmulatorConfig, generate_webhook_secret

WAN = "wavespeedai/wan-2.1-t2v-480p"
TOOLS_DIR = Path(__file__).resolve().parents[1]


async def test_config_can_be_read_and_changed_over_http(client, emulator):
    url = f"{emulator.base_url}/_emulator/config"
    async with httpx.AsyncClient() as http:
        before = (await http.get(url)).json()
        changed = await http.post(url, json={"step_delay_s": 0.0, "force_outcome": "failed"})
        unknown = await http.post(url, json={"no_such_knob": 1})
        read_only = await http.post(url, json={"api_token": "other"})
        wrong_type = await http.post(url, json={"progress_steps": "many"})
        out_of_range = await http.post(url, json={"failure_rate": 2})
        not_json = await http.post(url, content=b"{")
        after = (await http.get(url)).json()
    assert before["step_delay_s"] == 0.01 and before["force_outcome"] is None
    assert changed.status_code == 200 and changed.json()["force_outcome"] == "failed"
    for bad in (unknown, read_only, wrong_type, out_of_range, not_json):
        assert bad.status_code == 400, bad.text
    assert after == changed.json()  # rejected updates changed nothing
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "x"})
    await prediction.async_wait()
    assert prediction.status == "failed"  # force_outcome took effect


async def test_marker_beats_force_outcome(client, emulator):
    emulator.update_config({"force_outcome": "failed"})
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "[cancel]"})
    await prediction.async_wait()
    assert prediction.status == "canceled"


async def test_deliveries_of_unknown_prediction_is_404(emulator):
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{emulator.base_url}/_emulator/predictions/nope/deliveries")
        health = await http.get(f"{emulator.base_url}/_emulator/health")
    assert response.status_code == 404
    assert health.json()["ok"] is True


async def test_create_delay_knob_delays_the_answer(client, emulator):
    emulator.update_config({"create_delay_s": 0.3})
    loop = asyncio.get_running_loop()
    began = loop.time()
    await client.predictions.async_create(model=WAN, input={"prompt": "x"})
    assert loop.time() - began >= 0.3


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        EmulatorConfig(webhook_secret="not-a-secret")
    with pytest.raises(ValueError):
        EmulatorConfig(create_error_status=418)
    assert EmulatorConfig().webhook_secret != EmulatorConfig().webhook_secret  # random


async def test_command_line_entry_point(make_client):
    secret = generate_webhook_secret()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TOOLS_DIR), *sys.path])}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "replicate_emulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--api-token",
        "cli-token",
        "--webhook-secret",
        secret,
        "--step-delay-s",
        "0.01",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode()
        match = re.fullmatch(r"replicate-emulator listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        official = make_client(match.group(1), token="cli-token")
        prediction = await official.predictions.async_create(model=WAN, input={"prompt": "x"})
        await prediction.async_wait()
        assert prediction.status == "succeeded"
        assert (await official.webhooks.default.async_secret()).key == secret
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
