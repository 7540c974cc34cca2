"""Publishing and reading process templates (every version kept; a published one never changes)."""

from __future__ import annotations

from hashlib import sha256
from pathlib import Path

from sqlalchemy import and_, func, insert, select

from workflow.domain import rules
from workflow.domain.audit.events import canonical_json
from workflow.domain.identity import Identity, acting
from workflow.domain.results import TemplateInfo
from workflow.domain.templates.definition import Definition, definition_to_dict
from workflow.domain.vocabulary import SYSTEM_ACTOR
from workflow.storage.chains import append_system_event
from workflow.storage.database import utcnow
from workflow.storage.grants import privileges_of
from workflow.storage.store import Store
from workflow.storage.tables import templates as t_templates
from workflow.storage.templates import template_info, template_row
from workflow.storage.transaction import ReadTx, WriteTx


def templates(store: Store) -> list[TemplateInfo]:
    """The latest version of every published template, by key."""

    def work(tx: ReadTx) -> list[TemplateInfo]:
        latest = (
            select(t_templates.c.key, func.max(t_templates.c.version).label("version"))
            .group_by(t_templates.c.key)
            .subquery()
        )
        rows = tx.core(
            select(t_templates)
            .join(latest, and_(latest.c.key == t_templates.c.key, latest.c.version == t_templates.c.version))
            .order_by(t_templates.c.key)
        ).all()
        return [template_info(r) for r in rows]

    return store.read(work)


def template(store: Store, key: str, version: int | None = None) -> tuple[TemplateInfo, Definition, str]:
    """(info, compiled definition, exact source text) of one version (default: the latest)."""
    known = store.templates.published(key, version) if type(version) is int else None
    if known is not None:  # a published version never changes
        return known

    def work(tx: ReadTx) -> tuple[TemplateInfo, Definition, str]:
        row = template_row(tx, key, version)
        return template_info(row), tx.template(row.id).definition, row.source

    found = store.read(work)
    store.templates.remember(*found)
    return found


def publish_template(
    store: Store, source: str | bytes | Path, *, actor: str | Identity, name: str | None = None
) -> tuple[TemplateInfo, bool]:
    """Publish a new version when the text differs from the latest; returns (info, published)."""
    from workflow.domain.templates.loader import load_definition, load_file

    who = acting(actor)
    if isinstance(source, Path):
        load_file(source)  # validates with the byte limit applied before reading it all
        data = source.read_bytes()
        name = name or str(source)
    else:
        data = source if isinstance(source, bytes) else source.encode("utf-8")
    definition = load_definition(data, source=name or "<template>")
    text = data.decode("utf-8")

    def work(tx: WriteTx) -> tuple[TemplateInfo, bool]:
        rules.require_privilege(who.person, privileges_of(tx, who.person), "admin", "publish templates")
        tx.dialect.lock_system(tx)
        return publish(tx, definition, text, who)

    return store.write(work)


def publish(
    tx: WriteTx, definition: Definition, text: str, actor: str | Identity
) -> tuple[TemplateInfo, bool]:
    """Store ``text`` as the next version of its template unless it equals the latest."""
    latest = tx.core(
        select(t_templates)
        .where(t_templates.c.key == definition.key)
        .order_by(t_templates.c.version.desc())
        .limit(1)
    ).first()
    if latest is not None and latest.source == text:
        return template_info(latest), False
    version = 1 if latest is None else latest.version + 1
    digest = sha256(text.encode("utf-8")).hexdigest()
    tx.core(
        insert(t_templates).values(
            key=definition.key,
            version=version,
            title=definition.title,
            source=text,
            compiled=canonical_json(definition_to_dict(definition)),
            sha256=digest,
            published_at=utcnow(),
            published_by=acting(actor).person,
        )
    )
    append_system_event(
        tx,
        actor,
        "template.publish",
        {
            "template": {"key": definition.key, "version": version, "sha256": digest},
            "title": definition.title,
        },
    )
    return template_info(template_row(tx, definition.key, version)), True


def publish_builtins(store: Store, actor: str = SYSTEM_ACTOR) -> list[TemplateInfo]:
    """Publish each built-in template whose key has no version yet (idempotent)."""
    return store.write(lambda tx: publish_missing_builtins(tx, actor))


def publish_missing_builtins(tx: WriteTx, actor: str = SYSTEM_ACTOR) -> list[TemplateInfo]:
    """In ``tx``: publish each built-in template whose key has no version yet."""
    from workflow.domain.templates.loader import builtin_paths, load_definition

    tx.dialect.lock_system(tx)
    published = []
    for key, path in sorted(builtin_paths().items()):
        if tx.core(select(t_templates.c.id).where(t_templates.c.key == key).limit(1)).first():
            continue
        text = path.read_text(encoding="utf-8")
        info, _ = publish(tx, load_definition(text, source=str(path)), text, actor)
        published.append(info)
    return published


def template_keys(store: Store) -> list[str]:
    """Every published template's key (for shell completion)."""
    return store.read(
        lambda tx: [r.key for r in tx.core(select(t_templates.c.key).distinct().order_by(t_templates.c.key))]
    )


def versions(store: Store, key: str) -> list[TemplateInfo]:
    """Every published version of template ``key``, newest first."""

    def work(tx: ReadTx) -> list[TemplateInfo]:
        template_row(tx, key, None)  # NotFound for an unknown key
        rows = tx.core(
            select(t_templates).where(t_templates.c.key == key).order_by(t_templates.c.version.desc())
        )
        return [template_info(r) for r in rows]

    return store.read(work)


def phase_choices(store: Store) -> dict[str, list[tuple[str, str]]]:
    """Template key -> the phases a project on it can be in, (key, title): its latest version's in
    order, then those only an older version has (a project keeps the version it started on)."""

    def work(tx: ReadTx) -> dict[str, list[tuple[str, str]]]:
        rows = tx.core(select(t_templates.c.id, t_templates.c.key)
                       .order_by(t_templates.c.key, t_templates.c.version.desc()))
        out: dict[str, dict[str, str]] = {}
        for row in rows:
            phases = out.setdefault(row.key, {})
            for phase in tx.template(row.id).definition.phases:
                phases.setdefault(phase.key, phase.title)
        return {key: list(phases.items()) for key, phases in out.items()}

    return store.read(work)
