"""A loopback TCP proxy that tests can cut and restore, to make a real outage."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs, urlparse


def upstream_of(libpq_url: str) -> tuple[str, int | None]:
    """(host, port) of a libpq URL, or (socket_dir, None) for a Unix socket."""
    parsed = urlparse(libpq_url)
    socket_dir = parse_qs(parsed.query).get("host", [None])[0]
    if socket_dir and socket_dir.startswith("/"):
        return socket_dir, None
    return parsed.hostname or "127.0.0.1", parsed.port or 5432


class TcpProxy:
    def __init__(self, host: str, port: int | None) -> None:
        self._upstream = (host, port)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def _connect_upstream(self):
        host, port = self._upstream
        if port is None:
            return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.5432")
        return await asyncio.open_connection(host, port)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await self._connect_upstream()
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Refuse new connections and drop every open one, like a dead server."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in tuple(self._writers):
            writer.transport.abort()
        self._writers.clear()

    @property
    def is_cut(self) -> bool:
        return self._server is None

    async def restore(self) -> None:
        if self._server is None:
            await self.start()
