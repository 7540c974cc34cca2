"""Who may sign each role of a gate, and how many distinct signatures the team can give it at most.

A role's options come from the rules the engine enforces (:mod:`workflow.domain.duties.signing`): its
holders acting as themselves, and delegates acting for a holder through a delegation in force
(``ways_to_act``), less the disabled accounts, less four-eyes against the approvals already given this
round, less the separation of duties against the project's earlier work (``distinct_from``).

A delegate acting for a holder stands for two people (``people_of``: four-eyes and ``distinct_from``
compare both). Such an option is only worth having when the holder cannot sign themselves, and the
holder, who holds the role (a delegation is only ever for a holder), is as good wherever the delegate
is allowed, since the holder's people are a subset of the delegate's. So the only delegated options kept
are those for a holder whose account is disabled; those holders sign nothing themselves, and at most one
signature can stand for each of them, so trying each holder's delegated options one at a time (a small
product, bounded) over a bipartite matching of the rest is exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

from workflow.domain.duties.delegations import Delegation
from workflow.domain.duties.signing import (
    Acting,
    Earlier,
    four_eyes_clash,
    separation_clash,
    title_of,
    ways_to_act,
)
from workflow.domain.staffing.matching import Matching, maximum_matching
from workflow.domain.templates.definition import Definition, Gate

#: The delegated choices tried for one gate at most (each a matching of a few roles): beyond it the rest
#: are left out, which can only under-count (a warning too many, never a gate said to pass that cannot).
CHOICES_MAX = 256


class Option(NamedTuple):
    """One way to sign a role: ``signer`` as themselves, or for ``on_behalf_of`` through a delegation."""

    signer: str
    on_behalf_of: str | None = None

    @property
    def people(self) -> frozenset[str]:
        return frozenset(p for p in (self.signer, self.on_behalf_of) if p is not None)


class Pool(NamedTuple):
    """The options of every open role of a gate, and why each holder left out is out."""

    options: dict[str, list[Option]]
    why_not: dict[str, dict[str, str]]  # role -> holder -> the reason they cannot sign it


class Context(NamedTuple):
    """What the options of a gate are read from."""

    team: Mapping[str, Sequence[str]]
    disabled: frozenset[str]
    delegations: Sequence[Delegation]
    earlier: Sequence[Earlier]
    code: str
    at: str
    definition: Definition


def pool(ctx: Context, gate: Gate, roles: Sequence[str], signed: Mapping[str, frozenset[str]],
         blocked: frozenset[str] = frozenset()) -> Pool:
    """The options for ``roles`` of ``gate``; ``signed``: role -> the people of its approval this round;
    ``blocked``: people kept out besides (those who would do work this gate is kept apart from)."""
    delegates = sorted({d.to for d in ctx.delegations})
    options: dict[str, list[Option]] = {}
    why_not: dict[str, dict[str, str]] = {}
    for role in roles:
        holders = list(ctx.team.get(role, ()))
        found, why = [], {}
        for person in [*holders, *(d for d in delegates if d not in holders)]:
            if person in ctx.disabled:
                if person in holders:
                    why[person] = f"{person}'s account is disabled"
                continue
            for acting in ways_to_act(person, role, ctx.code, ctx.at, ctx.team, ctx.delegations,
                                      delegable=gate.delegable):
                if acting.on_behalf_of is not None and acting.on_behalf_of not in ctx.disabled:
                    continue  # the holder signing themselves is as good, and never refused where this is
                reason = _refused(ctx, gate, role, acting, signed, blocked)
                if reason is None:
                    found.append(Option(acting.person, acting.on_behalf_of))
                elif person in holders:
                    why[person] = reason
        options[role], why_not[role] = found, why
    return Pool(options, why_not)


def _refused(ctx: Context, gate: Gate, role: str, acting: Acting, signed: Mapping[str, frozenset[str]],
             blocked: frozenset[str]) -> str | None:
    people = acting.people
    other = four_eyes_clash(gate, role, people, signed)
    if other is not None:
        return f"{acting.person} already signed as the {ctx.definition.role_title(other)}"
    clash = separation_clash(gate, people, ctx.earlier)
    if clash is not None:
        did = "signed" if clash.ref.endswith(".gate") else "did"
        earlier = title_of(ctx.definition, clash.ref)
        behalf = "" if clash.on_behalf_of is None else f" for {clash.on_behalf_of}"
        return f"{clash.person} {did} {earlier}{behalf} (#{clash.seq})"
    if not people.isdisjoint(blocked):
        return f"{acting.person} is kept apart from it"
    return None


Graph = dict[str, list[str]]  # role -> the nodes (people) that may sign it


def best(roles: Sequence[str], options: Mapping[str, Sequence[Option]],
         distinct: bool) -> tuple[Matching, Graph]:
    """The largest set of signatures the options allow (each person in one signature of the gate, under
    four-eyes), and the graph it was found on (role -> nodes)."""
    if not distinct:
        edges = {r: [f"{r}\0{o.signer}\0{o.on_behalf_of}" for o in options[r]] for r in roles}
        return maximum_matching(roles, edges), edges
    plain = {r: [o.signer for o in options[r] if o.on_behalf_of is None] for r in roles}
    found = maximum_matching(roles, plain), plain
    for chosen in _choices(roles, options):
        edges = {r: list(v) for r, v in plain.items()}
        for role, option in chosen:
            edges[role].append(option.signer)
        matching = maximum_matching(roles, edges)
        if len(matching.pairs) > len(found[0].pairs):
            found = matching, edges
    return found


def _choices(roles: Sequence[str],
             options: Mapping[str, Sequence[Option]]) -> Iterator[list[tuple[str, Option]]]:
    """For each disabled holder someone may sign for, one of those signatures or none."""
    by_holder: dict[str, list[tuple[str, Option]]] = {}
    for role in roles:
        for option in options[role]:
            if option.on_behalf_of is not None:
                by_holder.setdefault(option.on_behalf_of, []).append((role, option))
    if not by_holder:
        return
    each = [[None, *ways] for ways in by_holder.values()]
    for picked in itertools.islice(itertools.product(*each), CHOICES_MAX):
        yield [p for p in picked if p is not None]
