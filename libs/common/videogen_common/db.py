"""Database URLs, engines and psycopg statements. PostgreSQL only, through psycopg 3.

SQLAlchemy is imported only by what uses it (engines, migrations): a service that runs
every statement through psycopg (generation) does not carry its ~24 MB of memory.
"""

from __future__ import annotations

import asyncio
import re
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import RowFactory, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

# postgresql://, postgres:// and a SQLAlchemy form naming a driver (postgresql+psycopg://).
_SCHEME = re.compile(r"(postgres(?:ql)?)(\+[\w.-]+)?://", re.IGNORECASE)


def sqlalchemy_url(url: str) -> str:
    """Accept the libpq form users write (postgresql://) and pick the psycopg driver."""
    return "postgresql+psycopg://" + _after_scheme(url)


def libpq_url(url: str) -> str:
    return "postgresql://" + _after_scheme(url)


def _after_scheme(url: str) -> str:
    """The URL after its scheme, left as written (libpq decodes what is quoted)."""
    found = _SCHEME.match(url)
    if found is None:
        raise ValueError(f"only PostgreSQL is supported, got {url.partition(':')[0]!r}")
    return url[found.end() :]


def with_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def psycopg_statement(statement: str) -> str:
    """A statement written with :name parameters (as SQLAlchemy's text() takes them) in
    psycopg's %(name)s form; casts as ::type are left alone, a literal % is escaped.
    Built once per statement: repositories send the same few again and again."""
    return _PARAMETER.sub(r"%(\1)s", statement.replace("%", "%%"))


async def fetch_all(
    conn: psycopg.AsyncConnection,
    statement: str,
    params: dict | None = None,
    row_factory: RowFactory[Any] = dict_row,
) -> list[Any]:
    """Every row of one statement written with :name parameters, on ``conn``."""
    cursor = conn.cursor(row_factory=row_factory)
    await cursor.execute(psycopg_statement(statement), params or {})
    return await cursor.fetchall()


async def fetch_one(
    conn: psycopg.AsyncConnection,
    statement: str,
    params: dict | None = None,
    row_factory: RowFactory[Any] = dict_row,
) -> Any | None:
    """The first row of one statement written with :name parameters (None: no row)."""
    cursor = conn.cursor(row_factory=row_factory)
    await cursor.execute(psycopg_statement(statement), params or {})
    return await cursor.fetchone()


async def ping(pool: AsyncConnectionPool) -> None:
    """One trivial query through ``pool``: raises while the database cannot answer."""
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")


def create_engine(
    url: str, *, pool_size: int = 10, statement_timeout_ms: int = 5000
) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_timeout=10,
        # A statement that waits this long is a bug or an outage, not a slow request.
        connect_args={
            "options": f"-c statement_timeout={statement_timeout_ms}",
            "connect_timeout": 5,
        },
    )


class Pool(AsyncConnectionPool):
    """psycopg's pool, except that a task cancelled as it is handed a connection stops.

    On Python 3.11 the pool's wait for a free connection (asyncio.wait_for around a
    condition) returns the connection and drops a cancel that arrives at that moment
    (psycopg/psycopg#1345; wait_for was rewritten in 3.12). The cancelled task then goes
    on: a recovery loop told to stop kept claiming rows and sending creates. Here such a
    cancel gives the connection back and is raised, as it would have been.
    """

    async def getconn(self, timeout: float | None = None):
        task = asyncio.current_task()
        cancels = task.cancelling() if task is not None else 0
        conn = await super().getconn(timeout)
        if task is not None and task.cancelling() > cancels:
            await self.putconn(conn)
            raise asyncio.CancelledError
        return conn


def open_pool(
    url: str, size: int, statement_timeout_ms: int = 5000, min_size: int | None = None
) -> Pool:
    """A pool of autocommit connections; opened in the background so a database that
    is down at start does not stop the service (health reports it instead). It holds
    ``min_size`` (default: all ``size``) connections when idle and grows on demand."""
    return Pool(
        url,
        min_size=size if min_size is None else min_size,
        max_size=size,
        kwargs={"autocommit": True, "options": f"-c statement_timeout={statement_timeout_ms}"},
        open=False,
        timeout=10,
    )


def is_database_outage(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be reached or answer in time (a
    restart, a cut connection, an exhausted pool), as opposed to a bug."""
    if isinstance(
        error, (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, ConnectionError)
    ):
        return True
    # SQLAlchemy's errors come only from a process that has imported it.
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None:
        return False
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)
