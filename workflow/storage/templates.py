"""Published template versions: finding one, and the compiled versions a process has loaded."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Row

from workflow.domain import inputs
from workflow.domain.results import TemplateInfo
from workflow.domain.templates.definition import definition_from_dict
from workflow.domain.templates.version import TemplateVersion
from workflow.errors import NotFound
from workflow.storage.tables import templates as t_templates

if TYPE_CHECKING:
    from workflow.domain.templates.definition import Definition
    from workflow.storage.transaction import ReadTx


class TemplateCache:
    """The template versions this process has loaded, by id (a published version never changes)."""

    def __init__(self) -> None:
        self._loaded: dict[int, TemplateVersion] = {}
        self._published: dict[tuple[str, int], tuple[TemplateInfo, Definition, str]] = {}

    def get(self, tx: ReadTx, template_id: int) -> TemplateVersion:
        tpl = self._loaded.get(template_id)
        if tpl is None:
            tpl = self._loaded[template_id] = _load(tx, template_id)
        return tpl

    def published(self, key: str, version: int) -> tuple[TemplateInfo, Definition, str] | None:
        """(info, definition, source) of a version read before in this process, else None: a page that
        names the version its project is pinned to needs no read for it."""
        return self._published.get((key, version))

    def remember(self, info: TemplateInfo, definition: Definition, source: str) -> None:
        self._published[(info.key, info.version)] = (info, definition, source)


def _load(tx: ReadTx, template_id: int) -> TemplateVersion:
    row = tx.core(
        select(
            t_templates.c.key,
            t_templates.c.version,
            t_templates.c.sha256,
            t_templates.c.compiled,
            t_templates.c.source,
        ).where(t_templates.c.id == template_id)
    ).one()
    if row.compiled:  # validated when published; no YAML parsing on the command path
        definition = definition_from_dict(json.loads(row.compiled))
    else:
        from workflow.domain.templates.loader import load_definition

        definition = load_definition(row.source, source=f"{row.key} v{row.version}")
    return TemplateVersion.of(template_id, row.key, row.version, row.sha256, definition)


def template_row(tx: ReadTx, key: str, version: int | None) -> Row[Any]:
    """The stored version ``version`` of template ``key`` (default: its latest), or NotFound."""
    version = inputs.count(version, "the template version", most=inputs.VERSION_MAX)
    stmt = select(t_templates).where(t_templates.c.key == key)
    if version is not None:
        stmt = stmt.where(t_templates.c.version == version)
    row = tx.core(stmt.order_by(t_templates.c.version.desc()).limit(1)).first()
    if row is not None:
        return row
    if (
        version is not None
        and tx.core(select(t_templates.c.id).where(t_templates.c.key == key).limit(1)).first()
    ):
        raise NotFound(f"template {key} has no version {version}")
    raise NotFound(f"there is no template {inputs.shown(key)}; `phasegate template list` shows them")


def template_info(row: Row[Any]) -> TemplateInfo:
    return TemplateInfo(row.key, row.version, row.title, row.sha256, row.published_at, row.published_by)
