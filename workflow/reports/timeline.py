"""Timelines from the history: each phase visit, time in work versus time waiting on each gate role.

A *visit* is one round of one phase: it starts with the event that entered the
phase (create, advance, or a reject that sent the project back) and ends with the
event that left it (advance, reject, cancel, or completion). Inside a visit:

- *work* runs from the start until the last of the phase's tasks is done;
- *waiting on a gate role* runs from that moment until the role's approval (zero
  when the role approved before the last task was done); a role that never signed
  in the visit waits until the visit ended (or until now, for the current visit);
- time on hold is reported per visit (each hold with who, why and until when) but not
  subtracted: the clock of a phase keeps running while it is held, which is what a client sees.

Everything here is computed from events alone (no table but ``events`` is read),
so a report is as trustworthy as ``audit verify`` says the chain is.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from workflow.domain.audit.events import Event
from workflow.domain.templates.definition import Definition
from workflow.errors import AuditBroken
from workflow.reports.text import count, duration


@dataclass
class GateWait:
    role: str
    role_title: str
    person: str | None  # who signed for the role in this visit (None: nobody yet)
    signed_at: str | None
    wait_seconds: float | None  # None: the tasks were never all done in this visit


@dataclass
class Signature:
    seq: int
    at: str
    person: str
    role: str
    role_title: str
    decision: str  # approved | rejected
    meaning: str
    comment: str | None
    deliverables: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {version, sha256} signed


@dataclass
class PassedWith:
    """A deliverable's version the approvals that passed a gate had signed (issue 23)."""

    key: str
    title: str
    version: int
    sha256: str | None  # None: a link, whose content phasegate has not seen


@dataclass
class Voided:
    """An approval that no longer counts, and what took it back: its signer's withdrawal, or the
    signer's removal from the role (an audit report shows what was voided and by whom)."""

    approval: Signature  # the approval as it was given
    seq: int  # the event that voided it
    at: str
    by: str
    action: str  # withdraw | unassign | deliverable.add (a new version of what it signed)
    reason: str | None


@dataclass
class Hold:
    started_at: str
    by: str
    reason: str | None
    ended_at: str | None  # the resume; None: held until the visit ended (cancel) or still held


@dataclass
class Visit:
    phase: str
    phase_title: str
    round: int
    started_at: str
    ended_at: str | None  # None: the project is still in this visit
    ended_by: str | None  # advance | reject | cancel | completed | None
    tasks_done_at: str | None
    work_seconds: float
    held_seconds: float
    waits: list[GateWait] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    voided: list[Voided] = field(default_factory=list)  # withdrawn approvals, in the order voided
    passed_with: list[PassedWith] = field(default_factory=list)  # the versions the gate was passed with
    # Planned against actual: the phase's duration in the template, the round's due date as the
    # record has it (moved by ``project due`` and holds), and whether it ended (or stands) past it.
    planned: str | None = None
    due_on: str | None = None
    late: bool | None = None  # None: no due date

    @property
    def duration_seconds(self) -> float | None:
        return None if self.ended_at is None else _seconds(self.started_at, self.ended_at)


@dataclass
class ProjectReport:
    code: str
    template: str
    template_version: int
    status: str
    created_at: str
    as_of: str
    visits: list[Visit]
    # From the history too, with defaults so a report built by hand still works:
    name: str | None = None  # as given at creation
    client: str | None = None
    ended_at: str | None = None  # the completion or cancellation; None while the project can still move
    head_hash: str | None = None  # the hash of the project's last event: what `audit verify` vouches for
    head_seq: int | None = None

    @property
    def end(self) -> str:
        """Where the project's clock stops: its completion or cancellation, else the report's moment."""
        return self.ended_at or self.as_of

    @property
    def signatures(self) -> list[Signature]:
        return [s for v in self.visits for s in v.signatures]

    @property
    def voided(self) -> list[Voided]:
        return [w for v in self.visits for w in v.voided]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for v, vd in zip(self.visits, d["visits"], strict=True):
            vd["duration_seconds"] = v.duration_seconds
        return d


@dataclass
class PhaseSummary:
    phase: str
    phase_title: str
    visits: int  # finished visits the medians are taken over
    median_seconds: float | None
    median_work_seconds: float | None


@dataclass
class RoleWaitSummary:
    phase: str | None  # None: the role over all phases
    role: str
    role_title: str
    signed: int
    median_wait_seconds: float | None


@dataclass
class TemplateReport:
    template: str
    projects: int
    phases: list[PhaseSummary]
    roles: list[RoleWaitSummary]  # per (phase, role), then per role overall
    longest_waits: list[str]  # sentences: where projects wait longest, longest first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _time(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def _seconds(start: str, end: str) -> float:
    return max(0.0, (_time(end) - _time(start)).total_seconds())


