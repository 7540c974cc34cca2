"""`GET /api/v1/projects/{code}/check` and the `warnings` of a staffing change over HTTP (issue 26 part 3):
a gate that cannot pass is the report's `ok: false` (200), never an error; a staffing change is made and
answered with the gates its team can no longer sign."""

from __future__ import annotations

from pathlib import Path

from support.apiclients import api, bearer, error_of
from support.servers import people

from workflow import Engine


def test_the_check_the_warnings_and_who_may_read_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/h.db"
    with Engine(url) as engine:
        tokens = people(engine, {"ivy": (), "sam": (), "zed": ()}, admin="ana")
        with api(url) as client:
            ana = bearer(tokens["ana"])
            made = client.post("/api/v1/projects", headers=ana, json={
                "code": "D-1", "template": "digital-agency",
                "team": {"integrated_producer": ["ana"], "tech_creative_leads": ["ivy"], "scrum_master": ["ivy"]}})
            assert made.status_code == 201, made.text
            assert len(made.json()["warnings"]) == 2
            checked = client.get("/api/v1/projects/D-1/check", headers=bearer(tokens["ivy"]))
            assert checked.status_code == 200, checked.text
            report = checked.json()
            assert report["ok"] is False and report["subject"] == "D-1"
            assert report["gates"][3]["sentence"].endswith("only ivy holds both: assign another Scrum Master")
            fixed = client.put("/api/v1/projects/D-1/team/scrum_master/sam", headers=ana)
            assert fixed.status_code == 200 and fixed.json()["warnings"] == []
            undone = client.delete("/api/v1/projects/D-1/team/scrum_master/sam", headers=ana)
            assert undone.status_code == 200 and len(undone.json()["warnings"]) == 2
            assert "warnings" not in client.post("/api/v1/projects", headers=ana, json={
                "code": "D-2", "template": "digital-agency"}).json()  # no team, nothing to warn of
            outsider = client.get("/api/v1/projects/D-1/check", headers=bearer(tokens["zed"]))
            assert outsider.status_code == 403 and error_of(outsider)["kind"] == "not_permitted"
