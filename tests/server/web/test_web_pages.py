"""Every page, looked at: screenshots at desktop and phone width (light and dark) for a person to
check, axe-core's accessibility rules inside each page, a project page that refreshes itself when
someone else acts, and the template form's two buttons (Check, Publish) with and without htmx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from support.browser import (
    AXE,
    DESKTOP,
    PHONE,
    Site,
    axe_script,
    press,
    project_url,
    running_site,
    screenshots_folder,
    settle,
    unavailable,
    with_axe,
)

pytestmark = pytest.mark.slow  # Chromium against a real `phasegate serve`: 10.0 s a test (measured 2026-12-07)

CODE = "ACME-1"
TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}
# (name, who looks, the address): every page of the web app, in a state worth looking at.
PAGES = [
    ("signin", None, "/signin"),
    ("my-work", "ana", "/"),
    ("board", "ana", "/projects"),
    ("insights", "ana", "/insights"),
    ("project", "ana", project_url(CODE)),
    ("project-past", "ana", project_url(CODE) + "?at=2020-01-01T00:00:00"),
    ("project-completed", "ana", project_url("ACME-3")),
    ("project-unsignable", "ana", project_url("ACME-6")),  # its box: gates this team cannot sign
    ("templates", "root", "/templates"),
    ("template", "root", "/templates/large-agency"),
    ("audit", "dee", "/audit?action=approve"),
    ("people", "root", "/people"),
    ("people-refused", "ana", "/people"),
    ("tokens", "ana", "/me/tokens"),
    ("settings", "ana", "/settings"),
    ("not-found", "ana", project_url("NOPE-1")),
]


def a_busy_agency(site: Site) -> None:
    """Projects in every state: one mid-way (its SOW phase, a rejection behind it), one on hold, one
    completed, one cancelled, one new; people with tokens."""
    with site.engine() as e:
        for code, name in [(CODE, "Spring launch"), ("ACME-2", "Summer site"), ("ACME-3", "Brand refresh"),
                           ("ACME-4", "Holiday promo"), ("ACME-5", "Intranet")]:
            e.create_project(code, template="large-agency", actor="root", name=name, client="Acme Corp")
            for role, person in TEAM.items():
                e.assign(code, role, person, actor="root")
        for code, phases in [(CODE, 2), ("ACME-2", 1), ("ACME-3", 7)]:
            for number in range(phases):
                finish_phase(e, code, reject_first=(code == CODE and number == 1))
        e.complete_task(CODE, "head_of_technology", actor="ben", note="estimate reviewed with the client")
        # due dates: ACME-5's first phase was due two days ago (overdue), ACME-1's is due in a week
        today = date.today()
        e.set_due("ACME-5", "client_kickoff", (today - timedelta(days=2)).isoformat(), actor="ana",
                  reason="the client's board meets early")
        e.set_due(CODE, e.status(CODE).phase, (today + timedelta(days=7)).isoformat(), actor="ana",
                  reason="agreed with the client")
        e.hold("ACME-2", reason="the client is re-scoping", actor="ana")
        e.cancel("ACME-4", reason="budget moved to next year", actor="ana")
        e.create_token(actor="ana", name="laptop")
        e.create_project("ACME-6", template="large-agency", actor="root", name="Short-staffed", client="Acme Corp",
                         team={"integrated_producer": ["ana"], "head_of_technology": ["ben"],
                               "project_manager": ["ben"]})


def finish_phase(e: Any, code: str, *, reject_first: bool = False) -> None:
    st = e.status(code)
    for role in [t.role for t in st.tasks if not t.done]:
        e.complete_task(code, role, actor=TEAM[role], note="done")
    gate = e.status(code).gate
    if gate is not None and reject_first:
        e.reject(code, "project_manager", reason="the estimate misses the QA days", actor="cy")
        for role in [t.role for t in e.status(code).tasks if not t.done]:
            e.complete_task(code, role, actor=TEAM[role])
        gate = e.status(code).gate
    if gate is not None:
        for role in gate.approvers:
            e.approve(code, role, actor=TEAM[role], comment="fine")
    e.advance(code, actor="ana")


@pytest.fixture(scope="module")
def tour(browser: Browser, seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server with a busy agency for the looking tests of this module (they only read)."""
    with running_site(browser, seeded, tmp_path_factory.mktemp("tour"), screenshots_folder(tmp_path_factory)
                      ) as site:
        a_busy_agency(site)
        yield site


