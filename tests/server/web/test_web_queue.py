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
    reopen = status.get_by_role("form", name=f"Undo: Reopen on {CODE}")
    expect(reopen.get_by_role("button", name="Undo (Reopen)")).to_be_visible()
    expect(reopen.get_by_label("Reason")).to_be_visible()  # Reopen asks why, as on the project page

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


def test_a_person_holding_two_roles_sees_which_role_each_control_is_for(site: Site) -> None:
    """ben holds two roles of the gate: every Mark done/Approve/Reject says which role it is for."""
    staffed(site)
    with site.engine() as engine:
        engine.unassign(CODE, "project_manager", "cy", actor="root")
        engine.assign(CODE, "project_manager", "ben", actor="root")
        engine.complete_task(CODE, "integrated_producer", actor="ana")
    roles = ("Head of Technology", "Project Manager")
    page = site.open("ben", javascript=False)
    for address in ("/", f"/projects/{CODE}"):
        page.goto(address)
        for role in roles:
            expect(page.get_by_role("button", name=f"Mark done as {role}", exact=True)).to_be_visible()
    with site.engine() as engine:
        for role in ("head_of_technology", "project_manager"):
            engine.complete_task(CODE, role, actor="ben")
    page.goto("/")
    for role in roles:
        expect(page.get_by_role("button", name=f"Approve as {role}", exact=True)).to_be_visible()
    page.goto(f"/projects/{CODE}")
    for role in roles:
        expect(page.get_by_role("button", name=f"Approve as {role}", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name=f"Reject as {role}", exact=True)).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_cancel_asks_for_the_project_code_first(site: Site, javascript: bool) -> None:
    """Cancel is for good: the form asks for the project's code, and a wrong one cancels nothing."""
    staffed(site)
    page = site.open("ana", javascript=javascript)
    page.goto(f"/projects/{CODE}")
    form = page.get_by_role("form", name="Cancel the project")
    form.get_by_label("Reason").fill("client pulled out")
    confirm = form.get_by_label(f"Type the project's code, {CODE}, to confirm")
    confirm.fill("ACME-1")
    answer = press(form.get_by_role("button", name="Cancel project"))
    assert answer is not None and answer.status == 303
    expect(page.get_by_role("alert")).to_contain_text(f"type the project's code, {CODE}")
    with site.engine() as engine:
        assert engine.status(CODE).status == "active"
    form = page.get_by_role("form", name="Cancel the project")
    form.get_by_label("Reason").fill("client pulled out")
    form.get_by_label(f"Type the project's code, {CODE}, to confirm").fill(CODE)
    press(form.get_by_role("button", name="Cancel project"))
    with site.engine() as engine:
        assert engine.status(CODE).status == "cancelled"
