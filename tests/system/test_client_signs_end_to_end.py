"""Issue 24's whole story, every part real: a ``phasegate serve`` process delivering its own e-mail to
aiosmtpd, the lead working through ``phasegate --server``, and the client in Chromium with nothing but
the e-mails they receive.

The lead uploads the SOW and invites the client; the invitation's e-mail carries the link; the client's
browser opens it, asks for a code, reads it from the second e-mail and approves; the gate passes (the
lead advances); the event records ``auth: email-link``, the address, the invitation, the code's delivery
and the digest shown; ``audit prove SOW.pdf`` names the client's signature. A forwarded link without the
code cannot decide; an expired link and a revoked one get the plain page.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from click.testing import CliRunner, Result
from playwright.sync_api import Browser, Page, expect
from support.browser import DESKTOP, PHONE
from support.links import BUYER, CLIENT_SOW
from support.receivers import Mailbox, smtp_receiver
from support.servers import free_port, live_server

from workflow.cli import cli

pytestmark = pytest.mark.slow  # a real server, SMTP and Chromium, on each backend: ~15 s a backend
LINK = re.compile(r"http://127\.0\.0\.1:[0-9]+/link/[A-Za-z0-9_-]{43}")
CODE = re.compile(r"\b([0-9]{6})\b")
OTHER = "other@acme.example"


def mail_to(mailbox: Mailbox, address: str, subject: str, count: int = 1, seconds: float = 30) -> list[str]:
    """The plain-text bodies of the first ``count`` e-mails to ``address`` whose subject has ``subject``."""
    deadline = time.monotonic() + seconds
    while True:
        found = [m.get_body(("plain",)).get_content() for _from, to, m in list(mailbox.messages)  # type: ignore[union-attr]
                 if address in to and subject in str(m["Subject"])]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"no e-mail '{subject}' to {address} after {seconds} s"
        time.sleep(0.05)


def link_in(body: str) -> str:
    found = LINK.search(body)
    assert found, body
    return found.group(0)


def assert_plain_gone(page: Page, answer: Any) -> None:
    assert answer is not None and answer.status == 410
    assert answer.headers["referrer-policy"] == "no-referrer" and answer.headers["cache-control"] == "no-store"
    expect(page.get_by_role("heading", level=1)).to_have_text("This link can no longer be used")
    text = page.locator("main").inner_text()
    for detail in ("C-1", "SOW", "Statement of work", BUYER):
        assert detail not in text


def test_the_client_signs_the_sow_through_the_emailed_link_and_code(db_url: str, tmp_path: Path,
                                                                   browser: Browser) -> None:
    runner = CliRunner()

    def direct(*args: str, actor: str = "ana") -> Result:
        result = runner.invoke(cli, ["--db", db_url, "--as", actor, *args], prog_name="phasegate",
                               env={"PHASEGATE_SERVER": None, "PHASEGATE_TOKEN": None})
        assert result.exit_code == 0, (args, result.output)
        return result

    direct("init", "--admin", "ana")
    tokens = {}
    for person in ("ana", "pat", "tim"):
        direct("user", "add", person, "--email", f"{person}@agency.example")
    for person in ("ana", "pat", "tim"):
        made = direct("token", "create", "--name", "laptop", actor=person).output
        tokens[person] = next(word for word in made.split() if word.startswith("pgt_"))
    (tmp_path / "client-sow.yaml").write_text(CLIENT_SOW)
    sow = tmp_path / "SOW.pdf"
    sow.write_bytes(b"%PDF-1.7\n% the statement of work\n" + bytes(range(256)) * 40)

    port = free_port()
    env = {"PHASEGATE_MAIL_FROM": "phasegate@agency.example", "PHASEGATE_BASE_URL": f"http://127.0.0.1:{port}"}
    with smtp_receiver() as mailbox, live_server(db_url, tmp_path / "server.log", port=port, env={
            **env, "PHASEGATE_SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}"}) as server:

        def remote(*args: str, actor: str = "pat", code: int = 0) -> Result:
            result = runner.invoke(cli, ["--server", server.url, *args], prog_name="phasegate",
                                   env={"PHASEGATE_SERVER": None, "PHASEGATE_TOKEN": tokens[actor],
                                        "PHASEGATE_DB": None})
            assert result.exit_code == code, (args, result.output, server.log_text()[-3000:])
            return result

        remote("template", "publish", str(tmp_path / "client-sow.yaml"), actor="ana")
        remote("project", "create", "C-1", "--template", "client-sow", "--name", "Acme relaunch", actor="ana")
        remote("project", "assign", "C-1", "producer", "pat", actor="ana")
        remote("project", "assign", "C-1", "tech", "tim", actor="ana")
        # The lead uploads the SOW and invites the client.
        added = json.loads(remote("--json", "deliverable", "add", "C-1", "sow_doc", str(sow)).output)
        digest = added["data"]["sha256"]
        remote("invite", "C-1", "client", "--email", BUYER, "--name", "Pat Buyer")
        remote("task", "done", "C-1", "producer")
        remote("approve", "C-1", "producer", "--deliverables", f"sow_doc={digest}")

        # The client's browser opens the link from the e-mail.
        link = link_in(mail_to(mailbox, BUYER, "your signature as Client")[0])
        assert "/link/" in link and link.split("/link/")[1] not in server.log_text(), "the secret was logged"
        context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
        context.set_default_timeout(15_000)
        page = context.new_page()
        opened = page.goto(link)
        assert opened is not None and opened.status == 200
        assert opened.headers["referrer-policy"] == "no-referrer" and opened.headers["cache-control"] == "no-store"
        expect(page.get_by_role("heading", level=1)).to_have_text("Acme relaunch")
        expect(page.get_by_text("The client agrees to the scope and the price.")).to_be_visible()
        expect(page.locator(".digest code")).to_have_text(digest)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download Statement of work").click()
        assert Path(download.value.path()).read_bytes() == sow.read_bytes()

        # A forwarded link (another browser, no code from the client's mailbox) cannot decide.
        forwarded = browser.new_context(viewport=PHONE)
        other = forwarded.new_page()
        other.goto(link)
        other.get_by_label("The code from the e-mail").fill("123456")
        other.get_by_role("button", name="Approve").click()
        expect(other.get_by_role("alert")).to_contain_text("no code is waiting")

        # The client asks for a code, reads it from the second e-mail, marks their task done; then, with
        # a new code (each code serves one decision), approves.
        page.get_by_role("button", name="Send me a code").click()
        expect(page.get_by_role("status")).to_contain_text("A code is on its way")
        code = CODE.search(mail_to(mailbox, BUYER, "your one-time code")[0])
        assert code is not None
        page.get_by_label("The code from the e-mail").fill(code.group(1))
        page.get_by_role("button", name="Mark Provide assets done").click()
        expect(page.get_by_role("status")).to_contain_text("The task is marked done")
        page.get_by_role("button", name="Send me a code").click()  # the last one was used for the task
        expect(page.get_by_role("status")).to_contain_text("A code is on its way")
        code = CODE.search(mail_to(mailbox, BUYER, "your one-time code", count=2)[1])
        assert code is not None
        page.get_by_label("The code from the e-mail").fill(code.group(1))
        page.get_by_label(re.compile("^Comment")).fill("Agreed, go ahead.")
        page.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
        expect(page.get_by_text("Your approval is recorded")).to_be_visible()
        assert page.goto(link).status == 410  # the link is used for decisions now
        context.close()

        # The record names the client's signature.
        history = [json.loads(line) for line in remote("--json", "history", "C-1", "--action", "approve"
                                                       ).output.splitlines()]
        signed = next(e for e in history if e["actor"] == f"client:{BUYER}")
        assert signed["auth"] == "email-link"
        data = signed["data"]
        assert data["email"] == BUYER and data["shown"] == {"sow_doc": digest}
        assert data["deliverables"]["sow_doc"]["sha256"] == digest
        assert data["ip"] == "127.0.0.1" and "Chrome" in data["user_agent"] and data["code_delivery"]
        proven = remote("audit", "prove", str(sow), actor="ana").output
        assert f"client:{BUYER}" in proven and "email-link" in proven, proven

        # A revoked link and an expired one: the plain page.
        revoked = json.loads(remote("--json", "invite", "C-1", "other_client", "--email", OTHER).output)
        revoked_link = link_in(mail_to(mailbox, OTHER, "your signature as Other Client")[0])
        remote("invite", "revoke", "C-1", revoked["data"]["invitation"])
        assert_plain_gone(other, other.goto(revoked_link))
        remote("invite", "C-1", "other_client", "--email", OTHER)
        expired_link = link_in(mail_to(mailbox, OTHER, "your signature as Other Client", count=2)[1])
        database = sqlalchemy.create_engine(db_url)
        try:
            with database.begin() as conn:  # the clock of a running server cannot be moved: its link can
                conn.execute(sqlalchemy.text("UPDATE invitations SET expires_at = '2020-01-01T00:00:00.000000Z'"
                                             " WHERE revoked_at IS NULL AND used_seq IS NULL"))
        finally:
            database.dispose()
        assert_plain_gone(other, other.goto(expired_link))
        forwarded.close()
        remote("advance", "C-1")  # the gate passed: the lead moves the project on
        assert "Build" in remote("project", "status", "C-1").output
