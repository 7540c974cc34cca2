"""The proof from the file alone (``audit prove``), and the stored files checked (``audit verify``).

``prove``: the sha256 of a file, streamed; every stored version with those bytes; and every
approval in the history whose hashed event bound them (``data.deliverables``), with what became
of it: still ``current``, ``passed`` (the gate was passed with it), or ended — ``voided`` (a new
version came in), ``withdrawn``, ``rejected``, ``unassigned`` — by the event named.

``verify_deliverables``: each version row compared with its ``deliverable.add`` event (key,
version, kind, sha256, size), and each stored file's bytes hashed again.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from workflow import settings
from workflow.domain import rules
from workflow.domain.deliverables import SHA256, BrokenFile, FilesReport, Proof, ProvenApproval
from workflow.domain.identity import Identity, acting
from workflow.domain.inputs import shown
from workflow.domain.vocabulary import READ_EVERYTHING
from workflow.errors import UsageError
from workflow.storage.files import blobs, versions
from workflow.storage.files.spool import Source, sha256_of
from workflow.storage.grants import privileges_of
from workflow.storage.store import Store
from workflow.storage.tables import assignments as t_assignments
from workflow.storage.tables import deliverables as t_versions
from workflow.storage.tables import events as t_events
from workflow.storage.tables import projects as t_projects
from workflow.storage.transaction import ReadTx

ENDINGS = {"withdraw": "withdrawn", "reject": "rejected", "unassign": "unassigned",
           "deliverable.add": "voided", "invite.revoke": "revoked"}
WATCHED = ("approve", "advance", *ENDINGS)


def prove(store: Store, source: Source | None = None, *, project: str | None = None,
          reader: str | Identity | None = None, sha256: str | None = None) -> Proof:
    """Every approval that bound exactly the bytes of ``source`` (in ``project``; in every project
    ``reader`` may read). ``sha256``: instead of ``source``, the digest a client computed (a
    server is sent only that); the size is then the stored version's (0 when none holds it)."""
    if (source is None) == (sha256 is None):
        raise UsageError("give the file to prove, or its sha256; not both")
    if sha256 is not None:
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256.lower()):
            raise UsageError(f"{shown(sha256)} is not a sha256 (64 hexadecimal digits)")
        sha256, size = sha256.lower(), -1
    else:
        sha256, size = sha256_of(source)  # type: ignore[arg-type]
    who = None if reader is None else acting(reader).person

    def work(tx: ReadTx) -> Proof:
        codes = None if project is None else [project]
        rows = versions.by_sha256(tx, sha256, codes)
        if who is not None:
            readable = _readable_codes(tx, who)
            rows = [r for r in rows if readable is None or r["code"] in readable]
        found = [versions.version_of(r["code"], tx.template(r["template_id"]).definition, r) for r in rows]
        approvals: list[ProvenApproval] = []
        for code in dict.fromkeys(r["code"] for r in rows):
            approvals += _approvals(tx, code, sha256)
        held = size if size >= 0 else next((v.size for v in found if v.size is not None), 0)
        return Proof(sha256, held, found, approvals)  # a digest given: the size of the bytes held

    return store.snapshot(work)


def _readable_codes(tx: ReadTx, who: str) -> set[str] | None:
    """The projects ``who`` may read (None: every one, an admin or auditor)."""
    if not READ_EVERYTHING.isdisjoint(privileges_of(tx, who)):
        return None
    query = (select(t_projects.c.code).join(t_assignments, t_assignments.c.project_id == t_projects.c.id)
             .where(t_assignments.c.person == who))
    return {r.code for r in tx.core(query)}


def _approvals(tx: ReadTx, code: str, sha256: str) -> list[ProvenApproval]:
    query = (select(t_events.c.seq, t_events.c.at, t_events.c.actor, t_events.c.action, t_events.c.phase,
                    t_events.c.data, t_events.c.hash)
             .where(t_events.c.chain == code, t_events.c.action.in_(WATCHED)).order_by(t_events.c.seq))
    signed: dict[int, dict[str, Any]] = {}
    ended: dict[int, tuple[str, int]] = {}
    for seq, at, actor, action, phase, raw, digest in tx.core(query):
        data = json.loads(raw)
        if action == "approve":
            bound = [(k, b) for k, b in (data.get("deliverables") or {}).items() if b.get("sha256") == sha256]
            if bound:
                signed[seq] = {"at": at, "actor": actor, "phase": phase, "data": data, "hash": digest,
                               "bound": bound}
            continue
        gone = (data.get("voided") or {}).get("approvals") or []
        if action == "advance":
            gone = data.get("approvals") or []
        for a in gone:
            if a.get("seq") in signed and a["seq"] not in ended:
                ended[a["seq"]] = ("passed" if action == "advance" else ENDINGS[action], seq)
    out = []
    for seq, s in signed.items():
        state, by = ended.get(seq, ("current", None))
        for key, b in s["bound"]:
            d = s["data"]
            out.append(ProvenApproval(
                project=code, phase=s["phase"], gate=d.get("gate", ""), round=d["round"], role=d["role"],
                person=s["actor"], at=s["at"], seq=seq, hash=s["hash"], key=key, version=b["version"],
                state=state, ended_by=by, auth=d.get("auth"), email=d.get("email"),
                invitation=d.get("invitation")))
    return out


def verify_deliverables(store: Store, code: str | None = None, *,
                        reader: str | Identity | None = None) -> FilesReport:
    """Each version row against its event, each stored file hashed again; ``broken`` names them."""
    if reader is not None:
        who = acting(reader).person
        grants = store.read(lambda tx: privileges_of(tx, who))
        rules.require_audit_reader(who, grants, "verify the audit trail")
    folder = settings.current().files

    def rows(tx: ReadTx) -> list[dict[str, Any]]:
        query = (select(t_versions, t_projects.c.code, t_events.c.data)
                 .join(t_projects, t_projects.c.id == t_versions.c.project_id)
                 .outerjoin(t_events, (t_events.c.chain == t_projects.c.code)
                            & (t_events.c.seq == t_versions.c.seq)))
        if code is not None:
            query = query.where(t_projects.c.code == code)
        return [dict(r) for r in tx.core(query.order_by(t_projects.c.code, t_versions.c.seq)).mappings()]

    broken: list[BrokenFile] = []
    first: dict[str, dict[str, Any]] = {}
    for r in store.snapshot(rows):
        event = json.loads(r["data"]) if r["data"] else {}
        recorded = {k: event.get(k) for k in ("key", "version", "kind", "sha256", "size")}
        if recorded != {k: r[k] for k in recorded}:
            broken.append(BrokenFile(r["code"], r["key"], r["version"], r["sha256"] or "-" * 64, "record"))
        if r["kind"] == "file" and r["sha256"]:
            first.setdefault(r["sha256"], r)
    for sha256, r in first.items():
        now = blobs.rehash(store, sha256, folder)
        if now != sha256:
            broken.append(BrokenFile(r["code"], r["key"], r["version"], sha256,
                                     "missing" if now is None else "changed"))
    return FilesReport(not broken, len(first), broken)
