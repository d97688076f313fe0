"""Replicate webhooks under k6 over HTTP, at one concurrency, three ways in one run:

  (a) the webhook gateway in front of a generation server that acknowledges at once: the
      gateway's own cost (verify, deduplicate in its database, forward over gRPC, record);
  (b) an aiohttp handler that does nothing, driven identically: the HTTP baseline;
  (c) the gateway in front of the real generation service (credits, the emulator and the
      database behind it), each webhook a "processing" update with grown logs for one of
      the predictions created through CreateGeneration just before.
Every request has a new webhook-id and a signature made in k6 with a current timestamp.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path

from bench_generation import start_generation_stack
from bench_k6 import k6_command, run_summarized
from bench_procs import ChildFailed, Processes
from bench_report import WEBHOOK_ACK, WEBHOOK_NOOP, WEBHOOK_REAL, Result
from bench_service import Tokens, fund_accounts, random_token, start_credits
from bench_webhook_stack import (
    fake_targets,
    new_secret,
    python_preflight,
    real_targets,
    start_ack,
    start_gateway,
    start_noop_http,
    target_checks,
    write_targets,
)

BENCH = Path(__file__).resolve().parent
SCRIPT = BENCH / "k6" / "webhooks.js"
MEASURED = "{phase:measure}"
FUNDED_USERS = 20

# watched(subject pid, run, named pids) -> Result, with the CPU use filled in.
Watched = Callable[[int, Callable[[], Result], dict[str, int]], Result]


def run_webhooks_k6(
    procs: Processes,
    *,
    scenario: str,
    url: str,
    secret: str,
    targets_file: Path,
    vus: int,
    warmup_s: int,
    seconds: int,
    work: Path,
    preflight: bool = False,
) -> Result:
    run_id = uuid.uuid4().hex[:10]
    summary, log = work / f"k6-{run_id}.json", work / f"k6-{run_id}.log"
    env_args = {
        "URL": url,
        "TARGETS_FILE": str(targets_file),
        "RUN_ID": run_id,
        "VUS": str(1 if preflight else vus),
        "WARMUP_S": str(0 if preflight else warmup_s),
        "MEASURE_S": str(seconds),
        "SUMMARY_FILE": str(summary),
        "PREFLIGHT": "1" if preflight else "0",
    }
    cmd, env = k6_command(SCRIPT, env_args)
    # The secret goes by environment (k6 exposes it as __ENV.SECRET), not on the command line.
    env["SECRET"] = secret
    run_summarized(procs, f"k6 {scenario}", cmd, log, summary, warmup_s + seconds + 60, env)
    result = parse_summary(json.loads(summary.read_text()), scenario, vus, seconds)
    if result.errors:
        result.note = next(
            (
                line.strip()[:300]
                for line in log.read_text(errors="replace").splitlines()
                if "webhook failed" in line
            ),
            "",
        )
    return result


def parse_summary(
    data: dict, scenario: str, vus: int, seconds: int, counter: str = "webhooks"
) -> Result:
    """A summary of webhooks.js, or of a script counting <counter>_ok / <counter>_errors."""
    metrics = data["metrics"]

    def count(name: str) -> int:
        return int(metrics.get(f"{name}{MEASURED}", {}).get("values", {}).get("count", 0))

    ok, errors = count(f"{counter}_ok"), count(f"{counter}_errors")
    latency = metrics.get(f"http_req_duration{MEASURED}", {}).get("values", {})
    return Result(
        # Throughput counts successes only: fast failures must not look like speed.
        scenario=scenario,
        in_flight=vus,
        requests=ok + errors,
        rps=ok / seconds,
        p50_ms=latency.get("med"),
        p99_ms=latency.get("p(99)"),
        mean_ms=latency.get("avg"),
        errors=errors,
        applied=count("webhooks_applied") if counter == "webhooks" else None,
    )


def k6_preflight(procs: Processes, url: str, secret: str, targets_file: Path, work: Path) -> str:
    result = run_webhooks_k6(
        procs,
        scenario="webhooks preflight",
        url=url,
        secret=secret,
        targets_file=targets_file,
        vus=1,
        warmup_s=0,
        seconds=1,
        work=work,
        preflight=True,
    )
    if result.requests != 1 or result.errors:
        raise ChildFailed(
            f"k6 preflight: {result.requests} sent, {result.errors} errors "
            f"({result.note or 'no answer logged'})"
        )
    return "k6 signed -> 200"


class WebhookBench:
    """(a), (b) and (c) at ``vus`` in flight; each stops what it started."""

    def __init__(
        self,
        procs: Processes,
        *,
        database_url: str,
        libpq: str,
        work: Path,
        vus: int,
        warmup_s: int,
        seconds: int,
        targets: int,
        watched: Watched,
        note_idle: Callable[[str, int], None],
    ) -> None:
        self.procs, self.database_url, self.libpq, self.work = procs, database_url, libpq, work
        self.vus, self.warmup_s, self.seconds = vus, warmup_s, seconds
        self.targets = max(targets, vus)  # a target per VU at least: updates stay in order
        self.watched, self.note_idle = watched, note_idle
        self.secret = ""
        self.checks: dict = {
            "webhook_in_flight": vus,
            "webhook_targets": self.targets,
            "webhook_preflight": {},
        }

    def run(self) -> list[Result]:
        self.secret = new_secret()
        fake = write_targets(fake_targets(self.targets), self.work / "webhook-fake.json")
        return [self.gateway_with_ack(fake), self.noop(fake), self.gateway_with_generation()]

    def _load(
        self,
        scenario: str,
        url: str,
        targets_file: Path,
        pid: int,
        named: dict[str, int],
        subject: str,
    ) -> Result:
        result = self.watched(
            pid,
            lambda: run_webhooks_k6(
                self.procs,
                scenario=scenario,
                url=url,
                secret=self.secret,
                targets_file=targets_file,
                vus=self.vus,
                warmup_s=self.warmup_s,
                seconds=self.seconds,
                work=self.work,
            ),
            named,
        )
        result.subject = subject
        return result

    def _preflight(self, key: str, url: str, targets_file: Path) -> None:
        first = json.loads(targets_file.read_text())[0]
        found = [
            python_preflight(url, self.secret, first),
            k6_preflight(self.procs, url, self.secret, targets_file, self.work),
        ]
        self.checks["webhook_preflight"][key] = "; ".join(found)
        print(f"  preflight ({key}): {'; '.join(found)}", flush=True)

    def gateway_with_ack(self, targets_file: Path) -> Result:
        address, ack_pid = start_ack(self.procs, self.work)
        url, pid = start_gateway(
            self.procs,
            label="ack",
            database_url=self.database_url,
            generation_address=address,
            generation_token=random_token(),
            secret=self.secret,
            work=self.work,
        )
        self.note_idle("webhook-gateway", pid)
        self._preflight("a", url, targets_file)
        result = self._load(WEBHOOK_ACK, url, targets_file, pid, {"ack server": ack_pid}, "gateway")
        self.procs.stop_all()
        return result

    def noop(self, targets_file: Path) -> Result:
        url, pid = start_noop_http(self.procs, self.work)
        result = self._load(WEBHOOK_NOOP, url, targets_file, pid, {}, "no-op server")
        self.procs.stop_all()
        return result

    def gateway_with_generation(self) -> Result:
        tokens = Tokens.fresh()
        credits_address, credits_pid = start_credits(
            self.procs, self.database_url, tokens, self.work
        )
        run = uuid.uuid4().hex[:8]
        users = asyncio.run(fund_accounts(credits_address, tokens, FUNDED_USERS, run))
        stack = start_generation_stack(
            self.procs,
            database_url=self.database_url,
            credits_address=credits_address,
            credits_tokens=tokens,
            work=self.work,
        )
        targets = real_targets(stack, self.libpq, users, self.targets, run)
        targets_file = write_targets(targets, self.work / "webhook-real.json")
        print(f"  created {len(targets)} generations for the webhooks to name", flush=True)
        url, pid = start_gateway(
            self.procs,
            label="generation",
            database_url=self.database_url,
            generation_address=stack.address,
            generation_token=stack.webhooks_token,
            secret=self.secret,
            work=self.work,
        )
        self._preflight("c", url, targets_file)
        named = {"generation": stack.pid, "credits": credits_pid, "emulator": stack.emulator_pid}
        result = self._load(WEBHOOK_REAL, url, targets_file, pid, named, "gateway")
        self.checks.update(
            webhook_targets_after=target_checks(self.libpq, targets),
            webhook_c_applied=result.applied,
            webhook_c_requests=result.requests,
        )
        self.procs.stop_all()
        return result
