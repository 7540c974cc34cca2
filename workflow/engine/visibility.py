"""What a person may learn about a project that is missing or not theirs.

Someone with no role on a project and no admin or auditor grant gets one answer,
whether the project exists or not (:func:`workflow.domain.rules.outsider`), so codes
cannot be probed. A code that does not exist gets a hint when a project the person may
read differs from it only in case ("did you mean ACME-1?").
"""

from __future__ import annotations

from sqlalchemy import func, select

from workflow.domain import rules
from workflow.domain.state import ProjectState
from workflow.domain.vocabulary import READ_EVERYTHING
from workflow.errors import NotFound, PhasegateError
from workflow.storage.database import utcnow
from workflow.storage.grants import privileges_of
from workflow.storage.project_rows import read_project
from workflow.storage.tables import assignments as t_assignments
from workflow.storage.tables import projects as t_projects
from workflow.storage.transaction import ReadTx


def missing_project(tx: ReadTx, code: str, person: str | None) -> PhasegateError:
    """The refusal for ``code``, which does not exist, as ``person`` (None: a trusted caller) may see it."""
    reads_all = person is None or not READ_EVERYTHING.isdisjoint(privileges_of(tx, person))
    stmt = (
        select(t_projects.c.code)
        .where(func.lower(t_projects.c.code) == code.lower())
        .order_by(t_projects.c.code)
    )
    if not reads_all:
        stmt = stmt.where(
            t_projects.c.id.in_(select(t_assignments.c.project_id).where(t_assignments.c.person == person))
        )
    similar = [r.code for r in tx.core(stmt.limit(3))]
    if similar:
        return NotFound(f"there is no project {code}; did you mean {' or '.join(similar)}?")
    if not reads_all:
        assert person is not None
        return rules.outsider(person, code)
    return NotFound(f"there is no project {code}")


def readable_project(tx: ReadTx, code: str, who: str | None) -> tuple[ProjectState, frozenset[str]]:
    """Project ``code`` and ``who``'s grants, if ``who`` (None: a trusted caller) may read it: its team,
    the delegates in force of its members, admins and auditors; the one refusal otherwise."""
    loaded = read_project(tx, code, who or "")
    if loaded is None:
        raise missing_project(tx, code, who)
    state, privileges = loaded
    if who is not None:
        rules.require_reader(who, code, privileges, state.is_party(who, utcnow()))
    return state, privileges
