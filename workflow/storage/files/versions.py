"""The ``deliverables`` rows: each version of each deliverable of a project's phases.

The write path reads the current phase's newest versions under the project's lock (only where
the phase declares deliverables: :func:`with_deliverables`) and inserts a version with its
event; the reads list them, find one to download, and find every version of given bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from workflow.domain.deliverables import Current, DeliverableVersion
from workflow.storage.statements import Statement, _insert
from workflow.storage.tables import deliverables as t_versions
from workflow.storage.tables import projects as t_projects

if TYPE_CHECKING:
    from workflow.domain.state import ProjectState
    from workflow.domain.templates.definition import Definition
    from workflow.storage.transaction import ReadTx

CURRENT = Statement(
    "deliverables_current",
    "SELECT d.key, d.version, d.sha256, d.kind, coalesce(d.name, d.label), d.url, d.note FROM deliverables d"
    " WHERE d.project_id = :project_id AND d.phase = :phase AND d.version = ("
    "SELECT max(v.version) FROM deliverables v WHERE v.project_id = d.project_id AND v.phase = d.phase"
    " AND v.key = d.key)",
)
INSERT = _insert("deliverables", "project_id", "phase", "key", "version", "round", "kind", "sha256", "size",
                 "name", "media_type", "note", "url", "label", "person", "added_at", "seq")


def current(tx: ReadTx, project_id: int, phase: str) -> dict[str, Current]:
    """The newest version of each deliverable of ``phase`` that has one."""
    rows = tx.execute(CURRENT, project_id=project_id, phase=phase).fetchall()
    return {row[0]: Current(*row[1:]) for row in rows}


def with_deliverables(tx: ReadTx, state: ProjectState, definition: Definition) -> ProjectState:
    """``state`` with its current phase's deliverables read, where the phase declares any (one
    query then; none for a phase without deliverables, as every phase of an older template)."""
    phase = definition.phase(state.phase)
    if phase is None or not phase.deliverables or state.id is None:
        return state
    return state._replace(deliverables=current(tx, state.id, state.phase))


def listing(tx: ReadTx, project_id: int, code: str, definition: Definition, *, phase: str | None = None,
            key: str | None = None) -> list[DeliverableVersion]:
    """Every version (of ``phase``, of ``key``), by phase in the template's order, key, version."""
    query = select(t_versions).where(t_versions.c.project_id == project_id)
    if phase is not None:
        query = query.where(t_versions.c.phase == phase)
    if key is not None:
        query = query.where(t_versions.c.key == key)
    rows = tx.core(query).mappings().all()
    order = {p: i for i, p in enumerate(definition.phase_keys)}
    found = [_version(code, definition, r) for r in rows]
    return sorted(found, key=lambda v: (order.get(v.phase, len(order)), v.key, v.version))


def by_sha256(tx: ReadTx, sha256: str, codes: list[str] | None = None) -> list[dict[str, Any]]:
    """Every version whose bytes are ``sha256`` (in the projects ``codes``; None: every project),
    with its project's code and template version id."""
    query = (select(t_versions, t_projects.c.code, t_projects.c.template_id)
             .join(t_projects, t_projects.c.id == t_versions.c.project_id)
             .where(t_versions.c.sha256 == sha256))
    if codes is not None:
        query = query.where(t_projects.c.code.in_(codes))
    return [dict(r) for r in tx.core(query.order_by(t_projects.c.code, t_versions.c.seq)).mappings().all()]


def _version(code: str, definition: Definition, r: Mapping[str, Any]) -> DeliverableVersion:
    phase = definition.phase(r["phase"])
    declared = phase.deliverable(r["key"]) if phase is not None else None
    return DeliverableVersion(
        project=code, phase=r["phase"], round=r["round"], key=r["key"],
        title=declared.title if declared is not None else r["key"], version=r["version"], kind=r["kind"],
        sha256=r["sha256"], size=r["size"], name=r["name"], media_type=r["media_type"], note=r["note"],
        url=r["url"], label=r["label"], by=r["person"], at=r["added_at"], seq=r["seq"],
    )


def version_of(code: str, definition: Definition, row: Mapping[str, Any]) -> DeliverableVersion:
    """A row of :func:`by_sha256` as the version it is."""
    return _version(code, definition, row)
