"""The web app's safety in a real browser: a stale page cannot sign a new round, typed text stays
text (in the pages, the diagram and the timeline), the headers and cookie flags are what product.md
promises, framing is refused, and a person can do their work with the keyboard alone."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect
from support.browser import Site, press, project_url, settle
from support.servers import live_server

pytestmark = pytest.mark.slow  # Chromium against a real `phasegate serve`: 6.4 s a test (measured 2026-12-07)

CODE = "ACME-9"
TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}
HOSTILE = '<img src=x onerror=alert(1)>"><script>alert(2)</script><svg onload=alert(3)>'
# Anything the HTML parser made of typed text: an image, an inline script, an event handler.
INJECTED = "() => document.querySelectorAll('img[src=\"x\"], script:not([src]), [onerror], [onload]').length"


def staffed(site: Site, *, tasks_done: bool = True) -> None:
    """ACME-9 on large-agency, its three roles filled, (optionally) its first three tasks done."""
    with site.engine() as engine:
        engine.create_project(CODE, template="large-agency", actor="root", name="Autumn launch", client="Acme")
        for role, person in TEAM.items():
            engine.assign(CODE, role, person, actor="root")
        if tasks_done:
            for role, person in TEAM.items():
                engine.complete_task(CODE, role, actor=person)


# -- a stale page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_stale_approve_is_refused_with_the_fresh_state_and_not_applied(site: Site, javascript: bool) -> None:
    """ben rejects the kick-off gate while cy's page still shows it; cy's Approve from that page is
    refused with the sentence and the page drawn fresh (round 2), and nothing is signed for him."""
    staffed(site)
    ben = site.open("ben", javascript=javascript)
    cy = site.open("cy", javascript=javascript)
    if javascript:  # hold back the live refresh, as if cy pressed Approve before it came
        cy.route("**/live?*", lambda route: route.fulfill(status=204))
    for page in (ben, cy):
        page.goto(project_url(CODE))
    approve = cy.get_by_role("form", name="Approve as Project Manager")
    approve.get_by_label("Comment").fill("looks good to me")

    reject = ben.get_by_role("form", name="Reject as Head of Technology")
    reject.get_by_label("Reason").fill("the client's notes are missing")
    answer = press(reject.get_by_role("button", name="Reject"))
    assert answer is not None and answer.status == 303

    answer = press(approve.get_by_role("button", name="Approve"))
    assert answer is not None and answer.status == 303  # refused, then the page: Reload re-reads it (issue 21)
    expect(cy.get_by_role("alert")).to_contain_text(f"project {CODE} has moved on since it was read")
    expect(cy.get_by_role("heading", level=2, name=re.compile("^Client Kick-Off"))).to_contain_text("round 2")
    expect(cy.get_by_text("Sent back from Client Kick-Off by ben")).to_be_visible()
    with site.engine() as engine:
        history = engine.history(CODE)
    assert history[-1].action == "reject"
    assert not [e for e in history if e.action == "approve"], "the stale Approve was not applied"


# -- typed text is text ----------------------------------------------------------------------------


def hostile_template() -> str:
    """A template whose every title is the hostile text (JSON strings are YAML double-quoted scalars)."""
    h = json.dumps(HOSTILE)
    return "\n".join([
        "key: hostile-flow",
        f"title: {h}",
        f"description: {h}",
        "roles:",
        f"  lead: {{title: {h}}}",
        f"  qa: {{title: {json.dumps(HOSTILE + ' QA')}}}",
        "lead: lead",
        "phases:",
        "  - key: build",
        f"    title: {h}",
        f"    tasks: {{lead: {h}, qa: {h}}}",
        f"    gate: {{title: {h}, approvers: [qa], required: all}}",
        "  - key: ship",
        f"    title: {json.dumps(HOSTILE + ' ship')}",
        f"    tasks: {{lead: {h}}}",
        "",
    ])


def no_injection(page: Page, where: str) -> None:
    settle(page)
    assert page.evaluate(INJECTED) == 0, f"typed text became HTML on {where}"


def test_typed_text_is_shown_as_text_everywhere_and_no_dialog_opens(site: Site) -> None:
    """Every field people type holds a script-and-image payload; every page, the diagram and the
    timeline show it as text. The pages run with the CSP bypassed, so only escaping stops it
    (any dialog that opened would fail the test)."""
    root = site.open("root", bypass_csp=True)
    root.goto("/projects")
    new = root.get_by_role("form", name="New project")
    new.get_by_label("Code").fill("XSS-1")
    new.get_by_label("Template").select_option("large-agency")
    new.get_by_label("Name").fill(HOSTILE)
    new.get_by_label("Client").fill(HOSTILE)
    press(new.get_by_role("button", name="Create project"))
    expect(root.get_by_role("heading", level=1)).to_have_text("XSS-1")
    with site.engine() as engine:
        for role, person in TEAM.items():
            engine.assign("XSS-1", role, person, actor="root")

    ana = site.open("ana", bypass_csp=True)
    ana.goto(project_url("XSS-1"))
    done = ana.get_by_role("form", name="Mark the Integrated Producer task done")
    done.get_by_label("Note").fill(HOSTILE)
    press(done.get_by_role("button", name="Mark done"))
    approve = ana.get_by_role("form", name="Approve as Integrated Producer")
    approve.get_by_label("Comment").fill(HOSTILE)
    press(approve.get_by_role("button", name="Approve"))
    reopen = ana.get_by_role("form", name="Reopen the Integrated Producer task")
    reopen.get_by_label("Reason").fill(HOSTILE)
    press(reopen.get_by_role("button", name="Reopen"))
    hold = ana.get_by_role("form", name="Hold the project")
    hold.get_by_label("Reason").fill(HOSTILE)
    press(hold.get_by_role("button", name="Hold"))
    expect(ana.get_by_text(f"by ana: {HOSTILE}").first).to_be_visible()
    no_injection(ana, "the project on hold")
    press(ana.get_by_role("form", name="Resume the project").get_by_role("button", name="Resume"))

    ben = site.open("ben", bypass_csp=True)
    ben.goto(project_url("XSS-1"))
    reject = ben.get_by_role("form", name="Reject as Head of Technology")
    reject.get_by_label("Reason").fill(HOSTILE)
    press(reject.get_by_role("button", name="Reject"))
    expect(ben.get_by_text(re.compile("^Sent back from"))).to_contain_text(HOSTILE)
    expect(ben.get_by_role("cell", name=HOSTILE).first).to_be_visible()  # the history's details
    no_injection(ben, "the project sent back")

    # Accounts, tokens, templates.
    root.goto("/people")
    add = root.get_by_role("form", name="Add an account")
    add.get_by_label("New login name").fill("eve")
    add.get_by_label("Name", exact=True).fill(HOSTILE)
    press(add.get_by_role("button", name="Add account"))
    expect(root.get_by_role("cell", name=HOSTILE)).to_be_visible()
    no_injection(root, "the people page")
    root.goto("/me/tokens")
    create = root.get_by_role("form", name="Create a token")
    create.get_by_label("Token name").fill(HOSTILE)
    press(create.get_by_role("button", name="Create token"))
    expect(root.get_by_role("status")).to_contain_text(HOSTILE)
    expect(root.get_by_role("rowheader", name=HOSTILE)).to_be_visible()
    no_injection(root, "the tokens page")
    root.goto("/templates")
    publish = root.get_by_role("form", name="Publish a version")
    publish.get_by_label("YAML").fill(hostile_template())
    press(publish.get_by_role("button", name="Publish"))
    expect(root.get_by_role("heading", level=1)).to_contain_text(HOSTILE)
    expect(root.get_by_role("img", name=re.compile("its phases and gates"))).to_contain_text(HOSTILE)
    no_injection(root, "the template page and its diagram")
    with site.engine() as engine:
        engine.create_project("XSS-2", template="hostile-flow", actor="root", name=HOSTILE)
        engine.assign("XSS-2", "lead", "ana", actor="root")
        engine.assign("XSS-2", "qa", "ben", actor="root")
        engine.complete_task("XSS-2", "lead", actor="ana", note=HOSTILE)
        engine.complete_task("XSS-2", "qa", actor="ben", note=HOSTILE)
        engine.approve("XSS-2", "qa", actor="ben", comment=HOSTILE)
        engine.advance("XSS-2", actor="ana")
    ana.goto(project_url("XSS-2"))
    expect(ana.get_by_role("img", name=re.compile("timeline"))).to_contain_text(HOSTILE)
    no_injection(ana, "a project on the hostile template, and its timeline")

    # Text that comes back from the address or a refused form.
    for page, path in [(root, "/"), (root, "/projects"), (root, "/templates"), (ana, "/"),
                       (root, f"/audit?actor={HOSTILE[:60]}"), (root, f"/projects/XSS-1?actor={HOSTILE[:60]}"),
                       (root, "/projects/%3Cscript%3Ealert(4)%3C%2Fscript%3E"), (root, "/templates/hostile-flow")]:
        page.goto(path)
        no_injection(page, path)
    root.goto("/people")
    add = root.get_by_role("form", name="Add an account")
    add.get_by_label("New login name").evaluate("field => field.removeAttribute('pattern')")
    add.get_by_label("New login name").fill(HOSTILE[:60])
    press(add.get_by_role("button", name="Add account"))
    expect(root.get_by_role("alert")).to_be_visible()  # a login name is restricted: refused, as text
    no_injection(root, "a refused login name")
    ana.goto(project_url("XSS-1"))
    cancel = ana.get_by_role("form", name="Cancel the project")
    cancel.get_by_label("Reason").fill(HOSTILE)
    cancel.get_by_label("Type the project's code, XSS-1, to confirm").fill("XSS-1")  # for good: asked first
    press(cancel.get_by_role("button", name="Cancel project"))
    expect(ana.get_by_text("cancelled", exact=True)).to_be_visible()
    no_injection(ana, "the cancelled project")
    other = site.open(bypass_csp=True)
    other.goto("/signin")
    other.get_by_label("Login name").fill(HOSTILE)
    other.get_by_label("Password").fill("wrong")
    press(other.get_by_role("button", name="Sign in"))
    expect(other.get_by_role("alert")).to_be_visible()
    no_injection(other, "a refused sign-in")


# -- headers, cookies, framing ----------------------------------------------------------------------


def test_pages_send_the_csp_and_the_session_cookie_is_httponly_and_samesite(site: Site) -> None:
    page = site.open()
    first = page.goto("/signin")
    assert first is not None
    headers = first.headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    assert headers["cache-control"] == "no-store"

    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/signin")) as answer:
        page.get_by_label("Login name").fill("ana")
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Sign in").click()
    set_cookie = answer.value.header_value("set-cookie") or ""
    assert "httponly" in set_cookie.lower() and "samesite=lax" in set_cookie.lower()
    assert "secure" not in set_cookie.lower().replace("httponly", "")  # plain http on loopback
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    cookie = cookies.pop("phasegate_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    (device,) = cookies.values()  # the browser is known the next time ana signs in (issue 19)
    assert device["httpOnly"] and device["sameSite"] == "Strict" and device["name"].startswith("phasegate_device_")
    assert page.evaluate("document.cookie") == "", "scripts cannot read the session"
    script = page.request.get("/static/htmx.min.js")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert "javascript" in script.headers["content-type"]
    refused = page.goto("/people")  # ana is no admin: a refusal page, with the same headers
    assert refused is not None and refused.status == 403
    assert refused.headers["content-security-policy"] == csp


def test_the_session_cookie_is_secure_when_the_server_is_told_so(site: Site, seeded: Path, tmp_path: Path) -> None:
    shutil.copyfile(seeded, tmp_path / "secure.db")
    db = f"sqlite:///{tmp_path}/secure.db"
    with live_server(db, tmp_path / "secure.log", "--secure-cookies") as server:
        page = site.open(base_url=server.url)
        page.goto(f"{server.url}/signin")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_label("Login name").fill("ana")
            page.get_by_label("Password").fill("correct horse battery staple")
            page.get_by_role("button", name="Sign in").click()
        flags = [f.strip().lower() for f in (answer.value.header_value("set-cookie") or "").split(";")]
        assert {"secure", "httponly", "samesite=lax"} <= set(flags)


def test_no_other_site_can_frame_a_page(site: Site) -> None:
    """frame-ancestors 'none' (and X-Frame-Options): a page inside another site's frame stays empty."""
    context = site.browser.new_context()
    try:
        page = context.new_page()
        page.set_content(f'<iframe title="framed" src="{site.url}/signin"></iframe>')
        page.wait_for_timeout(500)
        framed = page.frame_locator("iframe")
        expect(framed.get_by_role("button", name="Sign in")).to_have_count(0)
    finally:
        context.close()


