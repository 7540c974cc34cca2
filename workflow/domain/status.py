"""A project's state as it reads: ``project status`` (:func:`project_status`) and its line on the board
(:func:`project_summary`), built from the state and the template version it is pinned to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from workflow.domain.results import Approval, GateStatus, ProjectStatus, ProjectSummary, TaskStatus
from workflow.domain.schedule.clock import due_view
from workflow.domain.vocabulary import ACTIVE, CLOSED, ON_HOLD

if TYPE_CHECKING:
    from workflow.domain.audit.events import Event
    from workflow.domain.state import ProjectState
    from workflow.domain.templates.definition import Definition
    from workflow.domain.templates.version import TemplateVersion


def project_status(
    state: ProjectState,
    tpl: TemplateVersion,
    as_of: str | None = None,
    *,
    recent: Mapping[str, Event] | None = None,
    now: str | None = None,
) -> ProjectStatus:
    """What ``project status`` shows for ``state`` (rebuilt from history when ``as_of`` is set).

    ``recent``: the project's latest ``hold`` and ``reject`` events, if it has any (the
    status then says why it is held and what its last rejection said).
    """
    definition = tpl.definition
    phase = state.phase_of(definition)
    evaluation = state.evaluation(definition)
    tasks = [
        _task_status(definition.role_title(role), role, task, state.tasks.get(role))
        for role, task in phase.tasks
    ]
    gate = None
    if phase.gate is not None:
        g = phase.gate
        approvals = [
            Approval(r, definition.role_title(r), a.person, a.at, a.comment, a.auth)
            for r in g.approvers
            if (a := state.approvals.get(r)) is not None
        ]
        gate = GateStatus(
            g.title,
            list(g.approvers),
            g.required,
            g.distinct_people,
            g.on_reject,
            evaluation.gate_satisfied,
            list(evaluation.gate_missing),
            approvals,
        )
    status = ProjectStatus(
        code=state.code,
        name=state.name,
        client=state.client,
        template=tpl.key,
        template_version=tpl.version,
        template_sha256=tpl.sha256,
        phase=state.phase,
        phase_title=phase.title,
        phase_number=definition.phase_position(state.phase) + 1,
        phase_count=len(definition.phases),
        round=state.round,
        status=state.status,
        lead=definition.lead,
        can_advance=state.status == ACTIVE and evaluation.ready,
        blockers=_blockers(state, definition, list(evaluation.blockers), evaluation.ready),
        tasks=tasks,
        gate=gate,
        team={r.key: list(state.team.get(r.key, ())) for r in definition.roles},
        seq=state.seq,
        updated_at=state.updated_at,
        as_of=as_of,
        waiting=_waiting(evaluation, definition, phase) if state.status == ACTIVE else [],
        hold=_hold(recent or {}) if state.status == ON_HOLD else None,
        rounds=json.loads(state.rounds),
        last_rejection=_rejection((recent or {}).get("reject")),
        **due_view(definition, state.clock, state.phase, state.status, as_of or now),
        deliverables=[
            {"key": d.key, "title": d.title, "required": d.required, "by": list(d.by),
             "current": None if (c := state.deliverables.get(d.key)) is None else c._asdict()}
            for d in phase.deliverables
        ],
    )
    return status


def _waiting(evaluation: Any, definition: Definition, phase: Any) -> list[dict[str, Any]]:
    """Who can clear what now; each entry's ``title`` is what is owed: the task's own words ("Write
    the brief"), or the gate's title for a sign-off."""
    tasks = dict(phase.tasks)
    gate = phase.gate.title if phase.gate is not None else ""

    def entry(kind: str, role: str, people: tuple[str, ...], title: str) -> dict[str, Any]:
        return {"kind": kind, "role": role, "role_title": definition.role_title(role), "people": list(people),
                "title": title}

    return [entry("task", r, p, tasks.get(r, "")) for r, p in evaluation.can_do.items()] + [
        entry("approval", r, p, gate) for r, p in evaluation.can_sign.items()
    ]


def _hold(recent: Mapping[str, Event]) -> dict[str, Any] | None:
    event = recent.get("hold")
    return None if event is None else {"by": event.actor, "at": event.at, "reason": event.data.get("reason")}


def _rejection(event: Event | None) -> dict[str, Any] | None:
    if event is None:
        return None
    d = event.data
    return {
        "by": event.actor,
        "at": event.at,
        "role": d.get("role"),
        "role_title": d.get("role_title"),
        "reason": d.get("reason"),
        "gate": d.get("gate"),
        "phase": event.phase,
        "phase_title": d.get("phase_title"),
        "round": d.get("round"),
        "to_phase": d.get("to_phase"),
        "to_round": d.get("to_round"),
    }


def _task_status(role_title: str, role: str, task: str, done: Any) -> TaskStatus:
    if done is None:
        return TaskStatus(role, role_title, task, False)
    return TaskStatus(role, role_title, task, True, done.person, done.at, done.note, done.auth)


def _blockers(state: ProjectState, definition: Any, blockers: list[str], ready: bool) -> list[str]:
    if state.status == ON_HOLD:
        lead_people = ", ".join(state.team.get(definition.lead, ())) or "nobody holds this role yet"
        return [
            f"the project is on hold: the {definition.role_title(definition.lead)} can resume it "
            f"({lead_people})"
        ]
    if state.status in CLOSED:
        return [f"the project is {state.status}"]
    return [] if ready else blockers


def project_summary(state: ProjectState, tpl: TemplateVersion, now: str | None = None) -> ProjectSummary:
    """One line of the board: where the project is and what it waits on (on hold: on the people who
    can resume it, an entry of kind "resume")."""
    status = project_status(state, tpl, now=now)
    lead_people = list(status.team.get(status.lead, []))
    waiting = status.waiting
    if state.status == ON_HOLD:
        title = tpl.definition.role_title(status.lead)
        waiting = [{"kind": "resume", "role": status.lead, "role_title": title, "people": lead_people,
                    "title": "resume the project"}]
    return ProjectSummary(
        code=state.code,
        name=state.name,
        client=state.client,
        template=tpl.key,
        template_version=tpl.version,
        phase=state.phase,
        phase_title=status.phase_title,
        round=state.round,
        status=state.status,
        waiting_on=status.blockers,
        updated_at=state.updated_at,
        waiting=waiting,
        can_advance=status.can_advance,
        lead=status.lead,
        lead_people=lead_people,
        seq=state.seq,
        phase_number=status.phase_number,
        phase_count=status.phase_count,
        due=status.due,
        overdue=status.overdue,
        due_in_days=status.due_in_days,
    )
