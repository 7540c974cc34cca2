"""A read transaction that sees one consistent snapshot on every backend.

The engine's ordinary reads run at READ COMMITTED on PostgreSQL (its writers need
that). Reads that walk many rows and compare them with each other — verifying the
chains against the project heads, a checkpoint, an export, a replay — must not see
a write land halfway through, so on PostgreSQL they run at REPEATABLE READ (one
snapshot for the whole transaction). SQLite's deferred read transaction in WAL mode
already is one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from workflow.storage.connections import read_transaction
from workflow.storage.failures import translate_error


@contextmanager
def snapshot_transaction(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name != "postgresql":
        with read_transaction(engine) as conn:
            yield conn
        return
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise translate_error(exc, engine.url) from exc
    with conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        trans = conn.begin()
        try:
            yield conn
        finally:
            if trans.is_active:
                trans.rollback()
