"""The client's signing page, ``/link/{secret}`` (issue 24), in process: what it shows, the plain page of
a link that cannot be used, the headers of every /link answer, the CSRF token bound to the link, the
code before a decision, the decision once (a retried form is the same event), the evidence recorded,
guessing slowed per client address, and the secret never in the access log.

The browser's whole story (real ``serve``, aiosmtpd, Chromium) is tests/system/test_client_signs_end_to_end.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.apiclients import api, serving
from support.links import BUYER, client_project, invited, payloads
from support.schedules import moved_clock

from workflow import Engine
from workflow.engine.people import signin
from workflow.server.app import create_app
from workflow.server.settings import Settings

pytestmark = pytest.mark.slow  # an app over a fresh database per backend, a dozen requests: ~1.5 s a test

BROWSER = "Mozilla/5.0 (the client's browser)"


@pytest.fixture(autouse=True)
def stopped_clock() -> Iterator[Any]:
    """The clock stands still (a throttle's wait never runs out while the test runs); tests move it."""
    with moved_clock(datetime.now(UTC).replace(microsecond=0)) as clock:
        yield clock


@pytest.fixture
def project(db_url: str, tmp_path: Path) -> dict[str, Any]:
    """C-1 on the client-sow template, its SOW uploaded, the client invited: the link's secret."""
    with Engine(db_url) as engine:
        made = client_project(engine, tmp_path)
        invitation, secret = invited(engine)
    return {**made, "invitation": invitation, "secret": secret, "url": db_url}


@pytest.fixture
def client(project: dict[str, Any]) -> Iterator[TestClient]:
    with api(project["url"], client=("198.51.100.20", 50000)) as c:
        c.headers["User-Agent"] = BROWSER
        yield c


def token_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, "every form on the page carries the link's CSRF token"
    return found.group(1)


def field_of(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def last_code(url: str) -> str:
    with Engine(url) as engine:
        code = payloads(engine, "code")[-1][1]
    assert code is not None and re.fullmatch(r"[0-9]{6}", code)
    return code


def assert_link_headers(answer: Any, csp: str = "frame-ancestors 'none'") -> None:
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    assert csp in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"


# -- what the page shows -------------------------------------------------------------------------


def test_the_page_shows_the_project_the_gate_and_each_deliverable_with_its_digest(
        client: TestClient, project: dict[str, Any]) -> None:
    sow = project["sow"].data
    page = client.get(f"/link/{project['secret']}")
    assert page.status_code == 200, page.text[:500]
    assert_link_headers(page)
    html = page.text
    assert "C-1" in html and "SOW approval" in html and "The client agrees to the scope and the price." in html
    assert BUYER in html and "Statement of work" in html and f"version {sow['version']}" in html
    assert sow["sha256"] in html
    assert f"/link/{project['secret']}/files/sow_doc?version=1" in html
    assert field_of(html, "seen") == f"sow_doc={sow['sha256']}"
    assert "Send me a code" in html and 'value="approve"' in html and 'value="reject"' in html
    assert 'value="done:client"' in html  # the role's open task ("Provide assets")
    cookie = page.headers["set-cookie"]
    assert "phasegate_link=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/link/" in cookie
    assert "Sign in" not in html and "/signin" not in html and 'aria-label="Main"' not in html


def test_a_download_is_the_file_with_the_link_headers(client: TestClient, project: dict[str, Any]) -> None:
    answer = client.get(f"/link/{project['secret']}/files/sow_doc?version=1")
    assert answer.status_code == 200
    assert answer.content == project["path"].read_bytes()
    assert_link_headers(answer, csp="default-src 'none'; sandbox")  # no-store: a download sets its own
    assert answer.headers["content-disposition"].startswith("attachment;")
    unknown = client.get(f"/link/{'x' * 43}/files/sow_doc")
    assert unknown.status_code == 410 and "Statement" not in unknown.text


# -- links that cannot be used --------------------------------------------------------------------


def assert_plain_gone(answer: Any) -> None:
    assert answer.status_code == 410, answer.text[:300]
    assert_link_headers(answer)
    assert "This link can no longer be used" in answer.text
    for detail in ("C-1", "SOW", "Statement of work", BUYER, "client-sow", "Client"):
        assert detail not in answer.text, f"the page of a dead link names {detail!r}"


def test_unknown_revoked_expired_and_used_links_show_one_plain_page(
        client: TestClient, project: dict[str, Any], stopped_clock: Any) -> None:
    assert_plain_gone(client.get("/link/" + "A" * 43))
    assert_plain_gone(client.get("/link/short"))
    with Engine(project["url"]) as engine:
        revoked_id, revoked = invited(engine, email="other@acme.example")
        engine.revoke_invite("C-1", revoked_id, actor="pat")
    assert_plain_gone(client.get(f"/link/{revoked}"))
    stopped_clock.move(days=15)  # past the 14 days a link lasts by default
    assert_plain_gone(client.get(f"/link/{project['secret']}"))


def test_guessing_links_is_slowed_per_client_address(project: dict[str, Any]) -> None:
    with api(project["url"], client=("203.0.113.5", 1)) as guesser:
        for n in range(signin.FREE_FAILURES + 1):
            assert guesser.get(f"/link/{n:043d}").status_code == 410
        slowed = guesser.get("/link/" + "B" * 43)
        assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
        assert_link_headers(slowed)
        # even a real link waits now, from that address: a guesser cannot tell one from another
        assert guesser.get(f"/link/{project['secret']}").status_code == 429
        assert guesser.post(f"/link/{project['secret']}/code").status_code == 429
    with api(project["url"], client=("203.0.113.6", 1)) as neighbour:
        assert neighbour.get(f"/link/{project['secret']}").status_code == 200


def test_the_access_log_never_holds_the_secret(project: dict[str, Any], capsys: pytest.CaptureFixture[str]
                                               ) -> None:
    secret = project["secret"]
    app = create_app(Settings(db=project["url"], access_log=True, deliver=False))
    with serving(app) as c:
        for path in (f"/link/{secret}", f"/link/{secret}/files/sow_doc", f"/link/{secret}/nothing/here",
                     f"/link/{secret}x"):
            c.get(path)
        c.post(f"/link/{secret}/code", data={"csrf": "nope"})
    log = capsys.readouterr().err
    assert '"/link/{secret}"' in log and '"/link/{secret}/files/{key}"' in log
    assert secret not in log and secret[:20] not in log


# -- forms: CSRF, the code, the decision ------------------------------------------------------------


def test_a_form_without_the_links_token_or_from_another_site_sends_nothing(
        client: TestClient, project: dict[str, Any]) -> None:
    secret = project["secret"]
    page = client.get(f"/link/{secret}")
    token = token_of(page.text)
    for data, headers in (({}, {}), ({"csrf": "0" * 64}, {}),
                          ({"csrf": token}, {"Origin": "https://evil.example"}),
                          ({"csrf": token}, {"Sec-Fetch-Site": "cross-site"}),
                          ({"csrf": token}, {"Origin": "null", "Sec-Fetch-Site": "cross-site"})):
        refused = client.post(f"/link/{secret}/code", data=data, headers=headers)
        assert refused.status_code == 303 and refused.headers["location"] == f"/link/{secret}#h-decide"
        assert "another site" in client.get(f"/link/{secret}").text
    with Engine(project["url"]) as engine:
        assert payloads(engine, "code") == [], "no code was sent for a forged form"
    # another browser's cookie with this page's token: refused too (the token is bound to the cookie)
    with api(project["url"]) as other:
        other.get(f"/link/{secret}")
        refused = other.post(f"/link/{secret}/code", data={"csrf": token})
        assert refused.status_code == 303
    with Engine(project["url"]) as engine:
        assert payloads(engine, "code") == []


def test_the_code_then_approve_records_the_signature_once_with_its_evidence(
        client: TestClient, project: dict[str, Any]) -> None:
    secret, sow = project["secret"], project["sow"].data
    page = client.get(f"/link/{secret}").text
    token, request_id = token_of(page), field_of(page, "request_id")
    # the page's own form, as Chromium sends it under no-referrer: Origin null, Sec-Fetch-Site same-origin
    sent = client.post(f"/link/{secret}/code", data={"csrf": token},
                       headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert sent.status_code == 303 and sent.headers["location"] == f"/link/{secret}?said=code#h-decide"
    assert "A code is on its way" in client.get(sent.headers["location"]).text
    with Engine(project["url"]) as engine:
        (_id, _code, target, _status), = payloads(engine, "code")
    assert target == BUYER
    decide = {"csrf": token, "request_id": request_id, "seen": f"sow_doc={sow['sha256']}", "decision": "approve"}

    without = client.post(f"/link/{secret}/decide", data={**decide, "code": ""})  # a forwarded link: no code
    assert without.status_code == 303
    assert "six-digit code" in client.get(f"/link/{secret}").text
    wrong_code = "000000" if last_code(project["url"]) != "000000" else "111111"
    wrong = client.post(f"/link/{secret}/decide", data={**decide, "code": wrong_code})
    assert wrong.status_code == 303 and "the code is wrong (4 tries left)" in client.get(f"/link/{secret}").text

    code = last_code(project["url"])
    approved = client.post(f"/link/{secret}/decide", data={**decide, "code": code})
    assert approved.status_code == 303 and approved.headers["location"] == "/link/done?said=approve"
    thanks = client.get("/link/done?said=approve")
    assert thanks.status_code == 200 and "Your approval is recorded" in thanks.text and "C-1" not in thanks.text
    again = client.post(f"/link/{secret}/decide", data={**decide, "code": code})  # a double-click, a retry
    assert again.status_code == 303 and again.headers["location"] == "/link/done?said=approve"
    with Engine(project["url"]) as engine:
        approvals = [e for e in engine.history("C-1") if e.action == "approve"]
    assert len(approvals) == 1
    event = approvals[0]
    assert event.actor == f"client:{BUYER}" and event.auth == "email-link"
    assert event.data["email"] == BUYER and event.data["invitation"] == project["invitation"]
    assert event.data["ip"] == "198.51.100.20" and event.data["user_agent"] == BROWSER
    assert event.data["shown"] == {"sow_doc": sow["sha256"]}
    # the link is used for decisions: its page is the plain one now
    assert_plain_gone(client.get(f"/link/{secret}"))
    other_try = client.post(f"/link/{secret}/decide", data={**decide, "request_id": "link-another", "code": code})
    assert other_try.status_code == 410


def test_a_reject_needs_its_reason(client: TestClient, project: dict[str, Any]) -> None:
    secret = project["secret"]
    token = token_of(client.get(f"/link/{secret}").text)
    client.post(f"/link/{secret}/code", data={"csrf": token})
    code = last_code(project["url"])
    bare = client.post(f"/link/{secret}/decide", data={"csrf": token, "code": code, "decision": "reject",
                                                        "request_id": "link-r1"})
    assert bare.status_code == 303 and bare.headers["location"].startswith(f"/link/{secret}")
    page = client.get(f"/link/{secret}")
    assert page.status_code == 200 and 'role="alert"' in page.text and "reason" in page.text
    rejected = client.post(f"/link/{secret}/decide", data={
        "csrf": token, "code": code, "decision": "reject", "reason": "the price is not what we agreed",
        "request_id": "link-r2"})
    assert rejected.headers["location"] == "/link/done?said=reject"
    with Engine(project["url"]) as engine:
        last = engine.history("C-1")[-1]
    assert last.action == "reject" and last.data["reason"] == "the price is not what we agreed"


def test_the_client_address_behind_a_trusted_proxy_is_the_forwarded_one(project: dict[str, Any]) -> None:
    secret = project["secret"]
    with api(project["url"], client=("10.0.0.1", 1), trusted_proxies=("10.0.0.1/32",)) as c:
        forwarded = {"X-Forwarded-For": "192.0.2.44"}
        token = token_of(c.get(f"/link/{secret}", headers=forwarded).text)
        c.post(f"/link/{secret}/code", data={"csrf": token}, headers=forwarded)
        done = c.post(f"/link/{secret}/decide", headers=forwarded, data={
            "csrf": token, "code": last_code(project["url"]), "decision": "done:client", "request_id": "t-1"})
        assert done.status_code == 303 and done.headers["location"] == f"/link/{secret}?said=task#h-decide"
        assert "The task is marked done" in c.get(done.headers["location"], headers=forwarded).text
    with Engine(project["url"]) as engine:
        last = engine.history("C-1")[-1]
    assert last.action == "task.done" and last.data["ip"] == "192.0.2.44"


def test_the_code_goes_only_to_the_invited_address(client: TestClient, project: dict[str, Any]) -> None:
    secret = project["secret"]
    token = token_of(client.get(f"/link/{secret}").text)
    client.post(f"/link/{secret}/code", data={"csrf": token, "email": "thief@evil.example",
                                               "to": "thief@evil.example"},
                headers={"X-Forwarded-For": "thief@evil.example"})
    with Engine(project["url"]) as engine:
        assert [row[2] for row in payloads(engine, "code")] == [BUYER]


def test_an_expired_code_cannot_decide(client: TestClient, project: dict[str, Any], stopped_clock: Any) -> None:
    secret = project["secret"]
    token = token_of(client.get(f"/link/{secret}").text)
    client.post(f"/link/{secret}/code", data={"csrf": token})
    code = last_code(project["url"])
    stopped_clock.move(minutes=11)  # a code lasts 10 minutes
    late = client.post(f"/link/{secret}/decide", data={"csrf": token, "code": code, "decision": "approve",
                                                        "request_id": "late-1"})
    assert late.status_code == 303
    assert "ask for a new one" in client.get(f"/link/{secret}").text
    with Engine(project["url"]) as engine:
        assert not [e for e in engine.history("C-1") if e.action == "approve"]



HOSTILE = ["", "\x00", "a\x00b", "x" * 5000, "done:", "done:producer", "0" * 40, "sow_doc=" + "0" * 64, "<script>"]


def test_hostile_link_forms_answer_below_500(client: TestClient, project: dict[str, Any]) -> None:
    """Each field of the two forms given each hostile value (the rest valid): a refusal, never a 5xx."""
    secret = project["secret"]
    token = token_of(client.get(f"/link/{secret}").text)
    for where, names in (("code", ("csrf",)), ("decide", ("code", "decision", "reason", "seen", "request_id"))):
        for name in names:
            for value in HOSTILE:
                fields = {"csrf": token, "code": "123456", "decision": "approve", "request_id": "fuzz"}
                answer = client.post(f"/link/{secret}/{where}", data={**fields, name: value})
                assert answer.status_code < 500, (where, name, value, answer.text[:300])
