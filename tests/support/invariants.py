"""What must hold of any phasegate database, whatever was done to it: shared by the
load, fault, kill-loop, property and authorization tests (and benchmarks/killloop.py).

- every hash chain verifies, and `audit verify` finds every state table equal to its replay;
- every project's stored rows equal the replay of its history (the history is the record);
- a dump of every table, to show that a refused command changed nothing.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow import Engine
from workflow.domain.audit.events import Event
from workflow.domain.audit.replay import replay
from workflow.storage.tables import approvals, assignments, events, metadata, projects, tasks


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    out = {}
    with engine.store.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def stored_state(conn: Connection, code: str) -> dict[str, Any]:
    p = conn.execute(select(projects).where(projects.c.code == code)).one()
    team: dict[str, list[str]] = {}
    for r in conn.execute(select(assignments).where(assignments.c.project_id == p.id)
                          .order_by(assignments.c.role, assignments.c.person)):
        team.setdefault(r.role, []).append(r.person)
    done = {(r.phase, r.round, r.role): (r.person, r.note, r.done_at, r.seq)
            for r in conn.execute(select(tasks).where(tasks.c.project_id == p.id))}
    signed = {(r.phase, r.round, r.role): (r.person, r.comment, r.approved_at, r.seq)
              for r in conn.execute(select(approvals).where(approvals.c.project_id == p.id))}
    return {"phase": p.phase, "round": p.round, "status": p.status, "rounds": json.loads(p.rounds),
            "seq": p.seq, "head_hash": p.head_hash, "updated_at": p.updated_at, "name": p.name,
            "hold_seq": p.hold_seq, "rejection_seq": p.rejection_seq,
            "client": p.client, "created_at": p.created_at, "team": team, "tasks": done, "approvals": signed}


def replayed_state(history: list[Event], code: str) -> dict[str, Any]:
    s = replay(code, history)
    return {"phase": s.phase, "round": s.round, "status": s.status, "rounds": s.rounds, "seq": s.seq,
            "head_hash": s.head_hash, "updated_at": s.updated_at, "name": s.name, "client": s.client,
            "hold_seq": s.hold_seq, "rejection_seq": s.rejection_seq,
            "created_at": s.created_at, "team": s.team_lists(),
            "tasks": {k: (t.person, t.note, t.at, t.seq) for k, t in s.tasks.items()},
            "approvals": {k: (a.person, a.comment, a.at, a.seq) for k, a in s.approvals.items()}}


def chain(conn: Connection, code: str) -> list[Event]:
    return [Event.from_row(r) for r in conn.execute(
        select(events).where(events.c.chain == code).order_by(events.c.seq))]


def assert_consistent(engine: Engine) -> int:
    """Every chain verifies and every project's rows are the replay of its history; returns #projects.

    Twice over: ``audit verify``'s own state check (every table, the system chain's too), and
    the comparison below, written independently of it.
    """
    report = engine.verify_audit(replay=True)
    assert report.ok, f"audit verification failed: {report.first_broken}"
    assert report.state_checked
    with engine.store.connect() as conn:
        codes = [r.code for r in conn.execute(select(projects.c.code).order_by(projects.c.code))]
        for code in codes:
            stored = stored_state(conn, code)
            replayed = replayed_state(chain(conn, code), code)
            assert stored == replayed, f"{code}: stored state differs from the replay of its history"
    return len(codes)


def event_keys(engine: Engine) -> set[tuple[str, int, str]]:
    """(chain, seq, hash) of every stored event."""
    with engine.store.connect() as conn:
        rows = conn.execute(select(events.c.chain, events.c.seq, events.c.hash))
        return {(r.chain, r.seq, r.hash) for r in rows}


def assert_history_obeys_the_rules(engine: Engine, code: str) -> dict[str, int]:
    """Walk one project's history and check each event against the rules *as they stood then*.

    - only holders act: a task/approve/reject event's actor held its role, an advance/hold/
      resume/cancel event's actor held the lead role (per the history's assign/unassign events);
    - at most one advance per phase visit, and only when every task of that visit was done and
      its gate satisfied; one approval per role per visit.
    Returns counts of actions, for tests that want to know the walk went somewhere.
    """
    from workflow.domain.gates import evaluate

    history = engine.history(code)
    tpl = history[0].data["template"]
    definition = engine.template(tpl["key"], tpl["version"])[1]
    lead = definition.lead
    team: dict[str, set[str]] = {}
    phase, round_ = history[0].data["phase"], 1
    done: dict[str, str] = {}
    signed: dict[str, str] = {}
    advanced: set[tuple[str, int]] = set()
    counts: dict[str, int] = {}
    for e in history[1:]:
        counts[e.action] = counts.get(e.action, 0) + 1
        d = e.data
        where = f"{code} event {e.seq} ({e.action} by {e.actor})"
        if e.action in ("task.done", "approve", "withdraw", "reject", "advance", "hold", "resume", "cancel",
                        "task.reopen"):
            role = d["role"]
            assert e.actor in team.get(role, ()), f"{where}: {e.actor} did not hold {role}"
            if e.action in ("advance", "hold", "resume", "cancel"):
                assert role == lead, where
        if e.action in ("task.done", "approve", "withdraw", "task.reopen", "reject", "advance"):
            assert (e.phase, d["round"]) == (phase, round_), f"{where}: not in the current phase visit"
        voided = d.get("voided") or {}
        if e.action == "assign":
            team.setdefault(d["role"], set()).add(d["person"])
        elif e.action == "unassign":
            team[d["role"]].discard(d["person"])
            for v in voided.get("approvals", ()):
                assert signed.pop(v["role"]) == v["person"], f"{where}: voided an approval it did not void"
            assert signed.get(d["role"]) != d["person"], f"{where}: an approval outlived its signer's role"
        elif e.action == "task.done":
            assert d["role"] not in done, f"{where}: task done twice in one visit"
            done[d["role"]] = e.actor
        elif e.action == "task.reopen":
            for v in voided["tasks"]:
                assert done.pop(v["role"]) == v["person"], f"{where}: reopened a task that was not done"
        elif e.action == "approve":
            assert d["role"] not in signed, f"{where}: approved twice for one role in one visit"
            signed[d["role"]] = e.actor
        elif e.action == "withdraw":
            (v,) = voided["approvals"]
            assert signed.pop(v["role"]) == e.actor == v["person"], f"{where}: withdrew someone else's approval"
        elif e.action == "advance":
            current = definition.phase(phase)
            assert current is not None
            evaluation = evaluate(definition, current, done, signed, {r: sorted(p) for r, p in team.items()})
            assert not evaluation.tasks_open and evaluation.gate_satisfied, f"{where}: gate not satisfied"
            assert (phase, round_) not in advanced, f"{where}: advanced twice from one visit"
            advanced.add((phase, round_))
        if e.action in ("advance", "reject") and d.get("to_phase"):
            phase, round_ = d["to_phase"], d["to_round"]
            done, signed = {}, {}
    return counts
