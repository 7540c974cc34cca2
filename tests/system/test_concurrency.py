"""Many processes acting on one project at once never lose work or move it twice.

Real processes, not threads: each opens its own Engine on the same database, so
the row lock (PostgreSQL) and BEGIN IMMEDIATE (SQLite) are what keep them apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import workflow
from workflow import Engine

pytestmark = pytest.mark.slow  # 8-process concurrency: ~7 s

# Each worker plays one person: does its roles' tasks, signs its roles' gates and, if it
# holds the lead role, tries to advance; it prints every acknowledged event as JSON.
WORKER = r"""
import json, sys, time
from workflow import Engine
from workflow.errors import RuleRefused, PhasegateError

url, code, person = sys.argv[1:4]
acked, refused, errors = [], 0, []
with Engine(url) as engine:
    # Until the project completes, with a deadline (not a count: a worker that starts early would
    # spend its turns before the others have even imported phasegate on a loaded machine).
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = engine.status(code)
        if status.status != "active":
            break
        mine = [role for role, people in status.team.items() if person in people]
        for role in mine:
            calls = []
            if any(t.role == role and not t.done for t in status.tasks):
                calls.append(lambda role=role: engine.complete_task(code, role, actor=person))
            if status.gate and role in status.gate.missing:
                calls.append(lambda role=role: engine.approve(code, role, actor=person))
            if role == status.lead:
                calls.append(lambda: engine.advance(code, actor=person))
            for call in calls:
                try:
                    event = call()
                    acked.append([event.seq, event.action, event.hash])
                except RuleRefused:
                    refused += 1
                except PhasegateError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.002)
print(json.dumps({"acked": acked, "refused": refused, "errors": errors}))
"""

TEAM = [
    ("integrated_producer", "ana"),
    ("integrated_producer", "fay"),
    ("head_of_technology", "ben"),
    ("head_of_technology", "dan"),
    ("head_of_technology", "gus"),
    ("project_manager", "cy"),
    ("project_manager", "eve"),
    ("project_manager", "hal"),
]


def test_eight_processes_working_one_project_keep_every_change_and_advance_once_per_gate(db_url: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="root")
        engine.create_project("RACE", template="large-agency", actor="root")
        for role, person in TEAM:
            engine.assign("RACE", role, person, actor="root")
        phases = len(engine.template("large-agency")[1].phases)

    env = {**os.environ, "PYTHONPATH": str(Path(workflow.__file__).resolve().parent.parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, "RACE", person],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _, person in TEAM
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert [r["errors"] for r in results] == [[]] * len(TEAM), (
        "no error other than a rule refusal reaches a user"
    )
    acked = sorted(tuple(a) for r in results for a in r["acked"])
    with Engine(db_url) as engine:
        history = engine.history("RACE")
        assert engine.status("RACE").status == "completed"
        assert engine.verify_audit().ok
    stored = {(e.seq, e.action, e.hash) for e in history}
    assert set(acked) <= stored, "every acknowledged change is in the history"
    assert len(acked) == len(set(acked))
    advances = [e for e in history if e.action == "advance"]
    assert len(advances) == phases, "exactly one advance per satisfied gate"
    assert [e.phase for e in advances] == [
        "client_kickoff",
        "production_kickoff",
        "sow_estimate",
        "planning",
        "partners",
        "execution",
        "production_review_qa",
    ]
    approvals_by_phase: dict[str, list[str]] = {}
    for e in history:
        if e.action == "approve":
            approvals_by_phase.setdefault(e.phase or "", []).append(e.data["role"])
    for phase, roles in approvals_by_phase.items():
        assert len(roles) == len(set(roles)), f"one approval per role in {phase}"
