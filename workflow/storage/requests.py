"""Request ids: a write carrying one is applied once; a repeat is answered with the first outcome.

The outcome (the command's event) is stored in the same transaction as the command,
so a retry after a lost acknowledgement finds it whatever happened to the client.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from workflow.domain import inputs
from workflow.domain.audit.events import Event, canonical_json, event_from_dict
from workflow.errors import Conflict
from workflow.storage import statements as sql
from workflow.storage.tx import WriteTx


def apply_once(
    tx: WriteTx, request_id: str, actor: str, fingerprint: str, work: Callable[[WriteTx], Event]
) -> Event:
    """Run ``work`` unless ``request_id`` was already used, then answer with its first outcome.

    ``fingerprint`` identifies the command (canonical JSON of its arguments): one id used for
    two different commands is a conflict, not a repeat.
    """
    prior = tx.dialect.prior_request(tx, request_id)
    if prior is not None:
        prior_actor, prior_command, prior_outcome = prior
        if prior_actor != actor or prior_command != fingerprint:
            raise Conflict(f"request id {inputs.shown(request_id)} was already used for a different command")
        return event_from_dict(json.loads(prior_outcome))
    event = work(tx)
    tx.write(
        sql.PUT_REQUEST,
        {
            "request_id": request_id,
            "actor": actor,
            "command": fingerprint,
            "outcome": canonical_json(event.to_dict()),
            "at": event.at,
        },
    )
    return event
