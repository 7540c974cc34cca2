"""Through the Python API there is no way around a gate either.

- a compiled machine has no ``to_<phase>`` trigger (``auto_transitions=False``) and no
  trigger other than the moves the engine checks;
- what the engine hands out (status, summaries, events) is frozen, and changing what can
  be changed inside it (a list) does not persist;
- the Engine leaves no transaction open between calls (refusals included): the thread that
  opened it keeps one idle connection (workflow/storage/connections.py, HeldConnection), other
  threads keep none, and it exposes nothing to commit a hand-made change on.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.invariants import dump

from workflow import Engine
from workflow.domain.templates.loader import builtin_paths, load_file
from workflow.domain.templates.machine import compile_machine
from workflow.errors import PhasegateError

MODELS = ["large-agency", "digital-agency", "team-based"]


@pytest.mark.parametrize("model", MODELS)
def test_a_compiled_machine_has_no_to_phase_trigger(model: str) -> None:
    definition = load_file(builtin_paths()[model])
    machine = compile_machine(definition)
    triggers = set(machine.events)
    assert not any(t.startswith("to_") for t in triggers), triggers
    assert triggers <= {"advance", "reject", "hold", "resume", "cancel"}, triggers
    for phase in definition.phases:
        assert not hasattr(machine, f"to_{phase.key}")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.create_project("P", template="team-based", actor="ana")
        e.assign("P", "integrated_producer", "ana", actor="ana")
        e.assign("P", "team", "tom", actor="ana")
        yield e


def test_status_summaries_and_events_are_frozen_and_edits_do_not_persist(engine: Engine) -> None:
    status = engine.status("P")
    for obj, attr, value in [(status, "phase", "production_kickoff"), (status, "status", "completed"),
                             (status, "can_advance", True), (engine.history("P")[-1], "action", "advance"),
                             (engine.list_projects()[0], "phase", "production_kickoff")]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, value)
    assert status.gate is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        status.gate.satisfied = True  # type: ignore[misc]
    status.team["team"].append("mallory")
    status.blockers.clear()
    again = engine.status("P")
    assert again.team["team"] == ["tom"] and again.blockers and not again.can_advance
    with pytest.raises(PhasegateError):
        engine.advance("P", actor="ana")


def _calls(engine: Engine) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("status", lambda: engine.status("P", reader="tom")),
        ("history", lambda: engine.history("P", reader="ana")),
        ("list", lambda: engine.list_projects(reader="ana")),
        ("templates", engine.templates),
        ("verify", engine.verify_audit),
        ("task", lambda: engine.complete_task("P", "team", actor="tom")),
        ("task again (refused)", lambda: engine.complete_task("P", "team", actor="tom")),
        ("approve by an outsider (refused)", lambda: engine.approve("P", "team", actor="zed")),
        ("advance too early (refused)", lambda: engine.advance("P", actor="ana")),
        ("unknown project (refused)", lambda: engine.status("NOPE")),
        ("bad input (refused)", lambda: engine.hold("P", actor="ana", reason="")),
        ("hold", lambda: engine.hold("P", actor="ana", reason="pause", request_id="h-1")),
        ("hold repeated", lambda: engine.hold("P", actor="ana", reason="pause", request_id="h-1")),
        ("grant", lambda: engine.grant("olga", "auditor", actor="ana")),
    ]


def _in_transaction(conn: Any) -> bool:
    dbapi = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        import psycopg

        return dbapi.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    return bool(dbapi.in_transaction)


def test_no_transaction_stays_open_between_calls(engine: Engine) -> None:
    pool = engine.store.sqlalchemy.pool
    for name, call in _calls(engine):
        with contextlib.suppress(PhasegateError):
            call()
        assert pool.checkedout() <= 1, f"{name} left a connection checked out"  # type: ignore[attr-defined]
        held = engine.store.held.connection
        if held is not None:
            assert not held.in_transaction() and not _in_transaction(held), f"{name} left a transaction open"


def test_other_threads_keep_no_connection_and_close_gives_the_held_one_back(engine: Engine) -> None:
    import threading

    pool = engine.store.sqlalchemy.pool
    engine.status("P", reader="tom")
    assert pool.checkedout() == 1  # type: ignore[attr-defined]
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            for name, call in _calls(engine):
                with contextlib.suppress(PhasegateError):
                    call()
                assert pool.checkedout() == 1, f"{name} on another thread kept a connection"  # type: ignore[attr-defined]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert not errors, errors
    engine.close()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_the_engine_exposes_no_connection_session_or_writable_state(engine: Engine) -> None:
    from sqlalchemy.engine import Connection, Transaction

    public = {name: getattr(engine, name) for name in dir(engine) if not name.startswith("_")}
    assert not {"connection", "session", "execute", "commit", "begin", "conn", "db", "engine"} & set(public)
    for name, value in public.items():
        assert not isinstance(value, (Connection, Transaction)), name
    before = dump(engine)
    with pytest.raises(AttributeError):
        engine.status("P").phase = "done"  # type: ignore[misc]
    assert dump(engine) == before


def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_alone(engine: Engine) -> None:
    import os

    engine.status("P", reader="tom")  # the parent holds its connection now
    held = engine.store.held.connection
    assert held is not None
    parents = held.connection.dbapi_connection
    pid = os.fork()
    if pid == 0:  # the child: must neither use nor close the parent's connection
        code = 1
        try:
            engine.hold("P", actor="ana", reason="from the child")
            assert engine.status("P", reader="tom").status == "on_hold"
            mine = engine.store.held.connection
            assert mine is not None and mine.connection.dbapi_connection is not parents
            engine.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    engine.resume("P", actor="ana")
    assert engine.store.held.connection is held, "the parent's connection was left alone"
    assert not held.invalidated
    assert held.connection.dbapi_connection is parents
    assert engine.status("P", reader="tom").status == "active"
    assert engine.verify_audit().ok
