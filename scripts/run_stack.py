"""`make run`: the whole stack on one machine, in the foreground.

1. Database: DATABASE_URL, or the embedded PostgreSQL (.data/postgres, database videogen),
   migrated with migrate.py.
2. Every service in SERVICES as a child process, started in order, each awaited until
   its readiness probe passes (gRPC health SERVING, or HTTP 200 for HTTP servers).
   Replicate: without REPLICATE_API_TOKEN, the local emulator (tools/replicate_emulator)
   with a token and webhook secret made up for this run; with it, the real Replicate,
   which then also needs WEBHOOK_PUBLIC_URL and REPLICATE_WEBHOOK_SECRET.
3. Ctrl-C or SIGTERM stops the children newest first (SIGTERM, then SIGKILL after a
   timeout), then the embedded PostgreSQL. If a child dies, everything is stopped and
   this exits non-zero showing the child's last output.

Children's output goes to this terminal's stderr, each line prefixed with the service.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import http.client
import json
import os
import secrets
import signal
import socket
import sys
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

import health_check
import migrate

PYTHON = sys.executable  # the venv's python when started by make
READY_TIMEOUT_S = 30.0
# Beyond the child's own SHUTDOWN_GRACE_S, for closing pools and flushing logs.
STOP_MARGIN_S = 5.0
TAIL_LINES = 30
# Who may call whom, by caller name: the keys of each service's *_CALLER_TOKENS.
CREDITS_CALLERS = ("api", "generation", "payments", "admin")
GENERATION_CALLERS = ("api", "webhooks")
# Asked for without a host, a server on these listens everywhere, localhost included.
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}
REAL_REPLICATE_URL = "https://api.replicate.com"
EMULATOR = "replicate-emulator"
# Probes go straight to the port, never through an HTTP(S)_PROXY from the environment.
HTTP_PROBE = urllib.request.build_opener(urllib.request.ProxyHandler({}))

Env = dict[str, str]


async def grpc_serving(address: str) -> bool:
    try:
        status = await asyncio.to_thread(health_check.check, address, "", 1.0)
    except grpc.RpcError:
        return False  # not listening yet, or still starting
    return status == health_check.SERVING


def http_ok(path: str) -> Callable[[str], Awaitable[bool]]:
    """Readiness of an HTTP server: GET ``path`` answers 200."""
    def get(url: str) -> bool:
        with HTTP_PROBE.open(url, timeout=1.0) as response:
            return response.status == 200

    async def ready(address: str) -> bool:
        try:
            return await asyncio.to_thread(get, f"http://{address}{path}")
        except (OSError, http.client.HTTPException):
            return False  # not listening yet, or answering an error status
    return ready


def say(message: str) -> None:
    print(f"run_stack: {message}", flush=True)


# ------------------------------------------------------------------ where services listen
# Each returns the host:port the service will listen on, after filling in the defaults of
# its own variables, so the services it calls and its clients agree on one address.

def listen_at(address_env: str, default: str) -> Callable[[Env], str]:
    def listen(env: Env) -> str:
        env[address_env] = env.get(address_env) or default
        return env[address_env]
    return listen


def listen_on_port(port_env: str, default_port: int, host_env: str | None = None,
                   default_host: str = "127.0.0.1") -> Callable[[Env], str]:
    def listen(env: Env) -> str:
        env[port_env] = env.get(port_env) or str(default_port)
        host = default_host
        if host_env:
            host = env[host_env] = env.get(host_env) or default_host
        return f"{host}:{env[port_env]}"
    return listen


# ------------------------------------------------------------------ how services are wired
# Each fills in what one service needs from the others; ``at`` maps every service of
# this run to the address where the others reach it. Values that tie services together
# (addresses, the tokens one presents to another) are always set here: a stale value in
# .env would only make two services of the same run disagree.

def wire(env: Env, name: str, value: str,
         why: str = "make run connects its services itself") -> None:
    if env.get(name) and env[name] != value:
        say(f"{name}: ignoring the value from the environment/.env ({why})")
    env[name] = value


def caller_tokens(env: Env, name: str, callers: tuple[str, ...]) -> None:
    """Fresh random tokens for this run only when ``name`` is unset: never shown."""
    if not env.get(name):
        env[name] = json.dumps({caller: secrets.token_urlsafe(32) for caller in callers})
        say(f"generated {name} for this run ({', '.join(callers)}; not shown); "
            f"set {name} in .env to choose your own")


def tokens_in(env: Env, name: str) -> dict[str, object]:
    """The JSON object of caller tokens in ``name`` (set by then)."""
    try:
        tokens = json.loads(env[name])
    except ValueError:
        raise SystemExit(f"run_stack: {name} is not JSON") from None
    if not isinstance(tokens, dict):
        raise SystemExit(f"run_stack: {name} must be a JSON object of caller: token")
    return tokens


def token_of(env: Env, name: str, caller: str) -> str:
    token = tokens_in(env, name).get(caller)
    if not isinstance(token, str):
        raise SystemExit(f"run_stack: {name} has no {caller!r} token, which make run "
                         f"needs to connect the services")
    return token


def credits_env(env: Env, at: Mapping[str, str]) -> None:
    caller_tokens(env, "CREDITS_CALLER_TOKENS", CREDITS_CALLERS)


def emulator_env(env: Env, at: Mapping[str, str]) -> None:
    # Only started without REPLICATE_API_TOKEN (see `when`): a made-up Replicate.
    from replicate_emulator.config import generate_webhook_secret

    why = "REPLICATE_API_TOKEN is unset, so the local emulator stands in for Replicate"
    env["REPLICATE_API_TOKEN"] = "r8_" + secrets.token_urlsafe(24)  # read by the emulator
    wire(env, "REPLICATE_BASE_URL", f"http://{at[EMULATOR]}", why)
    wire(env, "REPLICATE_WEBHOOK_SECRET", generate_webhook_secret(), why)


def generation_env(env: Env, at: Mapping[str, str]) -> None:
    caller_tokens(env, "GENERATION_CALLER_TOKENS", GENERATION_CALLERS)
    wire(env, "GENERATION_CREDITS_TOKEN", token_of(env, "CREDITS_CALLER_TOKENS", "generation"))
    wire(env, "CREDITS_ADDRESS", at["credits"])
    env["REPLICATE_BASE_URL"] = env.get("REPLICATE_BASE_URL") or REAL_REPLICATE_URL
    # Kept when given: with the emulator too (a tunnel in front of the gateway, say).
    env["WEBHOOK_PUBLIC_URL"] = (env.get("WEBHOOK_PUBLIC_URL")
                                 or f"http://{at['webhook-gateway']}")
    env["GENERATION_MEDIA_DIR"] = env.get("GENERATION_MEDIA_DIR") or ".data/media"


def webhook_gateway_env(env: Env, at: Mapping[str, str]) -> None:
    wire(env, "GENERATION_ADDRESS", at["generation"])
    wire(env, "WEBHOOK_GATEWAY_GENERATION_TOKEN",
         token_of(env, "GENERATION_CALLER_TOKENS", "webhooks"))
    # Payment webhooks (when a STRIPE_/DODO_WEBHOOK_SECRET is set) add credits as the
    # "payments" caller; optional, like those endpoints.
    wire(env, "CREDITS_ADDRESS", at["credits"])
    if "payments" in tokens_in(env, "CREDITS_CALLER_TOKENS"):
        wire(env, "WEBHOOK_GATEWAY_CREDITS_TOKEN",
             token_of(env, "CREDITS_CALLER_TOKENS", "payments"))


def api_gateway_env(env: Env, at: Mapping[str, str]) -> None:
    wire(env, "CREDITS_ADDRESS", at["credits"])
    wire(env, "GENERATION_ADDRESS", at["generation"])
    wire(env, "API_GATEWAY_CREDITS_TOKEN", token_of(env, "CREDITS_CALLER_TOKENS", "api"))
    wire(env, "API_GATEWAY_CREDITS_ADMIN_TOKEN",
         token_of(env, "CREDITS_CALLER_TOKENS", "admin"))
    wire(env, "API_GATEWAY_GENERATION_TOKEN",
         token_of(env, "GENERATION_CALLER_TOKENS", "api"))
    # It serves the videos generation copies, under /media.
    env["API_GATEWAY_MEDIA_DIR"] = env.get("API_GATEWAY_MEDIA_DIR") or env["GENERATION_MEDIA_DIR"]
    if not env.get("AUTH_JWT_SECRET") and not env.get("AUTH_JWKS_URL"):
        # A development secret, so that the printed development JWT works.
        env["AUTH_JWT_SECRET"] = secrets.token_urlsafe(32)
        say("generated AUTH_JWT_SECRET for this run; set it in .env to your Supabase "
            "project's JWT secret to use real users' tokens")


def development_jwt(env: Mapping[str, str]) -> str | None:
    """A token for a fixed development user, when the HS256 secret is known."""
    if not env.get("AUTH_JWT_SECRET"):
        return None
    import time

    import jwt

    claims = {"sub": DEV_USER_ID, "aud": env.get("AUTH_JWT_AUDIENCE") or "authenticated",
              "role": "authenticated", "email": "dev@localhost",
              "exp": int(time.time()) + 24 * 3600}
    return jwt.encode(claims, env["AUTH_JWT_SECRET"], algorithm="HS256")


def real_replicate_missing(env: Mapping[str, str]) -> list[str]:
    """The real Replicate needs a public URL to send webhooks to, and the gateway needs
    the secret Replicate signs them with."""
    return [name for name in ("WEBHOOK_PUBLIC_URL", "REPLICATE_WEBHOOK_SECRET")
            if not env.get(name)]


def real_replicate_help(env: Mapping[str, str], missing: list[str]) -> str:
    port = env.get("WEBHOOK_GATEWAY_PORT") or 8001
    base = env.get("REPLICATE_BASE_URL") or REAL_REPLICATE_URL
    meaning = {
        "WEBHOOK_PUBLIC_URL": f"a public URL that reaches the webhook gateway on port {port} "
                              "(a tunnel, say): Replicate sends its webhooks there",
        "REPLICATE_WEBHOOK_SECRET": "your account's webhook signing secret, whsec_... "
                                    f"(GET {base}/v1/webhooks/default/secret)",
    }
    lines = ["run_stack: REPLICATE_API_TOKEN is set, so generations go to the real "
             "Replicate, which also needs:"]
    lines += [f"  {name}: {meaning[name]}" for name in missing]
    lines.append("Set them in .env, or unset REPLICATE_API_TOKEN to use the local emulator.")
    return "\n".join(lines)


def without_replicate_token(env: Mapping[str, str]) -> bool:
    return not env.get("REPLICATE_API_TOKEN")


def always(env: Mapping[str, str]) -> bool:
    return True


def no_extra_argv(env: Env) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    # Sets the defaults of the variables the service listens on; returns host:port.
    listen: Callable[[Env], str]
    # Sets what the service needs to reach the others (see "how services are wired").
    configure: Callable[[Env, Mapping[str, str]], None]
    protocol: str = "gRPC"
    ready: Callable[[str], Awaitable[bool]] = grpc_serving
    metrics_env: str | None = None
    # Whether this run starts it at all, judged on the environment as given.
    when: Callable[[Mapping[str, str]], bool] = always
    # Arguments that depend on the configured environment.
    extra_argv: Callable[[Env], tuple[str, ...]] = no_extra_argv


def emulator_argv(env: Env) -> tuple[str, ...]:
    # The token reaches it as REPLICATE_API_TOKEN; the secret has no variable of its own.
    return ("--port", env["REPLICATE_EMULATOR_PORT"],
            "--webhook-secret", env["REPLICATE_WEBHOOK_SECRET"])


# Started in this order, stopped in reverse: list a service after those it calls.
SERVICES = [
    ServiceSpec("credits", (PYTHON, "-m", "credits.main"),
                listen_at("CREDITS_GRPC_ADDRESS", "127.0.0.1:50051"), credits_env,
                metrics_env="CREDITS_METRICS_PORT"),
    # Up before generation, which submits to it as soon as a request arrives.
    ServiceSpec(EMULATOR, (PYTHON, "-m", "replicate_emulator", "--host", "127.0.0.1"),
                listen_on_port("REPLICATE_EMULATOR_PORT", 8010), emulator_env,
                protocol="HTTP", ready=http_ok("/_emulator/health"),
                when=without_replicate_token, extra_argv=emulator_argv),
    ServiceSpec("generation", (PYTHON, "-m", "generation.main"),
                listen_at("GENERATION_GRPC_ADDRESS", "127.0.0.1:50052"), generation_env,
                metrics_env="GENERATION_METRICS_PORT"),
    ServiceSpec("webhook-gateway", (PYTHON, "-m", "webhook_gateway.main"),
                listen_on_port("WEBHOOK_GATEWAY_PORT", 8001, "WEBHOOK_GATEWAY_HOST"),
                webhook_gateway_env, protocol="HTTP", ready=http_ok("/health")),
    # Last: it calls credits and generation.
    ServiceSpec("api-gateway", (PYTHON, "-m", "api_gateway.main"),
                listen_on_port("API_GATEWAY_PORT", 8000, "API_GATEWAY_HOST"),
                api_gateway_env, protocol="HTTP", ready=http_ok("/health")),
]
DEV_USER_ID = "00000000-0000-4000-8000-000000000001"
NAME_WIDTH = max(len(spec.name) for spec in SERVICES)


class ChildFailed(Exception):
    def __init__(self, child: Child, why: str) -> None:
        super().__init__(f"{child.spec.name} {why}")
        self.child = child


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived before the stack was up."""


