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
    "create", "assign", "unassign", "due", "task.done", "task.reopen", "approve", "withdraw", "reject",
    "advance", "hold", "resume", "cancel", "deliverable.add", "invite", "invite.revoke",
)  # fmt: skip
# What phasegate's clock (``tick``) records in a project's chain: reminders, escalations, overdue notices.
CLOCK_ACTIONS: Final[tuple[str, ...]] = ("remind", "escalate", "overdue")
# Every action a project's history holds (what ``history --action`` and the web's filters accept).
HISTORY_ACTIONS: Final[tuple[str, ...]] = PROJECT_ACTIONS + CLOCK_ACTIONS
# The moves the compiled machine knows (workflow.domain.templates.machine); the lead makes all but reject.
TRIGGERS: Final[tuple[str, ...]] = ("advance", "reject", "hold", "resume", "cancel")
# What the system chain (templates, grants, accounts, tokens, webhooks, e-mail choices) records; what
# each action means and what its data holds: workflow.domain.audit.actions.
SYSTEM_ACTIONS: Final[tuple[str, ...]] = (
    "template.publish", "grant", "revoke", "user.add", "user.disable", "user.enable", "user.password",
    "token.create", "token.revoke", "calendar.key", "webhook.add", "webhook.remove", "notify.email",
    "notify.retry", "delegate", "delegate.end",
)  # fmt: skip
# Every action of every chain (what the audit search across projects accepts).
EVENT_ACTIONS: Final[tuple[str, ...]] = HISTORY_ACTIONS + SYSTEM_ACTIONS

# How the person acting was authenticated, recorded in every event (covered by its hash):
# asserted (direct-database mode: --as or the OS login, trusted because the caller can write
# the database), password (a web session), token (an API token), proxy (a trusted SSO header);
# system: phasegate's own clock (``tick``'s reminders, escalations and overdue notices); email-link: an
# external signer (issue 24) with an invitation's link and the one-time code e-mailed to its address.
Auth = Literal["asserted", "password", "token", "proxy", "system", "email-link"]
AUTHS: Final[tuple[Auth, ...]] = get_args(Auth)
ASSERTED: Final = "asserted"
EMAIL_LINK: Final = "email-link"
# An external signer's name in the record: this prefix and the invited address (a login has no ':').
EXTERNAL_PREFIX: Final = "client:"
# Among a person's grants as a command reads them: their account is disabled (every command refused).
DISABLED: Final = "disabled"

SYSTEM_ACTOR: Final = "phasegate"  # who publishes the built-in templates and records tick's notices
SYSTEM: Final = "system"