# -- the keyboard alone ----------------------------------------------------------------------------


def focused(locator: object) -> bool:
    return bool(locator.evaluate("element => element === document.activeElement"))  # type: ignore[attr-defined]


def tab_to(page: Page, target: object, most: int = 60) -> int:
    """Press Tab until ``target`` has the focus; how many presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if focused(target):
            return presses
    raise AssertionError(f"Tab never reached {target}")


def test_sign_in_and_approve_with_the_keyboard_only(site: Site) -> None:
    staffed(site)
    page = site.open()
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert focused(page.get_by_label("Login name")), "the login name field has the focus at once"
    page.keyboard.type("ben")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    assert focused(skip), "the first Tab reaches the skip link"
    expect(skip).to_be_in_viewport()
    approve = page.get_by_role("region", name=re.compile("Gates to sign")).get_by_role("button", name="Approve")
    tab_to(page, approve)
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.keyboard.press("Enter")
    settle(page)
    # ben stays on My work (issue 21): the confirmation says what was signed; the project page shows it
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")
    expect(page.get_by_role("status")).to_contain_text(f"{CODE}: approved as Head of Technology.")
    page.goto(project_url(CODE))
    expect(page.get_by_role("listitem").filter(has_text="Head of Technology: signed by ben")).to_be_visible()
    with site.engine() as engine:
        last = engine.history(CODE)[-1]
    assert (last.action, last.actor, last.auth) == ("approve", "ben", "password")


def test_a_form_from_another_site_is_refused(site: Site) -> None:
    """A signed-in person lured to another site's page that posts to phasegate: refused, not applied."""
    staffed(site)
    page = site.open("ben")

    def forged(route: Route) -> None:
        route.fulfill(content_type="text/html", body=(
            f'<form method="post" action="{site.url}/projects/{CODE}/do">'
            '<input name="action" value="approve"><input name="role" value="head_of_technology">'
            '<input name="seq" value="7"><button>Win a prize</button></form>'))

    page.route("http://elsewhere.test/", forged)
    page.goto("http://elsewhere.test/")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Win a prize").click()
    # The SameSite cookie stays home, so the forged form comes without a session: to the sign-in page.
    assert answer.value.status in (303, 403)
    with site.engine() as engine:
        assert not [e for e in engine.history(CODE) if e.action == "approve"]
