"""What every backend does alike, and the questions a backend answers differently.

A backend is one class (as in Alembic, ``alembic/ddl/impl.py`` and one file per backend
beside it): :class:`Dialect` holds the defaults, a subclass in ``sqlite.py`` or
``postgresql.py`` overrides what its backend does otherwise. Code outside this package
never asks which backend it runs on; it asks the dialect (``tests/storage/test_dialects.py``
fails on a branch on the backend's name anywhere else).

The defaults are those of a database where a write transaction already holds the write lock
(SQLite's ``BEGIN IMMEDIATE``): the write path's statements run as they come, nothing needs
locking, and the COMMIT has nothing left to send.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.sql import Select

from workflow.domain import limits
from workflow.errors import Conflict, DatabaseProblem
from workflow.storage import statements as sql
from workflow.storage.statements import ProjectRow, Statement

if TYPE_CHECKING:
    from workflow.storage.transaction import ReadTx, WriteTx

# Whether the transaction being begun writes (SQLite: BEGIN IMMEDIATE), for the "begin" listener.
# A context variable, not an execution option: setting an option per connection costs more than
# the variable, and an option engine set up once makes every event check on its connections go
# through a joined dispatcher.
BEGIN_WRITE: ContextVar[bool] = ContextVar("phasegate_begin_write", default=False)


def pool(pool_size: int | None, pool_wait: float | None = None) -> dict[str, float]:
    """The pool's size and how long a thread waits for one of its connections before SQLAlchemy's
    pool ``TimeoutError`` (which the server answers 503 busy): ``limits.POOL_WAIT`` by default,
    not SQLAlchemy's 30 s, so a request never hangs half a minute on a pool that ran dry."""
    size = {"pool_size": 2, "max_overflow": 3} if pool_size is None else {"pool_size": pool_size,
                                                                          "max_overflow": pool_size}
    return {**size, "pool_timeout": limits.POOL_WAIT.default if pool_wait is None else pool_wait,
            # the connection given back last is taken first: a server's requests one after another
            # reuse one warm connection (SQLite's page cache kept), not each of the pool in turn
            "pool_use_lifo": True}


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's wrapper (or ``exc`` itself)."""
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


# A driver's words -> the sentence a failure is said with: the first entry one of whose words the
# (lowercased) message has; ``{names}`` in the sentence are filled by :func:`said`'s caller.
Sentences = tuple[tuple[tuple[str, ...], str], ...]


def said(sentences: Sentences, message: str, **names: str) -> DatabaseProblem | None:
    """The first of ``sentences`` whose words the driver's ``message`` has, or None."""
    lower = message.lower()
    for words, sentence in sentences:
        if any(word in lower for word in words):
            return DatabaseProblem(sentence.format(**names))
    return None