class Child:
    """One service process: its output is echoed with a prefix, the last lines kept."""

    def __init__(self, spec: ServiceSpec, process: asyncio.subprocess.Process,
                 address: str) -> None:
        self.spec, self.process, self.address = spec, process, address
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.echo = asyncio.create_task(self._echo())

    async def _echo(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.tail.append(line)
            print(f"{self.spec.name:<{NAME_WIDTH}} | {line}", file=sys.stderr, flush=True)

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def exit_status(self) -> str:
        code = self.process.returncode
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"


def stack_env() -> tuple[Env, list[ServiceSpec], dict[str, str]]:
    """The environment every child gets (but DATABASE_URL), the services of this run,
    and where each is reached. Checked before the database is touched."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    specs = [spec for spec in SERVICES if spec.when(env)]
    emulated = EMULATOR in {spec.name for spec in specs}
    if not emulated and (missing := real_replicate_missing(env)):
        raise SystemExit(real_replicate_help(env, missing))
    at = {spec.name: probe_address(spec.listen(env)) for spec in specs}
    for spec in specs:
        spec.configure(env, at)
    return env, specs, at


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise SystemExit(f"run_stack: {address!r} is not host:port")
    return host, int(port)


def probe_address(address: str) -> str:
    """Where to reach a server that was told to listen on ``address``."""
    host, port = split_address(address)
    if port == 0:
        raise SystemExit(f"run_stack: {address}: give a fixed port so it can be probed")
    return f"127.0.0.1:{port}" if host in WILDCARD_HOSTS else address


def port_in_use(address: str) -> bool:
    # Something already answering (say, a stack left running elsewhere) would pass
    # our health probe before the new child fails to bind, so refuse up front.
    host, port = split_address(address)
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=0.5):
            return True
    except OSError:
        return False


def die_with_parent() -> Callable[[], None] | None:
    """Linux: a child gets SIGTERM if run_stack is killed without cleaning up (kill -9)."""
    if not sys.platform.startswith("linux"):
        return None
    # Resolved here: the forked child should only make the call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)
    return lambda: prctl(pr_set_pdeathsig, sigterm)


async def start_child(spec: ServiceSpec, env: Env, address: str) -> Child:
    if port_in_use(address):
        raise SystemExit(f"run_stack: {address} is already in use; is another stack running?")
    process = await asyncio.create_subprocess_exec(
        *spec.argv, *spec.extra_argv(env), cwd=migrate.ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, limit=1 << 20,
        # Own process group: Ctrl-C reaches only us, and we stop children in order.
        start_new_session=True, preexec_fn=die_with_parent(),
    )
    say(f"started {spec.name} (pid {process.pid})")
    return Child(spec, process, address)


async def wait_ready(child: Child, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while loop.time() < deadline:
        if stop.is_set():
            raise Interrupted
        if not child.running:
            raise ChildFailed(child, f"exited while starting ({child.exit_status()})")
        if await child.spec.ready(child.address):
            return
        await asyncio.sleep(0.2)
    raise ChildFailed(child, f"was not ready on {child.address} after {READY_TIMEOUT_S:.0f} s")


def signal_group(child: Child, sig: signal.Signals) -> None:
    # The child may have exited (and been reaped) since we last looked.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.process.pid, sig)


async def stop_child(child: Child, timeout_s: float) -> None:
    if child.running:
        signal_group(child, signal.SIGTERM)
        try:
            await asyncio.wait_for(child.process.wait(), timeout_s)
        except TimeoutError:
            say(f"{child.spec.name} still running after {timeout_s:.0f} s; killing it")
            signal_group(child, signal.SIGKILL)
            await child.process.wait()
    # Let the echo task print whatever the child wrote last.
    await asyncio.wait([child.echo], timeout=2.0)


async def stop_all(children: list[Child], env: dict[str, str]) -> None:
    timeout_s = float(env.get("SHUTDOWN_GRACE_S") or 10.0) + STOP_MARGIN_S
    for child in reversed(children):
        await stop_child(child, timeout_s)
        say(f"stopped {child.spec.name} ({child.exit_status()})")


async def until_stop_or_exit(children: list[Child], stop: asyncio.Event) -> None:
    exits = {asyncio.create_task(child.process.wait()): child for child in children}
    stopped = asyncio.create_task(stop.wait())
    done, pending = await asyncio.wait([stopped, *exits], return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in done:
        if task in exits:
            child = exits[task]
            raise ChildFailed(child, f"exited unexpectedly ({child.exit_status()})")


def where(child: Child) -> str:
    return f"http://{child.address}" if child.spec.protocol == "HTTP" else child.address


def print_ready(children: list[Child], env: Env, database: str) -> None:
    python = os.path.relpath(PYTHON)
    health = os.path.relpath(Path(health_check.__file__))
    width = NAME_WIDTH + 9
    lines = ["stack is up", f"  {'database':<{width}} {database}"]
    for child in children:
        lines.append(f"  {f'{child.spec.name} ({child.spec.protocol})':<{width}} {where(child)}")
        metrics_port = env.get(child.spec.metrics_env or "") or "0"
        if metrics_port != "0":
            lines.append(f"  {child.spec.name + ' metrics':<{width}} "
                         f"http://127.0.0.1:{metrics_port}/metrics")
    emulated = any(child.spec.name == EMULATOR for child in children)
    replicate = (f"{EMULATOR} above (token and webhook secret made up for this run)"
                 if emulated else env["REPLICATE_BASE_URL"])
    lines.append(f"  {'replicate':<{width}} {replicate}")
    lines.append(f"  {'webhooks to':<{width}} "
                 f"{env['WEBHOOK_PUBLIC_URL'].rstrip('/')}/api/webhooks/replicate")
    media_url = env.get("GENERATION_MEDIA_BASE_URL") or "http://127.0.0.1:8000/media"
    lines.append(f"  {'videos':<{width}} {env['GENERATION_MEDIA_DIR']}/videos, "
                 f"linked as {media_url}/videos/...")
    grpc_children = [child for child in children if child.spec.protocol == "gRPC"]
    lines.append(f"  try: {python} {health} {grpc_children[-1].address}")
    api = [child for child in children if child.spec.name == "api-gateway"]
    token = development_jwt(env)
    if api and token:
        base = where(api[0])
        lines.append(f"  a development user's JWT (valid 24 h): {token}")
        lines.append(f"  try: curl -s -H 'Authorization: Bearer {token}' {base}/api/users/credits")
        lines.append(f"       curl -s -H 'Authorization: Bearer {token}' -H 'Content-Type: "
                     f"application/json' -d '{{\"prompt\": \"a red fox running in the snow\", "
                     f"\"resolution\": \"480p\"}}' {base}/api/generation/text-to-video")
    lines.append("  Ctrl-C stops everything")
    say("\n".join(lines))


def report_failure(exc: ChildFailed) -> None:
    print(f"\nrun_stack: {exc}; its last output:", file=sys.stderr)
    for line in exc.child.tail or ["(nothing)"]:
        print(f"  {line}", file=sys.stderr)


async def start_all(children: list[Child], specs: list[ServiceSpec], env: Env,
                    at: Mapping[str, str], stop: asyncio.Event) -> None:
    for spec in specs:
        children.append(await start_child(spec, env, at[spec.name]))
        await wait_ready(children[-1], stop)


async def run(env: Env, specs: list[ServiceSpec], at: Mapping[str, str],
              database: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    children: list[Child] = []
    failure: ChildFailed | None = None
    try:
        await start_all(children, specs, env, at, stop)
        print_ready(children, env, database)
        await until_stop_or_exit(children, stop)
        say("stopping")
    except Interrupted:
        say("interrupted while starting; stopping")
    except ChildFailed as exc:
        failure = exc
    finally:
        await stop_all(children, env)
    if failure is not None:
        report_failure(failure)
        return 1
    return 0


def raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Until the event loop takes over, SIGTERM and SIGHUP unwind like Ctrl-C, so the
    # embedded PostgreSQL is still stopped by its exit handler.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_interrupt)
    migrate.configure_logging()
    migrate.load_env_file()
    try:
        env, specs, at = stack_env()
        url = env["DATABASE_URL"] = migrate.migrated_database_url()
        return asyncio.run(run(env, specs, at, migrate.describe(url)))
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