def pages_of(site: Site, only: tuple[str, ...] | None = None, viewport: dict[str, int] = DESKTOP,
             color_scheme: str = "light") -> Iterator[tuple[str, Page]]:
    """Each page of :data:`PAGES` (or the ``only`` ones), loaded at this size and colour scheme.
    Each person signs in once for the module (a sign-in costs an argon2 hash on the server)."""
    people = site.signed_in
    for name, who, path in PAGES:
        if only is not None and name not in only:
            continue
        if who not in people:
            people[who] = site.open(who)
        page = people[who]
        page.set_viewport_size(viewport)
        page.emulate_media(color_scheme=color_scheme)  # type: ignore[arg-type]
        page.goto(path)
        settle(page)
        yield name, page


# Dark mode is looked at on the pages with the most colour in them (every page is checked for
# contrast in both schemes by the accessibility test).
DARK = ("signin", "my-work", "board", "insights", "project", "template", "audit", "settings")


def test_screenshots_of_every_page_at_desktop_and_phone_width(tour: Site) -> None:
    """For a person to look at (the folder is printed at the end of the run); no page is wider
    than the screen (a phone scrolls down, never sideways, except inside a wide table's box)."""
    too_wide = []
    for label, options in [("desktop", {"viewport": DESKTOP}), ("phone", {"viewport": PHONE}),
                           ("dark", {"viewport": DESKTOP, "color_scheme": "dark"}),
                           ("phone-dark", {"viewport": PHONE, "color_scheme": "dark"})]:
        for name, page in pages_of(tour, only=DARK if "dark" in label else None, **options):
            path = tour.shoot(page, f"{name}-{label}")
            assert path.stat().st_size > 5000
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > options["viewport"]["width"]:
                too_wide.append(f"{name} is wider than the {label} screen ({width}px)")
    assert not too_wide, "\n".join(too_wide)


def test_every_page_has_no_serious_accessibility_violation_in_light_or_dark(tour: Site) -> None:
    """axe-core (tests/axe, npm) runs inside each page, light and then dark. The CSP admits only
    same-origin scripts, so the script is served from the page's own origin by a route, not
    injected inline (which the CSP would refuse, and rightly)."""
    if axe_script() is None:
        unavailable("axe-core is not installed: npm ci --prefix tests/axe")
    found = []
    for name, page in pages_of(tour):
        page.route("**/__axe__.js", with_axe)
        page.add_script_tag(url="/__axe__.js")
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            found += [f"{name} ({scheme}): {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
                      for v in page.evaluate(AXE) if v["impact"] in ("serious", "critical")]
    assert not found, "\n".join(found)


# -- a page that refreshes itself ---------------------------------------------------------------------


def test_a_project_page_shows_another_persons_change_without_a_reload(site: Site) -> None:
    """ana watches the project while ben marks his task done in his own browser: ana's page shows it
    within seconds, is not reloaded, and keeps the comment she was typing."""
    with site.engine() as e:
        e.create_project(CODE, template="large-agency", actor="root", name="Spring launch")
        for role, person in TEAM.items():
            e.assign(CODE, role, person, actor="root")
    ana, ben = site.open("ana"), site.open("ben")
    ana.goto(project_url(CODE))
    ana.evaluate("window.stillTheSamePage = true")
    ana.get_by_role("form", name="Approve as Integrated Producer").get_by_label("Comment").fill("half-way there")
    ben.goto(project_url(CODE))
    press(ben.get_by_role("form", name="Mark the Head of Technology task done").get_by_role("button", name="Mark done"))

    task = ana.get_by_role("listitem").filter(has_text="Head of Technology: Client Kick-Off")
    expect(task).to_contain_text("Done by ben", timeout=6000)
    assert ana.evaluate("window.stillTheSamePage === true"), "the page was swapped in place, not reloaded"
    comment = ana.get_by_role("form", name="Approve as Integrated Producer").get_by_label("Comment")
    expect(comment).to_have_value("half-way there")
    # And the fresh page's forms carry the fresh state: ana's approval is taken, not refused.
    answer = press(ana.get_by_role("form", name="Approve as Integrated Producer").get_by_role("button", name="Approve"))
    assert answer is not None and answer.status == 303
    expect(ana.get_by_role("listitem").filter(has_text="Integrated Producer: signed by ana")).to_contain_text(
        "half-way there")


# -- the template form's two buttons ------------------------------------------------------------------

