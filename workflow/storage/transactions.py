"""Running work in a transaction: writes retried when they lose a race, and a failed COMMIT that
may have landed asked about instead of being run twice.

Serialization failures, deadlocks, a busy SQLite file and lost races on a chain head
are retried with backoff; the user sees :class:`~workflow.errors.Conflict` only when
retries run out. Nothing half-written ever stays: every attempt is one transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from workflow.domain.audit.events import SYSTEM_CHAIN, Event
from workflow.errors import Conflict, DatabaseProblem, PhasegateError
from workflow.storage.connections import read_transaction, write_transaction
from workflow.storage.database import lock_wait_seconds
from workflow.storage.failures import is_busy, is_retryable, translate_error
from workflow.storage.tables import events as t_events
from workflow.storage.tx import ReadTx, WriteTx

if TYPE_CHECKING:
    from workflow.storage.store import Store

R = TypeVar("R")

MAX_ATTEMPTS = 10


def run_write(store: Store, work: Callable[[WriteTx], R]) -> R:
    """Run ``work`` in one write transaction, retrying lost races; nothing half-written stays.

    When the COMMIT itself fails (a dropped connection, an I/O error), the transaction may
    have landed on the server even though the client got an error: a lost acknowledgement.
    Running the command again would then say "already done" or move the project twice, so
    the last event this attempt wrote is looked up first (:func:`landed`); if it is there,
    the command succeeded and its result is returned.
    """
    delay = 0.005
    deadline = time.monotonic() + lock_wait_seconds()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        committing = False
        tx: WriteTx | None = None
        try:
            with write_transaction(store.sqlalchemy, store.held) as conn:
                tx = WriteTx(conn, store.dialect, store.templates)
                result = work(tx)
                committing = True  # an error from here on comes from the COMMIT
                tx.dialect.finish(tx)
            return result
        except PhasegateError:
            raise
        except DBAPIError as exc:
            if (committing and tx is not None and tx.uow.written
                    and _answer_after_failed_commit(store, tx.uow.written[-1], exc)):
                return result
            # A dropped connection before the COMMIT landed changed nothing: run it again.
            if not (is_retryable(exc) or isinstance(exc, IntegrityError) or exc.connection_invalidated):
                raise translate_error(exc, store.sqlalchemy.url) from exc
            if is_busy(exc) and (attempt == MAX_ATTEMPTS or time.monotonic() >= deadline):
                raise Conflict(
                    f"the database is locked by another writer (waited {lock_wait_seconds():g} s); nothing "
                    f"was changed, try again"
                ) from exc
            if attempt == MAX_ATTEMPTS:
                if exc.connection_invalidated:
                    raise translate_error(exc, store.sqlalchemy.url) from exc
                raise Conflict(
                    f"the data changed meanwhile and the command could not be applied after "
                    f"{MAX_ATTEMPTS} attempts; nothing was changed, run it again"
                ) from exc
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.25)
    raise AssertionError("unreachable")


def _answer_after_failed_commit(store: Store, last: Event, exc: DBAPIError) -> bool:
    """True if the failed COMMIT landed after all; raises if the database cannot say."""
    found = landed(store, last)
    if found is None:
        cause = translate_error(exc, store.sqlalchemy.url).message.rstrip(".")
        raise DatabaseProblem(
            f"{cause} while saving the change, and the database could not be asked whether it was "
            f"saved; look at the history before running the command again (or repeat it with the "
            f"same --request-id)"
        ) from exc
    return found


def landed(store: Store, event: Event) -> bool | None:
    """Whether the transaction that wrote ``event`` committed; None when the database can't say.

    The check takes the lock the command took (the project row, or the system chain's lock),
    so it waits for a COMMIT still in flight on the old connection instead of racing it.
    """
    try:
        with write_transaction(store.sqlalchemy) as conn:
            tx = WriteTx(conn, store.dialect, store.templates)
            store.dialect.lock_chain(tx, event.chain, system=event.chain == SYSTEM_CHAIN)
            stored = conn.execute(
                select(t_events.c.hash).where(t_events.c.chain == event.chain, t_events.c.seq == event.seq)
            ).first()
            return stored is not None and stored.hash == event.hash
    except (DBAPIError, DatabaseProblem):
        return None


def run_read(store: Store, work: Callable[[ReadTx], R]) -> R:
    """Run ``work`` in a read transaction (one snapshot on SQLite; READ COMMITTED on PostgreSQL)."""
    try:
        with read_transaction(store.sqlalchemy, store.held) as conn:
            return work(ReadTx(conn, store.dialect, store.templates))
    except PhasegateError:
        raise
    except DBAPIError as exc:
        raise translate_error(exc, store.sqlalchemy.url) from exc


def run_snapshot(store: Store, work: Callable[[ReadTx], R]) -> R:
    """Like :func:`run_read`, in one snapshot on every backend (REPEATABLE READ on PostgreSQL)."""
    from workflow.storage.snapshot import snapshot_transaction

    try:
        with snapshot_transaction(store.sqlalchemy) as conn:
            return work(ReadTx(conn, store.dialect, store.templates))
    except PhasegateError:
        raise
    except DBAPIError as exc:
        raise translate_error(exc, store.sqlalchemy.url) from exc
