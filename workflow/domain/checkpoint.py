"""Checkpoints: a small statement of every chain's length and head hash, kept outside the database.

A hash chain proves that nothing *inside* it changed, but not that its tail is
still there or that someone with write access did not rebuild it whole with
recomputed hashes. A checkpoint closes that gap for everything before it: an
auditor writes one (``audit checkpoint --output FILE``), keeps the file somewhere
the database's writers cannot reach, and later runs ``audit verify --checkpoint
FILE``, which fails when a recorded chain is gone, shorter, or has another hash at
the recorded length.

The document is JSON::

    {"format": "phasegate-checkpoint", "version": 1, "created_at": "...",
     "chains": [{"chain": "@system", "length": 4, "head": "<sha256>"}, ...],
     "digest": "sha256:<hex>", "signature": "hmac-sha256:<hex>"}

``digest`` is sha256 over the canonical JSON of the other fields (format, version,
created_at, chains sorted by name), so an edited file is detected even without a
key. When ``PHASEGATE_CHECKPOINT_KEY`` is set, ``signature`` is HMAC-SHA256 of the
same text under that key, and verifying then *requires* a valid signature: someone
who can edit the file but cannot read the key cannot forge a checkpoint that
matches a rewritten database.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from workflow.domain.events import canonical_json
from workflow.errors import AuditBroken, UsageError

FORMAT = "phasegate-checkpoint"
VERSION = 1
KEY_ENV = "PHASEGATE_CHECKPOINT_KEY"
MAX_BYTES = 64 * 1024 * 1024  # ~400,000 chains; a checkpoint is never bigger than this
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Checkpoint:
    created_at: str
    chains: dict[str, tuple[int, str]]  # chain -> (length, head hash)
    digest: str
    signature: str | None

    @property
    def signed(self) -> bool:
        return self.signature is not None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = _body(self.created_at, self.chains)
        d["digest"] = self.digest
        if self.signature is not None:
            d["signature"] = self.signature
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def checkpoint_key() -> bytes | None:
    """The HMAC key from the environment (unset or empty: no key)."""
    value = os.environ.get(KEY_ENV, "")
    return value.encode("utf-8") if value else None


def _body(created_at: str, chains: dict[str, tuple[int, str]]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": created_at,
        "chains": [{"chain": name, "length": length, "head": head}
                   for name, (length, head) in sorted(chains.items())],
    }


def _signed_text(created_at: str, chains: dict[str, tuple[int, str]]) -> bytes:
    return canonical_json(_body(created_at, chains)).encode("utf-8")


def make_checkpoint(chains: dict[str, tuple[int, str]], created_at: str, key: bytes | None) -> Checkpoint:
    text = _signed_text(created_at, chains)
    digest = "sha256:" + sha256(text).hexdigest()
    signature = None if key is None else "hmac-sha256:" + hmac.new(key, text, sha256).hexdigest()
    return Checkpoint(created_at, dict(chains), digest, signature)


def read_checkpoint(path: str | Path) -> str:
    """The text of a checkpoint file, refusing huge or undecodable files with a sentence."""
    file = Path(path)
    try:
        with file.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"there is no checkpoint file {file}") from None
    except OSError as exc:
        raise UsageError(f"cannot read the checkpoint file {file}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{file} is larger than any checkpoint ({MAX_BYTES} bytes); it is not one")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{file} is not a phasegate checkpoint (not UTF-8 text)") from None


def load_checkpoint(text: str, key: bytes | None, *, source: str = "the checkpoint") -> Checkpoint:
    """Parse and authenticate a checkpoint.

    Not a checkpoint at all: :class:`UsageError`. A checkpoint whose digest or signature
    does not match its content (edited after it was written), or that lacks the
    signature a configured key requires: :class:`AuditBroken`.
    """
    try:
        doc = json.loads(text)
    except ValueError:
        raise UsageError(f"{source} is not a phasegate checkpoint (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"{source} is not a phasegate checkpoint (no \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise UsageError(f"{source} is a checkpoint of format version {doc.get('version')!r}; "
                         f"this phasegate reads version {VERSION}")
    created_at, raw_chains = doc.get("created_at"), doc.get("chains")
    if not isinstance(created_at, str) or not isinstance(raw_chains, list):
        raise AuditBroken(f"{source} was altered: created_at or chains is malformed")
    chains: dict[str, tuple[int, str]] = {}
    for entry in raw_chains:
        if not (isinstance(entry, dict) and set(entry) == {"chain", "length", "head"}
                and isinstance(entry["chain"], str) and type(entry["length"]) is int and entry["length"] >= 0
                and isinstance(entry["head"], str) and len(entry["head"]) == 64 and set(entry["head"]) <= _HEX
                and entry["chain"] not in chains):
            raise AuditBroken(f"{source} was altered: a chain entry is malformed ({str(entry)[:80]})")
        chains[entry["chain"]] = (entry["length"], entry["head"])
    text_bytes = _signed_text(created_at, chains)
    digest = "sha256:" + sha256(text_bytes).hexdigest()
    if not hmac.compare_digest(str(doc.get("digest", "")), digest):
        raise AuditBroken(f"{source} was altered after it was written: its digest does not match its content")
    signature = doc.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise AuditBroken(f"{source} was altered: its signature is malformed")
    if key is not None:
        if signature is None:
            raise AuditBroken(f"{source} is not signed, but {KEY_ENV} is set: "
                              f"a signed checkpoint is required")
        expected = "hmac-sha256:" + hmac.new(key, text_bytes, sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise AuditBroken(f"{source} has a wrong signature: it was altered, or signed with another key")
    return Checkpoint(created_at, chains, digest, signature)
