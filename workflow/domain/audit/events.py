"""The hash chain every event joins: its canonical encoding and hash.

``hash = sha256(prev_hash + encoding)`` where the encoding length-prefixes every
field (``<len>:<text>``, length in Unicode code points; ``~`` for an absent field),
so no two different events encode alike. The first event of a chain follows
``GENESIS``. ``data`` is stored as canonical JSON text and hashed as stored, so
verifying a chain needs no JSON parsing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from hashlib import sha256
from typing import Any, NamedTuple

GENESIS = "0" * 64
SYSTEM_CHAIN = "@system"  # project codes start with a letter or digit, so this never collides


# check_circular off: the engine builds every value itself (no cycles); the check would run on every event.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False)


def canonical_json(data: Mapping[str, Any]) -> str:
    """JSON with sorted keys and no whitespace: one text per value, as stored and hashed.

    One encoder, built once: ``json.dumps`` with these options builds a new one per call.
    """
    return _CANONICAL.encode(data)


def encode_event(chain: str, seq: int, at: str, actor: str, action: str, phase: str | None, data: str) -> str:
    parts = []
    for value in (chain, str(seq), at, actor, action, phase, data):
        parts.append("~" if value is None else f"{len(value)}:{value}")
    return "".join(parts)


def event_hash(
    prev_hash: str,
    chain: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    phase: str | None,
    data: str,
) -> str:
    payload = prev_hash + encode_event(chain, seq, at, actor, action, phase, data)
    return sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Event:
    """One audit event. ``data_json`` is the stored (and hashed) text; ``data`` parses it on first use."""

    chain: str
    seq: int
    at: str
    actor: str
    action: str
    phase: str | None
    data_json: str = field(repr=False)
    prev_hash: str
    hash: str

    @cached_property
    def data(self) -> dict[str, Any]:
        # Lazily: listing 50 events for a screen should not pay for 50 JSON parses it may not show.
        return parse_data(self.data_json)

    @property
    def project(self) -> str | None:
        return None if self.chain == SYSTEM_CHAIN else self.chain

    @property
    def auth(self) -> str:
        """How the actor was authenticated (events from before accounts existed: asserted)."""
        value = self.data.get("auth")
        return value if isinstance(value, str) else "asserted"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "auth": self.auth,
            "action": self.action,
            "project": self.project,
            "chain": self.chain,
            "phase": self.phase,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_row(cls, row: Any) -> Event:
        return cls(
            row.chain, row.seq, row.at, row.actor, row.action, row.phase, row.data, row.prev_hash, row.hash
        )


# The C scanner behind json.loads, called directly: replaying 2M events for `audit verify` parses
# every event's data, and the whitespace checks around it cost a fifth of the parse.
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def parse_data(text: str) -> dict[str, Any]:
    """An event's data; text that is no longer a JSON object (tampering) is shown, not crashed on."""
    try:
        data, end = _SCAN(text, 0)
        if end != len(text):
            raise ValueError("not canonical JSON")
    except (StopIteration, ValueError, TypeError):  # whitespace around it, or not JSON at all
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            return {"unreadable_data": text}
    return data if isinstance(data, dict) else {"unreadable_data": text}


class ParsedEvent(NamedTuple):
    """A stored event with its data parsed, for replaying many: a tuple is several times cheaper to
    build than an :class:`Event` and its cached ``data``; replay reads both alike."""

    chain: str
    seq: int
    at: str
    actor: str
    action: str
    phase: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


def new_event(
    chain: str,
    seq: int,
    prev_hash: str,
    at: str,
    actor: str,
    action: str,
    phase: str | None,
    data: dict[str, Any],
) -> Event:
    """The next event of a chain, its data stored as canonical JSON and its hash computed."""
    data_json = canonical_json(data)
    digest = event_hash(prev_hash, chain, seq, at, actor, action, phase, data_json)
    return Event(chain, seq, at, actor, action, phase, data_json, prev_hash, digest)


def event_from_dict(d: dict[str, Any]) -> Event:
    """The inverse of :meth:`Event.to_dict`."""
    return Event(
        d["chain"],
        d["seq"],
        d["at"],
        d["actor"],
        d["action"],
        d["phase"],
        canonical_json(d["data"]),
        d["prev_hash"],
        d["hash"],
    )
