"""What a person may do on a project now: the project's status and the moves its rules allow them,
read together (the web page draws its buttons from these, :func:`workflow.domain.commands.allowed_moves`,
which asks each command's rule, the one the command itself asks under the project's lock)."""

from __future__ import annotations

from workflow.domain import inputs, rules
from workflow.domain.commands import Move, allowed_moves
from workflow.domain.identity import Identity, acting
from workflow.domain.results import ProjectStatus
from workflow.domain.rules import Context
from workflow.domain.status import project_status
from workflow.engine.links import status as signers
from workflow.engine.visibility import missing_project
from workflow.storage.database import utcnow
from workflow.storage.project_rows import read_project, recent_events
from workflow.storage.store import Store
from workflow.storage.transaction import ReadTx


def status_and_moves(
    store: Store, code: str, *, reader: str | Identity
) -> tuple[ProjectStatus, frozenset[Move]]:
    """The project as it stands, and the moves ``reader`` may make on it now (in one read)."""
    code = inputs.project_code(code)
    who = acting(reader)

    def work(tx: ReadTx) -> tuple[ProjectStatus, frozenset[Move]]:
        loaded = read_project(tx, code, who.person)
        if loaded is None:
            raise missing_project(tx, code, who.person)
        state, privileges = loaded
        tpl, now = tx.template(state.template_id), utcnow()
        rules.require_reader(who.person, code, privileges, state.is_party(who.person, now))
        status = signers.named(tx, state, tpl.definition,
                               project_status(state, tpl, recent=recent_events(tx, state), now=now), now)
        return status, allowed_moves(Context(state, tpl, who.person, privileges, now, who.auth))

    return store.read(work)
