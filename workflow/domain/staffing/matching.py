"""Distinct people for required signatures: a maximum bipartite matching, and why it is no larger.

The left side is the approver roles still to sign, the right side the people who may sign each. The
matching grows by augmenting paths (Kuhn's algorithm: a path from a free role, alternating between an
edge not in the matching and one in it, ending at a free person). With bounded inputs (a gate's roles,
a project's team) that is a few hundred steps; no subset is ever enumerated.

When no augmenting path is left, the roles reachable from the free roles along alternating paths are a
Hall witness: together they need more distinct people than the people next to them (König's theorem).
Giving any of those roles one more signer makes the matching one larger, which is why the smallest fix
is "assign another ..." to one of them, once per missing signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple


class Matching(NamedTuple):
    pairs: dict[str, str]  # role -> the person who signs it
    free: tuple[str, ...]  # roles left without a signer, in the given order
    short: tuple[str, ...]  # the Hall witness: roles reachable from the free ones (free ones included)
    near: tuple[str, ...]  # the people next to ``short`` (all of them paired with a role in it)


def maximum_matching(roles: Sequence[str], edges: Mapping[str, Sequence[str]]) -> Matching:
    """A largest set of (role, person) pairs with each role and each person used once."""
    owner: dict[str, str] = {}  # person -> role

    def augment(role: str, seen: set[str]) -> bool:
        for person in edges.get(role, ()):
            if person in seen:
                continue
            seen.add(person)
            if person not in owner or augment(owner[person], seen):
                owner[person] = role
                return True
        return False

    for role in roles:
        augment(role, set())
    pairs = {role: person for person, role in owner.items()}
    free = tuple(r for r in roles if r not in pairs)
    short, near = _witness(free, edges, owner, pairs)
    ordered = tuple(r for r in roles if r in short)
    return Matching(pairs, free, ordered, tuple(sorted(near)))


def _witness(free: Sequence[str], edges: Mapping[str, Sequence[str]], owner: Mapping[str, str],
             pairs: Mapping[str, str]) -> tuple[set[str], set[str]]:
    short, near = set(free), set()
    stack = list(free)
    while stack:
        role = stack.pop()
        for person in edges.get(role, ()):
            if person in near:
                continue
            near.add(person)
            partner = owner.get(person)  # always paired: a free person would have given a path
            if partner is not None and partner not in short:
                short.add(partner)
                stack.append(partner)
    return short, near
