"""A process template as plain, frozen data: what the loader produces and the machine compiles.

Nothing here knows YAML, SQL or terminals; it is the vocabulary the rest of
phasegate speaks (roles, phases, tasks, gates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Required = Literal["all", "any"] | int


@dataclass(frozen=True)
class Role:
    key: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class Gate:
    title: str
    approvers: tuple[str, ...]
    required: Required = "all"
    distinct_people: bool = True
    on_reject: str = ""  # filled with the owning phase's key by the loader when absent
    description: str | None = None

    @property
    def needed(self) -> int:
        """How many distinct approver roles must approve for the gate to open."""
        if self.required == "all":
            return len(self.approvers)
        if self.required == "any":
            return 1
        return int(self.required)


@dataclass(frozen=True)
class Phase:
    key: str
    title: str
    tasks: tuple[tuple[str, str], ...]  # (role key, task text), in the template's role order
    gate: Gate | None = None
    description: str | None = None

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

    def role_title(self, key: str) -> str:
        r = self.role(key)
        return r.title if r else key

    def phase(self, key: str) -> Phase | None:
        i = self._phase_index.get(key)
        return None if i is None else self.phases[i]

    def phase_position(self, key: str) -> int:
        return self._phase_index[key]

    def next_phase(self, key: str) -> Phase | None:
        """The phase after ``key`` on the happy path, or None after the last one."""
        i = self._phase_index[key] + 1
        return self.phases[i] if i < len(self.phases) else None
