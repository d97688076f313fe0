"""Wiring and process entry point: `python -m videogen_api_gateway.main`."""

from __future__ import annotations

import logging

from videogen.credits.v1 import credits_pb2_grpc
from videogen.generation.v1 import generation_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.grpc_client import open_channel
from videogen_common.metrics import serve_metrics
from videogen_common.service_main import HttpApp, run_service, start_site

from .app import AccessLogger, build_app
from .auth import Authenticator
from .context import Context
from .media import MediaFiles
from .routes_auth import SupabaseAuth
from .settings import ApiGatewaySettings

# Open event streams get this long to end on shutdown.
SHUTDOWN_TIMEOUT_S = 5.0


async def start(settings: ApiGatewaySettings) -> HttpApp:
    s = settings
    credits_channel = open_channel(s.credits_address, s.client_tls)
    generation_channel = open_channel(s.generation_address, s.client_tls)
    credits_stub = credits_pb2_grpc.CreditsServiceStub(credits_channel)
    ctx = Context(
        credits=AuthedStub(credits_stub, s.api_gateway_credits_token),
        credits_admin=AuthedStub(credits_stub, s.api_gateway_credits_admin_token),
        generation=AuthedStub(
            generation_pb2_grpc.GenerationServiceStub(generation_channel),
            s.api_gateway_generation_token,
        ),
        auth=Authenticator(
            s.auth_jwt_secret,
            s.auth_jwks_url,
            s.auth_jwt_audience,
            s.api_gateway_events_secret,
            s.api_gateway_events_token_ttl_s,
        ),
        timeout_s=s.api_gateway_upstream_timeout_s,
        generation_limit=s.api_gateway_generation_rate_limit,
        limit_storage_uri=s.api_gateway_rate_limit_storage,
        ping_s=s.api_gateway_sse_ping_s,
        events_enabled=s.api_gateway_events_enabled,
        streams_per_user_max=s.api_gateway_events_streams_per_user_max,
    )
    media = MediaFiles(s.api_gateway_media_dir, s.media_url_secret) if s.media_url_secret else None
    supabase = (
        SupabaseAuth(s.supabase_url, s.supabase_anon_key, s.api_gateway_upstream_timeout_s)
        if s.supabase_url and s.supabase_anon_key
        else None
    )
    app = build_app(ctx, s.origins, media, s.api_gateway_body_max_bytes, supabase)
    serve_metrics(s)
    runner, port = await start_site(
        app,
        s.api_gateway_host,
        s.api_gateway_port,
        s.workers > 1,
        access_log_class=AccessLogger,
        access_log=logging.getLogger("videogen_api_gateway.access"),
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    return HttpApp(runner, port, [credits_channel, generation_channel])


def main() -> None:
    run_service("api-gateway", ApiGatewaySettings, start)


if __name__ == "__main__":
    main()
