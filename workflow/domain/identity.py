"""Who acts, and how they proved it.

The engine's write methods take ``actor`` as a login name (direct-database mode: the
name is *asserted*, trusted because the caller can write the database) or as an
:class:`Identity` the server built from a verified credential. Every event records the
``auth`` it was given.
"""

from __future__ import annotations

from typing import NamedTuple

from workflow.domain import inputs
from workflow.domain.vocabulary import ASSERTED, AUTHS, Auth
from workflow.errors import UsageError


class Identity(NamedTuple):
    person: str
    auth: Auth = ASSERTED
    token_id: str | None = None  # the token used, for a token identity
    session: str | None = None  # the session's id hash, for a web session (a password change keeps it)


def acting(actor: str | Identity, what: str = "the acting person") -> Identity:
    """``actor`` as an :class:`Identity` (a bare name is asserted), its name checked."""
    if isinstance(actor, Identity):
        if actor.auth not in AUTHS:
            raise UsageError(f"unknown kind of authentication {inputs.shown(actor.auth)}")
        inputs.person(actor.person, what)
        return actor
    return Identity(inputs.person(actor, what))
