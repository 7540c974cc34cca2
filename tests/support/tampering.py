"""What an attacker with a SQL client does, and the project the tampering tests start from.

Shared by the tamper-evidence tests (``test_tamper_evidence.py``, ``test_state_check.py``): a plain
SQLAlchemy engine on the same database (none of phasegate's connection set-up), dropping
the append-only triggers on ``events`` first where an edit needs it (the state tables
have no triggers).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy
from sqlalchemy import text

from workflow import Engine

TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}


def walk_first_phase(engine: Engine, code: str) -> None:
    """Create ``code`` on large-agency and take it through its first phase: 11 events."""
    engine.create_project(code, template="large-agency", actor="ana")  # 1
    for role, person in TEAM.items():  # 2-4
        engine.assign(code, role, person, actor="ana")
    for role, person in TEAM.items():  # 5-7
        engine.complete_task(code, role, actor=person)
    for role, person in TEAM.items():  # 8-10
        engine.approve(code, role, actor=person, comment=f"ok from {person}")
    engine.advance(code, actor="ana")  # 11


def two_rounds_on_hold(engine: Engine) -> None:
    """P-1 through a rejection into round 2, then on hold: both rounds' rows, 11 events.

    1 create, 2-4 assign, 5-6 task.done (round 1), 7 approve, 8 reject (to round 2),
    9 task.done, 10 approve (round 2), 11 hold. The system chain: 3 templates, 2 grants.
    """
    engine.init(admin="ana")
    engine.grant("olga", "auditor", actor="ana")
    engine.create_project("P-1", template="large-agency", actor="ana", name="Spring launch", client="Acme")
    for role, person in TEAM.items():
        engine.assign("P-1", role, person, actor="ana")
    engine.complete_task("P-1", "integrated_producer", actor="ana", note="brief in the wiki")
    engine.complete_task("P-1", "head_of_technology", actor="ben")
    engine.approve("P-1", "integrated_producer", actor="ana", comment="fine")
    engine.reject("P-1", "project_manager", actor="cy", reason="budget missing")
    engine.complete_task("P-1", "integrated_producer", actor="ana")
    engine.approve("P-1", "head_of_technology", actor="ben", comment="ok")
    engine.hold("P-1", actor="ana", reason="client away")


def drop_triggers(sql: sqlalchemy.Engine) -> None:
    """Drop the append-only triggers on ``events`` (someone allowed to drop triggers gets past them)."""
    with sql.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = conn.execute(
                text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal")
            ).scalars()
            for name in list(names):
                conn.execute(text(f'DROP TRIGGER "{name}" ON events'))
        else:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
            for name in list(names):
                conn.execute(text(f'DROP TRIGGER "{name}"'))


def execute(sql: sqlalchemy.Engine, statement: str, **params: Any) -> None:
    with sql.begin() as conn:
        conn.execute(text(statement), params)
