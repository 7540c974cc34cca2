"""Deliverables over HTTP (issue 23) on both backends: an upload streamed in and refused past the limit
with nothing stored, a download that never runs in phasegate's origin, approvals sent with the digests
they saw (412 with the current set), the proof from the bytes or from a digest, files in verify."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.apiclients import api, bearer
from support.deliverables import TEAM, at_sow_estimate, pdf, xlsx

from workflow import Engine

URL = "/api/v1/projects/L-1/deliverables"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(500)
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'


@pytest.fixture
def site(db_url: str) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], str]]:
    """The app on a large-agency project at SOW & Estimate; each person's token headers."""
    with Engine(db_url) as engine:
        at_sow_estimate(engine)
        headers = {}
        for person in ("ana", "bo", "cy", "dee"):
            engine.add_user(person, actor="ana")
            headers[person] = bearer(engine.create_token(actor=person, name="t")[1])
    with api(db_url) as client:
        yield client, headers, db_url


def upload(client: TestClient, who: dict[str, str], key: str, data: bytes | Iterator[bytes], name: str,
           **params: Any) -> Any:
    return client.post(f"{URL}/{key}", params={"name": name, **params}, content=data,
                       headers={**who, "Content-Type": "text/html"})


def test_an_upload_is_stored_and_downloaded_byte_for_byte_with_its_headers(site: Any) -> None:
    client, h, _url = site
    data = xlsx(size=3 * 1024 * 1024 + 11)
    added = upload(client, h["cy"], "estimate", data, "Estimate – v1.xlsx", note="first cut")
    assert added.status_code == 201, added.text
    event = added.json()
    assert event["action"] == "deliverable.add"
    assert event["data"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert event["data"]["media_type"].startswith("application/vnd.openxmlformats")  # sniffed, not text/html

    got = client.get(f"{URL}/estimate", headers=h["bo"])
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "application/octet-stream"  # an xlsx is not in the shown list
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["etag"] == f'"{event["data"]["sha256"]}"'
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"Estimate _ v1.xlsx\"; filename*=UTF-8''Estimate%20%E2%80%93%20v1.xlsx")
    listed = client.get(URL, headers=h["bo"], params={"phase": "sow_estimate"}).json()["deliverables"]
    assert [(v["key"], v["version"], v["by"], v["note"]) for v in listed] == [("estimate", 1, "cy", "first cut")]
    assert client.get(URL, headers=h["dee"]).status_code == 403  # not on the team
    assert client.get(f"{URL}/estimate", headers=h["dee"]).status_code == 403


@pytest.mark.parametrize(("data", "sniffed"), [(HTML, "text/html"), (SVG, "image/svg+xml")])
def test_an_uploaded_page_or_svg_never_runs_in_phasegates_origin(site: Any, data: bytes, sniffed: str) -> None:
    client, h, _url = site
    added = upload(client, h["cy"], "estimate", data, "x.html")
    assert added.status_code == 201 and added.json()["data"]["media_type"] == sniffed
    for inline in (False, True):
        got = client.get(f"{URL}/estimate", headers=h["cy"], params={"inline": inline})
        assert got.content == data
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_an_image_is_shown_inline_only_when_asked_and_a_pdf_as_itself(site: Any) -> None:
    client, h, _url = site
    assert upload(client, h["ana"], "sow_doc", PNG, "mood.png").status_code == 201
    shown = client.get(f"{URL}/sow_doc", headers=h["ana"], params={"inline": "true"})
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline;")
    assert client.get(f"{URL}/sow_doc", headers=h["ana"]).headers["content-disposition"].startswith("attachment;")
    assert upload(client, h["ana"], "sow_doc", pdf(), "sow.pdf").status_code == 201
    got = client.get(f"{URL}/sow_doc", headers=h["ana"], params={"inline": "true"})
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")  # only an image is ever inline
    old = client.get(f"{URL}/sow_doc", headers=h["ana"], params={"version": 1})
    assert old.content == PNG


