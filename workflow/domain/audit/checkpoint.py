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

A checkpoint read back states how far its signature can be trusted
(:attr:`Checkpoint.signature_state`): ``"checked"`` (a key is set and the signature
is valid), ``"not checked"`` (it carries a signature but no key is set here, so
nothing about the signature is known) or ``"none"`` (it has no signature). Only
``"checked"`` may be reported to an auditor as a checked signature.

The file comes from wherever the auditor kept it, so reading it is defensive: any
content gives :class:`UsageError` (not a checkpoint at all) or :class:`AuditBroken`
(a checkpoint that was altered), each with a sentence, never a traceback.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any, Literal

from workflow import settings
from workflow.domain import limits
from workflow.domain.audit.events import canonical_json
from workflow.domain.inputs import STORED_TIME_RE, shown, utf8_text
from workflow.errors import AuditBroken, UsageError

FORMAT = "phasegate-checkpoint"
VERSION = 1
KEY_ENV = settings.CHECKPOINT_KEY  # the key is read at the edges and passed in
MAX_BYTES = int(limits.CHECKPOINT_BYTES.default)  # ~400,000 chains; a checkpoint is never bigger
CHAIN_MAX = 200  # a project code is at most 64 characters; this leaves room for other chains
_HEX = frozenset("0123456789abcdef")
# ASCII only: hmac.compare_digest refuses a str with any other character (TypeError).
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_SIGNATURE_RE = re.compile(r"hmac-sha256:[0-9a-f]{64}")
_ENTRY_KEYS = frozenset({"chain", "length", "head"})
_ENTRY_SHAPE = '{"chain": text, "length": a whole number from 0, "head": 64 hex digits}'

SignatureState = Literal["checked", "not checked", "none"]
SIGNATURE_STATES: tuple[SignatureState, ...] = ("checked", "not checked", "none")


@dataclass(frozen=True)
class Checkpoint:
    created_at: str
    chains: dict[str, tuple[int, str]]  # chain -> (length, head hash)
    digest: str
    signature: str | None
    # "checked": made or verified here with $PHASEGATE_CHECKPOINT_KEY; "not checked": it carries
    # a signature but no key was set, so it could not be checked; "none": it has no signature.
    signature_state: SignatureState

    def __post_init__(self) -> None:
        if self.signature_state not in SIGNATURE_STATES:
            raise ValueError(f"signature_state must be one of {SIGNATURE_STATES}: {self.signature_state!r}")
        if (self.signature is None) != (self.signature_state == "none"):
            raise ValueError("signature_state is 'none' exactly when there is no signature")

    @property
    def signed(self) -> bool:
        """True only when the signature was made or checked with the key here.

        A signature nobody could check proves nothing (anyone can write one), so it does
        not count as signed; :attr:`signature_state` tells it apart from having none.
        """
        return self.signature_state == "checked"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = _body(self.created_at, self.chains)
        d["digest"] = self.digest
        if self.signature is not None:
            d["signature"] = self.signature
        return d

    def to_json(self) -> str:
        """The file's text: ASCII (``\\uNNNN`` escapes), since ``audit checkpoint`` prints it to a
        terminal and chain names come from the database; the digest covers the values, not the text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=True) + "\n"


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


def _hmac(key: bytes, text: bytes) -> str:
    return "hmac-sha256:" + hmac.new(key, text, sha256).hexdigest()


def make_checkpoint(chains: dict[str, tuple[int, str]], created_at: str, key: bytes | None) -> Checkpoint:
    text = _signed_text(created_at, chains)
    digest = "sha256:" + sha256(text).hexdigest()
    if key is None:
        return Checkpoint(created_at, dict(chains), digest, None, "none")
    return Checkpoint(created_at, dict(chains), digest, _hmac(key, text), "checked")


def read_checkpoint(path: str | Path) -> str:
    """The text of a checkpoint file, refusing huge or undecodable files with a sentence."""
    try:
        file = Path(path)
        with file.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"there is no checkpoint file {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read the checkpoint file {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError):  # a NUL byte in the path; not a path at all
        raise UsageError(f"{shown(path)} is not a path to a checkpoint file") from None
    return utf8_text(data, MAX_BYTES,
                     too_large=f"{file} is larger than any checkpoint ({MAX_BYTES} bytes); it is not one",
                     not_text=f"{file} is not a phasegate checkpoint (not UTF-8 text)")


def load_checkpoint(text: str, key: bytes | None, *, source: str = "the checkpoint") -> Checkpoint:
    """Parse and authenticate a checkpoint.

    Not a checkpoint at all: :class:`UsageError`. A checkpoint whose digest or signature
    does not match its content (edited after it was written), whose content is malformed,
    or that lacks the signature a configured key requires: :class:`AuditBroken`. Without
    a key a signature cannot be checked; the result then says ``"not checked"``.
    """
    doc = _document(text, source)
    created_at, chains = _content(doc, source)
    signed_text = _signed_text(created_at, chains)
    digest = _checked_digest(doc, signed_text, source)
    signature = _signature(doc, source)
    state = _checked_signature(signature, key, signed_text, source)
    return Checkpoint(created_at, chains, digest, signature, state)


def _document(text: str, source: str) -> dict[str, Any]:
    """The JSON object of a phasegate checkpoint of the version this code reads."""
    if not isinstance(text, str):
        raise UsageError(f"{source} is not a phasegate checkpoint (not text)")
    try:
        doc = json.loads(text)
    except RecursionError:
        raise UsageError(f"{source} is not a phasegate checkpoint (its JSON is nested too deeply)") from None
    except ValueError:  # also: a number with more digits than Python converts
        raise UsageError(f"{source} is not a phasegate checkpoint (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"{source} is not a phasegate checkpoint (no \"format\": \"{FORMAT}\")")
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        raise UsageError(f"{source} is a checkpoint of format version {_brief(version)}; "
                         f"this phasegate reads version {VERSION}")
    return doc


def _brief(value: Any) -> str:
    """A JSON value for a sentence, without repr of something nested or huge."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else shown(value, limit=40)


