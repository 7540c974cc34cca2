"""Where the keyboard is after a form, the skip link, dates on a phone, and Settings' calendar link
in Chromium (issue 21, items 8 and LOW): after a move from My work or the project page focus is on
the status message that says what was done (not the top of the page), with and without htmx."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from support.browser import DESKTOP, PHONE, Site, press, project_url, settle

pytestmark = pytest.mark.slow  # Chromium against a real `phasegate serve`: about 8 s a test

CODE = "ACME-21"
TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}
FOCUSED = "() => { const e = document.activeElement; return e && (e.getAttribute('role') || e.id || e.tagName); }"


def staffed(site: Site) -> None:
    with site.engine() as engine:
        engine.create_project(CODE, template="large-agency", actor="root", name="Winter launch", client="Acme")
        for role, person in TEAM.items():
            engine.assign(CODE, role, person, actor="root")
        late = (date.today() - timedelta(days=3)).isoformat()
        engine.set_due(CODE, "client_kickoff", late, actor="ana", reason="the board meets early")


def focused(page: Page) -> str:
    return str(page.evaluate(FOCUSED))


def test_the_skip_link_is_first_in_tab_order_and_takes_the_keyboard_to_the_content(site: Site) -> None:
    staffed(site)
    page = site.open("ben", javascript=False)
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.keyboard.press("Enter")
    assert focused(page) == "main"
    page.keyboard.press("Tab")  # the first thing in the content, not the navigation
    assert page.evaluate("document.activeElement.closest('main') !== null")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_after_a_move_the_keyboard_is_on_what_was_done(site: Site, javascript: bool) -> None:
    staffed(site)
    page = site.open("ben", javascript=javascript)
    page.goto("/")
    press(page.get_by_role("button", name="Mark done"))
    status = page.get_by_role("status")
    expect(status).to_contain_text(f"{CODE}: the Head of Technology task is marked done.")
    assert focused(page) == "status"
    page.keyboard.press("Tab")  # on from there: the undo form's reason, not the navigation
    expect(status.get_by_label("Reason")).to_be_focused()

    page.goto(project_url(CODE))
    approve = page.get_by_role("form", name="Approve as Head of Technology")
    press(approve.get_by_role("button", name="Approve"))
    expect(page.get_by_role("status")).to_contain_text(f"{CODE}: done (Approve)")
    assert focused(page) == "status"
    with site.engine() as engine:  # someone else acts: the page's forms are stale
        engine.complete_task(CODE, "project_manager", actor="cy")
    reject = page.get_by_role("form", name="Reject as Head of Technology")
    reject.get_by_label("Reason").fill("not yet")
    press(reject.get_by_role("button", name="Reject"))  # refused, and the alert has the keyboard
    expect(page.get_by_role("alert")).to_be_visible()
    assert focused(page) == "alert"


def test_due_dates_never_break_on_a_phone_and_my_work_says_overdue(site: Site) -> None:
    staffed(site)
    page = site.open("ana", viewport=PHONE)
    for address in ("/", project_url(CODE), "/projects"):
        page.goto(address)
        settle(page)
        broken = page.evaluate("""() => [...document.querySelectorAll('main time')]
            .filter(t => t.getClientRects().length > 1).map(t => t.textContent)""")
        assert broken == [], f"{address}: dates broken across lines: {broken}"
    page.goto("/")
    expect(page.get_by_role("region", name=re.compile("^Tasks to mark done")).get_by_text(
        re.compile("^Overdue: due"))).to_be_visible()
    site.shoot(page, "my-work-overdue-phone")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_settings_new_calendar_link_is_shown_once_with_a_copy_button(site: Site, viewport: dict[str, int]
                                                                      ) -> None:
    staffed(site)
    page = site.open("ana", viewport=viewport, permissions=["clipboard-read", "clipboard-write"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    settle(page)
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    press(page.get_by_role("button", name="New link"))
    expect(page.get_by_role("status")).to_contain_text("the old link no longer works")
    link = page.get_by_role("textbox", name="Your new link (shown this once)")
    expect(link).to_have_value(re.compile(r"/api/v1/me/calendar\.ics\?key=pgc_"))
    copy = page.get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()
    copy.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link.input_value()
    site.shoot(page, f"settings-new-link-{'phone' if viewport == PHONE else 'desktop'}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    page.reload()
    expect(page.get_by_role("textbox", name="Your new link (shown this once)")).to_have_count(0)


def test_without_javascript_the_calendar_link_is_there_to_select(site: Site) -> None:
    staffed(site)
    page = site.open("ana", javascript=False)
    page.goto("/settings")
    press(page.get_by_role("button", name="New link"))
    expect(page.get_by_role("textbox", name="Your new link (shown this once)")).to_have_value(
        re.compile(r"key=pgc_"))
    expect(page.get_by_role("button", name="Copy link")).to_be_hidden()  # nothing to run it
