"""Deliverables through the Engine (issue 23), on SQLite and PostgreSQL: approvals bind the versions
they signed, a new version voids them and tells the signers, stale digests are refused like a stale
If-Match, a required deliverable blocks the gate, every refusal stores nothing, and the proof from a
file names what signed it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy
from support.deliverables import at_sow_estimate, pdf, signed_sow_project, write, xlsx

from workflow import Engine
from workflow.errors import (
    DeliverablesChanged,
    NotFound,
    NotPermitted,
    PreconditionFailed,
    RuleRefused,
    TooLarge,
    UsageError,
)


@pytest.fixture
def engine(db_url: str) -> Engine:
    e = Engine(db_url)
    yield e
    e.close()


def counts(engine: Engine) -> dict[str, int]:
    with engine.store.connect() as conn:
        return {t: conn.execute(sqlalchemy.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("deliverables", "blobs", "blob_chunks", "events")}


def test_an_approval_binds_every_present_deliverable_and_a_new_version_voids_it(engine: Engine,
                                                                              tmp_path: Path) -> None:
    signed_sow_project(engine)
    engine.add_user("bo", actor="ana", email="bo@example.com")
    sow = engine.add_deliverable("S-1", "sow_doc", write(tmp_path, "sow.pdf", pdf()), actor="ana")
    v1 = engine.add_deliverable("S-1", "estimate", write(tmp_path, "estimate-v1.xlsx", xlsx()), actor="cy")
    assert v1.action == "deliverable.add"
    assert v1.data["media_type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert sow.data["media_type"] == "application/pdf"
    signed = engine.approve("S-1", "head_of_technology", actor="bo")
    assert signed.data["deliverables"] == {
        "estimate": {"version": 1, "sha256": v1.data["sha256"]},
        "sow_doc": {"version": 1, "sha256": sow.data["sha256"]},
    }
    v2 = engine.add_deliverable("S-1", "estimate", write(tmp_path, "estimate-v2.xlsx", xlsx()), actor="cy")
    assert v2.data["version"] == 2
    assert v2.data["voided"] == {"approvals": [{"role": "head_of_technology", "person": "bo",
                                                "seq": signed.seq}]}
    status = engine.status("S-1")
    assert status.gate.approvals == []
    assert [(d["key"], d["required"], d["current"] and d["current"]["version"]) for d in status.deliverables] == [
        ("sow_doc", True, 1), ("estimate", True, 2), ("moodboard", False, None)]
    assert status.deliverables[1]["current"]["sha256"] == v2.data["sha256"]
    changed = [o for o in engine.outbox(reader="ana") if o.kind == "changed"]
    assert [(o.people, o.seq) for o in changed] == [(["bo"], v2.seq)]
    again = engine.approve("S-1", "head_of_technology", actor="bo",
                           deliverables={"estimate": v2.data["sha256"], "sow_doc": sow.data["sha256"]})
    assert again.data["deliverables"]["estimate"]["version"] == 2
    report = engine.verify_audit()
    assert report.ok and report.state_checked  # the replay voids what the event voided


def test_digests_that_are_not_the_current_ones_are_refused_with_the_current_set(engine: Engine,
                                                                               tmp_path: Path) -> None:
    signed_sow_project(engine)
    sow = engine.add_deliverable("S-1", "sow_doc", write(tmp_path, "sow.pdf", pdf()), actor="ana")
    v1 = engine.add_deliverable("S-1", "estimate", write(tmp_path, "e1.xlsx", xlsx()), actor="cy")
    seen = f"estimate={v1.data['sha256']} sow_doc={sow.data['sha256']}"
    engine.add_deliverable("S-1", "estimate", write(tmp_path, "e2.xlsx", xlsx()), actor="cy")
    before = counts(engine)
    with pytest.raises(DeliverablesChanged) as refused:
        engine.approve("S-1", "head_of_technology", actor="bo", deliverables=seen)
    assert isinstance(refused.value, PreconditionFailed) and refused.value.http_status == 412
    assert refused.value.exit_code == 5
    body = refused.value.to_dict()
    assert body["kind"] == "precondition_failed"
    assert body["deliverables"]["estimate"]["version"] == 2
    assert counts(engine) == before
    with pytest.raises(UsageError):
        engine.approve("S-1", "head_of_technology", actor="bo", deliverables="estimate=nothex")


def test_a_required_deliverable_missing_is_a_blocker_and_refuses_approve_and_advance(engine: Engine,
                                                                                    tmp_path: Path) -> None:
    signed_sow_project(engine)
    status = engine.status("S-1")
    assert "waiting for the Estimate from the Project Manager: cy" in status.blockers
    assert "waiting for the Statement of work from the Integrated Producer: ana" in status.blockers
    assert not any("Mood board" in b for b in status.blockers)  # optional
    with pytest.raises(RuleRefused, match="waiting for the Estimate from the Project Manager: cy"):
        engine.approve("S-1", "head_of_technology", actor="bo")
    engine.add_deliverable("S-1", "sow_doc", write(tmp_path, "sow.pdf", pdf()), actor="ana")
    for role, person in (("integrated_producer", "ana"), ("project_manager", "cy")):
        engine.complete_task("S-1", role, actor=person)
    with pytest.raises(RuleRefused) as refused:
        engine.advance("S-1", actor="ana")
    assert refused.value.blockers[0] == "waiting for the Estimate from the Project Manager: cy"
    engine.add_deliverable("S-1", "estimate", write(tmp_path, "e.xlsx", xlsx()), actor="cy")
    engine.approve("S-1", "head_of_technology", actor="bo")
    engine.approve("S-1", "integrated_producer", actor="ana")
    assert engine.status("S-1").can_advance
    assert [p.can_advance for p in engine.list_projects()] == [True]  # the board reads them too
    assert engine.advance("S-1", actor="ana").data["to_phase"] == "build"


def test_carry_over_keeps_approvals_when_only_the_note_or_name_changed_never_the_bytes(
        engine: Engine, tmp_path: Path) -> None:
    signed_sow_project(engine)
    engine.add_deliverable("S-1", "sow_doc", write(tmp_path, "sow.pdf", pdf()), actor="ana")
    data = xlsx()
    engine.add_deliverable("S-1", "estimate", write(tmp_path, "e.xlsx", data), actor="cy", note="draft")
    signed = engine.approve("S-1", "head_of_technology", actor="bo")
    renamed = engine.add_deliverable("S-1", "estimate", write(tmp_path, "estimate-final.xlsx", data),
                                     actor="cy", note="final")
    assert renamed.data["voided"] == {"approvals": []}
    assert renamed.data["carried_over"][0]["seq"] == signed.seq
    assert [a.role for a in engine.status("S-1").gate.approvals] == ["head_of_technology"]
    new_bytes = engine.add_deliverable("S-1", "estimate", write(tmp_path, "estimate-final.xlsx", xlsx()),
                                       actor="cy", note="final")
    assert new_bytes.data["voided"]["approvals"][0]["seq"] == signed.seq
    # the SOW has no carry_over: the same bytes again still void
    signed = engine.approve("S-1", "head_of_technology", actor="bo")
    same = engine.add_deliverable("S-1", "sow_doc", tmp_path / "sow.pdf", actor="ana")
    assert same.data["voided"]["approvals"][0]["seq"] == signed.seq
    assert counts(engine)["blobs"] == 3  # the same bytes are stored once


def test_every_refusal_stores_nothing(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    signed_sow_project(engine)
    good = write(tmp_path, "e.xlsx", xlsx())
    before = counts(engine)
    refusals = [
        (UsageError, lambda: engine.add_deliverable("S-1", "estimate", write(tmp_path, "empty", b""),
                                                    actor="cy")),
        (NotFound, lambda: engine.add_deliverable("S-1", "nope", good, actor="cy")),
        (NotPermitted, lambda: engine.add_deliverable("S-1", "estimate", good, actor="bo")),
        (NotPermitted, lambda: engine.add_deliverable("S-1", "estimate", good, actor="zed")),
        (UsageError, lambda: engine.add_deliverable("S-1", "estimate", actor="cy")),
        (UsageError, lambda: engine.add_deliverable("S-1", "estimate", url="ftp://x", actor="cy")),
        (PreconditionFailed, lambda: engine.add_deliverable("S-1", "estimate", good, actor="cy",
                                                            expected_seq=1)),
    ]
    for error, attempt in refusals:
        with pytest.raises(error):
            attempt()
    monkeypatch.setenv("PHASEGATE_MAX_FILE_MIB", "0.001")  # 1,048 bytes
    with pytest.raises(TooLarge, match="larger than 1,048 bytes"):
        engine.add_deliverable("S-1", "estimate", good, actor="cy")
    # a stream says no size: refused as it passes the limit
    with pytest.raises(TooLarge), good.open("rb") as stream:
        engine.add_deliverable("S-1", "estimate", stream, actor="cy", name="e.xlsx")
    monkeypatch.delenv("PHASEGATE_MAX_FILE_MIB")
    engine.hold("S-1", actor="ana", reason="client away")
    with pytest.raises(RuleRefused, match="on hold"):
        engine.add_deliverable("S-1", "estimate", good, actor="cy")
    assert counts(engine) == {**before, "events": before["events"] + 1}  # the hold only


def test_a_refused_upload_is_refused_before_a_byte_of_it_is_read(engine: Engine, tmp_path: Path) -> None:
    signed_sow_project(engine)
    with write(tmp_path, "e.xlsx", xlsx()).open("rb") as stream:
        with pytest.raises(NotPermitted):
            engine.add_deliverable("S-1", "estimate", stream, actor="bo", name="e.xlsx")
        assert stream.tell() == 0
        assert engine.may_add_deliverable("S-1", "estimate", actor="cy").title == "Estimate"
        with pytest.raises(NotPermitted):
            engine.may_add_deliverable("S-1", "estimate", actor="outsider")


def test_a_deliverable_of_another_phase_is_refused(engine: Engine, tmp_path: Path) -> None:
    at_sow_estimate(engine)
    with pytest.raises(RuleRefused, match="belongs to Planning"):
        engine.add_deliverable("L-1", "technical_audit", write(tmp_path, "a.pdf", pdf()), actor="bo")


def test_links_are_recorded_as_unseen_and_bound_by_their_url(engine: Engine) -> None:
    signed_sow_project(engine)
    link = engine.add_deliverable("S-1", "moodboard", url="https://figma.example/board/1", label="Board",
                                  actor="dee")
    assert link.data["kind"] == "link" and link.data["sha256"] is None
    listed = engine.deliverables("S-1")
    assert [(v.key, v.kind, v.url, v.label) for v in listed] == [
        ("moodboard", "link", "https://figma.example/board/1", "Board")]


def test_reading_is_for_the_team_admins_and_auditors(engine: Engine, tmp_path: Path) -> None:
    signed_sow_project(engine)
    data = xlsx(size=3 * 1024 * 1024)  # four chunks
    engine.add_deliverable("S-1", "estimate", write(tmp_path, "e.xlsx", data), actor="cy")
    engine.grant("aud", "auditor", actor="ana")
    for reader in ("dee", "aud", "ana"):
        opened = engine.open_deliverable("S-1", "estimate", reader=reader)
        assert b"".join(opened.chunks) == data
    with pytest.raises(NotPermitted):
        engine.deliverables("S-1", reader="zed")
    with pytest.raises(NotPermitted):
        engine.open_deliverable("S-1", "estimate", reader="zed")
    with pytest.raises(NotFound, match="no version 7"):
        engine.open_deliverable("S-1", "estimate", 7)
    assert counts(engine)["blob_chunks"] == 4


def test_prove_names_current_voided_and_passed_approvals(engine: Engine, tmp_path: Path) -> None:
    signed_sow_project(engine)
    engine.add_deliverable("S-1", "sow_doc", write(tmp_path, "sow.pdf", pdf()), actor="ana")
    v1 = write(tmp_path, "estimate-v1.xlsx", xlsx())
    engine.add_deliverable("S-1", "estimate", v1, actor="cy")
    first = engine.approve("S-1", "head_of_technology", actor="bo")
    v2 = write(tmp_path, "estimate-v2.xlsx", xlsx())
    added = engine.add_deliverable("S-1", "estimate", v2, actor="cy")
    proof = engine.prove(v1)
    assert [(a.role, a.person, a.state, a.ended_by, a.version) for a in proof.approvals] == [
        ("head_of_technology", "bo", "voided", added.seq, 1)]
    assert proof.approvals[0].hash == first.hash
    second = engine.approve("S-1", "head_of_technology", actor="bo")
    assert [a.state for a in engine.prove(v2).approvals] == ["current"]
    for role, person in (("integrated_producer", "ana"), ("project_manager", "cy")):
        engine.complete_task("S-1", role, actor=person)
    engine.approve("S-1", "integrated_producer", actor="ana")
    moved = engine.advance("S-1", actor="ana")
    proof = engine.prove(v2)
    assert [(a.person, a.state, a.ended_by) for a in proof.approvals] == [
        ("bo", "passed", moved.seq), ("ana", "passed", moved.seq)]
    assert proof.approvals[0].seq == second.seq
    assert not engine.prove(write(tmp_path, "other", b"never uploaded")).covered
    assert engine.prove(v2, reader="zed").approvals == []  # nothing of a project one may not read


def test_verify_names_a_changed_or_missing_blob(engine: Engine, tmp_path: Path) -> None:
    signed_sow_project(engine)
    engine.add_deliverable("S-1", "sow_doc", write(tmp_path, "sow.pdf", pdf()), actor="ana")
    added = engine.add_deliverable("S-1", "estimate", write(tmp_path, "e.xlsx", xlsx()), actor="cy")
    assert engine.verify_deliverables().ok
    with engine.store.connect() as conn:
        conn.execute(sqlalchemy.text("UPDATE blob_chunks SET data = :d WHERE sha256 = :s"),
                     {"d": b"tampered", "s": added.data["sha256"]})
        conn.commit()
    report = engine.verify_deliverables()
    assert not report.ok
    assert [(b.key, b.version, b.problem) for b in report.broken] == [("estimate", 1, "changed")]
    assert "S-1 estimate v1" in str(report.broken[0])
    with engine.store.connect() as conn:
        conn.execute(sqlalchemy.text("DELETE FROM blob_chunks WHERE sha256 = :s"), {"s": added.data["sha256"]})
        conn.execute(sqlalchemy.text("UPDATE deliverables SET size = 1 WHERE key = 'sow_doc'"))
        conn.commit()
    report = engine.verify_deliverables()
    assert sorted((b.key, b.problem) for b in report.broken) == [("estimate", "missing"), ("sow_doc", "record")]


def test_the_files_directory_holds_the_bytes_by_sha256(engine: Engine, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    monkeypatch.setenv("PHASEGATE_FILES", str(folder))
    signed_sow_project(engine)
    data = xlsx()
    added = engine.add_deliverable("S-1", "estimate", write(tmp_path, "e.xlsx", data), actor="cy")
    sha = added.data["sha256"]
    stored = folder / sha[:2] / sha
    assert stored.read_bytes() == data
    assert counts(engine)["blob_chunks"] == 0
    assert b"".join(engine.open_deliverable("S-1", "estimate").chunks) == data
    assert engine.verify_deliverables().ok
    stored.write_bytes(b"edited")
    assert [b.problem for b in engine.verify_deliverables().broken] == ["changed"]
    stored.unlink()
    assert [b.problem for b in engine.verify_deliverables().broken] == ["missing"]
    assert [p.name for p in folder.rglob("*") if p.is_file()] == []  # no temporary file was left behind


def test_the_event_records_the_version_on_the_chain(engine: Engine, tmp_path: Path) -> None:
    signed_sow_project(engine)
    added = engine.add_deliverable("S-1", "estimate", write(tmp_path, "e.xlsx", xlsx()), actor="cy",
                                   note="first cut")
    stored = engine.history("S-1", action="deliverable.add")
    assert [e.hash for e in stored] == [added.hash]
    data = json.loads(json.dumps(stored[0].data))
    assert {k: data[k] for k in ("key", "version", "size", "name", "note", "role")} == {
        "key": "estimate", "version": 1, "size": added.data["size"], "name": "e.xlsx", "note": "first cut",
        "role": "project_manager"}
