"""The settings reference: every environment variable phasegate reads is declared in
workflow/settings.py with a default and a meaning, and the generated page holds them all."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from support.docs_reference import generated, page

import workflow
from workflow import settings

PACKAGE = Path(workflow.__file__).resolve().parent


def declared() -> dict[str, dict[str, object]]:
    return {f.metadata["variable"]: dict(f.metadata) for f in fields(settings.Environment)}


def test_every_setting_has_a_default_and_a_meaning() -> None:
    for variable, about in declared().items():
        assert str(about["default"]).strip() and str(about["meaning"]).strip(), variable


def test_every_variable_the_package_names_is_a_declared_setting() -> None:
    """A PHASEGATE_* name in the code (an option's envvar=, a sentence, a template) is a setting."""
    named = {name for path in PACKAGE.rglob("*") if path.suffix in {".py", ".html", ".js"}
             for name in re.findall(r"PHASEGATE_[A-Z0-9_]+", path.read_text(encoding="utf-8"))}
    assert named - set(declared()) == set()
    assert {"PHASEGATE_SQLITE_CACHE_MIB", "PHASEGATE_SERVER_SETTINGS"} <= set(declared())


def test_the_reference_is_the_declared_settings_table() -> None:
    shown = page("settings")
    assert settings.markdown_table() in generated("settings")
    assert generated("settings") in shown
    for variable in declared():
        assert f"| `{variable}` |" in shown


def test_the_limits_table_is_generated_for_the_page_that_asks_for_it() -> None:
    from workflow.domain import limits

    assert generated("limits") == limits.markdown_table()
