"""Deliverables' test helpers: a template whose SOW phase requires its documents, files of known
kinds, and a large-agency project walked to its SOW & Estimate phase."""

from __future__ import annotations

import os
from pathlib import Path

from workflow import Engine

TEAM = {"integrated_producer": "ana", "head_of_technology": "bo", "project_manager": "cy"}

# The example: the SOW and the estimate required, a mood board optional, the estimate's
# note allowed to change while approvals carry over.
SIGNED_SOW = """\
key: signed-sow
title: Signed SOW
roles:
  integrated_producer: {title: Integrated Producer}
  head_of_technology: {title: Head of Technology}
  project_manager: {title: Project Manager}
  team: {title: Team}
lead: integrated_producer
phases:
  - key: sow
    title: SOW & Estimate
    tasks:
      integrated_producer: SOW Creation
      project_manager: Estimate Creation
    deliverables:
      - {key: sow_doc, title: Statement of work, by: [integrated_producer], required: true}
      - {key: estimate, title: Estimate, by: [project_manager], required: true, carry_over: [note, name]}
      - {key: moodboard, title: Mood board, by: [integrated_producer, team], required: false}
    gate: {title: SOW signed, approvers: [integrated_producer, head_of_technology]}
  - key: build
    title: Build
    tasks:
      team: Build it
"""


def xlsx(tag: bytes = b"", size: int = 4000) -> bytes:
    """Bytes that sniff as an xlsx (a zip whose first entry is under xl/)."""
    return b"PK\x03\x04" + b"\x14\x00" * 13 + b"xl/workbook.xml" + tag + os.urandom(size)


def pdf(size: int = 4000) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def accounts_for(engine: Engine, people: list[str]) -> None:
    """Where accounts exist, an assignment names one: the missing ones added (by ana)."""
    logins = {p.login for p in engine.users()}
    if logins:
        for person in people:
            if person not in logins:
                engine.add_user(person, actor="ana")


def signed_sow_project(engine: Engine, code: str = "S-1") -> None:
    """A project on SIGNED_SOW (published by ana, the first admin), its team assigned."""
    engine.init(admin="ana")
    engine.publish_template(SIGNED_SOW, actor="ana")
    engine.create_project(code, template="signed-sow", actor="ana")
    team = {**TEAM, "team": "dee"}
    accounts_for(engine, list(team.values()))
    for role, person in team.items():
        engine.assign(code, role, person, actor="ana")


def at_sow_estimate(engine: Engine, code: str = "L-1") -> None:
    """A large-agency project in its SOW & Estimate phase (two phases signed and passed)."""
    engine.init(admin="ana")
    engine.create_project(code, template="large-agency", actor="ana")
    for role, person in TEAM.items():
        engine.assign(code, role, person, actor="ana")
    for _ in range(2):
        for role, person in TEAM.items():
            engine.complete_task(code, role, actor=person)
            engine.approve(code, role, actor=person)
        engine.advance(code, actor="ana")
