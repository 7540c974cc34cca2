"""A published template version as the engine uses it: its identity, definition and compiled machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import Machine

from workflow.domain.schedule.clock import timed
from workflow.domain.templates.definition import Definition
from workflow.domain.templates.machine import compile_machine


@dataclass(frozen=True)
class TemplateVersion:
    id: int  # the stored version's row; projects are pinned to it
    key: str
    version: int
    sha256: str
    definition: Definition
    machine: Machine
    timed: bool  # any duration, reminder or escalation (domain/schedule/clock.py): the clock has work

    @classmethod
    def of(cls, id: int, key: str, version: int, sha256: str, definition: Definition) -> TemplateVersion:
        """The version with its machine (compiled once per definition and process)."""
        return cls(id, key, version, sha256, definition, compile_machine(definition), timed(definition))

    @property
    def ref(self) -> dict[str, Any]:
        """How an event names the version it happened under."""
        return {"key": self.key, "version": self.version, "sha256": self.sha256}
