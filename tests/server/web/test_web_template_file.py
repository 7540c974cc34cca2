"""The template form with a chosen file (issue 21): Check keeps the checked text for Publish, and a
failed check's numbered text keeps each line's indentation (meaning, in YAML). JavaScript on and off."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from support.browser import Site, press

pytestmark = pytest.mark.slow  # Chromium against a real `phasegate serve`: about 6 s a test

GOOD = """key: file-flow
title: File flow
roles:
  lead: {title: Lead}
lead: lead
phases:
  - key: build
    title: Build
    tasks: {lead: Build it}
"""
BROKEN = GOOD.replace("    tasks: {lead: Build it}\n", "    tasks: {lead: Build it, qa: Test it}\n")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_checked_file_is_what_publish_sends(site: Site, tmp_path: Path, javascript: bool) -> None:
    (tmp_path / "flow.yaml").write_text(GOOD)
    root = site.open("root", javascript=javascript)
    root.goto("/templates")
    form = root.get_by_role("form", name="Publish a version")
    form.get_by_label("Or a file").set_input_files(tmp_path / "flow.yaml")
    press(form.get_by_role("button", name="Check"))
    expect(root.get_by_role("status")).to_contain_text("No problems: File flow (file-flow)")
    form = root.get_by_role("form", name="Publish a version")
    expect(form.get_by_label("YAML")).to_have_value(GOOD)
    answer = press(form.get_by_role("button", name="Publish"))
    assert answer is not None and answer.status == 303, root.get_by_role("alert").all_inner_texts()
    expect(root.get_by_role("heading", level=1)).to_have_text("File flow v1")


def test_a_failed_checks_numbered_text_keeps_the_indentation(site: Site, tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN)
    root = site.open("root", javascript=False)
    root.goto("/templates")
    form = root.get_by_role("form", name="Publish a version")
    form.get_by_label("Or a file").set_input_files(tmp_path / "broken.yaml")
    press(form.get_by_role("button", name="Check"))
    expect(root.get_by_role("alert")).to_contain_text("problem")
    numbered = root.get_by_role("list").filter(has_text="tasks: {lead: Build it, qa: Test it}")
    line = numbered.get_by_role("listitem").filter(has_text="tasks:")
    assert re.fullmatch(r" {4}tasks: \{lead: Build it, qa: Test it\}", line.inner_text()), repr(line.inner_text())
    assert numbered.get_by_role("listitem").filter(has_text="lead: {title: Lead}").inner_text() == "  lead: {title: Lead}"
