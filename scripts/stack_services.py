"""The services `make run` starts (SERVICES) and how they are wired together: where each
listens, the addresses and caller tokens each needs to reach the others, and the checks
for the real Replicate. stack_env() turns the environment as given into the one every
child gets.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from stack_probes import grpc_serving, http_ok, probe_address

PYTHON = sys.executable  # the venv's python when started by make
# Who may call whom, by caller name: the keys of each service's *_CALLER_TOKENS.
CREDITS_CALLERS = ("api", "generation", "payments", "admin")
GENERATION_CALLERS = ("api", "webhooks")
REAL_REPLICATE_URL = "https://api.replicate.com"
EMULATOR = "replicate-emulator"
DEV_USER_ID = "00000000-0000-4000-8000-000000000001"
# Read by `videogen` (tools/videogen_cli) too.
DEV_SECRETS = Path(__file__).resolve().parent.parent / ".data" / "dev-auth.env"

Env = dict[str, str]


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


def listen_on_port(
    port_env: str, default_port: int, host_env: str | None = None, default_host: str = "127.0.0.1"
) -> Callable[[Env], str]:
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


def wire(
    env: Env, name: str, value: str, why: str = "make run connects its services itself"
) -> None:
    if env.get(name) and env[name] != value:
        say(f"{name}: ignoring the value from the environment/.env ({why})")
    env[name] = value


def caller_tokens(env: Env, name: str, callers: tuple[str, ...]) -> None:
    """Fresh random tokens for this run only when ``name`` is unset: never shown."""
    if not env.get(name):
        env[name] = json.dumps({caller: secrets.token_urlsafe(32) for caller in callers})
        say(
            f"generated {name} for this run ({', '.join(callers)}; not shown); "
            f"set {name} in .env to choose your own"
        )


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
        raise SystemExit(
            f"run_stack: {name} has no {caller!r} token, which make run "
            f"needs to connect the services"
        )
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
    env["WEBHOOK_PUBLIC_URL"] = env.get("WEBHOOK_PUBLIC_URL") or f"http://{at['webhook-gateway']}"
    env["GENERATION_MEDIA_DIR"] = env.get("GENERATION_MEDIA_DIR") or ".data/media"
    if not env.get("MEDIA_URL_SECRET"):  # read by generation and the API gateway alike
        env["MEDIA_URL_SECRET"] = secrets.token_urlsafe(32)
        say("generated MEDIA_URL_SECRET for this run (media links end with it)")


def webhook_gateway_env(env: Env, at: Mapping[str, str]) -> None:
    wire(env, "GENERATION_ADDRESS", at["generation"])
    wire(
        env,
        "WEBHOOK_GATEWAY_GENERATION_TOKEN",
        token_of(env, "GENERATION_CALLER_TOKENS", "webhooks"),
    )
    # Payment webhooks (when a STRIPE_/DODO_WEBHOOK_SECRET is set) add credits as the
    # "payments" caller; optional, like those endpoints.
    wire(env, "CREDITS_ADDRESS", at["credits"])
    if "payments" in tokens_in(env, "CREDITS_CALLER_TOKENS"):
        wire(
            env, "WEBHOOK_GATEWAY_CREDITS_TOKEN", token_of(env, "CREDITS_CALLER_TOKENS", "payments")
        )


def api_gateway_env(env: Env, at: Mapping[str, str]) -> None:
    wire(env, "CREDITS_ADDRESS", at["credits"])
    wire(env, "GENERATION_ADDRESS", at["generation"])
    wire(env, "API_GATEWAY_CREDITS_TOKEN", token_of(env, "CREDITS_CALLER_TOKENS", "api"))
    wire(env, "API_GATEWAY_CREDITS_ADMIN_TOKEN", token_of(env, "CREDITS_CALLER_TOKENS", "admin"))
    wire(env, "API_GATEWAY_GENERATION_TOKEN", token_of(env, "GENERATION_CALLER_TOKENS", "api"))
    # It serves the videos generation copies, under /media.
    env["API_GATEWAY_MEDIA_DIR"] = env.get("API_GATEWAY_MEDIA_DIR") or env["GENERATION_MEDIA_DIR"]
    if not env.get("API_GATEWAY_EVENTS_SECRET"):
        env["API_GATEWAY_EVENTS_SECRET"] = secrets.token_urlsafe(32)
        say("generated API_GATEWAY_EVENTS_SECRET for this run (not shown)")
    if not env.get("AUTH_JWT_SECRET") and not env.get("AUTH_JWKS_URL"):
        # A development secret, so that the printed development JWT works; kept in
        # .data so that `videogen token` (and tokens minted earlier) keep working.
        env["AUTH_JWT_SECRET"] = development_secret()
        say(
            f"AUTH_JWT_SECRET: the development one in {DEV_SECRETS}; set it in .env to "
            "your Supabase project's JWT secret to use real users' tokens"
        )


def development_secret() -> str:
    """The development JWT secret of this checkout, made on first use (owner-only)."""
    kept = dotenv_values(DEV_SECRETS).get("AUTH_JWT_SECRET") if DEV_SECRETS.exists() else None
    if kept and len(kept) >= 32:
        return kept
    DEV_SECRETS.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    DEV_SECRETS.touch(mode=0o600)
    DEV_SECRETS.write_text(f"AUTH_JWT_SECRET={value}\n")
    return value


def development_jwt(env: Mapping[str, str]) -> str | None:
    """A token for a fixed development user, when the HS256 secret is known."""
    if not env.get("AUTH_JWT_SECRET"):
        return None
    import time

    import jwt

    claims = {
        "sub": DEV_USER_ID,
        "aud": env.get("AUTH_JWT_AUDIENCE") or "authenticated",
        "role": "authenticated",
        "email": "dev@localhost",
        "exp": int(time.time()) + 24 * 3600,
    }
    return jwt.encode(claims, env["AUTH_JWT_SECRET"], algorithm="HS256")


def real_replicate_missing(env: Mapping[str, str]) -> list[str]:
    """The real Replicate needs a public URL to send webhooks to, and the gateway needs
    the secret Replicate signs them with."""
    return [
        name for name in ("WEBHOOK_PUBLIC_URL", "REPLICATE_WEBHOOK_SECRET") if not env.get(name)
    ]


def real_replicate_help(env: Mapping[str, str], missing: list[str]) -> str:
    port = env.get("WEBHOOK_GATEWAY_PORT") or 8001
    base = env.get("REPLICATE_BASE_URL") or REAL_REPLICATE_URL
    meaning = {
        "WEBHOOK_PUBLIC_URL": f"a public URL that reaches the webhook gateway on port {port} "
        "(a tunnel, say): Replicate sends its webhooks there",
        "REPLICATE_WEBHOOK_SECRET": "your account's webhook signing secret, whsec_... "
        f"(GET {base}/v1/webhooks/default/secret)",
    }
    lines = [
        "run_stack: REPLICATE_API_TOKEN is set, so generations go to the real "
        "Replicate, which also needs:"
    ]
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
    return (
        "--port",
        env["REPLICATE_EMULATOR_PORT"],
        "--webhook-secret",
        env["REPLICATE_WEBHOOK_SECRET"],
    )


# Started in this order, stopped in reverse: list a service after those it calls.
SERVICES = [
    ServiceSpec(
        "credits",
        (PYTHON, "-m", "videogen_credits.main"),
        listen_at("CREDITS_GRPC_ADDRESS", "127.0.0.1:50051"),
        credits_env,
        metrics_env="CREDITS_METRICS_PORT",
    ),
    # Up before generation, which submits to it as soon as a request arrives.
    ServiceSpec(
        EMULATOR,
        (PYTHON, "-m", "replicate_emulator", "--host", "127.0.0.1"),
        listen_on_port("REPLICATE_EMULATOR_PORT", 8010),
        emulator_env,
        protocol="HTTP",
        ready=http_ok("/_emulator/health"),
        when=without_replicate_token,
        extra_argv=emulator_argv,
    ),
    ServiceSpec(
        "generation",
        (PYTHON, "-m", "videogen_generation.main"),
        listen_at("GENERATION_GRPC_ADDRESS", "127.0.0.1:50052"),
        generation_env,
        metrics_env="GENERATION_METRICS_PORT",
    ),
    ServiceSpec(
        "webhook-gateway",
        (PYTHON, "-m", "videogen_webhook_gateway.main"),
        listen_on_port("WEBHOOK_GATEWAY_PORT", 8001, "WEBHOOK_GATEWAY_HOST"),
        webhook_gateway_env,
        protocol="HTTP",
        ready=http_ok("/health"),
        metrics_env="WEBHOOK_GATEWAY_METRICS_PORT",
    ),
    # Last: it calls credits and generation.
    ServiceSpec(
        "api-gateway",
        (PYTHON, "-m", "videogen_api_gateway.main"),
        listen_on_port("API_GATEWAY_PORT", 8000, "API_GATEWAY_HOST"),
        api_gateway_env,
        protocol="HTTP",
        ready=http_ok("/health"),
        metrics_env="API_GATEWAY_METRICS_PORT",
    ),
]


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
