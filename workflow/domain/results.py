"""What the Engine hands back: typed, read-only views with a ``to_dict()`` for ``--json``.

Field names are the contract of ``project status --json`` and history events
(product.md); add fields freely, never rename.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class TaskStatus:
    role: str
    role_title: str
    task: str
    done: bool
    by: str | None = None
    at: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Approval:
    role: str
    role_title: str
    person: str
    at: str
    comment: str | None = None


@dataclass(frozen=True)
class GateStatus:
    title: str
    approvers: list[str]
    required: str | int
    distinct_people: bool
    on_reject: str
    satisfied: bool
    missing: list[str]
    approvals: list[Approval]


@dataclass(frozen=True)
class ProjectStatus:
    code: str
    name: str | None
    client: str | None
    template: str
    template_version: int
    template_sha256: str
    phase: str
    phase_title: str
    phase_number: int
    phase_count: int
    round: int
    status: str
    lead: str
    can_advance: bool
    blockers: list[str]
    tasks: list[TaskStatus]
    gate: GateStatus | None
    team: dict[str, list[str]]
    seq: int
    updated_at: str
    as_of: str | None = None  # set when the status was rebuilt from history at a past moment

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProjectSummary:
    code: str
    name: str | None
    client: str | None
    template: str
    template_version: int
    phase: str
    phase_title: str
    round: int
    status: str
    waiting_on: list[str]
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TemplateInfo:
    key: str
    version: int
    title: str
    sha256: str
    published_at: str
    published_by: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BrokenEvent:
    chain: str
    seq: int
    problem: str  # edited | missing | reordered | forked | ...
    detail: str

    def __str__(self) -> str:
        where = "templates and grants" if self.chain.startswith("@") else f"project {self.chain}"
        return f"{where}, event {self.seq}: {self.problem} ({self.detail})"


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    events_checked: int
    chains_checked: int
    first_broken: BrokenEvent | None = None
    checkpoint_chains: int | None = None  # chains a checkpoint was checked against (None: no checkpoint)
    checkpoint_created_at: str | None = None
    checkpoint_signed: bool | None = None  # True: HMAC checked; False: no signature was required

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["first_broken"] = (
            None
            if self.first_broken is None
            else {
                **asdict(self.first_broken),
                "project": None if self.first_broken.chain.startswith("@") else self.first_broken.chain,
            }
        )
        return d
