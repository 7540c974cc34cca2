"""Who acts, and how they proved it.

The engine's write methods take ``actor`` as a login name (direct-database mode: the
name is *asserted*, trusted because the caller can write the database) or as an
:class:`Identity` the server built from a verified credential. Every event records the
``auth`` it was given.
"""

from __future__ import annotations

from typing import NamedTuple

from workflow.domain import inputs
from workflow.domain.vocabulary import ASSERTED, AUTHS, EMAIL_LINK, EXTERNAL_PREFIX, Auth
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
        if actor.auth == EMAIL_LINK:  # an external signer: "client:" and the invited address, nothing else
            if not (is_external(actor.person) and "@" in actor.person and len(actor.person) <= 200):
                raise UsageError(f"{what} {inputs.shown(actor.person)} is not an external signer")
            return actor
        inputs.person(actor.person, what)
        return actor
    return Identity(inputs.person(actor, what))


def is_external(person: str) -> bool:
    """Whether ``person`` names an external signer (``client:buyer@acme.example``), never a login (a login
    has no ':'; only an identity proved by an e-mailed link carries such a name: :func:`acting`)."""
    return person.startswith(EXTERNAL_PREFIX)


def external_person(email: str) -> str:
    """The name an invited address acts under in the record."""
    return EXTERNAL_PREFIX + email


def external_address(person: str) -> str:
    """The e-mail address of an external signer's name."""
    return person[len(EXTERNAL_PREFIX):]
