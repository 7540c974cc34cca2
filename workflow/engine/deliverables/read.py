"""Reading deliverables: the versions of a project, and one version's bytes, streamed.

Admins, auditors and the project's team read them (:func:`workflow.domain.rules.may_read`);
``reader=None`` is the trusted caller of the Python API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from workflow import settings
from workflow.domain import inputs
from workflow.domain.deliverables import FILE, DeliverableVersion
from workflow.domain.identity import Identity, acting
from workflow.domain.templates.definition import Definition
from workflow.engine.visibility import readable_project
from workflow.errors import NotFound
from workflow.storage.files import blobs, versions
from workflow.storage.store import Store
from workflow.storage.transaction import ReadTx


class Opened(NamedTuple):
    """A version to download: what it is, and its bytes 1 MiB at a time (none for a link)."""

    version: DeliverableVersion
    chunks: Iterator[bytes]


def deliverables(store: Store, code: str, *, phase: str | None = None, key: str | None = None,
                 reader: str | Identity | None = None) -> list[DeliverableVersion]:
    """Every version of project ``code``'s deliverables (of ``phase``, of ``key``), by phase, key, version."""
    code = inputs.project_code(code)
    who = None if reader is None else acting(reader).person

    def work(tx: ReadTx) -> list[DeliverableVersion]:
        state_id, definition = _readable(tx, code, who)
        if phase is not None and definition.phase(phase) is None:
            raise NotFound(f"template {definition.key} has no phase {inputs.shown(phase)} "
                           f"(phases: {', '.join(definition.phase_keys)})")
        return versions.listing(tx, state_id, code, definition, phase=phase, key=key)

    return store.read(work)


def open_deliverable(store: Store, code: str, key: str, version: int | None = None, *,
                     phase: str | None = None, reader: str | Identity | None = None) -> Opened:
    """Version ``version`` (default: the newest) of deliverable ``key`` (of ``phase``; default: the
    latest phase that has one), and its bytes as an iterator of chunks."""
    found = deliverables(store, code, phase=phase, key=key, reader=reader)
    if not found:
        raise NotFound(f"{code} has no version of a deliverable {inputs.shown(key)} yet")
    latest_phase = max(found, key=lambda v: v.seq).phase
    of_phase = [v for v in found if v.phase == (phase or latest_phase)]
    chosen = of_phase[-1] if version is None else next((v for v in of_phase if v.version == version), None)
    if chosen is None:
        have = ", ".join(str(v.version) for v in of_phase)
        raise NotFound(f"{code} has no version {version} of the {of_phase[0].title} (versions: {have})")
    if chosen.kind != FILE or chosen.sha256 is None:
        return Opened(chosen, iter(()))
    return Opened(chosen, blobs.chunks(store, chosen.sha256, settings.current().files))


def _readable(tx: ReadTx, code: str, who: str | None) -> tuple[int, Definition]:
    state, _privileges = readable_project(tx, code, who)
    assert state.id is not None
    return state.id, tx.template(state.template_id).definition
