"""`videogen`, the operator's command line, against the running API gateway."""

import asyncio
import json
import uuid

import jwt
from videogen_cli.main import main

from .conftest import JWT_SECRET


async def _run(capsys, *argv) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))  # its HTTP calls block: not on the loop
    out, err = capsys.readouterr()
    return code, out, err


async def test_tokens_accounts_grants_ledgers_and_reconcile(api, capsys, monkeypatch):
    monkeypatch.setenv("AUTH_JWT_SECRET", JWT_SECRET)
    base = ["--api", api.app.base_url]
    user = str(uuid.uuid4())
    code, out, _ = await _run(capsys, "token", user, "--admin", "--json", *base)
    claims = jwt.decode(json.loads(out)["token"], JWT_SECRET, ["HS256"], audience="authenticated")
    assert code == 0 and (claims["sub"], claims["role"]) == (user, "admin")
    code, out, _ = await _run(capsys, "account", user, "--json", *base)
    assert code == 0 and json.loads(out)["credits"] == 100
    code, out, _ = await _run(capsys, "grant", user, "50", "--reason", "support case 7", *base)
    assert code == 0
    code, out, _ = await _run(capsys, "account", user, *base)
    assert "credits   150" in out
    code, out, _ = await _run(capsys, "ledger", user, "--json", *base)
    entries = json.loads(out)["transactions"]
    assert [(e["amount"], e["description"]) for e in entries][0] == (50, "support case 7")
    code, out, _ = await _run(capsys, "reconcile", "--user", user, "--json", *base)
    assert code == 0 and json.loads(out)["drifts"] == []


async def test_a_generation_by_hand_and_clear_errors(api, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AUTH_JWT_SECRET", JWT_SECRET)
    base = ["--api", api.app.base_url]
    user = str(uuid.uuid4())
    status, created, _ = await api.call(
        "POST", "/api/generation/text-to-video", user, json={"prompt": "a red fox in the snow"}
    )
    code, out, _ = await _run(capsys, "generation", created["id"], "--json", *base)
    history = json.loads(out)
    assert code == 0 and history["generation"]["id"] == created["id"]
    assert history["changes"] and history["changes"][0]["status"] == "queued"
    code, _, err = await _run(capsys, "generation", str(uuid.uuid4()), *base)
    assert code == 1 and "404" in err
    code, out, _ = await _run(capsys, "stuck", "--older-than", "0", "--json", *base)
    assert code == 0 and isinstance(json.loads(out)["generations"], list)
    code, _, err = await _run(capsys, "account", user, "--api", "http://127.0.0.1:9")
    assert code == 2 and "not reachable" in err
    monkeypatch.setenv("AUTH_JWT_SECRET", "")
    monkeypatch.chdir(tmp_path)  # no .env, no .data/dev-auth.env here
    code, _, err = await _run(capsys, "token", user)
    assert code == 1 and "AUTH_JWT_SECRET" in err
