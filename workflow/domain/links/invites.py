"""Who may invite an outside signer to an external role, and revoke an invitation (issue 24).

Part of :mod:`workflow.domain.rules` (which imports these two: the command table names them there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow.errors import RuleRefused

if TYPE_CHECKING:
    from workflow.domain.rules import Context


def may_invite(ctx: Context, role: str) -> str | None:
    """The lead or an admin invites an outside signer to an external role of an open project; the
    authority it is recorded under (the lead role, or None for an admin)."""
    from workflow.domain import rules  # (rules imports this module)

    rules.require_assigner(ctx)
    rules.require_role(ctx, role)
    if not ctx.definition.is_external(role):
        raise RuleRefused(f"the {ctx.role_title(role)} role of {ctx.code} is not external: only a role the "
                          f"template marks `external: true` is given through an e-mailed link")
    return ctx.definition.lead if ctx.holds(ctx.definition.lead) else None


def may_revoke_invite(ctx: Context, invitation: str | None = None) -> str | None:
    from workflow.domain import rules

    rules.require_assigner(ctx)
    return ctx.definition.lead if ctx.holds(ctx.definition.lead) else None
