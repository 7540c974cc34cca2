"""A published template version as the ``template show --json`` document (and the API's)."""

from __future__ import annotations

from typing import Any

from workflow.domain.results import TemplateInfo


def template_document(info: TemplateInfo, definition: Any) -> dict[str, Any]:
    """The ``template show --json`` document."""
    phases = []
    for phase in definition.phases:
        gate = phase.gate
        phases.append(
            {
                "key": phase.key,
                "title": phase.title,
                "tasks": [{"role": role, "task": task} for role, task in phase.tasks],
                "gate": None
                if gate is None
                else {
                    "title": gate.title,
                    "approvers": list(gate.approvers),
                    "required": gate.required,
                    "distinct_people": gate.distinct_people,
                    "on_reject": gate.on_reject,
                },
            }
        )
    return {
        "key": info.key,
        "version": info.version,
        "title": info.title,
        "sha256": info.sha256,
        "published_at": info.published_at,
        "published_by": info.published_by,
        "roles": [{"key": r.key, "title": r.title} for r in definition.roles],
        "lead": definition.lead,
        "phases": phases,
    }
