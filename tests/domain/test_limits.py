"""Every limit is declared once (workflow/domain/limits.py) and the README's Limits table is its text."""

from __future__ import annotations

from pathlib import Path

from workflow.domain import limits

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readmes_limits_table_is_the_declared_limits() -> None:
    """A limit added, changed or removed without its row fails here; `python -m workflow.domain.limits`
    prints the table to paste."""
    assert limits.markdown_table() in README.read_text(encoding="utf-8")


def test_every_limit_says_why_and_what_it_counts() -> None:
    for key, limit in limits.LIMITS.items():
        assert limit.why.strip() and limit.unit.strip() and limit.name.strip(), key
        assert limit.default >= 0, key
        assert getattr(limits, key) is limit, f"{key} is declared under another name"


def test_a_limit_cannot_be_declared_twice() -> None:
    import pytest

    with pytest.raises(ValueError, match="declared twice"):
        limits.declare("TEXT", "again", 1, "things", "no")
