"""The deliverable commands' contract over both transports (product.md, "The CLI as a client"): the
same arguments, output and exit codes on the database and through ``--server`` (the RemoteEngine
streaming the file both ways, ``audit prove`` sending only the sha256 it computed here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli_runs import cli_session
from support.deliverables import TEAM, at_sow_estimate, pdf, write, xlsx

from workflow import Engine


def test_the_story_over_each_transport(sqlite_url: str, tmp_path: Path, transport: str) -> None:
    with Engine(sqlite_url) as engine:
        at_sow_estimate(engine)
    sow = write(tmp_path, "sow.pdf", pdf())
    v1 = write(tmp_path, "estimate-v1.xlsx", xlsx(size=3 * 1024 * 1024 + 7))
    v2 = write(tmp_path, "estimate-v2.xlsx", xlsx())
    with cli_session(sqlite_url, transport) as run:
        added = run("deliverable", "add", "L-1", "sow_doc", str(sow), actor="ana")
        assert added.exit_code == 0, added.output
        assert "Statement of work v1 added (sow.pdf" in added.output and "application/pdf" in added.output
        added = run("deliverable", "add", "L-1", "estimate", str(v1), "--note", "first cut", actor="cy")
        assert added.exit_code == 0, added.output
        assert "Estimate v1 added (estimate-v1.xlsx, 3.0 MiB" in added.output
        for role, person in TEAM.items():
            assert run("task", "done", "L-1", role, actor=person).exit_code == 0
        signed = json.loads(run("approve", "L-1", "head_of_technology", actor="bo", as_json=True).output)
        assert signed["data"]["deliverables"]["estimate"]["version"] == 1

        event = json.loads(run("deliverable", "add", "L-1", "estimate", str(v2), actor="cy", as_json=True).output)
        assert event["data"]["voided"]["approvals"][0]["person"] == "bo"
        assert run("deliverable", "list", "L-1", actor="dee").exit_code == 4
        listed = json.loads(run("deliverable", "list", "L-1", "--phase", "sow_estimate", actor="bo",
                                as_json=True).output)["deliverables"]
        assert [(v["key"], v["version"], v["by"]) for v in listed] == [
            ("estimate", 1, "cy"), ("estimate", 2, "cy"), ("sow_doc", 1, "ana")]

        old = signed["data"]["deliverables"]["estimate"]["sha256"]
        stale = run("approve", "L-1", "head_of_technology", "--deliverables", f"estimate={old}", actor="bo")
        assert stale.exit_code == 5 and "not the ones this approval was given on" in stale.output
        current = f"estimate={event['data']['sha256']},sow_doc={listed[2]['sha256']}"
        assert run("approve", "L-1", "head_of_technology", "--deliverables", current, actor="bo").exit_code == 0
        assert run("approve", "L-1", "integrated_producer", actor="ana").exit_code == 0
        assert run("advance", "L-1", actor="ana").exit_code == 0

        proof = run("audit", "prove", str(v2))
        assert proof.exit_code == 0, proof.output
        assert "bo as head_of_technology" in proof.output and "the gate was passed with it" in proof.output
        voided = json.loads(run("audit", "prove", str(v1), as_json=True).output)
        assert [(a["person"], a["state"]) for a in voided["approvals"]] == [("bo", "voided")]
        assert voided["size"] == v1.stat().st_size
        nothing = run("audit", "prove", str(write(tmp_path, "other.xlsx", xlsx())))
        assert nothing.exit_code == 3 and "no approval covers the bytes of" in nothing.output

        got = tmp_path / "got.xlsx"
        fetched = run("deliverable", "get", "L-1", "estimate", "--version", "1", "--output", str(got), actor="bo")
        assert fetched.exit_code == 0, fetched.output
        assert got.read_bytes() == v1.read_bytes()
        assert run("deliverable", "get", "L-1", "estimate", "--output", str(got), actor="bo").exit_code == 2
        assert run("deliverable", "get", "L-1", "estimate", "--version", "9", "--output", str(tmp_path / "x"),
                   actor="bo").exit_code == 3
        verified = run("audit", "verify")
        assert verified.exit_code == 0 and "3 stored files hash to their recorded sha256" in verified.output


@pytest.mark.parametrize(("args", "actor", "code", "words"), [
    (("L-1", "estimate", "{empty}"), "cy", 2, "is empty; nothing was stored"),
    (("L-1", "estimate", "{file}"), "bo", 4, "may not add versions of the Estimate"),
    (("L-1", "nope", "{file}"), "cy", 3, "declares no deliverable 'nope'"),
    (("L-1", "technical_audit", "{file}"), "bo", 1, "belongs to Planning"),
    (("L-1", "estimate", "--url", "javascript:alert(1)"), "cy", 2, "must be an http:// or https:// address"),
    (("L-1", "estimate", "{big}"), "cy", 2, "larger than 2 MiB"),
])
def test_each_refusal_has_the_same_exit_code_over_each_transport(
        sqlite_url: str, tmp_path: Path, transport: str, args: tuple[str, ...], actor: str, code: int,
        words: str) -> None:
    with Engine(sqlite_url) as engine:
        at_sow_estimate(engine)
    files = {"file": str(write(tmp_path, "e.xlsx", xlsx())), "empty": str(write(tmp_path, "e0", b"")),
             "big": str(write(tmp_path, "big.xlsx", xlsx(size=3 * 1024 * 1024)))}
    with cli_session(sqlite_url, transport) as run:
        result = run("deliverable", "add", *(a.format(**files) for a in args), actor=actor,
                     env={"PHASEGATE_MAX_FILE_MIB": "2"})
    assert result.exit_code == code, result.output
    assert words in " ".join(result.output.split())
    with Engine(sqlite_url) as engine:
        assert engine.deliverables("L-1") == []


def test_stdin_in_and_stdout_out_over_each_transport(sqlite_url: str, transport: str) -> None:
    with Engine(sqlite_url) as engine:
        at_sow_estimate(engine)
    data = xlsx(size=2 * 1024 * 1024 + 3)
    with cli_session(sqlite_url, transport) as run:
        assert run("deliverable", "add", "L-1", "estimate", "-", "--name", "e.xlsx", actor="cy",
                   input=data).exit_code == 0
        got = run("deliverable", "get", "L-1", "estimate", "--output", "-", actor="cy")
        assert got.stdout_bytes == data
        link = run("deliverable", "add", "L-1", "sow_doc", "--url", "https://docs.example/sow", "--label", "SOW",
                   actor="ana")
        assert link.exit_code == 0 and "added as a link to https://docs.example/sow" in link.output
