"""Every limit is declared once (workflow/domain/limits.py) and the Limits page's table (docs/run/limits.md) is its text."""

from __future__ import annotations

from pathlib import Path

from workflow.domain import limits

PAGE = Path(__file__).resolve().parents[2] / "docs" / "run" / "limits.md"


def test_the_limits_pages_table_is_the_declared_limits() -> None:
    """A limit added, changed or removed without its row fails here; `python -m workflow.domain.limits`
    prints the table to paste."""
    assert limits.markdown_table() in PAGE.read_text(encoding="utf-8")


def test_every_limit_says_why_and_what_it_counts() -> None:
    for key, limit in limits.LIMITS.items():
        assert limit.why.strip() and limit.unit.strip() and limit.name.strip(), key
        assert limit.default >= 0, key
        assert getattr(limits, key) is limit, f"{key} is declared under another name"


def test_a_limit_cannot_be_declared_twice() -> None:
    import pytest

    with pytest.raises(ValueError, match="declared twice"):
        limits.declare("TEXT", "again", 1, "things", "no")
