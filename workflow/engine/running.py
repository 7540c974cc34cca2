"""How every project command runs: :mod:`workflow.storage.transaction`, which reads top to bottom
(request id, lock, who may, expected seq, body, record, outbox). The engine adds one thing: what
a person may learn of a project that is missing or not theirs (:mod:`workflow.engine.visibility`).

The command bodies call these three names as they always have.
"""

from __future__ import annotations

from functools import partial

from workflow.engine.visibility import missing_project
from workflow.storage import transaction
from workflow.storage.transaction import Body, record, write_once

__all__ = ["Body", "project_command", "record", "write_once"]

# A partial, not a wrapper: no frame of its own on every command's path.
project_command = partial(transaction.project_command, missing=missing_project)
