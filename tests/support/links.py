"""Outside signers' test helpers (issue 24): a template whose SOW gate the client signs, a project on it
with its team and an uploaded SOW, and the secrets the outbox holds until its e-mails are sent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy

from workflow import Engine

CLIENT_SOW = """\
key: client-sow
title: Client SOW
roles:
  producer: {title: Producer}
  tech: {title: Tech Lead}
  client: {title: Client, external: true}
  other_client: {title: Other Client, external: true}
lead: producer
phases:
  - key: sow
    title: SOW & Estimate
    tasks:
      producer: Write the SOW
      client: Provide assets
    deliverables:
      - {key: sow_doc, title: Statement of work, by: [producer], required: true}
    gate:
      title: SOW approval
      description: The client agrees to the scope and the price.
      approvers: [producer, client]
  - key: build
    title: Build
    tasks:
      tech: Build it
    gate: {title: QA sign-off, approvers: [tech, client]}
"""
BUYER = "buyer@acme.example"


def client_project(engine: Engine, tmp_path: Path, code: str = "C-1", *, init: bool = True) -> dict[str, Any]:
    """A project on CLIENT_SOW (ana: admin; pat: the producer, lead; tim: tech), its SOW uploaded."""
    if init:
        engine.init(admin="ana")
    logins = {p.login for p in engine.users()}
    for login in ("pat", "tim"):
        if login not in logins:
            engine.add_user(login, actor="ana", email=f"{login}@agency.example")
    engine.publish_template(CLIENT_SOW, actor="ana")
    engine.create_project(code, template="client-sow", actor="ana")
    engine.assign(code, "producer", "pat", actor="ana")
    engine.assign(code, "tech", "tim", actor="ana")
    path = tmp_path / "SOW.pdf"
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(3000))
    sow = engine.add_deliverable(code, "sow_doc", path, actor="pat")
    return {"sow": sow, "path": path}


def payloads(engine: Engine, kind: str) -> list[tuple[int, str | None, str, str]]:
    """(outbox id, payload, target, status) of the e-mails of ``kind`` (invite, code), oldest first."""
    with engine.store.connect() as conn:
        return [tuple(r) for r in conn.execute(sqlalchemy.text(
            "SELECT id, payload, target, status FROM outbox WHERE kind = :k ORDER BY id"), {"k": kind})]


def invited(engine: Engine, code: str = "C-1", email: str = BUYER, role: str = "client") -> tuple[str, str]:
    """(invitation id, the link's secret) of a new invitation by the lead."""
    event = engine.invite(code, role, email=email, name="Pat Buyer", actor="pat")
    secret = payloads(engine, "invite")[-1][1]
    assert secret is not None
    return event.data["invitation"], secret


def code_of(engine: Engine, delivery: str) -> str:
    with engine.store.connect() as conn:
        found = conn.execute(sqlalchemy.text("SELECT payload FROM outbox WHERE id = :i"),
                             {"i": int(delivery)}).scalar_one()
    assert found is not None
    return str(found)