BROKEN = """key: launch-flow
title: Launch flow
roles:
  lead: {title: Lead}
lead: lead
phases:
  - key: build
    title: Build
    tasks: {lead: Build it, qa: Test it}
    colour: blue
"""


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_an_admin_checks_a_template_sees_each_problem_with_its_line_then_publishes(site: Site,
                                                                                   javascript: bool) -> None:
    root = site.open("root", javascript=javascript)
    root.goto("/templates")
    form = root.get_by_role("form", name="Publish a version")
    form.get_by_label("YAML").fill(BROKEN)
    answer = press(form.get_by_role("button", name="Check"))
    assert answer is not None and answer.url.endswith("/templates/check") and answer.status == 422
    alert = root.get_by_role("alert")
    expect(alert).to_contain_text("problems in the template")
    expect(alert.get_by_role("link", name=re.compile(r"^line 9"))).to_be_visible()
    expect(alert.get_by_role("link", name=re.compile(r"^line 10"))).to_be_visible()
    expect(root.get_by_role("form", name="Publish a version").get_by_label("YAML")).to_have_value(BROKEN)

    fixed = BROKEN.replace("  lead: {title: Lead}", "  lead: {title: Lead}\n  qa: {title: QA}").replace(
        "    colour: blue\n", "")
    form = root.get_by_role("form", name="Publish a version")
    form.get_by_label("YAML").fill(fixed)
    press(form.get_by_role("button", name="Check"))
    expect(root.get_by_role("status")).to_contain_text("No problems: Launch flow (launch-flow), 2 roles, 1 phases")
    answer = press(root.get_by_role("form", name="Publish a version").get_by_role("button", name="Publish"))
    assert answer is not None and answer.url.endswith("/templates/publish") and answer.status == 303
    expect(root.get_by_role("heading", level=1)).to_have_text("Launch flow v1")
    expect(root.get_by_role("img", name=re.compile("Launch flow: its phases and gates"))).to_be_visible()
    with site.engine() as e:
        assert [t.key for t in e.templates() if t.key == "launch-flow"] == ["launch-flow"]


# -- people, grants, tokens ---------------------------------------------------------------------------


def test_an_admin_manages_accounts_grants_and_a_person_their_tokens(site: Site) -> None:
    root = site.open("root")
    root.goto("/people")
    add = root.get_by_role("form", name="Add an account")
    add.get_by_label("New login name").fill("eve")
    add.get_by_label("Name", exact=True).fill("Eve Example")
    press(add.get_by_role("button", name="Add account"))
    expect(root.get_by_role("row", name=re.compile("^eve Eve Example"))).to_be_visible()
    setter = root.get_by_role("form", name="Set a password")
    setter.get_by_label("Person").select_option("eve")
    setter.get_by_label("New password").fill("a long enough passphrase")
    setter.get_by_label("Again").fill("a long enough passphrase")
    press(setter.get_by_role("button", name="Set password"))
    grant = root.get_by_role("form", name="Grant a privilege")
    grant.get_by_label("Person").fill("eve")
    grant.get_by_label("Privilege").select_option("auditor")
    press(grant.get_by_role("button", name="Grant"))
    expect(root.get_by_role("row", name=re.compile("^eve "))).to_contain_text("auditor")
    press(root.get_by_role("button", name="Revoke auditor from eve"))
    expect(root.get_by_role("button", name="Revoke auditor from eve")).to_have_count(0)
    expect(root.get_by_role("button", name="Revoke auditor from dee")).to_be_visible()
    with site.engine() as e:
        assert "eve" not in e.grants()["auditor"] and "dee" in e.grants()["auditor"]

    eve = site.open("eve", password="a long enough passphrase")
    eve.get_by_role("link", name="Settings").click()
    settle(eve)
    eve.get_by_role("link", name="Create or revoke tokens").click()
    settle(eve)
    create = eve.get_by_role("form", name="Create a token")
    create.get_by_label("Token name").fill("laptop")
    answer = press(create.get_by_role("button", name="Create token"))
    assert answer is not None and answer.status == 201
    secret = eve.get_by_role("status").get_by_role("code").first.inner_text()
    with site.server.client(secret) as api:
        assert api.get("/api/v1/me").json()["person"] == "eve"
    eve.reload()
    expect(eve.get_by_text(secret)).to_have_count(0)  # shown once
    press(eve.get_by_role("button", name="Revoke the token laptop"))
    with site.server.client(secret) as api:
        assert api.get("/api/v1/me").status_code == 401

    press(root.get_by_role("button", name="Disable eve"))
    eve.goto("/")
    expect(eve.get_by_role("heading", name="Sign in")).to_be_visible()  # her session ended with it
