"""The docs' generated references (docs/hooks.py), loaded from the checkout by its path: ``docs/`` is
not a package, and CI installs phasegate without it."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"


@cache
def hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("phasegate_docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated(name: str) -> str:
    """The markdown the hook puts in place of ``<!-- generated: name -->``."""
    return str(hooks().generate(name))


def page(name: str) -> str:
    """docs/reference/NAME.md as the site shows it: its markers replaced."""
    return str(hooks().render((REFERENCE / f"{name}.md").read_text(encoding="utf-8")))
