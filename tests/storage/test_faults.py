"""Faults at every write point: a change and its history event land together or not at all.

Each writing command is run once per SQL statement it sends, with a fault injected at
that statement (a ``before_cursor_execute`` listener) or at its COMMIT (the dialect's
``do_commit``): disk full, an I/O error, a dropped connection (a real one: the SQLite
connection is closed, the PostgreSQL backend is terminated), a serialization failure, a
COMMIT that fails, and a COMMIT that succeeds on the server while the client gets an
error (a lost acknowledgement). Afterwards the database either holds the whole change
with its one event, or is exactly as it was; chains verify and state equals replay.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors
import pytest
import sqlalchemy
from click.testing import CliRunner
from sqlalchemy import event, text
from support.invariants import assert_consistent, dump

from workflow import Engine
from workflow.cli import cli
from workflow.domain.audit.events import Event
from workflow.domain.templates.loader import builtin_paths
from workflow.errors import DatabaseProblem, PhasegateError

# -- the commands, each from the state it needs --------------------------------------------------------

STAGES = ("none", "created", "staffed", "tasks_done", "ready", "held")


def prepare(engine: Engine, code: str, stage: str) -> None:
    """Bring project ``code`` (team-based; lead ana, team tom) to ``stage``."""
    if stage == "none":
        return
    engine.create_project(code, template="team-based", actor="ana")
    if stage == "created":
        return
    engine.assign(code, "integrated_producer", "ana", actor="ana")
    engine.assign(code, "team", "tom", actor="ana")
    if stage == "held":
        engine.hold(code, actor="ana", reason="pause")
    if stage in ("tasks_done", "ready"):
        engine.complete_task(code, "integrated_producer", actor="ana")
        engine.complete_task(code, "team", actor="tom")
    if stage == "ready":
        engine.approve(code, "integrated_producer", actor="ana")
        engine.approve(code, "team", actor="tom")


def _publish(engine: Engine, code: str, **kw: Any) -> Any:
    source = builtin_paths()["team-based"].read_text(encoding="utf-8")
    return engine.publish_template(source.replace("title: Integrated Project Management - Team Based",
                                                  f"title: Team Based {code}"), actor="ana")


COMMANDS: dict[str, tuple[str, Callable[..., Any]]] = {
    "create": ("none", lambda e, c, **kw: e.create_project(c, template="team-based", actor="ana", **kw)),
    "assign": ("created", lambda e, c, **kw: e.assign(c, "team", "tom", actor="ana", **kw)),
    "unassign": ("staffed", lambda e, c, **kw: e.unassign(c, "team", "tom", actor="ana", **kw)),
    "task": ("staffed", lambda e, c, **kw: e.complete_task(c, "team", actor="tom", note="n", **kw)),
    "approve": ("tasks_done", lambda e, c, **kw: e.approve(c, "team", actor="tom", **kw)),
    "reject": ("tasks_done", lambda e, c, **kw: e.reject(c, "team", actor="tom", reason="redo", **kw)),
    "advance": ("ready", lambda e, c, **kw: e.advance(c, actor="ana", **kw)),
    "hold": ("staffed", lambda e, c, **kw: e.hold(c, actor="ana", reason="wait", **kw)),
    "resume": ("held", lambda e, c, **kw: e.resume(c, actor="ana", **kw)),
    "cancel": ("staffed", lambda e, c, **kw: e.cancel(c, actor="ana", reason="stop", **kw)),
    "grant": ("none", lambda e, c, **kw: e.grant(f"aud-{c.lower()}", "auditor", actor="ana")),
    "publish": ("none", _publish),
}

# run_with_statement_faults tries a fault at every statement of every command, counted per backend
# (PostgreSQL sends a command's writes as one statement): at least three statements a command.
MIN_CASES = 3 * len(COMMANDS)


# -- injecting faults ----------------------------------------------------------------------------------


@dataclass
class Fault:
    """Raise (or drop the connection) at statement ``at`` of the next command; ``fired`` once."""

    at: int = 0
    count: int = 0
    fired: bool = False
    make: Callable[[Any], BaseException | None] | None = None

    def before_execute(self, conn: Any, *args: Any) -> None:
        self.count += 1
        if self.fired or self.count != self.at or self.make is None:
            return
        self.fired = True
        exc = self.make(conn)
        if exc is not None:
            raise exc


@contextmanager
def statement_fault(engine: Engine, at: int, make: Callable[[Any], BaseException | None]) -> Iterator[Fault]:
    fault = Fault(at=at, make=make)
    event.listen(engine.store.sqlalchemy, "before_cursor_execute", fault.before_execute)
    try:
        yield fault
    finally:
        event.remove(engine.store.sqlalchemy, "before_cursor_execute", fault.before_execute)


def count_statements(engine: Engine, command: str, code: str) -> int:
    prepare(engine, code, COMMANDS[command][0])
    with statement_fault(engine, 0, lambda conn: None) as counter:
        COMMANDS[command][1](engine, code)
    return counter.count


@contextmanager
def commit_fault(engine: Engine, *, lands: bool,
                 make: Callable[[Any], BaseException]) -> Iterator[list[bool]]:
    """The next COMMIT raises ``make(dbapi_connection)``: after committing (``lands``) or instead of it."""
    dialect = engine.store.sqlalchemy.dialect
    real = dialect.do_commit
    fired: list[bool] = []

    def do_commit(dbapi_connection: Any) -> None:
        if fired:
            return real(dbapi_connection)
        fired.append(True)
        if lands:
            real(dbapi_connection)
        raise make(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    try:
        yield fired
    finally:
        del dialect.do_commit


def is_sqlite(engine: Engine) -> bool:
    return engine.store.sqlalchemy.dialect.name == "sqlite"


def disk_full(engine: Engine) -> Callable[[Any], BaseException]:
    if is_sqlite(engine):
        return lambda conn: sqlite3.OperationalError("database or disk is full")
    return lambda conn: psycopg.errors.DiskFull("could not extend file: No space left on device")


def io_error(engine: Engine) -> Callable[[Any], BaseException]:
    if is_sqlite(engine):
        return lambda conn: sqlite3.OperationalError("disk I/O error")
    return lambda conn: psycopg.errors.IoError("could not read block 0 in file: read only 0 of 8192 bytes")


def serialization_failure(engine: Engine) -> Callable[[Any], BaseException]:
    if is_sqlite(engine):
        return lambda conn: sqlite3.OperationalError("database is locked")
    return lambda conn: psycopg.errors.SerializationFailure("could not serialize access")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        yield e


@pytest.fixture
def drop_connection(engine: Engine) -> Iterator[Callable[[Any], None]]:
    """Really drop the connection a statement is about to use."""
    if is_sqlite(engine):
        yield lambda conn: conn.connection.dbapi_connection.close()
        return
    admin = sqlalchemy.create_engine(engine.store.sqlalchemy.url, isolation_level="AUTOCOMMIT")

    def terminate(conn: Any) -> None:
        pid = conn.connection.dbapi_connection.info.backend_pid
        with admin.connect() as c:
            assert c.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()

    try:
        yield terminate
    finally:
        admin.dispose()


# -- the checks ----------------------------------------------------------------------------------------


def run_with_statement_faults(engine: Engine, make: Callable[[Any], BaseException | None],
                              check: Callable[[dict[str, Any], dict[str, Any], Event | None,
                                               BaseException | None], None]) -> int:
    """Every command, a fault at each of its statements; ``check(before, after, result, error)``."""
    cases = 0
    for name, (stage, call) in COMMANDS.items():
        count_statements(engine, name, f"{name}-warm")  # caches the compiled template
        statements = count_statements(engine, name, f"{name}-count")
        assert statements >= 2
        for at in range(1, statements + 1):
            code = f"{name}-{at}"
            prepare(engine, code, stage)
            before = dump(engine)
            result: Any = None
            error: BaseException | None = None
            with statement_fault(engine, at, make) as fault:
                try:
                    result = call(engine, code)
                except PhasegateError as exc:
                    error = exc
            assert fault.fired, (name, at)
            check(before, dump(engine), result, error)
            cases += 1
        assert_consistent(engine)
    return cases


Tables = dict[str, Any]


def unchanged(before: Tables, after: Tables, result: Any, error: BaseException | None) -> None:
    assert isinstance(error, DatabaseProblem), f"a sentence for the user, got {error!r}"
    assert "Traceback" not in str(error) and str(error).endswith(".")
    assert after == before, "a failed command changed nothing"


def applied_once(before: Tables, after: Tables, result: Any, error: BaseException | None) -> None:
    assert error is None, f"the engine retries this fault, got {error!r}"
    assert len(after["events"]) == len(before["events"]) + 1, "exactly one event per command"


@pytest.mark.slow
def test_disk_full_at_any_statement_changes_nothing_and_says_so(engine: Engine) -> None:
    assert run_with_statement_faults(engine, disk_full(engine), unchanged) >= MIN_CASES


@pytest.mark.slow
def test_an_io_error_at_any_statement_changes_nothing_and_says_so(engine: Engine) -> None:
    assert run_with_statement_faults(engine, io_error(engine), unchanged) >= MIN_CASES


@pytest.mark.slow
def test_a_serialization_failure_at_any_statement_is_retried_and_applied_once(engine: Engine) -> None:
    assert run_with_statement_faults(engine, serialization_failure(engine), applied_once) >= MIN_CASES


@pytest.mark.slow
def test_a_dropped_connection_at_any_statement_is_retried_and_applied_once(
        engine: Engine, drop_connection: Callable[[Any], None]) -> None:
    def make(conn: Any) -> None:
        drop_connection(conn)
        return None

    assert run_with_statement_faults(engine, make, applied_once) >= MIN_CASES


def _lost_ack_error(engine: Engine) -> Callable[[Any], BaseException]:
    """What a client sees when the server committed but the answer never arrived."""
    if is_sqlite(engine):
        return lambda conn: sqlite3.OperationalError("disk I/O error")

    def dropped(conn: Any) -> BaseException:
        conn.dbapi_connection.close()  # the socket is gone; the pool's record is invalidated
        return psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")

    return dropped


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_lost_commit_acknowledgement_is_a_success_not_a_second_run(engine: Engine, name: str) -> None:
    """The COMMIT lands, the client gets an error: the engine finds its event and answers with it."""
    stage, call = COMMANDS[name]
    prepare(engine, "P", stage)
    before = dump(engine)
    with commit_fault(engine, lands=True, make=_lost_ack_error(engine)) as fired:
        result = call(engine, "P")
    assert fired
    after = dump(engine)
    assert len(after["events"]) == len(before["events"]) + 1, "applied once, not re-run"
    if isinstance(result, Event):
        assert (result.chain, result.seq, result.hash) in {(r[0], r[1], r[8]) for r in after["events"]}
    assert_consistent(engine)


@pytest.mark.parametrize("name", ["approve", "advance", "create"])
def test_a_failed_commit_changes_nothing_and_says_so(engine: Engine, name: str) -> None:
    stage, call = COMMANDS[name]
    prepare(engine, "P", stage)
    before = dump(engine)
    with commit_fault(engine, lands=False, make=disk_full(engine)), pytest.raises(DatabaseProblem) as caught:
        call(engine, "P")
    assert "full" in str(caught.value)
    assert dump(engine) == before
    assert_consistent(engine)


def test_a_lost_ack_that_cannot_be_checked_is_answered_from_the_request_id_on_retry(engine: Engine) -> None:
    """COMMIT lands, the answer is lost and the database can't be asked at once: the user is told so;
    repeating the command with the same request id gets the first outcome, applied once."""
    prepare(engine, "P", "ready")
    before = dump(engine)
    outage = Fault(at=10**9, make=io_error(engine))

    def arm(conn: Any) -> None:  # the first statement after the COMMIT: the engine's check
        outage.at = min(outage.at, outage.count + 1)

    with commit_fault(engine, lands=True, make=_lost_ack_error(engine)):
        event.listen(engine.store.sqlalchemy, "commit", arm)
        event.listen(engine.store.sqlalchemy, "before_cursor_execute", outage.before_execute)
        try:
            with pytest.raises(DatabaseProblem, match="could not be asked whether it was saved"):
                engine.advance("P", actor="ana", request_id="adv-1")
        finally:
            event.remove(engine.store.sqlalchemy, "before_cursor_execute", outage.before_execute)
            event.remove(engine.store.sqlalchemy, "commit", arm)
    assert outage.fired
    landed = dump(engine)
    assert len(landed["events"]) == len(before["events"]) + 1
    again = engine.advance("P", actor="ana", request_id="adv-1")
    assert again.action == "advance" and again.data["to_phase"] == "production_kickoff"
    assert dump(engine) == landed, "the retry was answered with the first outcome, not applied again"
    assert engine.status("P").phase == "production_kickoff"
    assert_consistent(engine)


def test_a_lost_ack_with_a_request_id_is_applied_once(engine: Engine) -> None:
    prepare(engine, "P", "ready")
    with commit_fault(engine, lands=True, make=_lost_ack_error(engine)):
        first = engine.advance("P", actor="ana", request_id="adv-2")
    assert engine.advance("P", actor="ana", request_id="adv-2") == first
    assert [e.action for e in engine.history("P")].count("advance") == 1
    assert_consistent(engine)


# -- through the command line: a sentence and the exit code, never a traceback --------------------------


@pytest.mark.parametrize("kind", ["disk_full", "io_error", "lost_ack", "dropped"])
def test_the_cli_reports_faults_with_a_sentence_and_an_exit_code(tmp_path: Path, kind: str) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--db", url, "--as", "ana", *args], prog_name="phasegate")

    assert run("init", "--admin", "ana").exit_code == 0
    assert run("project", "create", "P", "--template", "team-based").exit_code == 0
    assert run("project", "assign", "P", "team", "tom").exit_code == 0
    fault = Fault(at=10**9)  # armed at the command's BEGIN IMMEDIATE, after the schema check

    def arm(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("BEGIN IMMEDIATE") and fault.at == 10**9:
            fault.at = fault.count + 3

    fault.make = {
        "disk_full": lambda conn: sqlite3.OperationalError("database or disk is full"),
        "io_error": lambda conn: sqlite3.OperationalError("disk I/O error"),
        "dropped": lambda conn: conn.connection.dbapi_connection.close(),
        "lost_ack": None,
    }[kind]
    real_commit = sqlalchemy.engine.default.DefaultDialect.do_commit
    committed: list[bool] = []

    def lossy_commit(self: Any, dbapi_connection: Any) -> None:
        real_commit(self, dbapi_connection)
        if kind == "lost_ack" and not committed:
            committed.append(True)
            raise sqlite3.OperationalError("disk I/O error")

    event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", arm)
    event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", fault.before_execute)
    sqlalchemy.engine.default.DefaultDialect.do_commit = lossy_commit  # type: ignore[method-assign]
    try:
        result = run("project", "assign", "P", "integrated_producer", "ana")
    finally:
        sqlalchemy.engine.default.DefaultDialect.do_commit = real_commit  # type: ignore[method-assign]
        event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", fault.before_execute)
        event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", arm)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    status = run("--json", "project", "status", "P")
    assigned = json.loads(status.output)["team"]["integrated_producer"] == ["ana"]
    if kind in ("disk_full", "io_error"):
        assert result.exit_code == 2
        assert result.output.startswith("Error: cannot write the database") and result.output.count("\n") == 1
        assert not assigned
    else:
        assert result.exit_code == 0, result.output
        assert "now holds the Integrated Producer role" in result.output
        assert assigned
    with Engine(url) as engine:
        assert_consistent(engine)
