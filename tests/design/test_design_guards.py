"""Guards on the design that keeps phasegate fast: what a command imports, and which indexes its reads use.

These are not timings (those live in benchmarks/); they fail when a change would make
every CLI call import something it does not need, or make a read scan a table.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import workflow
from workflow import Engine
from workflow.storage import statements as sql

PYTHONPATH = str(Path(workflow.__file__).resolve().parent.parent)

PROBE = r"""
import json, sys
sys.argv = ["phasegate", *sys.argv[1:]]
from workflow.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def modules_imported_by(*args: str, env: dict[str, str] | None = None) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={"PYTHONPATH": PYTHONPATH, "PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
                               **(env or {})},
                          check=False)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.fixture
def project_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/guard.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
        engine.create_project("G-1", template="large-agency", actor="ana")
        engine.assign("G-1", "integrated_producer", "ana", actor="ana")
    return url


@pytest.mark.slow
def test_project_status_imports_neither_alembic_nor_yaml_nor_the_orm(project_db: str) -> None:
    """The schema check is one query and the template comes compiled from the database."""
    loaded = modules_imported_by("--db", project_db, "--as", "ana", "--json", "project", "status", "G-1")
    assert "workflow.engine" in loaded  # the probe really ran the command
    unneeded_modules = (
        "alembic", "yaml", "sqlalchemy.orm", "psycopg", "platformdirs", "workflow.domain.templates.loader",
        # the server's libraries are imported only by the server
        "fastapi", "starlette", "uvicorn", "pydantic", "httpx", "prometheus_client", "argon2", "workflow.server",
    )
    for unneeded in unneeded_modules:
        assert unneeded not in loaded, f"project status imported {unneeded}"


@pytest.mark.parametrize("args", [["--help"], ["template", "validate", "DEFINITIONS/large-agency.yaml"]])
def test_help_and_validate_do_not_import_sqlalchemy_or_httpx(args: list[str]) -> None:
    definitions = Path(workflow.__file__).resolve().parent / "definitions"
    loaded = modules_imported_by(*[a.replace("DEFINITIONS", str(definitions)) for a in args])
    assert "click" in loaded
    assert not any(m == "sqlalchemy" or m.startswith("sqlalchemy.") for m in loaded)
    assert "httpx" not in loaded and "workflow.client" not in loaded, "httpx is for --server mode only"


@pytest.mark.slow
def test_server_mode_imports_httpx_and_none_of_the_database_or_server_libraries(
    project_db: str, tmp_path: Path
) -> None:
    """`phasegate --server URL project status` is a small HTTP client: no SQLAlchemy, no FastAPI."""
    from support.servers import live_server, people

    with Engine(project_db) as engine:
        tokens = people(engine, {"ana": ()}, admin="ana")
    with live_server(project_db, tmp_path / "server.log") as server:
        loaded = modules_imported_by("--server", server.url, "project", "status", "G-1",
                                     env={"PHASEGATE_TOKEN": tokens["ana"]})
    assert {"httpx", "workflow.client", "workflow.domain.templates.loader"} <= loaded  # it got the status and its template
    for unneeded in ("sqlalchemy", "alembic", "psycopg", "fastapi", "starlette", "uvicorn", "pydantic",
                     "argon2", "workflow.engine", "workflow.storage", "workflow.server"):
        assert unneeded not in loaded, f"--server mode imported {unneeded}"


def query_plan(path: str, sql: str, params: tuple[object, ...]) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]


@pytest.mark.slow
def test_the_reads_of_a_command_and_of_status_search_by_index(project_db: str) -> None:
    path = project_db.removeprefix("sqlite:///")
    reads = {
        "project": (sql.PROJECT, {"code": "G-1"}),
        "round": (sql.ROUND, {"project_id": 1, "actor": "ana", "phase": "client_kickoff", "round": 1}),
        "membership": (sql.MEMBERSHIP, {"reader": "ana", "code": "G-1"}),
        "history": (sql.history((), newest_first=True), {"chain": "G-1", "after": 0, "size": 50}),
        "history filtered": (
            sql.history(("actor",), newest_first=False), {"chain": "G-1", "actor": "ana", "after": 0, "size": 1000}
        ),
        "history start": (sql.history_start(()), {"chain": "G-1", "skip": 5000}),
    }
    for name, (statement, values) in reads.items():
        plan = query_plan(path, statement.sqlite, statement.args(values))
        scans = [step for step in plan if step.startswith("SCAN")]
        assert not scans, f"{name} scans a table: {plan}"
        assert not any("TEMP B-TREE" in step for step in plan), f"{name} sorts: {plan}"


def test_verify_reads_every_chain_in_index_order_without_sorting(project_db: str) -> None:
    path = project_db.removeprefix("sqlite:///")
    everything = query_plan(path, "SELECT chain, seq, hash FROM events ORDER BY chain, seq", ())
    assert any("USING" in step and "INDEX" in step for step in everything), everything
    assert not any("TEMP B-TREE" in step for step in everything), everything
    one = query_plan(path, "SELECT chain, seq, hash FROM events WHERE chain = ? ORDER BY seq", ("G-1",))
    assert all(step.startswith("SEARCH") for step in one), one


def test_the_state_check_reads_each_table_in_chain_order_without_sorting(project_db: str) -> None:
    """The replay pass is merge joins: every stream in projects.code order off an index, no sort, no scan
    of a table other than the walk along the code index (and the events' primary key)."""
    from sqlalchemy.dialects import sqlite

    from workflow.storage.audit import state
    from workflow.storage.audit.verify import events_in_order

    path = project_db.removeprefix("sqlite:///")
    streams = {"events": events_in_order(None), "projects": state.projects_in_order(None)}
    for table, keys, fields in state.CHILDREN:
        streams[table.name] = state.children_in_order(table, keys, fields, None)
    for name, stmt in streams.items():
        plan = query_plan(path, str(stmt.compile(dialect=sqlite.dialect())), ())
        assert not any("TEMP B-TREE" in step for step in plan), f"{name} sorts: {plan}"
        scans = [step for step in plan if step.startswith("SCAN")]
        assert len(scans) == 1 and "INDEX" in scans[0], f"{name} scans a table: {plan}"
        assert all("USING" in step for step in plan), f"{name} reads a table without an index: {plan}"
