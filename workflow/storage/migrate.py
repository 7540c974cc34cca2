"""Creating and upgrading the schema from code, on first use.

Every start runs one cheap query (``SELECT version_num FROM alembic_version``). Only
when the schema is missing or older than this phasegate is alembic imported (about
150 ms) and the upgrade run, under a lock, over the same connection that holds the
lock (alembic cookbook, "Sharing a Connection"), so two processes starting on an
empty database at once migrate it exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from workflow.errors import DatabaseProblem
from workflow.storage import dialects
from workflow.storage.connections import write_transaction
from workflow.storage.failures import translate_error

if TYPE_CHECKING:
    from alembic.config import Config

# Keep in step with migrations/versions/ (a test checks): oldest first, head last.
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009",
                                   "0010", "0011", "0012", "0013")
HEAD_REVISION: str = KNOWN_REVISIONS[-1]

VERSION_TABLE = "alembic_version"


def migrations_dir() -> Path:
    """Alembic's script directory ``workflow/migrations``: a symlink in the source tree, real in the wheel."""
    import workflow

    return Path(workflow.__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic Config built in code (no alembic.ini): our scripts, and a connection or a URL."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _revisions(conn: Connection) -> list[str] | None:
    """The rows of alembic_version, or None when the table is missing (an empty database)."""
    try:
        return [row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
    except DBAPIError as exc:
        if _is_missing_table(exc):
            return None
        raise


def _is_missing_table(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "42P01":  # undefined_table
        return True
    return "no such table" in str(orig)


def _revisions_locked(conn: Connection) -> list[str] | None:
    """Like _revisions, without an error that would abort a PostgreSQL transaction."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return _revisions(conn)


def _describe(engine: Engine) -> str:
    return dialects.of(engine).describe(engine.url)


def _check_known(engine: Engine, revisions: list[str]) -> None:
    unknown = [r for r in revisions if r not in KNOWN_REVISIONS]
    if unknown or len(revisions) > 1:
        shown = ", ".join(unknown or revisions)
        raise DatabaseProblem(
            f"this database was upgraded by a newer phasegate (schema revision {shown}); "
            f"install a newer phasegate to use it."
        )


def _check_empty(engine: Engine, conn: Connection) -> None:
    # An empty alembic_version is what a downgrade to base leaves behind: still ours, still empty.
    tables = sorted(t for t in inspect(conn).get_table_names() if t != VERSION_TABLE)
    if tables:
        listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise DatabaseProblem(
            f"{_describe(engine)} is not a phasegate database: it holds other tables ({listed}) "
            f"and no phasegate schema; point phasegate at a new or empty database."
        )


def ensure_schema(
    engine: Engine, then: Callable[[Connection], None] | None = None, *, create: bool = True
) -> bool:
    """Bring the schema to this phasegate's head; True when a migration ran.

    At head this is one query and alembic is not imported. A schema newer than this
    phasegate, or a database holding somebody else's tables, is refused untouched.
    ``then`` runs in the migration's own transaction after it (the engine publishes the
    built-in templates there), so a crash leaves either both or neither. With ``create=False``
    nothing is ever written: a database that is not at head is refused (shell completion
    only reads).
    """
    try:
        with engine.connect() as conn:
            revisions = _revisions(conn)
            conn.rollback()
            if revisions == [HEAD_REVISION]:
                return False
            if not create:
                raise DatabaseProblem(f"{_describe(engine)} is not a phasegate database at this version yet")
            if revisions:
                _check_known(engine, revisions)
            else:
                _check_empty(engine, conn)
                conn.rollback()
        return _migrate(engine, "head", only_forward=True, then=then)
    except DBAPIError as exc:
        raise translate_error(exc, engine.url) from exc


def _lock(conn: Connection) -> None:
    """Serialise migrators (SQLite already holds the write lock: BEGIN IMMEDIATE)."""
    dialects.of(conn).lock_migrations(conn)


def _migrate(
    engine: Engine,
    revision: str,
    *,
    only_forward: bool = False,
    down: bool = False,
    then: Callable[[Connection], None] | None = None,
) -> bool:
    with write_transaction(engine) as conn:
        _lock(conn)
        revisions = _revisions_locked(conn)  # another process may have migrated meanwhile
        if revisions:
            _check_known(engine, revisions)
        elif only_forward:
            _check_empty(engine, conn)
        if only_forward and revisions == [HEAD_REVISION]:
            return False
        _run_alembic(conn, revision, down=down)
        if then is not None:
            then(conn)
    return True


def _run_alembic(conn: Connection, revision: str, *, down: bool) -> None:
    from alembic import command

    config = alembic_config(connection=conn)
    if down:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade to ``revision`` under the migration lock (for tests and tools)."""
    try:
        _migrate(engine, revision)
    except DBAPIError as exc:
        raise translate_error(exc, engine.url) from exc


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade to ``revision`` ("base" drops everything) under the migration lock."""
    try:
        _migrate(engine, revision, down=True)
    except DBAPIError as exc:
        raise translate_error(exc, engine.url) from exc


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database, or None when it has no phasegate schema."""
    with engine.connect() as conn:
        revisions = _revisions(conn)
        conn.rollback()
    return revisions[0] if revisions else None
