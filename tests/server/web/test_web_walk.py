"""A whole project in the browser: an admin creates and staffs it, three people do the work and
sign in three browser contexts, the QA gate sends it back once, it completes, an auditor verifies
the record and keeps a checkpoint. With JavaScript on (htmx) and off (plain forms), the same walk.

Only the pages are used, found by role and accessible name as a screen reader would; the Engine
is opened only to check what was recorded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from support.browser import Site, press, project_url, settle

pytestmark = pytest.mark.slow  # Chromium against a real `phasegate serve`: 37.9 s a test (measured 2026-12-07)

CODE = "ACME-7"
IP, HOT, PM = "Integrated Producer", "Head of Technology", "Project Manager"
# The large-agency phases and who signs each one's gate.
PHASES = [
    ("Client Kick-Off", (IP, HOT, PM)),
    ("Production Kick-Off", (IP, HOT, PM)),
    ("SOW & Estimate", (IP, HOT)),
    ("Planning", ()),
    ("Partners & Development", ()),
    ("Execution", ()),
    ("Production Review QA", (IP, HOT, PM)),
]


@dataclass
class Person:
    """Someone at their own browser: ana and cy work on the project page, ben from My work."""

    login: str
    role: str
    page: Page

    def on_project(self) -> Page:
        self.page.goto(project_url(CODE))
        expect(self.page.get_by_role("heading", level=1)).to_have_text(CODE)
        return self.page

    def form(self, name: str) -> Locator:
        return self.page.get_by_role("form", name=name, exact=True)

    def my_work_item(self, heading: str, role: str) -> Locator:
        """An item of My work (the same button name repeats, so by the section and the role)."""
        self.page.get_by_role("link", name="My work").click()
        settle(self.page)
        section = self.page.get_by_role("region", name=re.compile(heading))
        return section.get_by_role("listitem").filter(has_text=re.compile(rf"as {re.escape(role)}\b"))

    def mark_done(self, note: str | None = None) -> None:
        if self.login == "ben":
            answer = press(self.my_work_item("Tasks to mark done", self.role).get_by_role("button", name="Mark done"))
        else:
            self.on_project()
            form = self.form(f"Mark the {self.role} task done")
            if note:
                form.get_by_label("Note").fill(note)
            answer = press(form.get_by_role("button", name="Mark done"))
        assert answer is not None and answer.status == 303, self.alert_text()

    def approve(self, comment: str | None = None) -> None:
        if self.login == "ben":
            answer = press(self.my_work_item("Gates to sign", self.role).get_by_role("button", name="Approve"))
        else:
            self.on_project()
            form = self.form(f"Approve as {self.role}")
            if comment:
                form.get_by_label("Comment").fill(comment)
            answer = press(form.get_by_role("button", name="Approve"))
        assert answer is not None and answer.status == 303, self.alert_text()

    def advance(self) -> None:
        self.on_project()
        answer = press(self.form("Advance the project").get_by_role("button", name="Advance"))
        assert answer is not None and answer.status == 303, self.alert_text()

    def alert_text(self) -> str:
        alert = self.page.get_by_role("alert")
        return alert.inner_text() if alert.count() else "(no alert)"


def assign(page: Page, role: str, person: str) -> None:
    form = page.get_by_role("form", name="Assign someone to a role")
    form.get_by_label("Role").select_option(label=role)
    form.get_by_label("Person").select_option(person)  # a list of the accounts
    answer = press(form.get_by_role("button", name="Assign"))
    assert answer is not None and answer.status == 303
    expect(page.get_by_role("row", name=re.compile(f"^{role}"))).to_contain_text(person)


def create_and_staff(root: Page) -> None:
    """The admin's part: a new large-agency project from the board, then its team."""
    root.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    settle(root)
    expect(root.get_by_role("heading", name="Projects", level=1)).to_be_visible()
    new = root.get_by_role("form", name="New project")
    new.get_by_label("Code").fill(CODE)
    new.get_by_label("Template").select_option(label="Integrated Project Management - Large Agency (v1)")
    new.get_by_label("Name").fill("Spring launch")
    new.get_by_label("Client").fill("Acme")
    press(new.get_by_role("button", name="Create project"))
    expect(root.get_by_role("heading", level=1)).to_have_text(CODE)
    assign(root, IP, "ana")
    assign(root, HOT, "ben")
    assign(root, PM, "cy")
    assign(root, PM, "ben")  # short-staffed at first: ben holds two roles of the kick-off gate


def phase(team: list[Person], title: str, approvers: tuple[str, ...]) -> None:
    ana = team[0]
    expect(ana.on_project().get_by_role("heading", level=2, name=re.compile(f"^{re.escape(title)}"))).to_be_visible()
    for person in team:
        person.mark_done(note=f"{title} done by {person.login}")
    for person in team:
        if person.role in approvers:
            person.approve(comment=f"{person.login} signs {title}")
    ana.advance()


