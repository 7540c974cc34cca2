"""``add_deliverable``: a new version of a deliverable of the current phase, in one transaction.

The bytes are spooled first (streamed, hashed, sized, sniffed; refused when empty or too large,
with nothing kept), outside the project's lock; then the command runs as every project command
does (:func:`workflow.storage.transaction.project_command`): the rule under the lock, the bytes
into the store, the version row, the approvals it voids, its event and the notifications, all
committed together or not at all. A file argument does not fit the declared commands' table
(their parameters are text, sent as JSON and form fields), so this is wired to the Engine and
the CLI directly; its rule is declared once, :func:`workflow.domain.rules.may_add_deliverable`.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import closing
from typing import Any

from sqlalchemy import select

from workflow import settings
from workflow.domain import inputs, limits, rules
from workflow.domain.audit.events import Event
from workflow.domain.deliverables import FILE, LINK, Current
from workflow.domain.identity import Identity, acting
from workflow.domain.rules import Context
from workflow.domain.templates.definition import Deliverable
from workflow.engine.running import project_command, record
from workflow.engine.visibility import missing_project
from workflow.errors import UsageError
from workflow.storage import statements as sql
from workflow.storage.database import utcnow
from workflow.storage.files import blobs, versions
from workflow.storage.files.spool import Source, Spooled, spool
from workflow.storage.project_rows import read_project
from workflow.storage.store import Store
from workflow.storage.tables import events as t_events
from workflow.storage.transaction import ReadTx, WriteTx

KEY = re.compile(r"[a-z0-9_]{1,64}")
URL = re.compile(rf"https?://[^\s]{{1,{inputs.URL_MAX - 8}}}", re.IGNORECASE)


def add_deliverable(store: Store, code: str, key: str, source: Source | None = None, *,
                    actor: str | Identity, name: str | None = None, note: str | None = None,
                    url: str | None = None, label: str | None = None, request_id: str | None = None,
                    expected_seq: int | None = None) -> Event:
    """Add version N+1 of deliverable ``key`` of project ``code``'s current phase: the bytes of
    ``source`` (a path or a binary stream), or ``url`` for work that lives elsewhere."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise UsageError(f"{inputs.shown(key)} is not a deliverable key (lowercase letters, digits and '_')")
    note = inputs.text(note, "the note")
    if (source is None) == (url is None):
        raise UsageError("give the deliverable's file, or --url (and --label) for work that lives elsewhere; "
                         "not both")
    may_add_deliverable(store, code, key, actor=actor)  # refused before a byte is read
    if url is not None:
        if not URL.fullmatch(url) or not inputs.text(url, "the url", multiline=False):
            raise UsageError(f"the url {inputs.shown(url)} must be an http:// or https:// address")
        label = (inputs.text(label, "the label", max_len=inputs.LINE_MAX, multiline=False)
                 or url[:inputs.LINE_MAX])
        return _run(store, code, key, None, actor, None, note, url, label, request_id, expected_seq)
    if name is None and isinstance(source, (str, os.PathLike)):
        name = os.path.basename(os.fspath(source))
    name = inputs.text(name, "the file's name", max_len=inputs.FILE_NAME_MAX, multiline=False)
    env = settings.current()
    limit = env.max_file_bytes or int(limits.DELIVERABLE_BYTES.default)
    assert source is not None
    with closing(spool(source, limit=limit, folder=env.files)) as spooled:
        return _run(store, code, key, spooled, actor, name, note, None, None, request_id, expected_seq,
                    folder=env.files)


def may_add_deliverable(store: Store, code: str, key: str, *, actor: str | Identity) -> Deliverable:
    """The deliverable ``actor`` may add a version of now, or the refusal the command would give: asked
    before an upload is read (an HTTP upload refused without reading its body), and again under the
    project's lock when it is stored."""
    code = inputs.project_code(code)
    who = acting(actor)

    def work(tx: ReadTx) -> Deliverable:
        loaded = read_project(tx, code, who.person)
        if loaded is None:
            raise missing_project(tx, code, who.person)
        state, privileges = loaded
        ctx = Context(state, tx.template(state.template_id), who.person, privileges, utcnow(), who.auth)
        rules.require_party(ctx)
        return rules.may_add_deliverable(ctx, key)[0]

    return store.read(work)


