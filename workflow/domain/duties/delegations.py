"""Delegations as plain values, and the rules that make one (pure).

A delegation lets ``to`` act on behalf of ``person`` from ``starts_on`` to ``until`` (both days,
inclusive, UTC: the event transaction's real time decides), for some roles (none named: every role)
on one project (none named: every project), until it ends or someone ends it early.

Never chained: a delegate cannot hand on what was delegated to them, because
:func:`refuse_new` refuses a delegation from someone who is a delegate in an overlapping period, and
a delegation to someone who has delegated their own work in an overlapping period (a person who is
away takes on nobody's work). Self-delegation is refused. A delegation is at most
:data:`~workflow.domain.limits.DELEGATION_DAYS` long.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from workflow.domain.limits import DELEGATION_DAYS
from workflow.errors import RuleRefused, UsageError


class Delegation(NamedTuple):
    """One delegation as its ``delegate`` event (and ``delegate.end``, if any) left it."""

    id: str
    person: str  # who is away (the delegator)
    to: str  # who acts on their behalf (the delegate)
    starts_on: str  # YYYY-MM-DD, the first day in force
    until: str  # YYYY-MM-DD, the last day in force
    roles: tuple[str, ...]  # the roles it covers; empty: every role
    project: str | None  # the project it covers; None: every project
    reason: str | None
    by: str  # who made it (the person, or an admin)
    created_at: str
    seq: int  # the system event that made it
    ended_at: str | None = None  # when it was ended early (None: runs to ``until``)
    ended_by: str | None = None

    def in_force(self, at: str) -> bool:
        """Whether it is in force at the stored time ``at`` (its UTC day inside [starts_on, until],
        and not ended before ``at``)."""
        return self.starts_on <= at[:10] <= self.until and (self.ended_at is None or at < self.ended_at)

    def covers(self, code: str, role: str) -> bool:
        """Whether it covers ``role`` on project ``code``."""
        return (self.project is None or self.project == code) and (not self.roles or role in self.roles)

    def to_dict(self) -> dict[str, Any]:
        """As the CLI's --json and the HTTP API give it (:func:`from_dict` reads it back)."""
        return {"id": self.id, "person": self.person, "to": self.to, "from": self.starts_on,
                "until": self.until, "roles": list(self.roles), "project": self.project,
                "reason": self.reason, "by": self.by, "created_at": self.created_at, "seq": self.seq,
                "ended_at": self.ended_at, "ended_by": self.ended_by}

    def last_day(self) -> str:
        """Its last day in force, in words for a blocker ("until 2026-12-21")."""
        return self.until if self.ended_at is None else min(self.until, self.ended_at[:10])


def from_dict(d: Mapping[str, Any]) -> Delegation:
    """A delegation from :meth:`Delegation.to_dict`'s JSON (the client's)."""
    return Delegation(d["id"], d["person"], d["to"], d["from"], d["until"], tuple(d["roles"]), d["project"],
                      d["reason"], d["by"], d["created_at"], d["seq"], d["ended_at"], d["ended_by"])


def acting_for(delegations: Iterable[Delegation], actor: str, code: str, role: str, at: str,
               team: Mapping[str, Sequence[str]]) -> list[Delegation]:
    """The delegations in force at ``at`` through which ``actor`` may act as a holder of ``role`` on
    ``code``: given to ``actor`` by someone who holds ``role`` on the project now."""
    holders = team.get(role) or ()
    return [d for d in delegations
            if d.to == actor and d.person in holders and d.covers(code, role) and d.in_force(at)]


def away(delegations: Iterable[Delegation], person: str, code: str, role: str, at: str) -> Delegation | None:
    """The delegation in force at ``at`` that hands ``person``'s ``role`` on ``code`` to someone else."""
    return next((d for d in delegations if d.person == person and d.covers(code, role) and d.in_force(at)),
                None)


def _overlap(a_from: str, a_until: str, b: Delegation) -> bool:
    return a_from <= b.last_day() and b.starts_on <= a_until


def refuse_new(person: str, to: str, starts_on: str, until: str, today: str,
               existing: Iterable[Delegation]) -> None:
    """Refuse a delegation that may not be made (self, backwards, too long, over, or chained).

    ``existing``: the delegations made so far (one ended early counts up to its end). Dates are
    ``YYYY-MM-DD``; ``today`` the UTC day."""
    if person == to:
        raise RuleRefused(f"{person} cannot delegate to themselves")
    first, last = date.fromisoformat(starts_on), date.fromisoformat(until)
    if last < first:
        raise UsageError(f"the delegation ends ({until}) before it starts ({starts_on})")
    days = (last - first).days + 1
    most = int(DELEGATION_DAYS.default)
    if days > most:
        raise UsageError(f"a delegation lasts at most {most} days; {starts_on} to {until} is {days} days")
    if until < today:
        raise UsageError(f"the delegation ends on {until}, which is already past (today is {today})")
    for d in existing:
        if not _overlap(starts_on, until, d):
            continue
        if d.to == person:
            raise RuleRefused(
                f"{person} acts for {d.person} from {d.starts_on} to {d.last_day()} (delegation {d.id}); "
                f"a delegate cannot hand that work on: delegations are never chained")
        if d.person == to:
            raise RuleRefused(
                f"{to} has delegated their own work to {d.to} from {d.starts_on} to {d.last_day()} "
                f"(delegation {d.id}); someone away cannot take on {person}'s: delegations are never chained")
