"""Every backend difference lives in one dialect class (workflow/storage/dialects/), nowhere else.

The guard reads the package's syntax trees and fails on a branch on the backend
outside the dialects: a comparison with a backend's name ("sqlite", "postgresql",
"postgres", "psycopg"), ``.startswith`` of one, ``<x>.dialect.name`` or
``get_backend_name()``, a dialect's class in ``isinstance``, or a ``postgresql``/``sqlite``
flag tested in an ``if``. Alembic's migration scripts are left out: each is a frozen
record of one schema change, written against Alembic's ``op`` (which has no dialect
object of ours), and is never edited after it ships.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import workflow
from workflow.errors import DatabaseProblem
from workflow.storage import dialects
from workflow.storage.failures import is_retryable, translate_error

PACKAGE = Path(workflow.__file__).resolve().parent
DIALECTS = PACKAGE / "storage" / "dialects"
MIGRATION_SCRIPTS = PACKAGE / "migrations" / "versions"
BACKEND_NAMES = ("sqlite", "postgres", "psycopg")  # "postgres" covers "postgresql"
DIALECT_CLASSES = {"SQLite", "PostgreSQL"}


def _names_backend(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower().startswith(
        BACKEND_NAMES)


def _flag(node: ast.AST) -> bool:
    """``x.postgresql``, ``pg`` and the like: a backend's flag, as an ``if`` would test it."""
    while isinstance(node, ast.UnaryOp | ast.BoolOp):
        node = node.operand if isinstance(node, ast.UnaryOp) else node.values[0]
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    name = name.lstrip("_").lower()
    return name == "pg" or "postgres" in name or "sqlite" in name


def backend_branches(source: str, filename: str = "<source>") -> list[str]:
    """Each place in ``source`` that asks which backend it runs on, as ``line: code``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        why = None
        if isinstance(node, ast.Compare) and any(map(_names_backend, [node.left, *node.comparators])):
            why = "compares with a backend's name"
        elif isinstance(node, ast.Compare) and any(
                isinstance(side, ast.Tuple | ast.List | ast.Set) and any(map(_names_backend, side.elts))
                for side in node.comparators):
            why = "looks a backend's name up"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("startswith", "endswith") and any(map(_names_backend, node.args)):
                why = "tests a backend's name"
            elif node.func.attr == "get_backend_name":
                why = "asks the URL's backend"
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
              and any(isinstance(a, ast.Name) and a.id in DIALECT_CLASSES for a in ast.walk(node.args[1]))):
            why = "tests a dialect's class"
        elif (isinstance(node, ast.Attribute) and node.attr == "name" and isinstance(node.value, ast.Attribute)
              and node.value.attr == "dialect"):
            why = "reads the SQLAlchemy dialect's name"
        elif isinstance(node, ast.If | ast.IfExp | ast.While) and _flag(node.test):
            why = "tests a backend's flag"
        if why is not None:
            segment = ast.get_source_segment(source, node) or ""
            found.append(f"{getattr(node, 'lineno', '?')}: {segment.splitlines()[0] if segment else ''} ({why})")
    return found


@pytest.mark.slow  # reads every module's syntax tree: 1.1 s (measured 2026-12-07)
def test_nothing_outside_the_dialects_branches_on_the_backend() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if DIALECTS in path.parents or MIGRATION_SCRIPTS in path.parents:
            continue
        for where in backend_branches(path.read_text(encoding="utf-8"), str(path)):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{where}")
    assert not offenders, "ask the dialect (workflow/storage/dialects/) instead:\n" + "\n".join(offenders)


@pytest.mark.parametrize("code", [
    'if engine.dialect.name == "sqlite": pass',
    'x = 1 if url.get_backend_name() == "postgresql" else 2',
    'if conn.dialect.name != "postgresql": pass',
    'if target.startswith("sqlite"): pass',
    'ok = backend in ("postgres", "postgresql")',
    'if tx.dialect.postgresql: pass',
    'if not pg: pass',
    'if isinstance(d, PostgreSQL): pass',
    'sql = stmt.postgresql if self._postgresql else stmt.sqlite',
    'if type(orig).__module__ == "sqlite3": pass',
])
def test_the_guard_finds_each_kind_of_branch(code: str) -> None:
    assert backend_branches(code), code


def test_the_guard_lets_the_dialect_be_asked() -> None:
    assert not backend_branches("if tx.dialect.one_writer and workers > 1: pass\n"
                                "cursor = dialect.stream_cursor(conn, 'n', 10)\n"
                                "text = stmt.texts[dialect.paramstyle]\n")


def test_each_backend_is_one_class_in_a_file_of_its_own() -> None:
    assert {p.name for p in DIALECTS.glob("*.py")} == {"__init__.py", "base.py", "sqlite.py", "postgresql.py"}
    for name, cls in (("sqlite", dialects.SQLite), ("postgresql", dialects.PostgreSQL)):
        assert cls.__module__ == f"workflow.storage.dialects.{name}"
        assert issubclass(cls, dialects.Dialect)
        tree = ast.parse((DIALECTS / f"{name}.py").read_text(encoding="utf-8"))
        assert [n.name for n in tree.body if isinstance(n, ast.ClassDef)] == [cls.__name__]


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///x.db", dialects.SQLite), ("postgresql+psycopg://u@h/d", dialects.PostgreSQL),
    ("postgres://u@h/d", dialects.PostgreSQL), ("mysql://u@h/d", dialects.Dialect),
])
def test_a_url_finds_its_dialect(url: str, expected: type[dialects.Dialect]) -> None:
    assert type(dialects.for_url(url)) is expected


def test_the_postgresql_dialect_names_its_driver() -> None:
    pg = dialects.for_url("postgres://u@h/d")
    assert pg.canonical_url(make_url("postgres://u@h/d")).drivername == "postgresql+psycopg"
    assert pg.canonical_url(make_url("postgres+psycopg2://u@h/d")).drivername == "postgresql+psycopg2"
    assert pg.describe(make_url("postgresql+psycopg://u@db.example/app")) == "the database at db.example:5432/app"


def test_a_driver_error_is_told_by_the_driver_that_raised_it() -> None:
    import sqlite3

    busy = sqlite3.OperationalError("database is locked")
    assert dialects.for_error(busy) is dialects.BY_BACKEND["sqlite"]
    assert is_retryable(busy)
    problem = translate_error(sqlite3.DatabaseError("file is not a database"), "sqlite:////tmp/x.db")
    assert isinstance(problem, DatabaseProblem)
    assert problem.message == "/tmp/x.db is not a phasegate database (file is not a database)."
