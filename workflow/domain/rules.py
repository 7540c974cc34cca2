"""Who may do what: every permission rule, written once, pure.

Each ``require_*`` raises the refusal a person reads (:class:`NotPermitted`,
:class:`RuleRefused`, :class:`NotFound`) or returns what the command needs next.
The engine's commands call them on a :class:`Context`; the reads (status, board,
history, reports) all ask :func:`may_read`. SQL may pre-filter what it fetches,
but the rule itself lives here.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any, NamedTuple

from workflow.domain import deliverables, inputs
from workflow.domain.duties import signing
from workflow.domain.duties.signing import Acting
from workflow.domain.state import ProjectState, Signature, TaskDone
from workflow.domain.templates.definition import Definition, Deliverable, Gate, Phase, possessive
from workflow.domain.templates.machine import Binding, fire, position
from workflow.domain.templates.version import TemplateVersion
from workflow.domain.vocabulary import ACTIVE, ASSERTED, CLOSED, DISABLED, ON_HOLD, READ_EVERYTHING, Auth
from workflow.errors import DutiesSeparated, NotFound, NotPermitted, RuleRefused


class Context(NamedTuple):
    """One command on one project: the project as locked, who acts, with which grants, and when."""

    state: ProjectState
    tpl: TemplateVersion
    actor: str
    privileges: frozenset[str]
    now: str
    auth: Auth = ASSERTED  # how the actor was authenticated, recorded in the event
    evidence: dict[str, Any] | None = None  # what else the event records of how (a signing link's proof)

    @property
    def definition(self) -> Definition:
        return self.tpl.definition

    @property
    def phase(self) -> Phase:
        return self.state.phase_of(self.tpl.definition)

    @property
    def code(self) -> str:
        return self.state.code

    def holds(self, role: str) -> bool:
        return self.state.holds(role, self.actor)

    def role_title(self, role: str) -> str:
        return self.tpl.definition.role_title(role)


# -- reading ------------------------------------------------------------------------------------------


def may_read(privileges: Set[str], member: bool) -> bool:
    """Admins and auditors read every project; anyone else only the projects they hold a role on."""
    return member or not READ_EVERYTHING.isdisjoint(privileges)


def outsider(person: str, code: str) -> NotPermitted:
    """The one answer for a project someone may not see, whether it exists or not."""
    return NotPermitted(
        f"{person} may not see project {code}: there is no such project, or {person} has no role on it "
        f"and no admin or auditor grant"
    )


def require_reader(reader: str, code: str, privileges: Set[str], member: bool) -> None:
    if not may_read(privileges, member):
        raise outsider(reader, code)


def require_party(ctx: Context) -> None:
    """A command on a project is only for its team, its members' delegates in force, admins and
    auditors (the others learn nothing), and never for a disabled account."""
    if DISABLED in ctx.privileges:
        raise NotPermitted(f"{ctx.actor}'s account is disabled")
    require_reader(ctx.actor, ctx.code, ctx.privileges, ctx.state.is_party(ctx.actor, ctx.now))


def require_audit_reader(reader: str, privileges: Set[str], doing: str) -> None:
    if READ_EVERYTHING.isdisjoint(privileges):
        raise NotPermitted(f"{reader} may not {doing}: that needs the admin or auditor grant")


def require_privilege(actor: str, privileges: Set[str], privilege: str, doing: str) -> None:
    if privilege not in privileges:
        raise NotPermitted(f"{actor} may not {doing}: that needs the {privilege} grant")


# -- acting on a project ------------------------------------------------------------------------------


def require_role(ctx: Context, role: str) -> None:
    if ctx.definition.role(role) is None:
        raise NotFound(
            f"template {ctx.tpl.key} has no role {inputs.shown(role)} "
            f"(roles: {', '.join(ctx.definition.role_keys)})"
        )


def require_holder(ctx: Context, role: str) -> None:
    if not ctx.holds(role):
        holders = ", ".join(ctx.state.team.get(role, ())) or "nobody yet"
        raise NotPermitted(
            f"{ctx.actor} does not hold the {ctx.role_title(role)} role on {ctx.code} (held by: {holders})"
        )


def require_holder_or_lead(ctx: Context, role: str, doing: str) -> str:
    """The role the actor acts under: ``role`` if they hold it, else the lead role."""
    if ctx.holds(role):
        return role
    lead = ctx.definition.lead
    if ctx.holds(lead):
        return lead
    raise NotPermitted(
        f"{ctx.actor} may not {doing}: that needs the {ctx.role_title(role)} or the "
        f"{ctx.role_title(lead)} role on {ctx.code}"
    )


def require_lead(ctx: Context, doing: str) -> str:
    """The lead role (the authority the move is recorded under), if the actor holds it."""
    lead = ctx.definition.lead
    if not ctx.holds(lead):
        holders = ", ".join(ctx.state.team.get(lead, ())) or "nobody yet"
        raise NotPermitted(
            f"only the {ctx.role_title(lead)} may {doing} {ctx.code} "
            f"({ctx.actor} does not hold that role; held by: {holders})"
        )
    return lead


def require_assigner(ctx: Context) -> None:
    """Admins and the lead staff a project, while it is open (a closed project's team is frozen)."""
    if "admin" not in ctx.privileges and not ctx.holds(ctx.definition.lead):
        raise NotPermitted(
            f"{ctx.actor} may not change the team of {ctx.code}: that needs the admin grant or the "
            f"{ctx.role_title(ctx.definition.lead)} role"
        )
    if ctx.state.status in CLOSED:
        raise RuleRefused(f"project {ctx.code} is {ctx.state.status}; its team can no longer change")


def require_lead_kept(ctx: Context, role: str, person: str) -> None:
    """An open project always keeps someone in its lead role: only the lead can move it."""
    lead = ctx.definition.lead
    if role == lead and ctx.state.team.get(lead, ()) == (person,):
        raise RuleRefused(
            f"{person} is the only {ctx.role_title(lead)} of {ctx.code}; assign another one first "
            f"(only the {ctx.role_title(lead)} can advance, hold, resume or cancel the project)"
        )


def require_active(ctx: Context, doing: str) -> None:
    status = ctx.state.status
    if status == ON_HOLD:
        raise RuleRefused(f"project {ctx.code} is on hold; resume it before you {doing}")
    if status != ACTIVE:
        raise RuleRefused(f"project {ctx.code} is {status}; nobody can {doing} any more")


def require_signer(ctx: Context, role: str, verb: str, on_behalf_of: str | None = None
                   ) -> tuple[Gate, Acting]:
    """The current phase's gate, if the actor may ``verb`` it as ``role`` now, and how they act: a
    holder of ``role``, or (approving) a delegate of one, where the gate is delegable."""
    require_role(ctx, role)
    gate = ctx.phase.gate
    if verb == "approve":
        acting = acting_as(ctx, role, on_behalf_of, gate is None or gate.delegable)
    else:
        require_holder(ctx, role)
        acting = Acting(ctx.actor)
    require_active(ctx, f"{verb} a gate")
    if gate is None:
        raise RuleRefused(f"{ctx.phase.title} has no gate to {verb}")
    if role not in gate.approvers:
        titles = ", ".join(ctx.role_title(r) for r in gate.approvers)
        raise RuleRefused(
            f"the {ctx.role_title(role)} does not sign '{gate.title}' (its approvers: {titles})"
        )
    return gate, acting


def require_own_approval(ctx: Context, role: str) -> tuple[Gate, Signature]:
    """The gate and the approval ``role`` gave it this round, if the actor gave it and may take it back.

    Someone who neither holds ``role`` nor gave its approval could never withdraw it: refused
    (403) before any rule of the project's state (409) is asked, as every other write refuses
    whoever may not make it (an auditor's withdrawal is never "the project is on hold")."""
    require_role(ctx, role)
    signed = ctx.state.approvals.get(role)
    if not ctx.holds(role) and (signed is None or signed.person != ctx.actor):
        raise NotPermitted(
            f"{ctx.actor} may not withdraw the {ctx.role_title(role)}'s approval on {ctx.code}: "
            f"only the person who gave it may, and {ctx.actor} does not hold that role"
        )
    require_active(ctx, "withdraw an approval")
    gate = ctx.phase.gate
    if gate is None:
        raise RuleRefused(f"{ctx.phase.title} has no gate, so no approval to withdraw")
    if signed is None:
        raise RuleRefused(
            f"nobody has approved '{gate.title}' as the {ctx.role_title(role)} in round {ctx.state.round}; "
            f"there is nothing to withdraw"
        )
    if ctx.actor not in (signed.person, signed.on_behalf_of):  # a delegate's: theirs, or whom it was for
        raise NotPermitted(
            f"only {signed.person}, who approved '{gate.title}' as the {ctx.role_title(role)}, "
            f"may withdraw that approval"
        )
    return gate, signed


def require_four_eyes(ctx: Context, gate: Gate, role: str, acting: Acting | None = None) -> None:
    """One person's approval counts for one role only (``distinct_people``), and once per role; a
    delegate and the person they act for are one person; the gate's ``distinct_from`` is kept."""
    prior = ctx.state.approvals.get(role)
    if prior is not None:
        raise RuleRefused(
            f"'{gate.title}' is already approved for the {ctx.role_title(role)} "
            f"(by {prior.person} at {prior.at})"
        )
    acting = acting or Acting(ctx.actor)
    if gate.distinct_people:
        for other_role, other in ctx.state.approvals.items():
            if not signing.people_of(other).isdisjoint(acting.people):
                raise RuleRefused(signing.four_eyes_sentence(ctx.definition, gate, role, other_role, other,
                                                             acting))
    clash = signing.separation_clash(gate, acting.people, ctx.state.earlier)
    if clash is not None:
        raise DutiesSeparated(signing.separation_sentence(ctx.definition, gate, ctx.actor, clash))


# -- each project command's rule: may the actor run it now? -------------------------------------------
# The engine asks these under the project's lock, before the command writes anything; the web page asks
# the same ones to draw its buttons (workflow.domain.commands.allowed_moves). Each returns what the
# command's body goes on with.


def acting_as(ctx: Context, role: str, on_behalf_of: str | None = None, delegable: bool = True) -> Acting:
    """How the actor acts as ``role``: as a holder, or for a holder through a delegation in force."""
    state = ctx.state
    return signing.choose(ctx.definition, role, ctx.actor, ctx.code, ctx.now, state.team, state.delegations,
                          on_behalf_of, delegable=delegable)


def may_complete_task(ctx: Context, role: str, on_behalf_of: str | None = None) -> tuple[str, Acting]:
    """The task the actor marks done as ``role``, and how they act (for themselves, or for someone)."""
    require_role(ctx, role)
    acting = acting_as(ctx, role, on_behalf_of)
    require_active(ctx, "mark tasks done")
    phase, title = ctx.phase, ctx.role_title(role)
    task = phase.task_of(role)
    if task is None:
        raise RuleRefused(f"the {title} has no task in {phase.title}")
    done = ctx.state.tasks.get(role)
    if done is not None:
        raise RuleRefused(
            f"the {possessive(title)} task '{task}' in {phase.title} is already done "
            f"(by {done.person} at {done.at})"
        )
    return task, acting


def may_reopen_task(ctx: Context, role: str) -> tuple[str, str, TaskDone]:
    """(the role the actor acts under, the task, who did it) for reopening ``role``'s task."""
    require_role(ctx, role)
    authority = require_holder_or_lead(ctx, role, f"reopen the {possessive(ctx.role_title(role))} task")
    require_active(ctx, "reopen tasks")
    phase, state = ctx.phase, ctx.state
    task = phase.task_of(role)
    if task is None:
        raise RuleRefused(f"the {ctx.role_title(role)} has no task in {phase.title}")
    done = state.tasks.get(role)
    if done is None:
        raise RuleRefused(
            f"the {possessive(ctx.role_title(role))} task '{task}' is not done in round {state.round} "
            f"of {phase.title}; there is nothing to reopen"
        )
    return authority, task, done


def may_approve(ctx: Context, role: str, on_behalf_of: str | None = None) -> tuple[Gate, Acting]:
    """The gate, and how the actor signs it (for themselves, or for an approver through a delegation)."""
    gate, acting = require_signer(ctx, role, "approve", on_behalf_of)
    require_four_eyes(ctx, gate, role, acting)
    waiting = deliverables.missing(ctx.definition, ctx.phase, ctx.state.deliverables, ctx.state.team)
    if waiting:
        raise RuleRefused(f"'{gate.title}' cannot be approved yet: " + "; ".join(waiting), waiting)
    return gate, acting


def may_add_deliverable(ctx: Context, key: str) -> tuple[Deliverable, str]:
    """(the deliverable, the role the actor adds it under): a holder of a role in its ``by``, in the
    phase that declares it while it is the current one, the project active."""
    declared, home = ctx.phase.deliverable(key), ctx.phase
    if declared is None:
        elsewhere = next((p for p in ctx.definition.phases if p.deliverable(key)), None)
        if elsewhere is None:
            keys = ", ".join(d.key for p in ctx.definition.phases for d in p.deliverables) or "none"
            raise NotFound(f"template {ctx.tpl.key} declares no deliverable {inputs.shown(key)} "
                           f"(its deliverables: {keys})")
        declared, home = elsewhere.deliverable(key), elsewhere
        assert declared is not None
    authority = next((r for r in declared.by if ctx.holds(r)), None)
    if authority is None:
        titles = " or ".join(f"the {ctx.role_title(r)}" for r in declared.by)
        raise NotPermitted(f"{ctx.actor} may not add versions of the {declared.title} on {ctx.code}: "
                           f"that needs {titles} role")
    require_active(ctx, "add deliverables")
    if ctx.phase.deliverable(key) is None:
        raise RuleRefused(f"the {declared.title} belongs to {home.title}, and {ctx.code} is in "
                          f"{ctx.phase.title}: versions are added in their own phase while it is current")
    return declared, authority


def may_withdraw(ctx: Context, role: str) -> tuple[Gate, Signature]:
    return require_own_approval(ctx, role)


def may_reject(ctx: Context, role: str) -> tuple[Gate, str]:
    """The gate, and the machine state a rejection sends the project to."""
    gate, _acting = require_signer(ctx, role, "reject")
    state = ctx.state
    return gate, fire(ctx.tpl.machine, "reject", Binding(position(state.phase, state.status)))


def may_advance(ctx: Context) -> tuple[str, str]:
    """(the lead role, the machine state the project moves to): refused with the blockers while the
    phase's tasks or gate are not done."""
    lead = require_lead(ctx, "advance")
    state = ctx.state

    def ready() -> bool:
        evaluation = state.evaluation(ctx.definition)
        if not evaluation.ready:
            raise RuleRefused(
                f"{ctx.code} cannot leave {ctx.phase.title} yet: " + "; ".join(evaluation.blockers),
                list(evaluation.blockers),
            )
        return True

    dest = fire(ctx.tpl.machine, "advance", Binding(position(state.phase, state.status), check_advance=ready))
    return lead, dest


def may_lead_move(ctx: Context, trigger: str) -> tuple[str, str]:
    """hold, resume or cancel: (the lead role, the machine state the project lands in)."""
    lead = require_lead(ctx, trigger)
    state = ctx.state
    binding = Binding(position(state.phase, state.status), held_phase=state.phase)
    return lead, fire(ctx.tpl.machine, trigger, binding)


def may_hold(ctx: Context) -> tuple[str, str]:
    return may_lead_move(ctx, "hold")


def may_resume(ctx: Context) -> tuple[str, str]:
    return may_lead_move(ctx, "resume")


def may_cancel(ctx: Context) -> tuple[str, str]:
    return may_lead_move(ctx, "cancel")


def may_assign(ctx: Context, role: str) -> None:
    """Someone may be given ``role`` (whoever it is: the body refuses a person who holds it already)."""
    require_assigner(ctx)
    require_role(ctx, role)
    if ctx.definition.is_external(role):
        raise RuleRefused(f"the {ctx.role_title(role)} role is external: invite its signer by e-mail "
                          f"(`phasegate invite {ctx.code} {role} --email ADDRESS`); no account holds it")


def may_unassign(ctx: Context, role: str, person: str) -> None:
    require_assigner(ctx)
    require_role(ctx, role)
    if ctx.definition.is_external(role):
        raise RuleRefused(f"the {ctx.role_title(role)} is an outside signer: revoke their invitation instead")
    if not ctx.state.holds(role, person):
        raise NotFound(f"{person} does not hold the {ctx.role_title(role)} role on {ctx.code}")
    require_lead_kept(ctx, role, person)


def may_set_due(ctx: Context) -> str:
    """The lead role, while the project is open (which phase and date: the command's body)."""
    lead = require_lead(ctx, "set the due dates of")
    if ctx.state.status in CLOSED:
        raise RuleRefused(f"project {ctx.code} is {ctx.state.status}; its due dates are history")
    return lead

# Outside signers' invitations (issue 24): their rules live in domain/links, found here like every rule.
from workflow.domain.links.invites import may_invite, may_revoke_invite  # noqa: E402, F401