def _content(doc: dict[str, Any], source: str) -> tuple[str, dict[str, tuple[int, str]]]:
    """created_at and the chains, each checked for the shape phasegate writes."""
    created_at, raw_chains = doc.get("created_at"), doc.get("chains")
    if not isinstance(created_at, str) or not STORED_TIME_RE.fullmatch(created_at):
        raise AuditBroken(f"{source} was altered: created_at is not a time as phasegate writes it")
    if not isinstance(raw_chains, list):
        raise AuditBroken(f"{source} was altered: chains is not a list")
    chains: dict[str, tuple[int, str]] = {}
    for number, entry in enumerate(raw_chains, 1):
        name, length, head = _chain_entry(entry, number, source)
        if name in chains:
            raise AuditBroken(f"{source} was altered: chain {shown(name)} is listed twice")
        chains[name] = (length, head)
    return created_at, chains


def _chain_entry(entry: Any, number: int, source: str) -> tuple[str, int, str]:
    if isinstance(entry, dict) and set(entry) == _ENTRY_KEYS:
        name, length, head = entry["chain"], entry["length"], entry["head"]
        if (isinstance(name, str) and 0 < len(name) <= CHAIN_MAX and _is_unicode(name)
                and type(length) is int and length >= 0
                and isinstance(head, str) and len(head) == 64 and set(head) <= _HEX):
            return name, length, head
    raise AuditBroken(f"{source} was altered: chain entry #{number} is malformed (each is {_ENTRY_SHAPE})")


def _is_unicode(text: str) -> bool:
    """False for text with an unpaired surrogate (JSON's ``"\\ud800"``), which cannot be hashed as UTF-8.

    Any other chain name is taken as written: the database it came from may hold odd ones,
    and every sentence that names a chain escapes it.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _checked_digest(doc: dict[str, Any], signed_text: bytes, source: str) -> str:
    digest = doc.get("digest")
    expected = "sha256:" + sha256(signed_text).hexdigest()
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest) \
            or not hmac.compare_digest(digest, expected):
        raise AuditBroken(f"{source} was altered after it was written: its digest does not match its content")
    return digest


def _signature(doc: dict[str, Any], source: str) -> str | None:
    signature = doc.get("signature")
    if signature is not None and not (isinstance(signature, str) and _SIGNATURE_RE.fullmatch(signature)):
        raise AuditBroken(f"{source} was altered: its signature is malformed")
    return signature


def _checked_signature(
    signature: str | None, key: bytes | None, signed_text: bytes, source: str
) -> SignatureState:
    if key is None:
        return "none" if signature is None else "not checked"
    if signature is None:
        raise AuditBroken(f"{source} is not signed, but {KEY_ENV} is set: a signed checkpoint is required")
    if not hmac.compare_digest(signature, _hmac(key, signed_text)):
        raise AuditBroken(f"{source} has a wrong signature: it was altered, or signed with another key")
    return "checked"