class Dialect:
    """A backend phasegate knows nothing particular about; the defaults of every backend."""

    name = "database"
    paramstyle = "qmark"  # the placeholder style of the write path's statements (statements.py)
    default_port: int | None = None
    one_writer = False  # True: one process writes at a time (a server runs one worker)
    batch_migrations = False  # Alembic's render_as_batch: ALTER TABLE by copying the table
    verifies_in_parallel = False  # a whole database's chains may be verified by several processes
    # Every process hears a credential change (credentials_changed's NOTIFY): a server's worker may
    # remember the tokens it verified (engine/people/known.py). SQLite: a CLI in another process could
    # revoke one unheard.
    tells_credential_changes = False

    # -- opening -----------------------------------------------------------------------------------

    def canonical_url(self, url: URL) -> URL:
        """``url`` with the driver phasegate uses for this backend."""
        return url

    def create_engine(self, url: URL, *, create: bool, pool_size: int | None, pool_wait: float | None
                      ) -> Engine:
        """A SQLAlchemy Engine on ``url`` set up for phasegate (not yet connected)."""
        return create_engine(url, pool_size=2, max_overflow=3)

    def database_file(self, url: URL) -> Path | None:
        """The file that holds the database (None: a server's, or one in memory)."""
        return None

    def exists(self, url: URL) -> bool:
        """Whether the database may already be there (a file-less one: ask by connecting)."""
        return True

    def describe(self, url: URL) -> str:
        """The database as a sentence names it."""
        return f"the database at {self.server(url)}/{url.database}"

    def server(self, url: URL) -> str:
        host = url.host or "localhost"
        port = url.port or self.default_port
        return f"{host}:{port}" if port else host

    @contextmanager
    def snapshot(self, engine: Engine, begin: Any) -> Iterator[Connection]:
        """A read transaction that sees one snapshot throughout (``begin``: the ordinary read
        transaction's context manager, which already does on SQLite)."""
        with begin as conn:
            yield conn

    # -- failures ----------------------------------------------------------------------------------

    def raised(self, orig: BaseException) -> bool:
        """Whether the driver error ``orig`` comes from this backend's driver."""
        return False

    def is_busy(self, exc: BaseException) -> bool:
        """Another writer held the database's lock for as long as the busy timeout waited."""
        return False

    def is_retryable(self, exc: BaseException) -> bool:
        """The transaction lost a race and running it again may succeed."""
        return False

    def where(self, url: URL | None) -> str:
        """The database as a failure's sentence names it."""
        return "the server" if url is None else self.server(url)

    def problem(self, where: str, message: str, orig: BaseException, first_line: str) -> DatabaseProblem:
        """The sentence for the failure ``message`` (scrubbed of passwords) of the database ``where``."""
        return DatabaseProblem(f"the database at {where} failed: {first_line.rstrip('.')}.")

    # -- the write path ----------------------------------------------------------------------------

    def begin_write(self, conn: Connection) -> None:
        """Begin a command's write transaction on ``conn`` (here: SQLAlchemy's own, which
        ``connections.CommandTransaction`` then ends)."""
        conn.begin()

    def locked_project(self, tx: WriteTx, code: str, actor: str) -> tuple[ProjectRow | None, Sequence[Any]]:
        """The project's row (locked for the rest of the transaction) and its round rows; (None, [])
        when there is no such project."""
        found = tx.execute(sql.PROJECT, code=code).fetchone()
        if found is None:
            return None, []
        row = ProjectRow._make(found)
        values = {"project_id": row.id, "actor": actor, "phase": row.phase, "round": row.round}
        return row, tx.run(sql.ROUND_FOR_WRITE, values).fetchall()

    def write(
        self, tx: WriteTx, stmt: Statement, values: Mapping[str, Any], *, one_row: bool = False
    ) -> None:
        """One of the command's writes; ``one_row``: it must change exactly one row (a head move)."""
        cursor = tx.run(stmt, values)
        if one_row and cursor.rowcount != 1:  # impossible under BEGIN IMMEDIATE
            raise Conflict("the project changed while this command ran; nothing was changed, run it again")

    def finish(self, tx: WriteTx) -> None:
        """Before the COMMIT: nothing is left to send."""

    def flush(self, tx: WriteTx) -> None:
        """Send the writes held for the COMMIT now (a transaction that appends a second event to
        the same chain needs the first one's head move done); here they were sent already."""

    def credentials_changed(self, tx: WriteTx) -> None:
        """Tell the servers' workers, at this transaction's commit, that a token was revoked, an
        account disabled or enabled, or a password changed (SQLite: no worker remembers any)."""

    def lock_system(self, tx: WriteTx) -> None:
        """Serialize writers of the templates-and-grants chain (BEGIN IMMEDIATE already does)."""

    def lock_migrations(self, conn: Connection) -> None:
        """Serialize migrators (BEGIN IMMEDIATE already does)."""

    def prior_request(self, tx: WriteTx, request_id: str) -> Any:
        """The stored (actor, command, outcome) of ``request_id``, or None; two senders of one id
        are serialized (BEGIN IMMEDIATE already does)."""
        return tx.execute(sql.GET_REQUEST, request_id=request_id).fetchone()

    def lock_chain(self, tx: WriteTx, chain: str, system: bool) -> None:
        """Wait for a COMMIT still in flight on ``chain`` before reading it (BEGIN IMMEDIATE waits)."""

    def read_alone(self, tx: ReadTx, stmt: Statement, values: Mapping[str, Any]) -> Any:
        """The cursor of ``stmt``, the only statement of its read transaction."""
        return tx.run(stmt, values)

    def claimable(self, due: Select[Any]) -> Select[Any]:
        """The outbox's due rows as a claim selects them (one writer at a time: as they are)."""
        return due

    def stream_cursor(self, dbapi_connection: Any, name: str, batch: int) -> Any:
        """A DBAPI cursor that reads its rows as they are iterated, not all at once (SQLite's
        steps through the statement lazily)."""
        return dbapi_connection.cursor()



