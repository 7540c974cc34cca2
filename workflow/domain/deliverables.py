"""Deliverables: the versions a phase's people add, what an approval binds, what a file proves.

Pure: the values the engine hands back (:class:`DeliverableVersion`, :class:`Proof`,
:class:`FilesReport`), the media type read from a file's first bytes (:func:`sniff`, never
from its name), the digests an approval was sent with (:func:`digests`), what an approval
records (:func:`binding`) and the sentences of a missing one (:func:`missing`). Who may add
a version is :func:`workflow.domain.rules.may_add_deliverable`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from workflow.domain.results import Result
from workflow.domain.templates.definition import Definition, Phase
from workflow.errors import UsageError

FILE, LINK = "file", "link"
CHUNK = 1024 * 1024  # bytes read, hashed, stored and served at a time: nothing is ever whole in memory
SHA256 = re.compile(r"[0-9a-f]{64}")
DIGESTS_MAX = 8192  # "key=sha256 key=sha256 …" as a form or the CLI sends it


class Current(NamedTuple):
    """A deliverable's newest version in the project's current phase (what an approval binds)."""

    version: int
    sha256: str | None  # None for a link: phasegate has not seen its content
    kind: str  # FILE or LINK
    name: str | None  # a link's label
    url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class DeliverableVersion(Result):
    """One version of one deliverable, as ``deliverable list`` shows it."""

    project: str
    phase: str
    round: int
    key: str
    title: str
    version: int
    kind: str  # "file" or "link"
    sha256: str | None
    size: int | None
    name: str | None
    media_type: str | None
    note: str | None
    url: str | None
    label: str | None
    by: str
    at: str
    seq: int  # the deliverable.add event


@dataclass(frozen=True)
class ProvenApproval(Result):
    """An approval that bound exactly the bytes being proved."""

    project: str
    phase: str
    gate: str
    round: int
    role: str
    person: str
    at: str
    seq: int
    hash: str  # the approve event's hash
    key: str  # the deliverable, and its version, the approval bound
    version: int
    state: str  # "current", "passed" (the gate was passed with it), "voided", "withdrawn", "rejected"
    ended_by: int | None = None  # the event that voided, withdrew or rejected it
    auth: str | None = None  # how the signer proved who they are (email-link: an outside signer, issue 24)
    email: str | None = None  # an outside signer's invited address (their link's and code's)
    invitation: str | None = None  # an outside signer's invitation


@dataclass(frozen=True)
class Proof(Result):
    """``audit prove FILE``: the file's sha256, the stored versions with those bytes, the approvals."""

    sha256: str
    size: int
    versions: list[DeliverableVersion] = field(default_factory=list)
    approvals: list[ProvenApproval] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return bool(self.approvals)


@dataclass(frozen=True)
class BrokenFile(Result):
    project: str
    key: str
    version: int
    sha256: str
    problem: str  # "missing", "changed" (the bytes), or "record" (the row differs from its event)

    def __str__(self) -> str:
        what = {"missing": "is missing", "changed": "no longer hashes to its sha256"}.get(
            self.problem, "differs from its deliverable.add event")
        return f"{self.project} {self.key} v{self.version} (sha256 {self.sha256[:12]}…) {what}"


@dataclass(frozen=True)
class FilesReport(Result):
    """``audit verify``'s second half: every stored file's bytes hashed again."""

    ok: bool
    files_checked: int
    broken: list[BrokenFile] = field(default_factory=list)