def test_past_the_limit_is_refused_413_while_it_streams_and_nothing_is_stored(site: Any) -> None:
    client, h, url = site
    os.environ["PHASEGATE_MAX_FILE_MIB"] = "1"
    try:
        def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(3):
                yield xlsx(size=1024 * 1024)

        for body in (xlsx(size=2 * 1024 * 1024), chunked()):
            refused = upload(client, h["cy"], "estimate", body, "big.xlsx")
            assert refused.status_code == 413, refused.text
            error = refused.json()["error"]
            assert error["kind"] == "too_large"
            assert "larger than 1 MiB, the most a deliverable may be; nothing was stored" in error["message"]
    finally:
        del os.environ["PHASEGATE_MAX_FILE_MIB"]
    empty = upload(client, h["cy"], "estimate", b"", "e.xlsx")
    assert empty.status_code == 422 and "is empty" in empty.json()["error"]["message"]
    no_name = client.post(f"{URL}/estimate", content=xlsx(), headers=h["cy"])
    assert no_name.status_code == 422 and "give the file's name" in no_name.json()["error"]["message"]
    assert upload(client, h["bo"], "estimate", xlsx(), "e.xlsx").status_code == 403
    assert upload(client, h["cy"], "nope", xlsx(), "e.xlsx").status_code == 404
    with Engine(url) as engine:
        assert engine.deliverables("L-1") == []
        assert engine.verify_deliverables().files_checked == 0


def test_a_link_an_idempotent_retry_and_if_match(site: Any) -> None:
    client, h, _url = site
    link = client.post(f"{URL}/sow_doc", json={"url": "https://docs.example/sow", "label": "SOW", "note": "n"},
                       headers=h["ana"])
    assert link.status_code == 201 and link.json()["data"]["kind"] == "link"
    bad = client.post(f"{URL}/sow_doc", json={"url": "javascript:alert(1)"}, headers=h["ana"])
    assert bad.status_code == 422
    again = {**h["cy"], "Idempotency-Key": "upload-1"}
    first = client.post(f"{URL}/estimate", params={"name": "e.xlsx"}, content=b"PK\x03\x04 same", headers=again)
    second = client.post(f"{URL}/estimate", params={"name": "e.xlsx"}, content=b"PK\x03\x04 same", headers=again)
    assert first.status_code == 201 and second.json()["seq"] == first.json()["seq"]
    stale = client.post(f"{URL}/estimate", params={"name": "e.xlsx"}, content=b"other",
                        headers={**h["cy"], "If-Match": '"3"'})
    assert stale.status_code == 412


def test_an_approval_sent_with_old_digests_is_refused_412_with_the_current_set(site: Any) -> None:
    client, h, url = site
    v1 = upload(client, h["cy"], "estimate", xlsx(), "e1.xlsx").json()["data"]["sha256"]
    with Engine(url) as engine:
        for role, person in TEAM.items():
            engine.complete_task("L-1", role, actor=person)
    v2 = upload(client, h["cy"], "estimate", xlsx(), "e2.xlsx").json()["data"]["sha256"]
    approvals = "/api/v1/projects/L-1/approvals"
    stale = client.post(approvals, json={"role": "head_of_technology", "deliverables": {"estimate": v1}},
                        headers=h["bo"])
    assert stale.status_code == 412
    error = stale.json()["error"]
    assert error["kind"] == "precondition_failed"
    assert error["deliverables"] == {"estimate": {"version": 2, "sha256": v2}}
    signed = client.post(approvals, json={"role": "head_of_technology", "deliverables": {"estimate": v2}},
                         headers=h["bo"])
    assert signed.status_code == 200, signed.text
    assert signed.json()["data"]["deliverables"] == {"estimate": {"version": 2, "sha256": v2}}


def test_prove_from_the_bytes_or_a_digest_and_files_in_verify(site: Any) -> None:
    client, h, url = site
    data = xlsx()
    sha = upload(client, h["cy"], "estimate", data, "e.xlsx").json()["data"]["sha256"]
    with Engine(url) as engine:
        for role, person in TEAM.items():
            engine.complete_task("L-1", role, actor=person)
        engine.approve("L-1", "head_of_technology", actor="bo")
    by_bytes = client.post("/api/v1/audit/prove", content=data, headers=h["ana"]).json()
    by_digest = client.post("/api/v1/audit/prove", params={"sha256": sha}, headers=h["ana"]).json()
    assert by_bytes == by_digest
    assert by_bytes["covered"] and by_bytes["size"] == len(data)
    assert [(a["person"], a["state"], a["key"]) for a in by_bytes["approvals"]] == [("bo", "current", "estimate")]
    nothing = client.post("/api/v1/audit/prove", content=b"other bytes", headers=h["ana"]).json()
    assert not nothing["covered"] and nothing["approvals"] == []
    assert client.post("/api/v1/audit/prove", params={"sha256": "xyz"}, headers=h["ana"]).status_code == 422
    verified = client.get("/api/v1/audit/verify", headers=h["ana"]).json()
    assert verified["ok"] and verified["files"] == {"ok": True, "files_checked": 1, "broken": []}
    assert client.get("/api/v1/audit/files", headers=h["ana"]).json()["files_checked"] == 1
    assert client.get("/api/v1/audit/files", headers=h["cy"]).status_code == 403
