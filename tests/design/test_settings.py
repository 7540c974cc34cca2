"""Every PHASEGATE_* variable is declared once (workflow/settings.py), read there only, and documented
in the docs' settings reference (docs/reference/settings.md, generated from the declarations)."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

import pytest
from support.docs_reference import page

import workflow
from workflow import settings

PACKAGE = Path(workflow.__file__).resolve().parent
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def test_the_docs_settings_reference_is_the_declared_settings() -> None:
    """docs/reference/settings.md shows `settings.markdown_table()`, generated when the site is built (the
    README no longer carries the table; `python docs/hooks.py settings` prints it)."""
    assert settings.markdown_table() in page("settings")


def environment_reads(path: Path) -> list[str]:
    """Where ``path`` reads or changes the environment (``os.environ``, ``os.getenv``, … ``from os import``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES:
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{path.name}:{node.lineno} from os import {a.name}"
                      for a in node.names if a.name in ENVIRONMENT_NAMES]
    return found


@pytest.mark.slow  # reads every module's syntax tree: 0.5-0.6 s (measured 2026-12-07)
def test_nothing_but_the_settings_module_reads_the_environment() -> None:
    reads = [r for path in sorted(PACKAGE.rglob("*.py")) if path != PACKAGE / "settings.py"
             for r in environment_reads(path)]
    assert reads == [], "read it through workflow/settings.py: " + ", ".join(reads)


def test_the_guard_sees_a_read_of_the_environment(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nfrom os import getenv\nx = os.environ.get('A')\n", encoding="utf-8")
    assert environment_reads(probe) == ["probe.py:2 from os import getenv", "probe.py:3 .environ"]


def test_every_variable_named_in_the_package_is_a_declared_setting() -> None:
    declared = {f.metadata["variable"] for f in fields(settings.Environment)}
    named = {name for path in PACKAGE.rglob("*.py")
             for name in re.findall(r"PHASEGATE_[A-Z_]+", path.read_text(encoding="utf-8"))}
    assert named - declared == set()
    assert len(declared) == len(fields(settings.Environment)), "a variable is declared twice"


def test_every_setting_says_its_default_and_meaning() -> None:
    for f in fields(settings.Environment):
        assert f.metadata["variable"].startswith("PHASEGATE_"), f.name
        assert f.metadata["default"].strip() and f.metadata["meaning"].strip(), f.name


def test_unset_variables_give_the_defaults() -> None:
    found = settings.read({})
    assert found.db is None and found.server is None and found.token == "" and found.checkpoint_key is None
    assert found.lock_wait == 5.0 and found.sqlite_cache_kib == 32 * 1024
    assert found.webhook_allow == "" and found.smtp_url == "" and found.base_url is None


@pytest.mark.parametrize(("raw", "seconds"), [("2.5", 2.5), ("0", 0.05), ("99999", 3600.0), ("soon", 5.0)])
def test_the_lock_wait_is_bounded_and_a_bad_value_keeps_the_default(raw: str, seconds: float) -> None:
    assert settings.read({"PHASEGATE_LOCK_WAIT": raw}).lock_wait == seconds


@pytest.mark.parametrize(("raw", "kib"), [("2", 2048), ("0.01", 256), ("lots", 32 * 1024)])
def test_the_sqlite_cache_has_a_floor_and_a_bad_value_keeps_the_default(raw: str, kib: int) -> None:
    assert settings.read({"PHASEGATE_SQLITE_CACHE_MIB": raw}).sqlite_cache_kib == kib


def test_one_setting_read_alone_is_the_same_as_all_read_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHASEGATE_LOCK_WAIT", "7")
    monkeypatch.setenv("PHASEGATE_TOKEN", "  pgt_x \n")
    for f in fields(settings.Environment):
        assert settings.one(f.name) == getattr(settings.current(), f.name), f.name
    assert settings.current().lock_wait == 7.0 and settings.current().token == "pgt_x"


def test_secrets_are_not_shown_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHASEGATE_TOKEN", "pgt_secret")
    monkeypatch.setenv("PHASEGATE_CHECKPOINT_KEY", "hush")
    monkeypatch.setenv("PHASEGATE_SMTP_URL", "smtps://u:pw@host:465")
    shown = repr(settings.current())
    assert "pgt_secret" not in shown and "hush" not in shown and "pw@" not in shown


def test_the_domain_takes_settings_passed_in_and_never_reads_them() -> None:
    """The domain may name a variable in a sentence (the constants), never read one."""
    readers = {"current", "read", "one", "child_environment"}
    found = []
    for path in sorted((PACKAGE / "domain").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in readers and isinstance(node.value, ast.Name)
                    and node.value.id == "settings"):
                found.append(f"{path.name}:{node.lineno}")
            elif isinstance(node, ast.ImportFrom) and node.module == "workflow.settings":
                found += [f"{path.name}:{node.lineno}" for a in node.names if a.name in readers]
    assert found == []