# -- media types: from the bytes, never from the name --------------------------------------------------

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
)
_OFFICE = ((b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
           (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
           (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"))


def sniff(head: bytes) -> str:
    """The media type of a file from its first bytes (up to a few KiB): a small table of magic
    numbers; an office document (xlsx, docx, pptx) is a zip whose first names say which; text is
    told apart (HTML and SVG named as such, so a download never runs them); anything else is
    ``application/octet-stream``."""
    for magic, media in _MAGIC:
        if head.startswith(magic):
            if media == "application/zip":
                for folder, office in _OFFICE:
                    if folder in head[:4096]:
                        return office
            return media
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    try:
        text = head[:4096].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head[:4096]) - 4:  # a character cut at the end of the sample is still text
            return "application/octet-stream"
        text = head[:exc.start].decode("utf-8")
    if "\x00" in text:
        return "application/octet-stream"
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if lowered.startswith("<svg") or (lowered.startswith("<?xml") and "<svg" in lowered):
        return "image/svg+xml"
    if lowered.startswith(("<!doctype html", "<html", "<head", "<body", "<script")):
        return "text/html"
    return "text/plain"


# -- what an approval was sent with, and what it records ---------------------------------------------


def digests(value: Any) -> dict[str, str] | None:
    """The deliverables an approval was given on, as sent: a mapping KEY -> sha256 (the Python API,
    a JSON body) or the text ``KEY=SHA256 KEY=SHA256`` (a form, the CLI; commas also separate)."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        if len(value) > DIGESTS_MAX:
            raise UsageError(f"the deliverables' digests are too long ({len(value)} characters; at most "
                             f"{DIGESTS_MAX})")
        pairs: list[tuple[str, str]] = []
        for part in re.split(r"[\s,]+", value.strip()):
            key, eq, digest = part.partition("=")
            if not eq:
                raise UsageError(f"the deliverables' digests must read KEY=SHA256, not {part[:80]!r}")
            pairs.append((key, digest))
        value = dict(pairs)
    if not isinstance(value, Mapping):
        raise UsageError("the deliverables' digests must be a mapping of deliverable key to sha256")
    out: dict[str, str] = {}
    for key, digest in value.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z0-9_]{1,64}", key):
            raise UsageError(f"{str(key)[:80]!r} is not a deliverable key")
        if not isinstance(digest, str) or not SHA256.fullmatch(digest.lower()):
            raise UsageError(f"the digest of {key} must be a sha256 in hex (64 characters)")
        out[key] = digest.lower()
    return out


def binding(phase: Phase, present: Mapping[str, Current]) -> dict[str, dict[str, Any]]:
    """What an approval of ``phase`` records: ``{KEY: {version, sha256}}`` for every deliverable of
    the phase that has a version (a link records its url, sha256 None)."""
    out: dict[str, dict[str, Any]] = {}
    for d in phase.deliverables:
        cur = present.get(d.key)
        if cur is not None:
            out[d.key] = {"version": cur.version, "sha256": cur.sha256}
            if cur.kind == LINK:
                out[d.key]["url"] = cur.url
    return out


def seen_differs(phase: Phase, present: Mapping[str, Current], seen: Mapping[str, str]) -> bool:
    """Whether the digests an approval was sent with differ from the current set (a key missing
    from either side counts; a link, which has no digest, is left out of both)."""
    now = {k: c.sha256 for k, c in present.items() if c.sha256 is not None and phase.deliverable(k)}
    return now != dict(seen)


def current_digests(present: Mapping[str, Current]) -> dict[str, dict[str, Any]]:
    """The current set as a refusal reports it: ``{KEY: {version, sha256}}``."""
    return {k: {"version": c.version, "sha256": c.sha256} for k, c in sorted(present.items())}


def missing(definition: Definition, phase: Phase, present: Mapping[str, Current],
            team: Mapping[str, Sequence[str]]) -> list[str]:
    """A sentence for each required deliverable without a version: "waiting for the Estimate from
    the Project Manager: cy"."""
    out = []
    for d in phase.deliverables:
        if d.required and d.key not in present:
            roles = " or ".join(f"the {definition.role_title(r)}" for r in d.by)
            people = sorted({p for r in d.by for p in team.get(r, ())})
            who = ", ".join(people) or "nobody holds the role yet; assign someone to it"
            out.append(f"waiting for the {d.title} from {roles}: {who}")
    return out
