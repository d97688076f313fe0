"""Database URLs and engines. PostgreSQL only, through psycopg 3."""

from __future__ import annotations

import re
from functools import lru_cache

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def sqlalchemy_url(url: str) -> str:
    """Accept the libpq form users write (postgresql://) and pick the psycopg driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"only PostgreSQL is supported, got {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def psycopg_statement(statement: str) -> str:
    """A statement written with :name parameters (as SQLAlchemy's text() takes them) in
    psycopg's %(name)s form; casts as ::type are left alone, a literal % is escaped.
    Built once per statement: repositories send the same few again and again."""
    return _PARAMETER.sub(r"%(\1)s", statement.replace("%", "%%"))


def create_engine(
    url: str, *, pool_size: int = 10, statement_timeout_ms: int = 5000
) -> AsyncEngine:
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


def open_pool(
    url: str, size: int, statement_timeout_ms: int = 5000, min_size: int | None = None
) -> AsyncConnectionPool:
    """A pool of autocommit connections; opened in the background so a database that
    is down at start does not stop the service (health reports it instead). It holds
    ``min_size`` (default: all ``size``) connections when idle and grows on demand."""
    return AsyncConnectionPool(
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
        error,
        (
            psycopg.OperationalError,
            psycopg.InterfaceError,
            PoolTimeout,
            sa_exc.OperationalError,
            sa_exc.InterfaceError,
            sa_exc.TimeoutError,
            ConnectionError,
        ),
    ):
        return True
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)
