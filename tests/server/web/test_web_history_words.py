"""The project page's history and the audit search name phases and roles by title (issue 21, LOW)."""

from __future__ import annotations

import sys
from pathlib import Path

from support.apiclients import api

from workflow import Engine

# the CLI's test walks the project this page shows
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "cli"))
from test_history_words import walked

PASSWORD = "correct horse battery"


def test_the_project_page_history_speaks_in_titles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    walked(url)
    with Engine(url) as e:
        e.add_user("ana", actor="ana")
        e.set_password("ana", PASSWORD, actor="ana")
    with api(url) as client:
        assert client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD}).status_code == 200
        page = client.get("/projects/T-1").text
        assert "→ Production Kick-Off round 1" in page and "voids Team by ben — too soon" in page
        audit = client.get("/audit?actor=ana&action=advance").text
        assert "→ Production Kick-Off round 1" in audit
