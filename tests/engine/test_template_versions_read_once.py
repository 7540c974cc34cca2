"""A published template version never changes, so a process reads a named version once: the project
page names the version its project is pinned to on every load (issue 21's page budget)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from workflow import Engine
from workflow.errors import PhasegateError


def statements_of(engine: Engine, call: object) -> tuple[object, list[str]]:
    seen: list[str] = []

    def listener(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine.store.sqlalchemy, "before_cursor_execute", listener)
    try:
        result = call()  # type: ignore[operator]
    finally:
        event.remove(engine.store.sqlalchemy, "before_cursor_execute", listener)
    return result, seen


def test_a_named_version_is_read_from_the_database_once(tmp_path: Path) -> None:
    with Engine(f"sqlite:///{tmp_path / 't.db'}") as engine:
        engine.init(admin="root")
        first, reads = statements_of(engine, lambda: engine.template("team-based", 1))
        assert reads, "the first read goes to the database"
        again, reads = statements_of(engine, lambda: engine.template("team-based", 1))
        assert again == first and reads == []


def test_the_latest_and_a_missing_version_are_still_read_each_time(tmp_path: Path) -> None:
    """'The latest' can change (a new version published); a missing version is refused, not remembered;
    a flag is not a version number (True would equal 1 in a dict key)."""
    with Engine(f"sqlite:///{tmp_path / 't.db'}") as engine:
        engine.init(admin="root")
        engine.template("team-based", 1)
        _latest, reads = statements_of(engine, lambda: engine.template("team-based"))
        assert reads
        with pytest.raises(PhasegateError):
            engine.template("team-based", 99)
        with pytest.raises(PhasegateError):
            engine.template("team-based", True)  # type: ignore[arg-type]
