"""The reference pages are markers the docs' hook fills when the site is built (docs/hooks.py): each
page asks for its reference, every marker is replaced, and loading the hook imports nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.docs_reference import REFERENCE, ROOT, hooks, page


@pytest.mark.parametrize("name", ["cli", pytest.param("http", marks=pytest.mark.slow), "settings", "errors",
                                  "events"])
def test_each_reference_page_is_filled_from_the_code(name: str) -> None:
    source = (REFERENCE / f"{name}.md").read_text(encoding="utf-8")
    assert f"<!-- generated: {name} -->" in source
    shown = page(name)
    assert "<!-- generated:" not in shown and len(shown) > len(source) + 500


def test_an_unknown_marker_stops_the_build_naming_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no generated reference 'clii'; there are: cli, http"):
        hooks().render("<!-- generated: clii -->")


def test_the_hook_is_the_only_way_a_page_is_filled() -> None:
    """mkdocs calls on_page_markdown with keywords (page, config, files)."""
    assert hooks().on_page_markdown("<!-- generated: settings -->", page=None, config={}, files=[]) == \
        hooks().generate("settings")


def test_loading_the_hook_imports_no_part_of_phasegate() -> None:
    """mkdocs loads every hook at start: the package is imported only for a page that asks."""
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('h', 'docs/hooks.py'); "
            "spec.loader.exec_module(importlib.util.module_from_spec(spec)); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('workflow', 'click', 'fastapi')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
