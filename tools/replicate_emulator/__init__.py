"""A local stand-in for Replicate's HTTP API, for `make run` and tests.

The official `replicate` client works against it unchanged (base_url / REPLICATE_BASE_URL),
and its webhooks are signed like Replicate's (Standard Webhooks). See config.py for knobs.
"""

from .config import EmulatorConfig, generate_webhook_secret
from .server import Emulator, start_emulator

__all__ = ["Emulator", "EmulatorConfig", "generate_webhook_secret", "start_emulator"]
