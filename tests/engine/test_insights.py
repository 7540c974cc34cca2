"""``Engine.insights`` (issue 25) on three projects with known histories and a fixed clock; every
figure worked out by hand below, on both backends.

The calendar is Monday to Friday (no holidays), starting Monday 7 December 2026 (TIMED: kick-off 3d,
build 5d, review 2d; the review's gate sends work back to build). A phase's working days count the
day it was entered and not the day it was left (the schedule's arithmetic).

- P-1: kick-off Mon 7 -> Thu 10 (3 days; due Thu 10: on time; producer signed Wed 9 = 2 days after
  the gate opened Mon 7, QA Thu 10 = 3 days; gate 3 days to its last signature); build Thu 10 ->
  Wed 16 with a hold Fri 11 -> Wed 16 (4 days less 3 held = 1; due Thu 17 + 3 = Tue 22: on time);
  review Wed 16 -> rejected Mon 21 (3 days; due Fri 18: late); build round 2 Mon 21 -> Tue 22 (1 day;
  on time); review round 2 Tue 22 -> Thu 24 (2 days; due Thu 24: on time; QA signed Wed 23, 1 day
  after the gate opened Tue 22); completed Thu 24: 13 working days less 3 held = 10.
- P-2: kick-off from Mon 7, QA's signature Tue 8 withdrawn, cancelled Wed 9 (2 days; apart).
- P-3: created Mon 14, still in kick-off on Thu 24: at least 8 days; due Thu 17: 5 working days
  overdue (Fri 18, Mon 21 .. Thu 24), waiting on the producer's and the developer's tasks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from support.insight_histories import three_histories

from workflow import Engine
from workflow.domain.insights.figures import Dist
from workflow.domain.insights.report import Insights
from workflow.errors import NotFound, UsageError


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with three_histories(db_url) as e:
        yield e


def only(found: Insights) -> dict:
    (version,) = found.to_dict()["versions"]
    return version


def d(
    n: int, median: int | None = None, p90: int | None = None, top: int | None = None, at_least: bool = False
) -> dict:
    return Dist(n, median, p90, top, at_least).to_dict()


def test_every_figure_of_three_known_histories(engine: Engine) -> None:
    found = engine.insights(viewer="ana")
    doc = found.to_dict()
    assert doc["scope"] == "all" and doc["names_shown"] == "all" and doc["today"] == "2026-12-24"
    v = only(found)
    assert (v["template"], v["version"]) == ("timed-team", 1)
    assert (v["running"], v["completed"], v["cancelled"]) == (1, 1, 1)
    assert v["cycle_days"] == d(1, 10, 10, 10)
    assert v["running_cycle_days"] == d(1, 8, 8, 8, at_least=True)
    assert v["cancelled_cycle_days"] == d(1, 2, 2, 2)

    kickoff, build, review = v["phases"]
    assert kickoff == {
        "phase": "kickoff",
        "title": "Kick-Off",
        "passed": 1,
        "rejected": 0,
        "cancelled": 1,
        "running": 1,
        "days": d(1, 3, 3, 3),
        "running_days": d(1, 8, 8, 8, at_least=True),
        "held_days": 0,
        "on_time": 1,
        "late": 0,
        "no_due_date": 0,
        "overdue_now": 1,
    }
    assert build == {
        "phase": "build",
        "title": "Build",
        "passed": 2,
        "rejected": 0,
        "cancelled": 0,
        "running": 0,
        "days": d(2, 1, 1, 1),
        "running_days": d(0, at_least=True),
        "held_days": 3,
        "on_time": 2,
        "late": 0,
        "no_due_date": 0,
        "overdue_now": 0,
    }
    # review: 2 and 3 days; nearest rank: median rank 1 -> 2, p90 rank ceil(1.8) = 2 -> 3
    assert review == {
        "phase": "review",
        "title": "Review",
        "passed": 1,
        "rejected": 1,
        "cancelled": 0,
        "running": 0,
        "days": d(2, 2, 3, 3),
        "running_days": d(0, at_least=True),
        "held_days": 0,
        "on_time": 1,
        "late": 1,
        "no_due_date": 0,
        "overdue_now": 0,
    }

    kickoff_gate, review_gate = v["gates"]
    assert kickoff_gate == {
        "phase": "kickoff",
        "gate": "Kick-off sign-off",
        "passes": 1,
        "rejections": 0,
        "rounds_per_pass": 1.0,
        "reasons": [],
        "days_to_last_signature": d(1, 3, 3, 3),
    }
    assert review_gate == {
        "phase": "review",
        "gate": "QA sign-off",
        "passes": 1,
        "rejections": 1,
        "rounds_per_pass": 2.0,
        "reasons": [{"reason": "Fails QA", "count": 1}],
        "days_to_last_signature": d(1, 1, 1, 1),
    }

    producer, qa = v["roles"]
    assert producer == {
        "role": "producer",
        "title": "Producer",
        "days_to_sign": d(1, 2, 2, 2),
        "slowest": [{"person": "ana", "signatures": 1, "mean_days": 2.0, "max_days": 2}],
    }
    # qa: 3 (kick-off) and 1 (review round 2); P-2's withdrawn signature does not stand
    assert qa == {
        "role": "qa",
        "title": "QA Lead",
        "days_to_sign": d(2, 1, 3, 3),
        "slowest": [{"person": "qa", "signatures": 2, "mean_days": 2.0, "max_days": 3}],
    }

    assert doc["trend"] == [
        {
            "month": "2026-12",
            "template": "timed-team",
            "version": 1,
            "completed": 1,
            "cycle_days": d(1, 10, 10, 10),
        }
    ]
    assert doc["overdue_total"] == 1
    assert doc["overdue"] == [
        {
            "code": "P-3",
            "name": None,
            "template": "timed-team",
            "version": 1,
            "phase": "kickoff",
            "phase_title": "Kick-Off",
            "round": 1,
            "due_on": "2026-12-17",
            "days_overdue": 5,
            "waiting_on": "tasks",
            "roles": ["producer", "dev"],
        }
    ]


def test_filters_narrow_every_figure(engine: Engine) -> None:
    acme = only(engine.insights(viewer="ana", client="ACME"))
    assert (acme["running"], acme["completed"], acme["cancelled"]) == (1, 1, 0)
    assert acme["phases"][0]["cancelled"] == 0
    # rounds that overlapped Mon 21 .. Thu 24: review round 1 (left Mon 21), build round 2, review
    # round 2, and P-3's kick-off; signatures given then: QA's of Wed 23
    late = only(engine.insights(viewer="ana", since="2026-12-21"))
    assert [(p["phase"], p["passed"], p["rejected"], p["running"]) for p in late["phases"]] == [
        ("kickoff", 0, 0, 1),
        ("build", 1, 0, 0),
        ("review", 1, 1, 0),
    ]
    assert [r["days_to_sign"]["n"] for r in late["roles"]] == [1]
    early = engine.insights(viewer="ana", until="2026-12-08").to_dict()
    (v,) = early["versions"]
    # P-1 and P-2 ran then (their rounds and projects count, as they ended); P-3 did not exist yet
    assert (v["phases"][0]["passed"], v["phases"][0]["cancelled"], v["phases"][0]["running"]) == (1, 1, 0)
    assert (v["running"], v["completed"], v["cancelled"]) == (0, 1, 1)
    assert engine.insights(viewer="ana", template="timed-team", version=1).to_dict()["versions"] == [
        only(engine.insights(viewer="ana"))
    ]
    with pytest.raises(NotFound):
        engine.insights(viewer="ana", template="timed-team", version=2)
    with pytest.raises(UsageError):
        engine.insights(viewer="ana", version=1)
    with pytest.raises(UsageError):
        engine.insights(viewer="ana", since="2026-12-10", until="2026-12-01")


def test_others_see_their_projects_and_no_names_but_those_they_lead(engine: Engine) -> None:
    engine.add_user("zoe", actor="ana") if hasattr(engine, "add_user") else None
    nobody = engine.insights(viewer="zoe").to_dict()
    assert nobody["scope"] == "readable" and nobody["versions"] == [] and nobody["overdue"] == []
    qa = engine.insights(viewer="qa").to_dict()
    assert qa["names_shown"] == "led"
    (v,) = qa["versions"]
    assert v["completed"] == 1 and [r["slowest"] for r in v["roles"]] == [[], []]  # qa leads nothing


def test_the_csv_holds_the_same_figures_with_a_section_column(engine: Engine) -> None:
    found = engine.insights(viewer="ana")
    rows = list(csv.DictReader(io.StringIO(found.to_csv())))
    assert rows == [
        {k: "" if v is None else str(v) for k, v in r.items()}
        | {
            k: ""
            for k in (
                "section",
                "template",
                "version",
                "phase",
                "role",
                "person",
                "project",
                "month",
                "figure",
                "value",
            )
            if k not in r
        }
        for r in found.csv_rows()
    ]
    by = {(r["section"], r["phase"], r["figure"]): r["value"] for r in rows}
    assert by[("phase", "review", "days.p90")] == "3"
    assert by[("gate", "review", "rounds_per_pass")] == "2.0"
    assert by[("reason", "review", "Fails QA")] == "1"
    assert {r["section"] for r in rows} == {
        "projects",
        "phase",
        "gate",
        "reason",
        "role",
        "slowest",
        "trend",
        "overdue",
    }


def test_a_reopened_task_opens_the_gate_again(db_url: str) -> None:
    """Kick-off: tasks done Mon 7 (the gate opens), QA signs Tue 8 (1 day); the developer's task
    reopened Wed 9 (QA's signature stands: the template voids none), done again Thu 10 (the gate opens
    again); the producer signs Fri 11 (1 day from Thu 10) and the lead advances: 4 days in the phase,
    1 from the gate's last opening to its last signature."""
    from support.insight_histories import day
    from support.schedules import moved_clock, timed_project

    with moved_clock(day(7)) as clock, Engine(db_url) as e:
        timed_project(e, "P-1")
        e.complete_task("P-1", "producer", actor="ana")
        e.complete_task("P-1", "dev", actor="dev")
        clock.to(day(8))
        e.approve("P-1", "qa", actor="qa")
        clock.to(day(9))
        e.reopen_task("P-1", "dev", actor="ana", reason="the estimate was wrong")
        clock.to(day(10))
        e.complete_task("P-1", "dev", actor="dev")
        clock.to(day(11))
        e.approve("P-1", "producer", actor="ana")
        e.advance("P-1", actor="ana")
        v = only(e.insights(viewer="ana"))
        assert e.verify_audit().ok
    kickoff = v["phases"][0]
    assert (kickoff["passed"], kickoff["days"]) == (1, d(1, 4, 4, 4))
    assert v["gates"][0]["days_to_last_signature"] == d(1, 1, 1, 1)
    assert {r["role"]: r["days_to_sign"] for r in v["roles"]} == {"producer": d(1, 1, 1, 1), "qa": d(1, 1, 1, 1)}
