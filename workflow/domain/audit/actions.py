"""What each event action means and what its ``data`` holds, declared once.

The actions themselves are :mod:`workflow.domain.vocabulary`'s (``EVENT_ACTIONS``); this table
says, for each, one sentence and the ``data`` fields it records besides the fields every event of
its chain carries (:data:`PROJECT_FIELDS`, :data:`SYSTEM_FIELDS`). The docs' event reference
(docs/reference/events.md) is generated from it, and a test records every action through the
engine and fails on a field missing here (tests/docs/test_reference_events.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from workflow.domain.vocabulary import SYSTEM_ACTIONS

Chain = Literal["project", "system"]

_PERSON = "who it concerns (a login name)"
_REASON = "why, as the person gave it"
_GATE = "the gate's title"
_MEANING = "what the signature meant: gate, phase and round in words (`QA sign-off for Build, round 2`)"
_VOIDED = ("what the move cancelled: `tasks` and/or `approvals`, each a list of `{role, person, seq}` "
           "(`seq`: the event that had recorded it)")
_PEOPLE = "who the notice went to (login names)"
_BEHALF = "whom the actor acted for through a delegation (absent: themselves)"
_DELEGATION = "the delegation the actor acted through (absent: none)"

#: Every project event's data may hold these (``record`` in workflow/storage/transaction.py adds them).
PROJECT_FIELDS: Final = MappingProxyType({
    "template": "the template version it happened under: `{key, version, sha256}`",
    "phase_title": "the title of the phase the project was in",
    "round": "the round of that phase (1, then one more after each rejection back to it)",
    "auth": "how the actor was authenticated: `asserted`, `password`, `token`, `proxy`, `system` or "
            "`email-link` (an outside signer: an invitation's link and the code e-mailed to its address)",
    "email": "an outside signer's decision (`auth: email-link`): the invited address the code went to",
    "invitation": "an outside signer's decision: the invitation whose link was used",
    "code_delivery": "an outside signer's decision: the outbox id of the e-mail that carried the code typed",
    "shown": "an outside signer's approval: the digests the link's page showed (`{key: sha256}`)",
    "ip": "an outside signer's decision: the client's address, as evidence",
    "user_agent": "an outside signer's decision: the browser's user agent, as evidence",
    "role": "the role that gave the actor the right to act (absent when none was needed)",
    "role_title": "that role's title",
    "authority": "the role and the `assignment_seq` of the event that gave the actor that role (a delegate: "
                 "the person they act for)",
    "due_on": "the phase's due date, when this event set or moved it (a new round's)",
    "gate_opened_at": "when the gate opened (every task done), when this event opened or closed it",
})
#: Every system event's data holds this (``append_system_event`` in workflow/storage/chains.py).
SYSTEM_FIELDS: Final = MappingProxyType({
    "auth": "how the actor was authenticated: `asserted`, `password`, `token`, `proxy` or `system`",
})


@dataclass(frozen=True)
class Action:
    """One action: what it records, and its own ``data`` fields (name -> meaning)."""

    meaning: str
    data: MappingProxyType[str, str]


def _a(meaning: str, /, **data: str) -> Action:
    return Action(meaning, MappingProxyType(data))


ACTIONS: Final[MappingProxyType[str, Action]] = MappingProxyType({
    # a project's chain
    "create": _a(
        "A project was created on a template, in its first phase (round 1).",
        name="the project's name", client="the client's name", phase="the first phase's key",
        calendar="the working calendar due dates count in (`GB-ENG`; absent: Monday to Friday)",
        starts_on="the day the schedule starts from, when given"),
    "assign": _a("A person was given a role on the project.", person="who now holds the role"),
    "unassign": _a(
        "A person's role on the project was taken away; their approval in the current round goes too.",
        person="who no longer holds the role", assignment_seq="the event that had assigned it",
        voided=_VOIDED),
    "invite": _a(
        "The lead or an admin invited an outside signer to an external role: a link (its secret never on "
        "the record) was e-mailed to the address; the signer acts as `client:ADDRESS`.",
        invitation="the invitation's id", email="the invited address", name="the signer's name (null: none)",
        person="who the signer acts as: `client:` and the address",
        expires_at="when the link stops working", joined="whether the signer joined the role with it "
                                                         "(false: they held it through an earlier link)",
        replaces="the invitations of the same address to the role that this one revoked (a reissue)"),
    "invite.revoke": _a(
        "An invitation was revoked: its link no longer works, and its signer leaves the role (their "
        "approval in the current round goes too).",
        invitation="the invitation's id", email="its address", person="who the signer acted as",
        left="whether the signer left the role with it", voided=_VOIDED),
    "due": _a(
        "The lead set or moved a phase's due date.",
        for_phase="the phase the date is for", for_phase_title="its title",
        previous="the date it replaced (null: none)", reason=_REASON),
    "task.done": _a("A role's task in the current phase was marked done.",
                    task="the task's title", note="the note given with it (null: none)",
                    on_behalf_of=_BEHALF, delegation=_DELEGATION),
    "task.reopen": _a("A done task of the current round was marked not done again.",
                      task="the task's title", reason=_REASON, voided=_VOIDED),
    "approve": _a("A role signed the current phase's gate.",
                  gate=_GATE, decision="`approved`", comment="the comment given (null: none)",
                  meaning=_MEANING, on_behalf_of=_BEHALF, delegation=_DELEGATION,
                  deliverables="what was signed, in a phase that declares deliverables: `{KEY: {version, "
                               "sha256}}` for each that had a version (a link: sha256 null, and its `url`)"),
    "withdraw": _a("A signer took back their approval before the gate was passed.",
                   gate=_GATE, decision="`withdrawn`", reason=_REASON + " (null: none)", meaning=_MEANING,
                   voided=_VOIDED),
    "reject": _a(
        "A signer rejected the gate: the project went back to an earlier phase, in a new round.",
        gate=_GATE, decision="`rejected`", reason=_REASON, meaning=_MEANING,
        to_phase="the phase sent back to", to_round="its new round", status="the project's status after it",
        voided=_VOIDED),
    "advance": _a(
        "The lead moved the project to its next phase (or completed it after the last).",
        tasks="the round's done tasks, each `{role, person, seq}`",
        approvals="the round's approvals, each `{role, person, seq}`",
        status="`active`, or `completed` after the last phase",
        to_phase="the next phase (null: completed)", to_round="its round (null: completed)"),
    "hold": _a("The lead put the project on hold.", reason=_REASON, status="`on_hold`"),
    "deliverable.add": _a(
        "A new version of a deliverable of the current phase was added; the approvals that bound the "
        "old one are voided, unless the template lets them carry over.",
        key="the deliverable's key", title="its title", version="the new version's number (1, 2, …)",
        kind="`file`, or `link` for work that lives elsewhere", sha256="the file's sha256 (null: a link)",
        size="the file's size in bytes (null: a link)", name="the file's name as given",
        media_type="the media type sniffed from the bytes", note="the note given (null: none)",
        url="a link's address", label="a link's words", voided=_VOIDED,
        carried_over="the approvals kept (the template's `carry_over`: only the note or name changed)"),
    "resume": _a("The lead resumed a held project where it stopped.", status="`active`"),
    "cancel": _a("The lead cancelled the project for good.", reason=_REASON, status="`cancelled`"),
    "remind": _a(
        "phasegate's clock reminded the signers a gate has waited (the gate's `remind_after`).",
        gate=_GATE, people=_PEOPLE, after="how long the gate had waited (`2d`, `4h`)"),
    "escalate": _a(
        "phasegate's clock told the gate's `escalate_to` role that the gate still waits.",
        gate=_GATE, people=_PEOPLE, after="how long the gate had waited (`escalate_after`)",
        to="the role escalated to", waiting_on="the roles whose signature is still missing"),
    "overdue": _a("phasegate's clock noticed the phase passed its due date.", people=_PEOPLE),
    # the system chain
    "template.publish": _a(
        "A template version was published.",
        template="`{key, version, sha256}` of the version", title="the template's title"),
    "grant": _a("A person was given a privilege.", person=_PERSON, privilege="`admin` or `auditor`"),
    "revoke": _a("A person's privilege was taken away.", person=_PERSON, privilege="`admin` or `auditor`"),
    "user.add": _a("An account was created.", person="the login name", name="the person's name",
                   email="their e-mail address (null: none)"),
    "user.disable": _a("An account was disabled: its sessions end and its tokens are revoked.",
                       person=_PERSON),
    "user.enable": _a("A disabled account was enabled again.", person=_PERSON),
    "user.password": _a(
        "An account's password was set or changed (or its hash renewed at sign-in).",
        person=_PERSON, password_sha256="the stored hash's fingerprint (never the password)",
        rehashed="true when phasegate renewed the hash itself at a sign-in"),
    "token.create": _a(
        "An API token was made.",
        token="the token's id", person="whose token it is", name="the name its owner gave it",
        expires_at="when it stops working (null: never)",
        secret_sha256="the secret's sha256, as the tokens table keeps it"),
    "token.revoke": _a("An API token was revoked.", token="the token's id", person="whose token it was"),
    "calendar.key": _a("A person made a new secret address for their calendar feed (the old one stops).",
                       person=_PERSON, key_sha256="the new key's sha256"),
    "webhook.add": _a(
        "An admin added a webhook.",
        webhook="the webhook's id", url="where it posts", kinds="the notification kinds it gets",
        format="its body format", secret_sha256="the signing secret's fingerprint"),
    "webhook.remove": _a("An admin removed a webhook.", webhook="the webhook's id"),
    "notify.email": _a("A person chose which notification e-mails they get.",
                       person=_PERSON, email_kinds="the kinds chosen (null: every kind)"),
    "delegate": _a(
        "Someone away handed their roles to another for a while: the delegate may do their tasks and sign "
        "their gates, on their behalf, from the first day to the last (UTC).",
        delegation="the delegation's id", person="who is away (the delegator)",
        to="who acts on their behalf (the delegate)", starts_on="its first day (YYYY-MM-DD)",
        until="its last day (YYYY-MM-DD)", roles="the roles it covers (empty: every role)",
        project="the project it covers (null: every project)", reason=_REASON + " (null: none)"),
    "delegate.end": _a("A delegation was ended before its last day.", delegation="the delegation's id",
                       person="who had delegated", to="who had acted for them"),
    "notify.retry": _a(
        "An admin sent a dead or waiting notification again.",
        notification="the outbox entry's id", was="its status before", attempts="its attempts before"),
})

def chain_of(action: str) -> Chain:
    """The chain an event of ``action`` joins: a project's, or the system chain."""
    return "system" if action in SYSTEM_ACTIONS else "project"


def fields_of(action: str) -> dict[str, str]:
    """Every ``data`` field an event of ``action`` may hold, with its meaning."""
    common = SYSTEM_FIELDS if chain_of(action) == "system" else PROJECT_FIELDS
    return {**common, **ACTIONS[action].data}
