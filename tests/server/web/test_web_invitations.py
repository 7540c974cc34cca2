"""The project page's "Outside signers" section (issue 24): the lead invites the client by e-mail from
the page and revokes the link; someone else on the team sees the invitations but no form, and a form
they forge is refused by the engine's rule."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from support.apiclients import api
from support.links import BUYER, client_project, payloads

from workflow import Engine

pytestmark = pytest.mark.slow  # two password sign-ins (argon2) over an app per backend: ~2 s a test
PASSWORD = "correct horse battery"


def signed_in(client: Any, login: str) -> str:
    answer = client.post("/api/v1/me/session", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrf"])


def seq_of(html: str) -> str:
    found = re.search(r'name="seq" value="([0-9]+)"', html)
    assert found
    return found.group(1)


def test_the_lead_invites_from_the_page_and_revokes(db_url: str, tmp_path: Path) -> None:
    with Engine(db_url) as engine:
        client_project(engine, tmp_path)
        for person in ("pat", "tim"):
            engine.set_password(person, PASSWORD, actor="ana")
    with api(db_url) as client:
        csrf = signed_in(client, "pat")
        page = client.get("/projects/C-1").text
        assert 'aria-label="Invite an outside signer"' in page and "Nobody is invited yet." in page
        assert '<option value="client">Client</option>' in page and '<option value="tech">' not in \
            page.split('id="invite-role"')[1].split("</select>")[0]
        sent = client.post("/projects/C-1/invitations", data={
            "csrf": csrf, "seq": seq_of(page), "request_id": "web-inv-1", "role": "client", "email": BUYER,
            "name": "Pat Buyer", "expires": "7d"})
        assert sent.status_code == 303 and sent.headers["location"] == "/projects/C-1#h-signers"
        page = client.get("/projects/C-1").text
        assert "done (invite)" in page and BUYER in page and "live, code not yet used" in page
        with Engine(db_url) as engine:
            (invitation,) = engine.invitations("C-1")
            assert payloads(engine, "invite")[0][2] == BUYER
        assert invitation.expires_at[:10] > invitation.created_at[:10]
        assert f'aria-label="Revoke the link of {BUYER}"' in page

        refused = client.post("/projects/C-1/invitations", data={  # an internal role: the rule says no
            "csrf": csrf, "seq": seq_of(page), "request_id": "web-inv-2", "role": "tech", "email": BUYER})
        assert refused.status_code == 303
        assert "is not external" in client.get("/projects/C-1").text

        page = client.get("/projects/C-1").text
        revoked = client.post(f"/projects/C-1/invitations/{invitation.id}/revoke", data={
            "csrf": csrf, "seq": seq_of(page), "request_id": "web-rev-1"})
        assert revoked.status_code == 303
        page = client.get("/projects/C-1").text
        assert "revoked" in page and f'aria-label="Revoke the link of {BUYER}"' not in page

    with api(db_url) as client:  # tim, on the team but not the lead: the list, no form, a forged one refused
        csrf = signed_in(client, "tim")
        page = client.get("/projects/C-1").text
        assert BUYER in page and 'aria-label="Invite an outside signer"' not in page
        with Engine(db_url) as engine:
            seq = str(engine.status("C-1").seq)  # tim's page has no form to take it from
        forged = client.post("/projects/C-1/invitations", data={
            "csrf": csrf, "seq": seq, "request_id": "web-inv-3", "role": "client",
            "email": "other@acme.example"})
        assert forged.status_code == 303 and 'role="alert"' in client.get("/projects/C-1").text
    with Engine(db_url) as engine:
        assert [i.email for i in engine.invitations("C-1")] == [BUYER]
