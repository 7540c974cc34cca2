"""Load: eight processes hammer one hot project and many others at once, with every command.

Every acknowledged change is in the database and its history, no project moves twice on
one satisfied gate (nor without one), chains verify, stored state is the replay of the
history, and no user ever sees anything but a refusal by the rules (no "database is
locked", no serialization failure, no retries-exhausted conflict). The two-role gate
race runs many rounds of two approvers and two leads released at the same instant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest
from support.invariants import assert_consistent, assert_history_obeys_the_rules, event_keys
from support.workload import MODELS, read_acks, staff

import workflow
from workflow import Engine
from workflow.errors import NotPermitted, RuleRefused

pytestmark = pytest.mark.slow  # 8-process loads: ~15 s

SUPPORT = Path(__file__).resolve().parents[1] / "support"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(workflow.__file__).resolve().parent.parent),
                                                    str(SUPPORT)])}
WORKERS = 8
STEPS = 120


Procs = list[tuple[subprocess.Popen[str], str]]


def start_workers(url: str, tmp_path: Path, codes: list[str], steps: int) -> Procs:
    procs = []
    for i in range(WORKERS):
        ack = str(tmp_path / f"ack-{i}.jsonl")
        cmd = [sys.executable, str(SUPPORT / "workload.py"), url, str(i), ack, str(1000 + i), str(steps),
               ",".join(codes)]
        procs.append((subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env=ENV), ack))
    return procs


def test_eight_processes_hammering_one_project_and_many_lose_nothing_and_move_once_per_gate(
        db_url: str, tmp_path: Path) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="root")
        codes = ["HOT"] + [f"P-{i}" for i in range(8)]
        for i, code in enumerate(codes):
            model = MODELS[i % 3] if code != "HOT" else "team-based"
            engine.create_project(code, template=model, actor="root")
            staff(engine, code)
    # Half of every worker's steps go to the hot project, the rest are spread over the others.
    weighted = ["HOT"] * 8 + codes[1:]
    started = time.monotonic()
    procs = start_workers(db_url, tmp_path, weighted, STEPS)
    summaries = []
    for proc, _ in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    elapsed = time.monotonic() - started

    assert [s["errors"] for s in summaries] == [[]] * WORKERS, "only refusals by the rules reach a user"
    acked: set[tuple[str, int, str]] = set()
    for _, ack in procs:
        mine = read_acks(ack)
        assert not mine & acked, "two commands were told they wrote the same event"
        acked |= mine
    total = sum(s["acked"] for s in summaries)
    assert total == len(acked) and total > WORKERS * STEPS // 4
    with Engine(db_url) as engine:
        assert acked <= event_keys(engine), "every acknowledged change is in the history"
        assert assert_consistent(engine) == len(codes)
        counts: dict[str, int] = {}
        for code in codes:
            for action, n in assert_history_obeys_the_rules(engine, code).items():
                counts[action] = counts.get(action, 0) + n
    for action in ("task.done", "approve", "advance", "reject", "hold", "resume", "assign", "unassign"):
        assert counts.get(action, 0) > 0, f"the load exercised {action}"
    print(f"\n{db_url.split(':')[0]}: {total} acknowledged changes by {WORKERS} processes in {elapsed:.1f}s "
          f"({total / elapsed:.0f}/s), refusals {sum(sum(s['refused'].values()) for s in summaries)}")


# -- two approvers at the same instant, then two leads at the same instant --------------------------------


def _racer(url: str, code: str, person: str, role: str, rounds: int, barrier: Any, out: Any) -> None:
    """Per round: approve (or, for the leads, advance) right after the barrier opens; then the
    round is reset (rejected) by the first lead while everyone waits at the barrier again."""
    results = []
    with Engine(url) as engine:
        for _ in range(rounds):
            barrier.wait()  # the gate's tasks are done; approve at the same instant
            if role != "lead":
                try:
                    engine.approve(code, role, actor=person)
                    results.append("approved")
                except RuleRefused as exc:
                    results.append(f"refused: {exc}")
            barrier.wait()  # both approvals in; advance at the same instant
            if role == "lead":
                try:
                    event = engine.advance(code, actor=person)
                    results.append(f"advanced {event.seq}")
                except RuleRefused:
                    results.append("refused")
            barrier.wait()  # both advances answered: the main process checks
            barrier.wait()  # ... and has sent the project back for the next round
    out.put((person, results))


RACE_TEMPLATE = """\
key: gate-race
title: A gate two roles sign, raced
roles:
  producer: {title: Producer}
  checker: {title: Checker}
