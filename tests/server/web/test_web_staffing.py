"""The project page shows the gates its team cannot sign, with the fix, to those who can change the team
(admins and the lead), and an assignment's confirmation warns of them (issue 26 part 3)."""

from __future__ import annotations

import html
import re

import pytest
from support.apiclients import api

from workflow import Engine

PASSWORD = "correct horse battery"
SHORT = ("'QA sign-off' needs 2 distinct people for Tech & Creative Leads and Scrum Master; only ivy holds "
         "both")


def prepare(url: str) -> None:
    with Engine(url) as engine:
        engine.init(admin="root")
        for person in ("ana", "ivy", "sam"):
            engine.add_user(person, actor="root")
            engine.set_password(person, PASSWORD, actor="root")
        engine.create_project("D-1", template="digital-agency", actor="root",
                              team={"integrated_producer": ["ana"], "tech_creative_leads": ["ivy"]})


def signed_in(client: object, login: str) -> str:
    answer = client.post("/api/v1/me/session", json={"login": login, "password": PASSWORD})  # type: ignore[attr-defined]
    return str(answer.json()["csrf"])


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.slow  # an app over a fresh database per backend, argon2 sign-ins: about 2 s
def test_the_lead_sees_the_gates_the_team_cannot_sign_and_an_assignment_warns_of_them(db_url: str) -> None:
    prepare(db_url)
    with api(db_url) as client:
        csrf = signed_in(client, "ana")
        seq = re.search(r'name="seq" value="(\d+)"', client.get("/projects/D-1").text)
        assert seq is not None
        done = client.post("/projects/D-1/do", data={"csrf": csrf, "action": "assign", "role": "scrum_master",
                                                      "person": "ivy", "seq": seq.group(1)})
        assert done.status_code == 303
        page = client.get("/projects/D-1").text
        said = text_of(page)
        assert "Gates this team cannot sign" in said
        assert f"{SHORT}. Fix: assign another Scrum Master." in said
        status = re.search(r'role="status"[^>]*>(.*?)</', page, re.S)
        assert status is not None and "Warning: " + SHORT in html.unescape(status.group(1))
        assert "Warning:" not in text_of(client.get("/projects/D-1").text)  # the notice is said once
    with api(db_url) as client:
        signed_in(client, "ivy")  # on the team, but cannot change it: no box
        assert "Gates this team cannot sign" not in text_of(client.get("/projects/D-1").text)
    with Engine(db_url) as engine:
        engine.assign("D-1", "scrum_master", "sam", actor="root")
    with api(db_url) as client:
        signed_in(client, "ana")
        assert "Gates this team cannot sign" not in text_of(client.get("/projects/D-1").text)
