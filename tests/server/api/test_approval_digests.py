"""Sign what you saw over HTTP (issue 23): an approval sent with the digests of deliverables that are
no longer the current ones is refused 412 with the current set, as a stale If-Match is; with the
current ones it is recorded, the versions bound in its event. (Uploads over HTTP come with lane E2.)"""

from __future__ import annotations

from pathlib import Path

from support.apiclients import api, bearer
from support.deliverables import signed_sow_project, write, xlsx
from support.servers import people

from workflow import Engine
from workflow.client import RemoteEngine
from workflow.errors import DeliverablesChanged


def test_stale_digests_are_refused_412_with_the_current_set(sqlite_url: str, tmp_path: Path) -> None:
    with Engine(sqlite_url) as engine:
        signed_sow_project(engine)
        tokens = people(engine, {"bo": ()}, admin="ana")
        sow = engine.add_deliverable("S-1", "sow_doc", write(tmp_path, "sow.pdf", b"%PDF-1.4 sow"), actor="ana")
        v1 = engine.add_deliverable("S-1", "estimate", write(tmp_path, "e1.xlsx", xlsx()), actor="cy")
        v2 = engine.add_deliverable("S-1", "estimate", write(tmp_path, "e2.xlsx", xlsx()), actor="cy")
    with api(sqlite_url) as client:
        seen = f"estimate={v1.data['sha256']} sow_doc={sow.data['sha256']}"
        refused = client.post("/api/v1/projects/S-1/approvals", headers=bearer(tokens["bo"]),
                              json={"role": "head_of_technology", "deliverables": seen})
        assert refused.status_code == 412, refused.text
        error = refused.json()["error"]
        assert error["kind"] == "precondition_failed"
        assert error["deliverables"]["estimate"] == {"version": 2, "sha256": v2.data["sha256"]}
        current = f"estimate={v2.data['sha256']} sow_doc={sow.data['sha256']}"
        signed = client.post("/api/v1/projects/S-1/approvals", headers=bearer(tokens["bo"]),
                             json={"role": "head_of_technology", "deliverables": current})
        assert signed.status_code in (200, 201), signed.text
        assert signed.json()["data"]["deliverables"]["estimate"]["version"] == 2


def test_the_http_client_sends_a_mapping_of_digests_and_gets_the_refusal_back(sqlite_url: str,
                                                                               tmp_path: Path) -> None:
    with Engine(sqlite_url) as engine:
        signed_sow_project(engine)
        tokens = people(engine, {"bo": ()}, admin="ana")
        sow = engine.add_deliverable("S-1", "sow_doc", write(tmp_path, "sow.pdf", b"%PDF-1.4 sow"), actor="ana")
        v1 = engine.add_deliverable("S-1", "estimate", write(tmp_path, "e1.xlsx", xlsx()), actor="cy")
    with api(sqlite_url) as client, RemoteEngine(client, token=tokens["bo"]) as remote:
        seen = {"estimate": v1.data["sha256"], "sow_doc": sow.data["sha256"]}
        with Engine(sqlite_url) as engine:
            engine.add_deliverable("S-1", "estimate", write(tmp_path, "e2.xlsx", xlsx()), actor="cy")
        try:
            remote.approve("S-1", "head_of_technology", deliverables=seen)
        except DeliverablesChanged as refused:
            assert refused.current["estimate"]["version"] == 2
        else:
            raise AssertionError("a stale set of digests was accepted")
        current = {"estimate": remote.status("S-1").deliverables[1]["current"]["sha256"],
                   "sow_doc": sow.data["sha256"]}
        signed = remote.approve("S-1", "head_of_technology", deliverables=current)
        assert signed.data["deliverables"]["estimate"]["version"] == 2