def project_report(code: str, events: Iterable[Event], definition: Definition, now: str) -> ProjectReport:
    """Cut the project's history into visits and time them, reading the events once, as they come
    (memory grows with the visits, not with the events)."""
    stream = iter(events)
    first = next(stream, None)
    if first is None or first.action != "create":
        raise AuditBroken(f"project {code}: its history does not start with its creation; "
                          f"run `phasegate audit verify {code}`")
    timeline = _Timeline(definition, now)
    last = first
    timeline.read(first)
    for last in stream:
        timeline.read(last)
    if timeline.current is not None:
        timeline.close(timeline.current, None, None)
    created = first.data
    ref: dict[str, Any] = created["template"]
    return ProjectReport(code, ref["key"], ref["version"], timeline.status, first.at, now,
                         timeline.visits, name=created.get("name"), client=created.get("client"),
                         ended_at=timeline.ended_at, head_hash=last.hash, head_seq=last.seq)


@dataclass
class _OpenVisit:
    """The visit being read: what has happened in it so far."""

    phase: str
    round: int
    start: str
    tasks: dict[str, str] = field(default_factory=dict)  # role -> when its task was first done
    approved: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (person, at), the first
    signatures: list[Signature] = field(default_factory=list)
    held: float = 0.0  # seconds on hold, holds already resumed
    hold_start: str | None = None
    holds: list[Hold] = field(default_factory=list)
    voided: list[Voided] = field(default_factory=list)
    due: str | None = None  # the round's due date, as the events set it


