"""The layers import one way: domain <- storage <- engine <- cli (and the reports read the domain;
the client, --server mode's, reads the domain and the reports only).

A static check over every module's imports, the lazy ones inside functions included: a new
import that crosses a layer backwards fails here, before it becomes a habit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import workflow

PACKAGE = Path(workflow.__file__).resolve().parent

# What each layer may not import (a module name, or a prefix ending in ".").
FORBIDDEN = {
    "domain": (
        "sqlalchemy",
        "click",
        "alembic",
        "psycopg",
        "workflow.storage",
        "workflow.engine",
        "workflow.cli",
        "workflow.reports",
        "workflow.server",
        "workflow.client",
    ),
    "reports": (
        "sqlalchemy",
        "click",
        "workflow.storage",
        "workflow.engine",
        "workflow.cli",
        "workflow.server",
    ),
    "storage": ("click", "workflow.engine", "workflow.cli", "workflow.server", "workflow.client"),
    "engine": ("click", "workflow.cli", "workflow.server", "workflow.client", "workflow.delivery"),
    # the outbox's sender: beside the engine, over the storage (the CLI and the server run it)
    "delivery": ("click", "workflow.engine", "workflow.cli", "workflow.server", "workflow.client"),
    "server": ("click", "workflow.cli", "workflow.client"),
    # --server mode's client: the domain's types over HTTP, nothing of a database or of the server
    "client": (
        "sqlalchemy",
        "click",
        "alembic",
        "psycopg",
        "fastapi",
        "starlette",
        "workflow.storage",
        "workflow.engine",
        "workflow.cli",
        "workflow.server",
    ),
}


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def crosses(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    modules = sorted((PACKAGE / layer).rglob("*.py"))
    assert modules, f"no modules in workflow/{layer}"
    wrong = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in modules
        for name in imports_of(path)
        if crosses(name, FORBIDDEN[layer])
    }
    assert not wrong, sorted(wrong)


def test_the_checker_sees_a_lazy_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from sqlalchemy import select\n    import click\n")
    assert imports_of(module) == {"sqlalchemy", "click"}
