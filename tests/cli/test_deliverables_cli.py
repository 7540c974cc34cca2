"""Deliverables on the command line (issue 23): the "Done when" story on a large-agency project, every
refusal's sentence and exit code, the proof from a file, a tampered blob failing `audit verify`, and an
upload killed with SIGKILL mid-stream leaving neither a row nor a blob, on both backends."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy
from support.cli_runs import cli_runner
from support.deliverables import TEAM, at_sow_estimate, pdf, signed_sow_project, write, xlsx

import workflow
from workflow import Engine

ROOT = Path(workflow.__file__).resolve().parent.parent


def rows(url: str) -> dict[str, int]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sqlalchemy.text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in ("deliverables", "blobs", "blob_chunks")}
    finally:
        engine.dispose()


def test_the_story_uploaded_approved_voided_signed_again_advanced_and_proved(db_url: str,
                                                                             tmp_path: Path) -> None:
    with Engine(db_url) as engine:
        at_sow_estimate(engine)
        engine.add_user("bo", actor="ana", email="bo@example.com")
    run = cli_runner(db_url)
    sow = write(tmp_path, "sow.pdf", pdf())
    v1 = write(tmp_path, "estimate-v1.xlsx", xlsx())
    v2 = write(tmp_path, "estimate-v2.xlsx", xlsx())

    added = run("deliverable", "add", "L-1", "sow_doc", str(sow), actor="ana")
    assert added.exit_code == 0, added.output
    assert "Statement of work v1 added (sow.pdf" in added.output and "application/pdf" in added.output
    added = run("deliverable", "add", "L-1", "estimate", str(v1), "--note", "first cut", actor="cy")
    assert added.exit_code == 0, added.output
    for role, person in TEAM.items():
        assert run("task", "done", "L-1", role, actor=person).exit_code == 0
    signed = run("approve", "L-1", "head_of_technology", actor="bo", as_json=True)
    assert json.loads(signed.output)["data"]["deliverables"]["estimate"]["version"] == 1

    added = run("deliverable", "add", "L-1", "estimate", str(v2), actor="cy", as_json=True)
    event = json.loads(added.output)
    assert event["data"]["voided"]["approvals"][0]["person"] == "bo"
    words = run("deliverable", "list", "L-1", actor="dee")
    assert words.exit_code == 4  # not on the team
    listed = json.loads(run("deliverable", "list", "L-1", "--phase", "sow_estimate", actor="bo",
                            as_json=True).output)
    assert [(v["key"], v["version"]) for v in listed["deliverables"]] == [
        ("estimate", 1), ("estimate", 2), ("sow_doc", 1)]
    with Engine(db_url) as engine:
        assert [(o.kind, o.people) for o in engine.outbox(reader="ana") if o.kind == "changed"] == [
            ("changed", ["bo"])]

    stale = run("approve", "L-1", "head_of_technology", "--deliverables",
                f"estimate={json.loads(signed.output)['data']['deliverables']['estimate']['sha256']}", actor="bo")
    assert stale.exit_code == 5 and "not the ones this approval was given on" in stale.output
    current = f"estimate={event['data']['sha256']},sow_doc={listed['deliverables'][2]['sha256']}"
    assert run("approve", "L-1", "head_of_technology", "--deliverables", current, actor="bo").exit_code == 0
    assert run("approve", "L-1", "integrated_producer", actor="ana").exit_code == 0
    moved = run("advance", "L-1", actor="ana")
    assert moved.exit_code == 0, moved.output

    proof = run("audit", "prove", str(v2))
    assert proof.exit_code == 0, proof.output
    assert "bo as head_of_technology" in proof.output and "ana as integrated_producer" in proof.output
    assert "the gate was passed with it" in proof.output
    proof = json.loads(run("audit", "prove", str(v1), as_json=True).output)
    assert [(a["person"], a["state"]) for a in proof["approvals"]] == [("bo", "voided")]
    nothing = run("audit", "prove", str(write(tmp_path, "other.xlsx", xlsx())))
    assert nothing.exit_code == 3
    assert "no approval covers the bytes of" in nothing.output

    got = tmp_path / "got.xlsx"
    fetched = run("deliverable", "get", "L-1", "estimate", "--version", "1", "--output", str(got), actor="bo")
    assert fetched.exit_code == 0, fetched.output
    assert got.read_bytes() == v1.read_bytes()
    assert run("deliverable", "get", "L-1", "estimate", "--output", str(got), actor="bo").exit_code == 2
    verified = run("audit", "verify")
    assert verified.exit_code == 0 and "3 stored files hash to their recorded sha256" in verified.output


@pytest.mark.parametrize(("args", "actor", "code", "words"), [
    (("L-1", "estimate", "{empty}"), "cy", 2, "is empty; nothing was stored"),
    (("L-1", "estimate", "{file}"), "bo", 4, "may not add versions of the Estimate"),
    (("L-1", "nope", "{file}"), "cy", 3, "declares no deliverable 'nope'"),
    (("L-1", "technical_audit", "{file}"), "bo", 1, "belongs to Planning"),
    (("L-1", "estimate", "{file}", "--url", "https://x.example"), "cy", 2, "give FILE, or --url"),
    (("L-1", "estimate", "--url", "javascript:alert(1)"), "cy", 2, "must be an http:// or https:// address"),
    (("L-1", "estimate", "{missing}"), "cy", 2, "cannot read"),
])
def test_each_refusal_says_why_with_its_exit_code_and_stores_nothing(
        sqlite_url: str, tmp_path: Path, args: tuple[str, ...], actor: str, code: int, words: str) -> None:
    with Engine(sqlite_url) as engine:
        at_sow_estimate(engine)
    files = {"file": str(write(tmp_path, "e.xlsx", xlsx())), "empty": str(write(tmp_path, "e0", b"")),
             "missing": str(tmp_path / "nothing-here")}
    result = cli_runner(sqlite_url)("deliverable", "add", *(a.format(**files) for a in args), actor=actor)
    assert result.exit_code == code, result.output
    assert words in " ".join(result.output.split())
    assert rows(sqlite_url) == {"deliverables": 0, "blobs": 0, "blob_chunks": 0}


def test_over_the_limit_and_on_hold_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    with Engine(sqlite_url) as engine:
        at_sow_estimate(engine)
    run = cli_runner(sqlite_url)
    big = str(write(tmp_path, "e.xlsx", xlsx(size=3 * 1024 * 1024)))
    result = run("deliverable", "add", "L-1", "estimate", big, actor="cy", env={"PHASEGATE_MAX_FILE_MIB": "2"})
    assert result.exit_code == 2 and "larger than 2 MiB" in result.output
    assert run("hold", "L-1", "--reason", "waiting", actor="ana").exit_code == 0
    result = run("deliverable", "add", "L-1", "estimate", big, actor="cy")
    assert result.exit_code == 1 and "on hold" in result.output
    assert rows(sqlite_url) == {"deliverables": 0, "blobs": 0, "blob_chunks": 0}


def test_a_required_deliverable_blocks_the_gate_on_the_command_line(sqlite_url: str) -> None:
    with Engine(sqlite_url) as engine:
        signed_sow_project(engine)
    run = cli_runner(sqlite_url)
    status = json.loads(run("project", "status", "S-1", as_json=True).output)
    assert "waiting for the Estimate from the Project Manager: cy" in status["blockers"]
    refused = run("approve", "S-1", "head_of_technology", actor="bo")
    assert refused.exit_code == 1 and "waiting for the Estimate from the Project Manager: cy" in refused.output


def test_a_tampered_blob_fails_audit_verify_naming_it(db_url: str, tmp_path: Path) -> None:
    with Engine(db_url) as engine:
        at_sow_estimate(engine)
        added = engine.add_deliverable("L-1", "estimate", write(tmp_path, "e.xlsx", xlsx()), actor="cy")
        with engine.store.connect() as conn:
            conn.execute(sqlalchemy.text("UPDATE blob_chunks SET data = :d"), {"d": b"not the estimate"})
            conn.commit()
    result = cli_runner(db_url)("audit", "verify")
    assert result.exit_code == 6, result.output
    assert f"L-1 estimate v1 (sha256 {added.data['sha256'][:12]}…) no longer hashes to its sha256" in result.output


def test_get_streams_to_stdout(sqlite_url: str, tmp_path: Path) -> None:
    with Engine(sqlite_url) as engine:
        at_sow_estimate(engine)
    data = xlsx()
    run = cli_runner(sqlite_url)
    assert run("deliverable", "add", "L-1", "estimate", "-", "--name", "e.xlsx", actor="cy",
               input=data).exit_code == 0
    got = run("deliverable", "get", "L-1", "estimate", "--output", "-", actor="cy")
    assert got.stdout_bytes == data


@pytest.mark.slow
@pytest.mark.parametrize("store", ["database", "directory"])
def test_an_upload_killed_mid_stream_leaves_neither_a_row_nor_a_blob(db_url: str, tmp_path: Path,
                                                                     store: str) -> None:
    """A real `phasegate deliverable add` reading a large file from a pipe, killed with SIGKILL after
    8 MiB of it went in: no version row, no blob, no chunk, no file in the files directory."""
    with Engine(db_url) as engine:
        at_sow_estimate(engine)
    files = tmp_path / "files"
    files.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PHASEGATE_DB": db_url, "PHASEGATE_USER": "cy"}
    if store == "directory":
        env["PHASEGATE_FILES"] = str(files)
    proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", "deliverable", "add", "L-1", "estimate", "-",
                             "--name", "big.xlsx"], stdin=subprocess.PIPE, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    chunk = xlsx(size=1024 * 1024 - 100)
    for _ in range(8):
        proc.stdin.write(chunk)
    proc.stdin.flush()
    time.sleep(0.5)
    assert proc.poll() is None  # still reading
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.close()
    assert rows(db_url) == {"deliverables": 0, "blobs": 0, "blob_chunks": 0}
    assert [p for p in files.rglob("*") if p.is_file()] == []
    with Engine(db_url) as engine:
        assert engine.verify_audit().ok
        assert engine.history("L-1", action="deliverable.add") == []


@pytest.mark.slow
def test_uploads_killed_at_random_moments_leave_a_whole_version_or_nothing(db_url: str, tmp_path: Path) -> None:
    """`deliverable add` of a 24 MiB file killed with SIGKILL at random moments (while it streams, while
    its transaction writes the chunks, around the COMMIT): each time, either the version is there with
    all of its bytes hashing to its sha256, or neither a row nor a blob of it is."""
    import random

    with Engine(db_url) as engine:
        at_sow_estimate(engine)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PHASEGATE_DB": db_url, "PHASEGATE_USER": "cy"}
    rng = random.Random(23)
    command = [sys.executable, "-m", "workflow.cli", "deliverable", "add", "L-1", "estimate"]
    # One upload left to finish says how long a whole one takes on this machine now, so the kills below
    # land inside it (fixed sleeps all came after the end on a quiet machine, and the test said nothing).
    started = time.monotonic()
    subprocess.run([*command, str(write(tmp_path, "e.xlsx", xlsx(size=24 * 1024 * 1024)))], env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    whole = time.monotonic() - started
    stored = 1
    for attempt in range(6):
        big = write(tmp_path, f"e{attempt}.xlsx", xlsx(size=24 * 1024 * 1024))
        proc = subprocess.Popen([*command, str(big)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 0.97) * whole)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with Engine(db_url) as engine:
            versions = engine.deliverables("L-1")
            assert engine.verify_deliverables().ok
            assert engine.verify_audit().ok
        counted = rows(db_url)
        assert counted["deliverables"] == len(versions) == counted["blobs"]
        assert counted["blob_chunks"] == 25 * counted["blobs"]  # 24 MiB and a little: 25 chunks each
        stored = len(versions)
    assert stored < 7 or pytest.skip("every upload finished before its kill: no kill landed mid-way")