class _Timeline:
    """Reads a project's events in order, one visit open at a time, and closes each into a :class:`Visit`."""

    def __init__(self, definition: Definition, as_of: str) -> None:
        self.definition = definition
        self.as_of = as_of
        self.visits: list[Visit] = []
        self.current: _OpenVisit | None = None
        self.status = "active"
        self.ended_at: str | None = None

    def read(self, e: Event) -> None:
        d, v = e.data, self.current
        if e.action == "create":
            self.current = _OpenVisit(d["phase"], d["round"], e.at, due=d.get("due_on"))
        elif v is None:
            return
        elif e.action == "due":
            if d.get("for_phase") == v.phase:
                v.due = d.get("due_on")
        elif e.action == "task.done":
            v.tasks.setdefault(d["role"], e.at)
        elif e.action in ("approve", "reject"):
            self.signed(v, e)
        elif e.action in ("withdraw", "task.reopen", "unassign", "deliverable.add"):
            self.voided(v, e, d.get("voided") or {})
        elif e.action == "advance":
            self.advanced(v, e)
        elif e.action == "hold":
            v.hold_start, self.status = e.at, "on_hold"
            v.holds.append(Hold(e.at, e.actor, d.get("reason"), None))
        elif e.action == "resume":
            self.resumed(v, e)
        elif e.action == "cancel":
            self.close(v, e.at, "cancel")
            self.current, self.status, self.ended_at = None, "cancelled", e.at

    def signed(self, v: _OpenVisit, e: Event) -> None:
        d = e.data
        role = d["role"]
        if e.action == "approve":
            v.approved.setdefault(role, (e.actor, e.at))
        v.signatures.append(Signature(
            e.seq, e.at, e.actor, role, d.get("role_title", role), d.get("decision", e.action),
            d.get("meaning", ""), d.get("comment") if e.action == "approve" else d.get("reason"),
            d.get("deliverables") or {}))
        if e.action == "reject":
            self.close(v, e.at, "reject")
            self.current = _OpenVisit(d["to_phase"], d["to_round"], e.at, due=d.get("due_on"))

    def voided(self, v: _OpenVisit, e: Event, voided: dict[str, Any]) -> None:
        """An undo: a withdrawn approval no longer signs the visit, a reopened task is open again
        (the work and the wait are timed to the ones that stood); the withdrawn approval is kept
        in the visit's ``voided``, with the event that voided it."""
        for t in voided.get("tasks", ()):
            v.tasks.pop(t["role"], None)
        gone = {a["seq"] for a in voided.get("approvals", ())}
        if gone:
            reason = e.data.get("reason") if e.action == "withdraw" else None
            v.voided += [Voided(s, e.seq, e.at, e.actor, e.action, reason)
                         for s in v.signatures if s.seq in gone]
            v.signatures = [s for s in v.signatures if s.seq not in gone]
            for a in voided["approvals"]:
                v.approved.pop(a["role"], None)

    def advanced(self, v: _OpenVisit, e: Event) -> None:
        d = e.data
        if d.get("status") == "completed":
            self.close(v, e.at, "completed")
            self.current, self.status, self.ended_at = None, "completed", e.at
        else:
            self.close(v, e.at, "advance")
            self.current = _OpenVisit(d["to_phase"], d["to_round"], e.at, due=d.get("due_on"))

    def resumed(self, v: _OpenVisit, e: Event) -> None:
        if v.hold_start:
            v.held += _seconds(v.hold_start, e.at)
        if v.holds:
            v.holds[-1].ended_at = e.at
        v.hold_start, self.status = None, "active"
        if "due_on" in e.data:  # the hold moved the due date
            v.due = e.data["due_on"]

    def close(self, v: _OpenVisit, end: str | None, how: str | None) -> None:
        """The visit ended at ``end`` (None: it is the current one): time its work, holds and waits."""
        phase = self.definition.phase(v.phase)
        assert phase is not None
        needed = {role for role, _task in phase.tasks}
        done_at: str | None = v.start
        if needed:
            done = [v.tasks[r] for r in needed if r in v.tasks]
            done_at = max(done) if len(done) == len(needed) else None
        until = end or self.as_of
        held = v.held + (_seconds(v.hold_start, until) if v.hold_start else 0.0)
        waits = self.waits(v, phase.gate.approvers, done_at, until) if phase.gate is not None else []
        signed = {k: b for s in v.signatures if s.decision == "approved" for k, b in s.deliverables.items()}
        passed = [PassedWith(k, d.title if (d := phase.deliverable(k)) else k, b["version"], b["sha256"])
                  for k, b in sorted(signed.items())] if how in ("advance", "completed") else []
        self.visits.append(Visit(
            phase=phase.key, phase_title=phase.title, round=v.round, started_at=v.start, ended_at=end,
            ended_by=how, tasks_done_at=done_at, work_seconds=_seconds(v.start, done_at or until),
            held_seconds=held, waits=waits, signatures=v.signatures, holds=v.holds,
            voided=v.voided, passed_with=passed,
            planned=phase.duration, due_on=v.due, late=None if v.due is None else until[:10] > v.due,
        ))

    def waits(self, v: _OpenVisit, approvers: Iterable[str], done_at: str | None,
              until: str) -> list[GateWait]:
        """Each gate role's wait, from the last task done until its approval (or ``until``)."""
        waits = []
        for role in approvers:
            signed = v.approved.get(role)
            if done_at is None:
                wait = None
            elif signed is not None:
                wait = _seconds(done_at, signed[1]) if signed[1] > done_at else 0.0
            else:
                wait = _seconds(done_at, until)
            waits.append(GateWait(role, self.definition.role_title(role), signed[0] if signed else None,
                                  signed[1] if signed else None, wait))
        return waits


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(key: str, reports: Sequence[ProjectReport]) -> TemplateReport:
    """Medians over every finished visit of every project of one template (all versions)."""
    phases: dict[str, dict[str, Any]] = {}
    per_phase_role: dict[tuple[str, str], dict[str, Any]] = {}
    per_role: dict[str, dict[str, Any]] = {}
    for rep in reports:
        for v in rep.visits:
            p = phases.setdefault(v.phase, {"title": v.phase_title, "durations": [], "work": []})
            if v.ended_at is not None:
                p["durations"].append(v.duration_seconds)
                p["work"].append(v.work_seconds)
            for w in v.waits:
                if w.signed_at is None or w.wait_seconds is None:
                    continue
                fresh = {"title": w.role_title, "waits": []}
                for bucket in (per_phase_role.setdefault((v.phase, w.role), dict(fresh, waits=[])),
                               per_role.setdefault(w.role, dict(fresh, waits=[]))):
                    bucket["waits"].append(w.wait_seconds)
    phase_rows = [PhaseSummary(k, p["title"], len(p["durations"]), _median(p["durations"]),
                               _median(p["work"])) for k, p in phases.items()]
    role_rows = [RoleWaitSummary(ph, role, b["title"], len(b["waits"]), _median(b["waits"]))
                 for (ph, role), b in per_phase_role.items()]
    role_rows += [RoleWaitSummary(None, role, b["title"], len(b["waits"]), _median(b["waits"]))
                  for role, b in per_role.items()]
    titles = {p.phase: p.phase_title for p in phase_rows}
    ranked = sorted((r for r in role_rows if r.phase is not None and r.median_wait_seconds),
                    key=lambda r: -(r.median_wait_seconds or 0))
    longest = [f"{titles.get(r.phase or '', r.phase)}: waiting on the {r.role_title} "
               f"(median {duration(r.median_wait_seconds)}, {count(r.signed, 'sign-off')})"
               for r in ranked[:3]]
    slow = sorted((p for p in phase_rows if p.median_seconds), key=lambda p: -(p.median_seconds or 0))
    longest += [f"{p.phase_title}: median visit {duration(p.median_seconds)} over {count(p.visits, 'visit')}"
                for p in slow[:3]]
    return TemplateReport(key, len(reports), phase_rows, role_rows, longest)
