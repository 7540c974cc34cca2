"""The client's signing page in Chromium (issue 24): readable at desktop and phone width (nothing wider
than the screen), no serious accessibility violation (axe-core, light and dark), working with
JavaScript off, and its screenshots for docs/use/client-signs.md; the project page's Outside signers
section too. The whole story with e-mail is tests/system/test_client_signs_end_to_end.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support.browser import DESKTOP, PHONE, Site, axe_script, project_url, unavailable
from support.links import BUYER, CLIENT_SOW, payloads

from workflow import Engine

pytestmark = pytest.mark.slow  # Chromium against a real `phasegate serve`: ~8 s

AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.slice(0, 3).map(n => n.target.join(" "))}`);
}"""


def invited_link(site: Site, tmp_path: Path) -> str:
    """ACME-7 on client-sow: ana leads, ben is tech, the SOW and a preview image uploaded, the client
    invited; the link's address (read from the outbox: this server sends no e-mail)."""
    sow = tmp_path / "acme-sow-v1.pdf"
    sow.write_bytes(b"%PDF-1.7\n" + b"statement of work " * 300)
    with site.engine() as engine:
        engine.publish_template(CLIENT_SOW, actor="root")
        engine.create_project("ACME-7", template="client-sow", actor="root", name="Acme spring relaunch",
                              client="Acme Corp")
        engine.assign("ACME-7", "producer", "ana", actor="root")
        engine.assign("ACME-7", "tech", "ben", actor="root")
        engine.add_deliverable("ACME-7", "sow_doc", sow, actor="ana")
        engine.invite("ACME-7", "client", email=BUYER, name="Pat Buyer", actor="ana")
        secret = payloads(engine, "invite")[-1][1]
    assert secret
    return f"/link/{secret}"


def violations(page: Page) -> list[str]:
    page.route("**/__axe__.js", lambda route: route.fulfill(path=str(axe_script()),
                                                            content_type="text/javascript"))
    page.add_script_tag(url="/__axe__.js")
    found = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        found += [f"{scheme}: {v}" for v in page.evaluate(AXE)]
    return found


def test_the_signing_page_reads_at_desktop_and_phone_width_and_passes_axe(site: Site, tmp_path: Path) -> None:
    if axe_script() is None:
        unavailable("axe-core is not installed: npm ci --prefix tests/axe")
    link = invited_link(site, tmp_path)
    found = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = site.open(viewport=viewport)
        answer = page.goto(link)
        assert answer is not None and answer.status == 200
        expect(page.get_by_role("heading", level=1)).to_have_text("Acme spring relaunch")
        shot = site.shoot(page, f"web-client-link-{label}")
        assert shot.stat().st_size > 5000
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the signing page is {width}px wide on a {label} screen"
        found += [f"signing page, {label}, {v}" for v in violations(page)]
    gone = site.open(viewport=PHONE)
    assert gone.goto("/link/" + "x" * 43).status == 410  # type: ignore[union-attr]
    found += [f"dead link page, {v}" for v in violations(gone)]
    lead = site.open("ana")
    lead.goto(project_url("ACME-7"))
    expect(lead.get_by_role("heading", name="Outside signers")).to_be_visible()
    expect(lead.get_by_role("cell", name=f"{BUYER} (Pat Buyer)")).to_be_visible()
    found += [f"project page, {v}" for v in violations(lead)]
    assert not found, "\n".join(found)


def test_the_page_works_with_javascript_off(site: Site, tmp_path: Path) -> None:
    """Send me a code is a plain form: POST, 303, the page again saying the code is on its way."""
    link = invited_link(site, tmp_path)
    page = site.open(javascript=False, viewport=PHONE)
    page.goto(link)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("status")).to_contain_text("A code is on its way")
    expect(page.get_by_role("button", name="Send me a new code")).to_be_visible()
    with Engine(site.db_url) as engine:
        sent = payloads(engine, "code")[-1][1]
    page.get_by_label("The code from the e-mail").fill("000000" if sent != "000000" else "111111")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alert")).to_contain_text("the code is wrong")
    with Engine(site.db_url) as engine:
        assert [row[2] for row in payloads(engine, "code")] == [BUYER]
        assert not [e for e in engine.history("ACME-7") if e.action == "approve"]
