"""History in words names phases and roles by their titles, not their keys, on the command line and on the
project page (tests/server/web/test_web_history_words.py) (issue 21, LOW: "voids head_of_technology by ben", "→ production_kickoff round 1"); the
status header says "on hold", not "on_hold"."""

from __future__ import annotations

from pathlib import Path

from support.cli_runs import cli_runner

from workflow import Engine
from workflow.domain.wording import describe


def walked(url: str) -> None:
    """T-1 advanced once, an approval withdrawn, then held."""
    with Engine(url) as e:
        e.init(admin="ana")
        e.create_project("T-1", template="team-based", actor="ana")
        e.assign("T-1", "integrated_producer", "ana", actor="ana")
        e.assign("T-1", "team", "ben", actor="ana")
        for role, who in (("integrated_producer", "ana"), ("team", "ben")):
            e.complete_task("T-1", role, actor=who)
            e.approve("T-1", role, actor=who)
        e.advance("T-1", actor="ana")
        e.complete_task("T-1", "team", actor="ben")
        e.approve("T-1", "team", actor="ben")
        e.withdraw("T-1", "team", actor="ben", reason="too soon")
        e.hold("T-1", actor="ana", reason="budget")


def test_describe_uses_the_titles_it_is_given_and_the_keys_without() -> None:
    data = {"to_phase": "production_kickoff", "to_round": 1}
    assert describe("advance", data) == "→ production_kickoff round 1"
    assert describe("advance", data, phases={"production_kickoff": "Production Kick-Off"}) == \
        "→ Production Kick-Off round 1"
    voided = {"voided": {"approvals": [{"role": "team", "person": "ben"}]}, "reason": "too soon"}
    assert describe("withdraw", voided, roles={"team": "Team"}) == "voids Team by ben — too soon"


def test_the_cli_history_and_status_speak_in_titles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/h.db"
    walked(url)
    run = cli_runner(url)
    history = run("history", "T-1").stdout
    assert "→ Production Kick-Off round 1" in history and "production_kickoff round" not in history
    assert "voids Team by ben — too soon" in history
    status = run("project", "status", "T-1").stdout
    assert "· on hold" in status.splitlines()[1] and "on_hold" not in status
