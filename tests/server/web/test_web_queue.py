"""Working through My work (issue 21): Mark done and Approve leave the person on My work, the item
gone, a confirmation in a status region and an undo where the move can be taken back; a refusal
comes back there too. With JavaScript on (htmx) and off (plain forms)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from support.browser import Site, press

pytestmark = pytest.mark.slow  # Chromium against a real `phasegate serve`: about 8 s a test

CODE = "ACME-11"
TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}


def staffed(site: Site) -> None:
    with site.engine() as engine:
        engine.create_project(CODE, template="large-agency", actor="root", name="Winter launch", client="Acme")
        for role, person in TEAM.items():
            engine.assign(CODE, role, person, actor="root")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_mark_done_and_approve_from_my_work_stay_on_my_work_with_an_undo(site: Site, javascript: bool) -> None:
    staffed(site)
    with site.engine() as engine:
        for role, person in TEAM.items():
            if person != "ben":
                engine.complete_task(CODE, role, actor=person)
    page = site.open("ben", javascript=javascript)
    page.goto("/")
    tasks = page.get_by_role("region", name=re.compile("^Tasks to mark done"))
    answer = press(tasks.get_by_role("button", name="Mark done"))
    assert answer is not None and answer.status == 303
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))
    status = page.get_by_role("status")
    expect(status).to_contain_text(f"{CODE}: the Head of Technology task is marked done.")
    expect(page.get_by_role("region", name=re.compile("^Tasks to mark done"))).to_have_count(0)

    signs = page.get_by_role("region", name=re.compile("^Gates to sign"))
    press(signs.get_by_role("button", name="Approve"))
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"{CODE}: approved as Head of Technology.")
    expect(page.get_by_role("region", name=re.compile("^Gates to sign"))).to_have_count(0)

    undo = page.get_by_role("status").get_by_role("button", name="Undo (Withdraw)")
    press(undo)
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("^Gates to sign"))).to_be_visible()
    with site.engine() as engine:
        assert engine.history(CODE)[-1].action == "withdraw"
