"""Who a signature stands for, and whether a person may sign a gate as a role (pure).

A signature (or a task done) stands for its *people*: the person who gave it and, when they acted on
someone's behalf, that someone (``on_behalf_of``). Four-eyes (a gate's ``distinct_people``) and the
separation of duties (a gate's ``distinct_from``) compare people, so a delegate and the person they
act for are one person for both rules:

* a delegate cannot sign a role on PERSON's behalf where they, or PERSON, signed another role of the
  gate (on anyone's behalf); PERSON cannot sign after their delegate signed for them;
* two people delegating to one delegate: the delegate's signatures are linked, and count once;
* approvals are counted as groups of linked people (:func:`counted`), never per signature.

:func:`refusal` is the whole question for one person, one role and one gate, as the engine asks it
(``rules.may_approve``) and as ``project check`` asks it for every member of the team.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol

from workflow.domain.duties.delegations import Delegation, acting_for
from workflow.domain.templates.definition import Definition, Gate
from workflow.errors import NotPermitted, UsageError


class Signed(Protocol):
    """A signature or a task done: who gave it, and for whom (``state.Signature``, ``state.TaskDone``)."""

    @property
    def person(self) -> str: ...
    @property
    def on_behalf_of(self) -> str | None: ...


class Earlier(NamedTuple):
    """Earlier work in the project that ``distinct_from`` may name: a gate signed or a task done."""

    ref: str  # "PHASE.gate" or "PHASE.task.ROLE"
    person: str
    on_behalf_of: str | None
    seq: int  # the event that recorded it


class Acting(NamedTuple):
    """How a person signs or does a task: as themselves, or for someone through a delegation."""

    person: str
    on_behalf_of: str | None = None
    delegation: Delegation | None = None

    @property
    def people(self) -> frozenset[str]:
        return people_of(self)


def people_of(signed: Signed | Acting) -> frozenset[str]:
    """The people a signature stands for: its signer, and whom they signed for."""
    if signed.on_behalf_of is None:
        return frozenset((signed.person,))
    return frozenset((signed.person, signed.on_behalf_of))


def counted(gate: Gate, approvals: Mapping[str, frozenset[str]]) -> int:
    """How many approvals count toward ``gate.needed`` (``approvals``: approver role -> its people).

    With ``distinct_people``, signatures that share a person are one (a delegate and the person
    they act for; one delegate acting for two people): the number of groups of linked signatures.
    Without it, each approver role signed counts."""
    signed = [approvals[r] for r in gate.approvers if r in approvals]
    if not gate.distinct_people:
        return len(signed)
    groups: list[set[str]] = []
    for people in signed:
        joined = [g for g in groups if not g.isdisjoint(people)]
        merged = set(people).union(*joined)
        groups = [g for g in groups if g not in joined] + [merged]
    return len(groups)


def four_eyes_clash(gate: Gate, role: str, people: frozenset[str],
                    approvals: Mapping[str, frozenset[str]]) -> str | None:
    """The other role of ``gate`` already signed by (or for) one of ``people``, under four-eyes."""
    if not gate.distinct_people:
        return None
    clashes = (other for other, got in approvals.items() if other != role and not got.isdisjoint(people))
    return next(clashes, None)


def separation_clash(gate: Gate, people: frozenset[str], earlier: Iterable[Earlier]) -> Earlier | None:
    """The earliest work ``gate.distinct_from`` names that one of ``people`` did (or had done for them)."""
    if not gate.distinct_from:
        return None
    named = set(gate.distinct_from)
    found = [e for e in earlier if e.ref in named and not people_of(e).isdisjoint(people)]
    return min(found, key=lambda e: e.seq) if found else None


def title_of(definition: Definition, ref: str) -> str:
    """What a reference names, in words: "'SOW signed'" (a gate's title) or "the task 'Integrate'"."""
    phase_key, kind, *role = ref.split(".")
    phase = definition.phase(phase_key)
    if phase is None:
        return ref
    if kind == "gate":
        return f"'{phase.gate.title}'" if phase.gate else ref
    return f"the task '{phase.task_of(role[0]) or ref}'"


def separation_sentence(definition: Definition, gate: Gate, actor: str, clash: Earlier) -> str:
    """"ana signed 'SOW signed' (#14); 'QA sign-off' must be signed by someone else"."""
    did = "signed" if clash.ref.endswith(".gate") else "did"
    who = clash.person if clash.on_behalf_of is None else f"{clash.person} (for {clash.on_behalf_of})"
    return (f"{who} {did} {title_of(definition, clash.ref)} (#{clash.seq}); '{gate.title}' must be signed "
            f"by someone else (separation of duties: {actor} may not sign it)")


def ways_to_act(actor: str, role: str, code: str, at: str, team: Mapping[str, Sequence[str]],
                delegations: Iterable[Delegation], *, delegable: bool = True) -> list[Acting]:
    """Every way ``actor`` may act as ``role`` on ``code`` at ``at``: as themselves when they hold the
    role (then only that), else for each holder who delegated it to them and is in force."""
    if actor in (team.get(role) or ()):
        return [Acting(actor)]
    if not delegable:
        return []
    return [Acting(actor, d.person, d) for d in acting_for(delegations, actor, code, role, at, team)]


def refusal(definition: Definition, gate: Gate, role: str, acting: Acting,
            approvals: Mapping[str, frozenset[str]], earlier: Iterable[Earlier]) -> str | None:
    """Why ``acting`` may not sign ``gate`` as ``role`` now (None: they may). ``approvals``: the
    gate's signatures this round (role -> its people, :func:`people_of`); ``earlier``: the project's
    signatures and tasks ``gate.distinct_from`` may name. Holding the role (or a delegation in force:
    :func:`ways_to_act`) is the caller's first question."""
    if role in approvals:
        return f"'{gate.title}' is already approved for the {definition.role_title(role)}"
    if acting.on_behalf_of is not None and not gate.delegable:
        return f"'{gate.title}' is not delegable: only a holder of the role may sign it"
    other = four_eyes_clash(gate, role, acting.people, approvals)
    if other is not None:
        who = acting.person if acting.on_behalf_of is None else f"{acting.person} (for {acting.on_behalf_of})"
        return (f"four-eyes rule: {who} already approved '{gate.title}' as the "
                f"{definition.role_title(other)}, or someone did on their behalf; one person's approval "
                f"counts for one role only, so another {definition.role_title(role)} must approve")
    clash = separation_clash(gate, acting.people, earlier)
    if clash is not None:
        return separation_sentence(definition, gate, acting.person, clash)
    return None


def choose(definition: Definition, role: str, actor: str, code: str, at: str,
           team: Mapping[str, Sequence[str]], delegations: Iterable[Delegation],
           on_behalf_of: str | None = None, *, delegable: bool = True) -> Acting:
    """How ``actor`` acts as ``role`` now: as themselves when they hold it, else through the one
    delegation in force that makes it possible (``on_behalf_of`` picks one where several do); refused
    (:class:`NotPermitted`) with who holds the role otherwise."""
    title = definition.role_title(role)
    holders = ", ".join(team.get(role) or ()) or "nobody yet"
    if on_behalf_of is not None and on_behalf_of != actor:
        ways = [w for w in ways_to_act(actor, role, code, at, {**team, role: tuple(
            p for p in team.get(role) or () if p != actor)}, delegations, delegable=delegable)
            if w.on_behalf_of == on_behalf_of]
        if not ways:
            why = "" if delegable else " (this gate is not delegable)"
            raise NotPermitted(f"{actor} may not act for {on_behalf_of} as the {title} on {code}: no "
                               f"delegation from {on_behalf_of} to {actor} covers it now{why} "
                               f"(held by: {holders})")
        return ways[0]
    ways = ways_to_act(actor, role, code, at, team, delegations, delegable=delegable)
    if not ways:
        why = "" if delegable else "; this gate is not delegable"
        raise NotPermitted(f"{actor} does not hold the {title} role on {code} (held by: {holders}){why}")
    if len(ways) > 1:
        people = ", ".join(w.on_behalf_of or "" for w in ways)
        raise UsageError(f"{actor} acts for several holders of the {title} role on {code} ({people}); "
                         f"say which with --on-behalf-of")
    return ways[0]


def four_eyes_sentence(definition: Definition, gate: Gate, role: str, other_role: str, other: Signed,
                       acting: Acting) -> str:
    """Why ``acting`` may not sign ``role`` where ``other`` signed ``other_role`` and they share a person."""
    who = other.person if other.on_behalf_of is None else f"{other.person} (for {other.on_behalf_of})"
    also = "" if acting.on_behalf_of is None else (
        f" ({acting.person} acts for {acting.on_behalf_of}: a delegate and the person they act for are one)")
    title, other_title = definition.role_title(role), definition.role_title(other_role)
    return (f"four-eyes rule: {who} already approved '{gate.title}' as the {other_title}; one person's "
            f"approval counts for one role only{also}, so another {title} must approve")
