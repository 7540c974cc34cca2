"""A published template version as the engine uses it: its identity, definition and compiled machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import Machine

from workflow.domain.definition import Definition
from workflow.domain.machine import compile_machine
from workflow.domain.timers import timed


@dataclass(frozen=True)
class TemplateVersion:
    id: int  # the stored version's row; projects are pinned to it
    key: str
    version: int
    sha256: str
    definition: Definition
    machine: Machine
    timed: bool  # any duration, reminder or escalation (domain/timers.py): the clock has work

    @classmethod
    def of(cls, id: int, key: str, version: int, sha256: str, definition: Definition) -> TemplateVersion:
        """The version with its machine (compiled once per definition and process)."""
        return cls(id, key, version, sha256, definition, compile_machine(definition), timed(definition))

    @property
    def ref(self) -> dict[str, Any]:
        """How an event names the version it happened under."""
        return {"key": self.key, "version": self.version, "sha256": self.sha256}
