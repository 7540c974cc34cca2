"""The project page's Deliverables (issue 23), in a real browser against a real `phasegate serve`: an
upload through the form (POST, 303, GET), its version listed with who, size, short sha256, note and a
download that is an attachment, an image previewed under the CSP, and an Approve form that carries
the digests the page showed, so approving after someone uploaded a newer version is refused with
the alert, and approving the page drawn again succeeds. JavaScript on and off."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from support.browser import Site, press, project_url

pytestmark = pytest.mark.slow  # Chromium against a real `phasegate serve`

TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}
# A 1x1 PNG (a real one: the browser decodes it for the preview).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc00000030101009a6b5b6a0000000049454e44ae426082")


def at_sow_estimate(site: Site, code: str = "W-1") -> None:
    with site.engine() as engine:
        engine.create_project(code, template="large-agency", actor="root")
        for role, person in TEAM.items():
            engine.assign(code, role, person, actor="root")
        for _ in range(2):
            for role, person in TEAM.items():
                engine.complete_task(code, role, actor=person)
                engine.approve(code, role, actor=person)
            engine.advance(code, actor="ana")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_upload_list_preview_download_and_an_approval_refused_after_a_new_version(
        site: Site, tmp_path: Path, javascript: bool) -> None:
    at_sow_estimate(site)
    mood = tmp_path / "mood.png"
    mood.write_bytes(PNG)
    ana = site.open("ana", javascript=javascript)
    ana.goto(project_url("W-1"))
    files = ana.get_by_role("region", name="Deliverables of SOW & Estimate")
    sow = files.get_by_role("region", name="Statement of work")
    expect(sow).to_contain_text("No version yet.")
    form = sow.get_by_role("form", name="Upload a version of the Statement of work")
    form.get_by_label("File").set_input_files(mood)
    form.get_by_label("Note").fill("the first draft")
    answer = press(form.get_by_role("button", name="Upload"))
    assert answer is not None and answer.status == 303
    expect(ana.get_by_role("status")).to_contain_text("W-1: done (upload): Statement of work v1")
    sow = ana.get_by_role("region", name="Statement of work")
    row = sow.get_by_role("row").filter(has_text="v1")
    digest = hashlib.sha256(PNG).hexdigest()
    for words in ("ana", "the first draft", digest[:12], "mood.png"):
        expect(row).to_contain_text(words)
    preview = sow.get_by_role("img", name="Preview of Statement of work v1")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.naturalWidth") == 1  # loaded under the CSP
    link = row.get_by_role("link", name="mood.png: download Statement of work v1")
    got = ana.request.get(link.get_attribute("href") or "")
    assert got.body() == PNG
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    # the Estimate is the Project Manager's: ana has no form for it
    expect(ana.get_by_role("form", name="Upload a version of the Estimate")).to_have_count(0)

    with site.engine() as engine:
        for role, person in TEAM.items():
            engine.complete_task("W-1", role, actor=person)
    ben = site.open("ben", javascript=javascript)
    ben.goto(project_url("W-1"))  # drawn with v1's digest in the Approve form
    with site.engine() as engine:  # meanwhile a new version comes in
        second = tmp_path / "sow-v2.pdf"
        second.write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
        engine.add_deliverable("W-1", "sow_doc", second, actor="ana")
    approve = ben.get_by_role("form", name="Approve as Head of Technology")
    press(approve.get_by_role("button", name="Approve as Head of Technology"))
    expect(ben.get_by_role("alert")).to_contain_text(
        "the Statement of work of SOW & Estimate on W-1: not the version this approval was given on")
    ben.goto(project_url("W-1"))
    expect(ben.get_by_role("region", name="Statement of work").get_by_role("row").filter(has_text="v2")
           ).to_contain_text("sow-v2.pdf")
    answer = press(ben.get_by_role("form", name="Approve as Head of Technology").get_by_role(
        "button", name="Approve as Head of Technology"))
    assert answer is not None and answer.status == 303
    expect(ben.get_by_role("status")).to_contain_text("done (Approve)")
    with site.engine() as engine:
        signed = engine.history("W-1", action="approve")[-1]
        assert signed.data["deliverables"]["sow_doc"]["version"] == 2
