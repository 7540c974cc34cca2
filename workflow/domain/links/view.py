"""What a signing link shows and may do (``Engine.link``), and the pure checks of its inputs.

A link acts for one outside signer (the invited address) in one external role of one project: it sees
the project's current phase, the gate's meaning, the phase's deliverables with their digests, and the
decisions it may make now. Nothing else of the project (no board, no team, no history).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from workflow.domain import inputs, limits
from workflow.domain.results import Result
from workflow.errors import UsageError

APPROVE, REJECT, DONE = "approve", "reject", "done"
DAY = 86400
_SPAN = re.compile(r"([0-9]{1,3})d?")


@dataclass(frozen=True)
class LinkView(Result):
    """A usable link, as its page shows it. ``can``: the decisions it may make now ("approve", "reject",
    "done:ROLE"); ``deliverables``: the current version of each of the phase's deliverables."""

    invitation: str
    project: str
    project_name: str | None
    client: str | None
    role: str
    role_title: str
    email: str
    name: str | None
    status: str
    phase: str
    phase_title: str
    round: int
    gate: str | None  # the gate's title
    gate_description: str | None  # the gate's meaning, the template's words
    meaning: str | None  # what a signature here means ("SOW sign-off for SOW & Estimate, round 1")
    tasks: list[dict[str, Any]] = field(default_factory=list)  # the role's task of the phase: task, done
    deliverables: list[dict[str, Any]] = field(default_factory=list)
    can: list[str] = field(default_factory=list)
    expires_at: str = ""
    code_pending: bool = False  # a code was sent and may still be typed
    code_expires_at: str | None = None


@dataclass(frozen=True)
class Invitation(Result):
    """An invitation as ``invite list`` shows it (never its secret)."""

    id: str
    project: str
    role: str
    email: str
    name: str | None
    person: str  # who the signer acts as in the record
    created_at: str
    created_by: str
    expires_at: str
    state: str  # live | used | expired | revoked
    used_seq: int | None
    code_pending: bool


def expiry_days(value: str | None) -> int:
    """``--expires``: whole days ("14d" or "14"), 1 to the declared maximum; None: the default."""
    if value is None or not str(value).strip():
        return int(limits.INVITE_DAYS.default)
    most = int(limits.INVITE_MAX_DAYS.default)
    found = _SPAN.fullmatch(str(value).strip().lower())
    days = int(found.group(1)) if found else 0
    if not 1 <= days <= most:
        raise UsageError(f"the link's lifetime {inputs.shown(str(value))} is not a number of days from 1 to "
                         f"{most}, such as 14d")
    return days


def decision_of(decision: str, role: str) -> str:
    """The command a decision runs: approve, reject, or ``done`` / ``done:ROLE`` (the link's own role's
    task: a link never acts as another role)."""
    if decision in (APPROVE, REJECT):
        return decision
    if decision == DONE or decision == f"{DONE}:{role}":
        return DONE
    raise UsageError(f"a link's decision is approve, reject or done:{role}, "
                     f"not {inputs.shown(str(decision))}")


def state_of(row: Any, now: str) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.used_seq is not None:
        return "used"
    return "expired" if row.expires_at <= now else "live"
