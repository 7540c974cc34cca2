"""Every limit is declared once (workflow/domain/limits.py); the Limits page (docs/run/limits.md) shows them
through the docs hook's ``limits`` generator, built from that declaration."""

from __future__ import annotations

from pathlib import Path

from workflow.domain import limits

PAGE = Path(__file__).resolve().parents[2] / "docs" / "run" / "limits.md"


def test_the_limits_page_shows_the_declared_limits() -> None:
    """The page asks for the generated table (never a copy that could fall behind), and the generator
    gives every declared limit."""
    assert "<!-- generated: limits -->" in PAGE.read_text(encoding="utf-8")
    hooks = _hooks()
    table = hooks.GENERATORS["limits"]()
    assert table == limits.markdown_table()
    for limit in limits.LIMITS.values():
        assert limit.name in table


def _hooks():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", PAGE.parents[1] / "hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_limit_says_why_and_what_it_counts() -> None:
    for key, limit in limits.LIMITS.items():
        assert limit.why.strip() and limit.unit.strip() and limit.name.strip(), key
        assert limit.default >= 0, key
        assert getattr(limits, key) is limit, f"{key} is declared under another name"


def test_a_limit_cannot_be_declared_twice() -> None:
    import pytest

    with pytest.raises(ValueError, match="declared twice"):
        limits.declare("TEXT", "again", 1, "things", "no")