def four_eyes(site: Site, root: Page, ben: Person, cy: Person, ana: Person) -> None:
    """ben holds two approver roles of a four-eyes gate: his one approval counts once, the page says
    why he cannot give the other, and his older page's Approve for it is refused, not applied."""
    for person in (ana, ben, cy):
        person.mark_done()
    older = site.open("ben", javascript=False)  # his second window, drawn before he signs
    older.goto(project_url(CODE))
    stale = older.get_by_role("form", name=f"Approve as {PM}", exact=True)
    expect(stale.get_by_role("button", name="Approve")).to_be_visible()

    ben.approve()
    page = ben.on_project()
    expect(page.get_by_role("form", name=f"Approve as {PM}")).to_have_count(0)
    expect(page.get_by_text(f"you signed this gate as {HOT}: one person's approval counts for one role only (four eyes)")).to_be_visible()

    answer = press(stale.get_by_role("button", name="Approve"))
    assert answer is not None and answer.status == 303  # refused, and redirected: Reload re-reads the page
    expect(older).to_have_url(re.compile(re.escape(project_url(CODE)) + "$"))
    expect(older.get_by_role("alert")).to_contain_text(f"project {CODE} has moved on since it was read")
    expect(older.get_by_role("form", name=f"Approve as {PM}")).to_have_count(0)  # the fresh state

    root.goto(project_url(CODE))
    press(root.get_by_role("form", name=f"Unassign ben as {PM}").get_by_role("button", name=f"Unassign ben as {PM}"))
    expect(root.get_by_role("form", name=f"Unassign ben as {PM}")).to_have_count(0)
    ana.approve(comment="kick-off held")
    cy.approve()
    ana.advance()


def reject_qa(ana: Person, cy: Person) -> None:
    """The QA gate is rejected with a reason: the project goes back to Execution, round 2."""
    for person in (ana, cy):
        person.mark_done()
    ana.approve()
    page = cy.on_project()
    reject = cy.form(f"Reject as {PM}")
    reject.get_by_label("Reason").fill("the banner is off-brand")
    answer = press(reject.get_by_role("button", name="Reject"))
    assert answer is not None and answer.status == 303
    expect(page.get_by_role("heading", level=2, name=re.compile("^Execution"))).to_contain_text("round 2")
    expect(page.get_by_text("Sent back from Production Review QA by cy")).to_contain_text("the banner is off-brand")
    steps = page.get_by_role("navigation", name="Phases")
    expect(steps.get_by_role("listitem").filter(has_text="Execution")).to_contain_text("round 2")


def audit(site: Site, javascript: bool, tmp: Path) -> None:
    """The auditor verifies every chain, sees it intact, and downloads a checkpoint of the record."""
    dee = site.open("dee", javascript=javascript)
    dee.get_by_role("link", name="Audit").click()
    settle(dee)
    press(dee.get_by_role("button", name="Verify"))
    expect(dee.get_by_role("status")).to_contain_text("Intact:")
    with dee.expect_download() as download:
        dee.get_by_role("button", name="Download checkpoint").click()
    saved = tmp / "checkpoint.json"
    download.value.save_as(saved)
    checkpoint = json.loads(saved.read_text())
    with site.engine() as engine:
        seq = engine.status(CODE).seq
    assert checkpoint["format"] and {"chain": CODE, "length": seq} in [
        {"chain": c["chain"], "length": c["length"]} for c in checkpoint["chains"]]


def walk(site: Site, javascript: bool, tmp: Path) -> None:
    root = site.open("root", javascript=javascript)
    create_and_staff(root)
    ana, ben, cy = (Person(login, role, site.open(login, javascript=javascript))
                    for login, role in (("ana", IP), ("ben", HOT), ("cy", PM)))
    team = [ana, ben, cy]
    four_eyes(site, root, ben, cy, ana)
    for title, approvers in PHASES[1:6]:
        phase(team, title, approvers)
    reject_qa(ana, cy)
    phase(team, "Execution", ())
    phase(team, "Production Review QA", (IP, HOT, PM))

    page = ana.on_project()
    expect(page.get_by_text("completed", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Advance")).to_have_count(0)
    audit(site, javascript, tmp)

    with site.engine() as engine:
        status = engine.status(CODE)
        history = engine.history(CODE)
    assert status.status == "completed"
    signed_by_ben = [(e.data["role"], e.auth) for e in history if e.action == "approve" and e.actor == "ben"]
    assert ("project_manager", "password") not in signed_by_ben, "the stale Approve was not applied"
    assert {e.auth for e in history if e.actor != "root" or e.action != "create"} == {"password"}
    assert [e.data["round"] for e in history if e.action == "reject"] == [1]


def test_three_people_take_a_large_agency_project_to_completed_in_the_browser(site: Site, tmp_path: Path) -> None:
    walk(site, javascript=True, tmp=tmp_path)


@pytest.mark.slow
def test_the_same_walk_works_with_javascript_off(site: Site, tmp_path: Path) -> None:
    """Plain forms: POST, redirect, GET, nothing of htmx; every page and refusal the same."""
    walk(site, javascript=False, tmp=tmp_path)
