"""The words phasegate's records are made of: statuses, grants, actions.

One definition each, used by the tables' check constraints, the CLI's choices, the
engine, replay and reports, so a new status or action is added in exactly one place.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Status = Literal["active", "on_hold", "completed", "cancelled"]
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
ACTIVE: Final = "active"
ON_HOLD: Final = "on_hold"
COMPLETED: Final = "completed"
CANCELLED: Final = "cancelled"
CLOSED: Final[frozenset[str]] = frozenset({COMPLETED, CANCELLED})  # nothing moves these any more
# The statuses that are states of the compiled machine beside the phases (so no phase may take
# their names; "active" is not one: an active project's machine state is its phase).
STATUS_STATES: Final[tuple[Status, ...]] = ("on_hold", "completed", "cancelled")

Privilege = Literal["admin", "auditor"]
PRIVILEGES: Final[tuple[Privilege, ...]] = get_args(Privilege)
READ_EVERYTHING: Final[frozenset[str]] = frozenset(PRIVILEGES)  # both grants read every project

# What a project's events record, in the order a project usually meets them.
PROJECT_ACTIONS: Final[tuple[str, ...]] = (
    "create", "assign", "unassign", "task.done", "task.reopen", "approve", "withdraw", "reject", "advance",
    "hold", "resume", "cancel",
)  # fmt: skip
# The moves the compiled machine knows (workflow.domain.machine); the lead makes all but reject.
TRIGGERS: Final[tuple[str, ...]] = ("advance", "reject", "hold", "resume", "cancel")
# What the system chain (templates and grants) records.
SYSTEM_ACTIONS: Final[tuple[str, ...]] = ("template.publish", "grant", "revoke")

SYSTEM_ACTOR: Final = "phasegate"  # who publishes the built-in templates
