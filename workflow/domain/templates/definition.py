"""A process template as plain, frozen data: what the loader produces and the machine compiles.

Nothing here knows YAML, SQL or terminals; it is the vocabulary the rest of
phasegate speaks (roles, phases, tasks, gates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Required = Literal["all", "any"] | int


def possessive(title: str) -> str:
    """"Team" -> "Team's"; a plural title ("Tech & Creative Leads") -> "Tech & Creative Leads'"."""
    return f"{title}'" if title.endswith("s") else f"{title}'s"


@dataclass(frozen=True)
class Role:
    key: str
    title: str
    description: str | None = None
    external: bool = False  # an outside signer (the client): invited by e-mail, never given to an account


@dataclass(frozen=True)
class Gate:
    title: str
    approvers: tuple[str, ...]
    required: Required = "all"
    distinct_people: bool = True
    on_reject: str = ""  # filled with the owning phase's key by the loader when absent
    description: str | None = None
    # When a signer waited on this long is reminded, and the gate escalated (spans: "2d" working
    # days, "4h" hours; workflow/domain/schedule.py), and to whom: "lead", "admin" or a role key.
    remind_after: str | None = None
    escalate_after: str | None = None
    escalate_to: str | None = None
    # Separation of duties (workflow/domain/templates/duties.py): "PHASE.gate" or "PHASE.task.ROLE" whose
    # people may not sign this gate; and whether a delegate may sign it on someone's behalf.
    distinct_from: tuple[str, ...] = ()
    delegable: bool = True

    @property
    def needed(self) -> int:
        """How many distinct approver roles must approve for the gate to open."""
        if self.required == "all":
            return len(self.approvers)
        if self.required == "any":
            return 1
        return int(self.required)


@dataclass(frozen=True)
class Deliverable:
    """Something a phase produces and its gate signs: versions of it are added by the holders of the
    roles in ``by``; a ``required`` one must be in before the gate can be approved or the phase left.

    ``carry_over``: what may change in a new version (``note``, ``name``) while the approvals
    given to the previous one still count; never the bytes (a changed sha256 always voids them)."""

    key: str
    title: str
    by: tuple[str, ...]  # filled by the loader when absent: the roles with a task in the phase, and the lead
    required: bool = True
    carry_over: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class Phase:
    key: str
    title: str
    tasks: tuple[tuple[str, str], ...]  # (role key, task text), in the template's role order
    gate: Gate | None = None
    description: str | None = None
    duration: str | None = None  # the time a round of the phase is planned to take ("5d": working days)
    deliverables: tuple[Deliverable, ...] = ()

    def deliverable(self, key: str) -> Deliverable | None:
        for d in self.deliverables:
            if d.key == key:
                return d
        return None

    @property
    def task_roles(self) -> tuple[str, ...]:
        return tuple(role for role, _ in self.tasks)

    def task_of(self, role: str) -> str | None:
        for key, text in self.tasks:
            if key == role:
                return text
        return None


@dataclass(frozen=True)
class Definition:
    key: str
    title: str
    roles: tuple[Role, ...]
    lead: str
    phases: tuple[Phase, ...]
    description: str | None = None
    _phase_index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._phase_index.update({p.key: i for i, p in enumerate(self.phases)})

    @property
    def role_keys(self) -> tuple[str, ...]:
        return tuple(r.key for r in self.roles)

    @property
    def phase_keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.phases)

    def role(self, key: str) -> Role | None:
        for r in self.roles:
            if r.key == key:
                return r
        return None

    def is_external(self, key: str) -> bool:
        r = self.role(key)
        return r is not None and r.external

    def role_title(self, key: str) -> str:
        r = self.role(key)
        return r.title if r else key

    def phase(self, key: str) -> Phase | None:
        i = self._phase_index.get(key)
        return None if i is None else self.phases[i]

    def phase_position(self, key: str) -> int:
        return self._phase_index[key]


def definition_to_dict(definition: Definition) -> dict[str, Any]:
    """Plain data for the compiled definition (stored beside a template version's text)."""
    return {
        "key": definition.key,
        "title": definition.title,
        "description": definition.description,
        "lead": definition.lead,
        # an external role's entry has a fourth item (stored definitions from before have three)
        "roles": [[r.key, r.title, r.description, *([True] if r.external else [])] for r in definition.roles],
        "phases": [
            {
                "key": p.key,
                "title": p.title,
                "description": p.description,
                "tasks": [list(t) for t in p.tasks],
                "gate": None
                if p.gate is None
                else {
                    "title": p.gate.title,
                    "approvers": list(p.gate.approvers),
                    "required": p.gate.required,
                    "distinct_people": p.gate.distinct_people,
                    "on_reject": p.gate.on_reject,
                    "description": p.gate.description,
                    "remind_after": p.gate.remind_after,
                    "escalate_after": p.gate.escalate_after,
                    "escalate_to": p.gate.escalate_to,
                    # written only when set: a template without them compiles as it always did
                    **({"distinct_from": list(p.gate.distinct_from)} if p.gate.distinct_from else {}),
                    **({"delegable": False} if not p.gate.delegable else {}),
                },
                "duration": p.duration,
                **({"deliverables": [
                    {"key": d.key, "title": d.title, "by": list(d.by), "required": d.required,
                     "carry_over": list(d.carry_over), "description": d.description}
                    for d in p.deliverables]} if p.deliverables else {}),
            }
            for p in definition.phases
        ],
    }


def definition_from_dict(data: dict[str, Any]) -> Definition:
    """The inverse of :func:`definition_to_dict` (the data was validated when it was published)."""
    phases = []
    for p in data["phases"]:
        g = p["gate"]
        gate = (
            None
            if g is None
            else Gate(
                g["title"],
                tuple(g["approvers"]),
                g["required"],
                g["distinct_people"],
                g["on_reject"],
                g["description"],
                g.get("remind_after"),  # compiled before schedules existed: none
                g.get("escalate_after"),
                g.get("escalate_to"),
                tuple(g.get("distinct_from", ())),  # compiled before separation of duties: none
                g.get("delegable", True),
            )
        )
        tasks = tuple((r, t) for r, t in p["tasks"])
        # compiled before deliverables existed: none
        deliverables = tuple(Deliverable(d["key"], d["title"], tuple(d["by"]), d["required"],
                                         tuple(d["carry_over"]), d.get("description"))
                             for d in p.get("deliverables", ()))
        phases.append(Phase(p["key"], p["title"], tasks, gate, p["description"], p.get("duration"),
                            deliverables))
    return Definition(
        key=data["key"],
        title=data["title"],
        roles=tuple(Role(*r) for r in data["roles"]),
        lead=data["lead"],
        phases=tuple(phases),
        description=data["description"],
    )
