"""A worker's memory of the API tokens it verified (PostgreSQL), forgotten the moment a credential changes.

The token check is one indexed read, but on PostgreSQL that read is a connection from the pool and
a round trip: about a tenth of a status read's CPU (issue 27). So each Engine (one per server
worker) remembers the identity a token proved, and asks the database again only when:

* any process, on any host, revoked a token, disabled or enabled an account or changed a password:
  those writes send ``NOTIFY phasegate_credentials`` in their own transaction
  (``storage/people.py``), delivered at their commit to every worker's listening connection. Before
  it trusts anything it remembers, a worker sends an empty statement on that connection (one round
  trip, no transaction, no pool) and reads the notifications PostgreSQL hands over with its answer:
  every change committed before the request came. Then it forgets everything. (Reading the socket
  alone, with no round trip, missed a change now and then on a loaded machine: the listener's
  PostgreSQL process had not yet run to send it.) The Engine that made the change forgets at once;
* the token expires (its ``expires_at`` is kept beside the identity), or a minute has passed (the
  token's last use is written at most once a minute: the check that writes it runs again);
* the listening connection is lost: everything is forgotten and nothing is remembered until it is
  back.

A check that read the database while a notification came in keeps nothing (the generation it
started at has moved on), so a revoke racing a check cannot leave a stale entry behind.

SQLite keeps no memory: another process (the command line in direct-database mode) can revoke a
token in the same file and could not tell the server; the check there reads a local file.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, NamedTuple

from workflow.domain import credentials
from workflow.domain.identity import Identity
from workflow.engine.people import signin
from workflow.storage.database import utcnow
from workflow.storage.store import Store

CHANNEL = "phasegate_credentials"
RETRY_SECONDS = 5.0  # how long a worker that could not listen checks every token before it tries again
MOST = 10_000  # tokens remembered at most (then all are forgotten and remembered again as they come)


class _Known(NamedTuple):
    identity: Identity
    expires_at: str | None
    until: float  # time.monotonic() when it must be checked again


class KnownTokens:
    """The tokens one Engine verified (see the module's docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.enabled = store.dialect.tells_credential_changes
        self.lock = threading.Lock()
        self.known: dict[str, _Known] = {}
        self.generation = 0
        self.listener: Any = None  # a psycopg connection, LISTENing on CHANNEL
        self.empty_query: Any = None  # psycopg's status of an empty statement's answer (imported to listen)
        self.retry_at = 0.0  # after a failed connection, when to try again

    def identify(self, secret: str) -> Identity:
        if not self.enabled or not isinstance(secret, str):
            return signin.identify_token(self.store, secret)
        digest = credentials.secret_hash(secret)
        with self.lock:
            listening = self._heard()
            found = self.known.get(digest) if listening else None
            generation = self.generation
        if found is not None and found.until > time.monotonic() and (
                found.expires_at is None or found.expires_at > utcnow()):
            return found.identity
        identity, expires_at = signin.verify_token(self.store, secret)  # refusals are never remembered
        with self.lock:
            if self._heard() and self.generation == generation:
                if len(self.known) >= MOST:
                    self.known.clear()
                self.known[digest] = _Known(identity, expires_at,
                                            time.monotonic() + signin.TOUCH_EVERY_SECONDS)
        return identity

    def forget(self) -> None:
        """Forget every token (this Engine changed a credential)."""
        with self.lock:
            self.known.clear()
            self.generation += 1

    def close(self) -> None:
        with self.lock:
            self._drop()

    def _heard(self) -> bool:
        """Listening (connecting first if need be), with every notification that arrived applied.
        Called with the lock held."""
        try:
            if self.listener is None:
                if time.monotonic() < self.retry_at:
                    return False
                self.retry_at = time.monotonic() + RETRY_SECONDS
                self.listener = self._listen()
            pgconn = self.listener.pgconn
            # One empty round trip on the listening connection: PostgreSQL hands a listener every
            # notification committed before its next statement, so whatever change was committed
            # before this request came is heard now (waiting for the socket alone would miss one
            # whose listener process had not run yet: seen on a loaded machine).
            if pgconn.exec_(b"").status != self.empty_query:
                raise ConnectionError(pgconn.error_message)
            heard = False
            while pgconn.notifies() is not None:
                heard = True
            if heard:
                self.known.clear()
                self.generation += 1
            return True
        except Exception:  # the connection is lost (or cannot be made): remember nothing until it is back
            self._drop()
            return False

    def _listen(self) -> Any:
        import psycopg
        from psycopg.pq import ExecStatus

        self.empty_query = ExecStatus.EMPTY_QUERY

        url = self.store.sqlalchemy.url.set(drivername="postgresql")
        conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        self.known.clear()  # anything remembered before was not covered by this connection
        self.generation += 1
        return conn

    def _drop(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self.listener.close()
        self.listener = None
        self.known.clear()
        self.generation += 1