def _run(store: Store, code: str, key: str, spooled: Spooled | None, actor: str | Identity, name: str | None,
         note: str | None, url: str | None, label: str | None, request_id: str | None,
         expected_seq: int | None, *, folder: str | None = None) -> Event:
    fingerprint = {"command": "deliverable.add", "key": key, "sha256": spooled.sha256 if spooled else None,
                   "name": name, "note": note, "url": url, "label": label}

    def body(ctx: Context, tx: WriteTx) -> Event:
        declared, authority = rules.may_add_deliverable(ctx, key)
        state = ctx.state
        before = state.deliverables.get(key)
        version = (before.version if before is not None else 0) + 1
        if spooled is not None:
            blobs.put(tx, spooled, ctx.now, folder)
        carried = before is not None and _carries(declared.carry_over, before, spooled, name, note, url,
                                                  label)
        bound = _bound_to(tx, ctx, key)
        voided = [] if carried else bound
        for a in voided:
            tx.write(sql.DELETE_APPROVAL, {"project_id": state.id, "phase": state.phase, "round": state.round,
                                           "role": a["role"]})
        tx.write(versions.INSERT, {
            "project_id": state.id, "phase": state.phase, "key": key, "version": version,
            "round": state.round,
            "kind": FILE if spooled is not None else LINK, "sha256": spooled.sha256 if spooled else None,
            "size": spooled.size if spooled else None, "name": name,
            "media_type": spooled.media_type if spooled else None, "note": note, "url": url, "label": label,
            "person": ctx.actor, "added_at": ctx.now, "seq": state.seq + 1,
        })
        data: dict[str, Any] = {
            "key": key, "title": declared.title, "version": version, "kind": FILE if spooled else LINK,
            "sha256": spooled.sha256 if spooled else None, "size": spooled.size if spooled else None,
            "name": name, "media_type": spooled.media_type if spooled else None, "note": note,
            "voided": {"approvals": voided},
        }
        if url is not None:
            data.update(url=url, label=label)
        if carried and bound:
            data["carried_over"] = bound
        return record(ctx, tx, "deliverable.add", data, authority=authority)

    return project_command(store, code, actor, request_id, fingerprint, body, expected_seq)


def _carries(rule: tuple[str, ...], before: Current, spooled: Spooled | None, name: str | None,
             note: str | None, url: str | None, label: str | None) -> bool:
    """Whether the approvals of ``before`` carry over to the new version: the template allows
    (``carry_over``) every difference there is, and the bytes (a link: its url) are the same."""
    if not rule:
        return False
    if spooled is not None:
        if before.kind != FILE or before.sha256 != spooled.sha256:
            return False  # never where the bytes changed
    elif before.kind != LINK or before.url != url:
        return False
    changed = {"name"} if before.name != (name if spooled is not None else label) else set()
    if before.note != note:
        changed.add("note")
    return changed <= set(rule)


def _bound_to(tx: WriteTx, ctx: Context, key: str) -> list[dict[str, Any]]:
    """The current round's approvals whose event bound deliverable ``key`` (role, person, seq)."""
    approvals = ctx.state.approvals
    if not approvals:
        return []
    seqs = {a.seq: role for role, a in approvals.items()}
    rows = tx.core(select(t_events.c.seq, t_events.c.data)
                   .where(t_events.c.chain == ctx.code, t_events.c.seq.in_(sorted(seqs))))
    out = []
    for seq, data in rows:
        if key in (json.loads(data).get("deliverables") or {}):
            role = seqs[seq]
            out.append({"role": role, "person": approvals[role].person, "seq": seq})
    return sorted(out, key=lambda a: a["seq"])
