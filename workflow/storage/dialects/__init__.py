"""Every difference between the database backends, one class per backend, one file each.

``base.py`` holds :class:`Dialect` (the defaults and the questions), ``sqlite.py`` and
``postgresql.py`` one subclass each, as Alembic keeps a backend in one class
(``alembic/ddl/impl.py`` and ``alembic/ddl/sqlite.py``). A new backend is a new file
here and a line in :data:`BY_BACKEND`; nothing outside this package branches on the
backend (``tests/storage/test_dialects.py``).
"""

from __future__ import annotations

from sqlalchemy.engine import URL, Connection, Engine, make_url

from workflow.storage.dialects.base import Dialect, driver_error
from workflow.storage.dialects.postgresql import PostgreSQL
from workflow.storage.dialects.sqlite import SQLite

__all__ = ["BY_BACKEND", "Dialect", "PostgreSQL", "SQLite", "for_error", "for_url", "of"]

GENERIC = Dialect()
# SQLAlchemy's backend names (a URL's scheme before "+"), "postgres" as libpq's URLs spell it.
BY_BACKEND: dict[str, Dialect] = {"sqlite": SQLite(), "postgresql": PostgreSQL()}
BY_BACKEND["postgres"] = BY_BACKEND["postgresql"]


def named(backend: str) -> Dialect:
    """The dialect of SQLAlchemy's backend name ``backend`` (another backend: the defaults)."""
    return BY_BACKEND.get(backend, GENERIC)


def for_url(url: URL | str) -> Dialect:
    """The dialect of a database URL (text is parsed; it must parse)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return named(parsed.get_backend_name())


def of(bind: Engine | Connection) -> Dialect:
    """The dialect of a SQLAlchemy Engine or Connection."""
    return named(bind.dialect.name)


def for_error(exc: BaseException) -> Dialect | None:
    """The dialect whose driver raised ``exc`` (under SQLAlchemy's wrapper), if one of ours did."""
    orig = driver_error(exc)
    for dialect in (BY_BACKEND["sqlite"], BY_BACKEND["postgresql"]):
        if dialect.raised(orig):
            return dialect
    return None