lead: producer
phases:
  - key: build
    title: Build
    tasks:
      producer: Build it
    gate:
      title: Build sign-off
      approvers: [producer, checker]
      required: all
      distinct_people: true
  - key: ship
    title: Ship
    tasks:
      producer: Ship it
    gate:
      title: Ship sign-off
      approvers: [producer]
      required: all
      on_reject: build
"""


def test_a_two_role_gate_approved_and_advanced_at_the_same_instant_opens_exactly_once(db_url: str) -> None:
    """Round after round, the Producer and the Checker approve at the same instant, then two
    Producers advance at the same instant: one advance, the other refused; a rejection of the
    next gate sends the project back for a new round."""
    rounds = 12
    with Engine(db_url) as engine:
        engine.init(admin="root")
        engine.publish_template(RACE_TEMPLATE, actor="root")
        engine.create_project("GATE", template="gate-race", actor="root")
        for role, person in [("producer", "ip-1"), ("producer", "ip-2"), ("checker", "chk")]:
            engine.assign("GATE", role, person, actor="root")
        ctx = get_context("spawn")
        barrier = ctx.Barrier(5)
        out = ctx.Queue()
        players = [("ip-1", "lead"), ("ip-2", "lead"), ("ip-1", "producer"), ("chk", "checker")]
        procs = [ctx.Process(target=_racer, args=(db_url, "GATE", p, r, rounds, barrier, out))
                 for p, r in players]
        for p in procs:
            p.start()
        try:
            for n in range(rounds):
                assert (engine.status("GATE").phase, engine.status("GATE").round) == ("build", n + 1)
                engine.complete_task("GATE", "producer", actor="ip-1")
                barrier.wait(timeout=60)  # approvals race
                barrier.wait(timeout=60)  # advances race
                barrier.wait(timeout=60)  # advances answered
                st = engine.status("GATE")
                assert (st.phase, st.round) == ("ship", n + 1), "the gate opened exactly once"
                engine.reject("GATE", "producer", actor="ip-2", reason=f"round {n + 1}")
                barrier.wait(timeout=60)
            results = {}
            for _ in procs:
                person, res = out.get(timeout=60)
                results.setdefault(person, []).extend(res)
        finally:
            barrier.abort()  # on a failure, release the racers instead of waiting for them
            for p in procs:
                p.join(timeout=60)
                if p.is_alive():
                    p.kill()
        assert all(p.exitcode == 0 for p in procs)
        advances = [e for e in engine.history("GATE") if e.action == "advance"]
        assert len(advances) == rounds, "exactly one advance per satisfied gate"
        told = [r for person in ("ip-1", "ip-2") for r in results[person] if r.startswith("advanced")]
        assert sorted(told) == sorted(f"advanced {e.seq}" for e in advances)
        assert results["chk"] == ["approved"] * rounds
        assert results["ip-1"].count("approved") == rounds
        assert_history_obeys_the_rules(engine, "GATE")
        assert_consistent(engine)


def test_only_rule_refusals_reach_users_when_many_race_for_one_task(db_url: str, tmp_path: Path) -> None:
    """Eight processes mark the same task done at once: one wins, seven are told it is done already."""
    with Engine(db_url) as engine:
        engine.init(admin="root")
        engine.create_project("ONE", template="team-based", actor="root")
        for i in range(WORKERS):
            engine.assign("ONE", "team", f"t{i}", actor="root")
    ctx = get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    out = ctx.Queue()
    procs = [ctx.Process(target=_task_racer, args=(db_url, f"t{i}", barrier, out)) for i in range(WORKERS)]
    for p in procs:
        p.start()
    answers = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(a.split(":")[0] for a in answers) == ["RuleRefused"] * (WORKERS - 1) + ["done"]
    with Engine(db_url) as engine:
        assert [e.action for e in engine.history("ONE")].count("task.done") == 1
        assert_consistent(engine)


def _task_racer(url: str, person: str, barrier: Any, out: Any) -> None:
    with Engine(url) as engine:
        engine.status("ONE")  # connected and warm before the race
        barrier.wait()
        try:
            engine.complete_task("ONE", "team", actor=person)
            out.put("done")
        except (RuleRefused, NotPermitted) as exc:
            out.put(f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            out.put(f"UNEXPECTED {type(exc).__name__}: {exc}")
