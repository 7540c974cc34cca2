"""The sentences of a staffing check: why a gate cannot pass, and what to change.

"'QA sign-off' needs 2 distinct people for Tech & Creative Leads and Scrum Master; only ivy holds both"
and "assign another Scrum Master": the shape the issue asked for, the reason first, then the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workflow.domain.staffing.matching import Matching
from workflow.domain.templates.definition import Definition, possessive


class Words:
    """The sentences of one gate's check. ``why_not``: role -> holder -> why they cannot sign it."""

    def __init__(self, definition: Definition, title: str, team: Mapping[str, Sequence[str]],
                 disabled: frozenset[str], why_not: Mapping[str, Mapping[str, str]]) -> None:
        self.d, self.title, self.team = definition, title, team
        self.disabled, self.why_not = disabled, why_not

    def nobody(self, role: str) -> str:
        """No one at all can sign ``role``."""
        holders = self.team.get(role, ())
        name = self.d.role_title(role)
        if not holders:
            return f"'{self.title}' needs the {possessive(name)} approval and nobody holds the {name} role"
        why = self.why_not.get(role, {})
        return f"'{self.title}' needs the {possessive(name)} approval and nobody can give it: " + "; ".join(
            why.get(p, f"{p} cannot sign it") for p in holders)

    def too_few(self, matching: Matching, missing: int) -> str:
        """Four eyes: the short roles need more distinct people than can sign them."""
        roles = and_([self.d.role_title(r) for r in matching.short])
        near = list(matching.near)
        needs = f"'{self.title}' needs {len(near) + missing} distinct people for {roles}"
        holders = {p for r in matching.short for p in self.team.get(r, ())}
        if holders == set(near):
            them = "both" if len(matching.short) == 2 else "them"
            verb = "holds" if len(near) == 1 else "hold"
            return f"{needs}; only {and_(near)} {verb} {them}"
        return f"{needs}; only {and_(near)} can sign"

    def kept_apart(self, work: Sequence[str]) -> str:
        """Separation of duties against work still to come leaves nobody for one side."""
        return (f"'{self.title}' must be signed by other people than {and_(list(work))} (separation of "
                f"duties), and the team as staffed cannot do both")

    def fix(self, role: str, helper: str | None, short: Sequence[str]) -> str:
        """Another holder for ``role``; or, as good, an account enabled that holds a short role (it adds a
        signer there)."""
        name = self.d.role_title(role)
        holders = self.team.get(role, ())
        text = f"assign another {name}" if holders else f"assign someone to the {name} role"
        if helper is not None:
            text += f" (such as {helper})"
        disabled = sorted({p for r in short for p in self.team.get(r, ()) if p in self.disabled})
        return text + "".join(f", or enable {p}'s account" for p in disabled)


def and_(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
