"""Tamper evidence: append-only triggers, what `verify` names for each kind of edit, and checkpoints.

Every tampering test works as an attacker with a SQL client would: a plain
SQLAlchemy engine on the same database (none of phasegate's connection set-up),
dropping the append-only triggers first because they refuse the edit otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from support.tampering import drop_triggers, execute, walk_first_phase

from workflow import Engine
from workflow.domain.audit.checkpoint import KEY_ENV, load_checkpoint
from workflow.domain.audit.events import GENESIS, canonical_json, event_hash
from workflow.errors import AuditBroken, NotPermitted
from workflow.storage.audit.diagnosis import fast_hash


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.grant("olga", "auditor", actor="ana")
        walk_first_phase(e, "P-1")
        yield e


@pytest.fixture
def sql(db_url: str) -> Iterator[sqlalchemy.Engine]:
    """A plain client on the same database: what someone with the database password has."""
    client = sqlalchemy.create_engine(db_url)
    yield client
    client.dispose()


def row(sql: sqlalchemy.Engine, chain: str, seq: int) -> Any:
    with sql.connect() as conn:
        return conn.execute(
            text("SELECT * FROM events WHERE chain = :c AND seq = :s"), {"c": chain, "s": seq}
        ).one()


def broken(engine: Engine, **kwargs: Any) -> tuple[str, int, str, str]:
    report = engine.verify_audit(**kwargs)
    assert not report.ok and report.first_broken is not None
    b = report.first_broken
    return b.chain, b.seq, b.problem, b.detail


def flip_last_char(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


# -- the database refuses edits ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_plain_client_cannot_update_or_delete_events_while_the_triggers_exist(
    engine: Engine, sql: sqlalchemy.Engine
) -> None:
    for statement in (
        "UPDATE events SET actor = 'mallory' WHERE seq = 2",
        "DELETE FROM events WHERE seq = 11",
        "DELETE FROM events",
    ):
        with pytest.raises(DBAPIError, match="events are append-only"):
            execute(sql, statement)
    if sql.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="events are append-only"):
            execute(sql, "TRUNCATE events")
    assert engine.verify_audit().ok


# Every way SQL has to overwrite a row while inserting one: each must be refused by the database.
CONFLICT_CLAUSES = {
    "sqlite": [
        "INSERT OR REPLACE INTO events SELECT chain, seq, at, 'mallory', action, phase, data, prev_hash, hash "
        "FROM events WHERE chain = 'P-1' AND seq = 10",
        "REPLACE INTO events SELECT chain, seq, at, 'mallory', action, phase, data, prev_hash, hash "
        "FROM events WHERE chain = 'P-1' AND seq = 10",
        # A new seq on an existing predecessor: REPLACE would delete the event that holds it.
        "INSERT OR REPLACE INTO events SELECT chain, 99, at, actor, action, phase, data, prev_hash, hash "
        "FROM events WHERE chain = 'P-1' AND seq = 10",
        "INSERT INTO events SELECT chain, seq, at, 'mallory', action, phase, data, prev_hash, hash "
        "FROM events WHERE chain = 'P-1' AND seq = 10 ON CONFLICT (chain, seq) DO UPDATE SET actor = 'mallory'",
        "INSERT INTO events SELECT chain, seq, at, 'mallory', action, phase, data, prev_hash, hash "
        "FROM events WHERE chain = 'P-1' AND seq = 10 ON CONFLICT DO UPDATE SET actor = excluded.actor",
    ],
    "postgresql": [
        "INSERT INTO events SELECT chain, seq, at, 'mallory', action, phase, data, prev_hash, hash "
        "FROM events WHERE chain = 'P-1' AND seq = 10 ON CONFLICT (chain, seq) DO UPDATE SET actor = 'mallory'",
        "INSERT INTO events SELECT chain, seq, at, 'mallory', action, phase, data, prev_hash, hash "
        "FROM events WHERE chain = 'P-1' AND seq = 10 "
        "ON CONFLICT ON CONSTRAINT uq_events_chain_prev_hash DO UPDATE SET actor = excluded.actor",
    ],
}


def test_no_sql_conflict_clause_can_overwrite_an_event(engine: Engine, sql: sqlalchemy.Engine) -> None:
    """The red-team rewrite: INSERT OR REPLACE of a whole chain with recomputed hashes passed verify."""
    before = row(sql, "P-1", 10)
    for statement in CONFLICT_CLAUSES[sql.dialect.name]:
        with pytest.raises(DBAPIError, match="events are append-only"):
            execute(sql, statement)
    assert row(sql, "P-1", 10) == before
    with sql.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events WHERE chain = 'P-1'")).scalar() == 11
    # The harmless clauses still do nothing at all.
    ignore = ("INSERT OR IGNORE INTO" if sql.dialect.name == "sqlite" else "INSERT INTO") + (
        " events SELECT chain, seq, at, 'mallory', action, phase, data, prev_hash, hash FROM events "
        "WHERE chain = 'P-1' AND seq = 10" + ("" if sql.dialect.name == "sqlite" else " ON CONFLICT DO NOTHING"))
    if sql.dialect.name == "postgresql":
        execute(sql, ignore)
        assert row(sql, "P-1", 10) == before
    assert engine.verify_audit().ok


def test_appending_still_works_with_the_triggers_in_place(engine: Engine) -> None:
    engine.hold("P-1", actor="ana", reason="client on holiday")
    assert engine.history("P-1")[-1].action == "hold"
    assert engine.verify_audit().ok


# -- verify names each kind of tampering ------------------------------------------------------------


def test_an_untouched_database_verifies(engine: Engine) -> None:
    report = engine.verify_audit()
    assert report.ok and report.events_checked == 11 + 5 and report.chains_checked == 2


@pytest.mark.parametrize("column", ["at", "actor", "action", "phase", "data", "prev_hash", "hash"])
def test_an_edited_byte_in_any_field_is_named_as_edited(
    engine: Engine, sql: sqlalchemy.Engine, column: str
) -> None:
    drop_triggers(sql)
    original = getattr(row(sql, "P-1", 6), column)
    execute(
        sql, f"UPDATE events SET {column} = :v WHERE chain = 'P-1' AND seq = 6", v=flip_last_char(original)
    )
    assert broken(engine)[:3] == ("P-1", 6, "edited")
    assert broken(engine, code="P-1")[:3] == ("P-1", 6, "edited")


def test_an_edited_byte_in_the_system_chain_is_named_too(engine: Engine, sql: sqlalchemy.Engine) -> None:
    drop_triggers(sql)
    execute(sql, "UPDATE events SET data = replace(data, 'olga', 'olgb') WHERE chain = '@system' AND seq = 5")
    chain, seq, problem, _ = broken(engine)
    assert (chain, seq, problem) == ("@system", 5, "edited")


@pytest.mark.parametrize(("seq", "new_seq"), [(5, 95), (11, 19)])
def test_an_edited_sequence_number_is_named_as_edited_at_the_original_position(
    engine: Engine, sql: sqlalchemy.Engine, seq: int, new_seq: int
) -> None:
    drop_triggers(sql)
    execute(sql, "UPDATE events SET seq = :n WHERE chain = 'P-1' AND seq = :s", n=new_seq, s=seq)
    chain, at, problem, detail = broken(engine)
    assert (chain, at, problem) == ("P-1", seq, "edited")
    assert f"changed from {seq} to {new_seq}" in detail


def test_a_deleted_middle_event_is_named_as_missing(engine: Engine, sql: sqlalchemy.Engine) -> None:
    drop_triggers(sql)
    execute(sql, "DELETE FROM events WHERE chain = 'P-1' AND seq = 6")
    assert broken(engine)[:3] == ("P-1", 6, "missing")


def test_a_deleted_first_event_is_named_as_missing(engine: Engine, sql: sqlalchemy.Engine) -> None:
    drop_triggers(sql)
    execute(sql, "DELETE FROM events WHERE chain = 'P-1' AND seq = 1")
    assert broken(engine)[:3] == ("P-1", 1, "missing")


def test_a_deleted_tail_is_caught_by_the_project_head(engine: Engine, sql: sqlalchemy.Engine) -> None:
    drop_triggers(sql)
    execute(sql, "DELETE FROM events WHERE chain = 'P-1' AND seq >= 10")
    assert broken(engine)[:3] == ("P-1", 10, "missing")


def _swap(sql: sqlalchemy.Engine, a: int, b: int) -> None:
    """Swap every column but the key (chain, seq) between two events."""
    ra, rb = row(sql, "P-1", a), row(sql, "P-1", b)
    execute(sql, "DELETE FROM events WHERE chain = 'P-1' AND seq IN (:a, :b)", a=a, b=b)
    for seq, source in ((a, rb), (b, ra)):
        execute(
            sql,
            "INSERT INTO events (chain, seq, at, actor, action, phase, data, prev_hash, hash) "
            "VALUES ('P-1', :seq, :at, :actor, :action, :phase, :data, :prev_hash, :hash)",
            **{**source._asdict(), "seq": seq, "chain": "P-1"},
        )


@pytest.mark.parametrize(("a", "b"), [(5, 6), (4, 8)])
def test_two_swapped_events_are_named_as_reordered(
    engine: Engine, sql: sqlalchemy.Engine, a: int, b: int
) -> None:
    drop_triggers(sql)
    _swap(sql, a, b)
    chain, seq, problem, detail = broken(engine)
    assert (chain, seq, problem) == ("P-1", a, "reordered")
    assert f"written as event {b}" in detail


def test_the_unique_predecessor_constraint_makes_a_fork_impossible(
    engine: Engine, sql: sqlalchemy.Engine
) -> None:
    """(chain, prev_hash) is unique: a second event on the same predecessor cannot even be stored."""
    drop_triggers(sql)
    r = row(sql, "P-1", 6)
    with pytest.raises(IntegrityError):
        execute(
            sql,
            "INSERT INTO events (chain, seq, at, actor, action, phase, data, prev_hash, hash) "
            "VALUES ('P-1', 12, :at, :actor, :action, :phase, :data, :prev, :h)",
            at=r.at,
            actor=r.actor,
            action=r.action,
            phase=r.phase,
            data=r.data,
            prev=r.prev_hash,
            h=r.hash,
        )


def test_a_fork_is_named_once_the_unique_constraint_is_dropped_too(
    engine: Engine, sql: sqlalchemy.Engine
) -> None:
    drop_triggers(sql)
    if sql.dialect.name == "postgresql":
        execute(sql, "ALTER TABLE events DROP CONSTRAINT uq_events_chain_prev_hash")
    else:  # SQLite cannot drop a constraint: rebuild the table without it, as an attacker would
        execute(sql, "CREATE TABLE events_copy AS SELECT * FROM events")
        execute(sql, "DROP TABLE events")
        execute(sql, "ALTER TABLE events_copy RENAME TO events")
    r = row(sql, "P-1", 6)
    data = canonical_json({"note": "forged", "role": "project_manager", "round": 1})
    forged = event_hash(r.prev_hash, "P-1", 12, r.at, "mallory", "task.done", r.phase, data)
    execute(
        sql,
        "INSERT INTO events (chain, seq, at, actor, action, phase, data, prev_hash, hash) "
        "VALUES ('P-1', 12, :at, 'mallory', 'task.done', :phase, :data, :prev, :h)",
        at=r.at,
        phase=r.phase,
        data=data,
        prev=r.prev_hash,
        h=forged,
    )
    chain, seq, problem, detail = broken(engine)
    assert (chain, seq, problem) == ("P-1", 12, "forked")
    assert "same predecessor as event 6" in detail


@settings(max_examples=50, deadline=None, database=None)
@given(
    prev=st.text(min_size=0, max_size=70),
    chain=st.text(min_size=1, max_size=20),
    seq=st.integers(1, 10**9),
    at=st.text(max_size=40),
    actor=st.text(max_size=30),
    action=st.text(max_size=20),
    phase=st.none() | st.text(max_size=30),
    data=st.text(max_size=200),
)
def test_the_verifiers_inlined_hash_equals_the_chains_definition(
    prev: str, chain: str, seq: int, at: str, actor: str, action: str, phase: str | None, data: str
) -> None:
    try:
        expected = event_hash(prev, chain, seq, at, actor, action, phase, data)
    except UnicodeEncodeError:  # lone surrogates cannot be stored either
        return
    assert fast_hash(prev, chain, seq, at, actor, action, phase, data) == expected


def delete_project_row(sql: sqlalchemy.Engine, code: str) -> None:
    """Delete a project's row (and the rows that refer to it), leaving its events."""
    for table in ("tasks", "approvals", "assignments", "insight_signatures", "insight_visits", "insight_projects"):
        execute(
            sql, f"DELETE FROM {table} WHERE project_id = (SELECT id FROM projects WHERE code = :c)", c=code
        )
    execute(sql, "DELETE FROM projects WHERE code = :c", c=code)


@pytest.mark.parametrize("gone", ["P-1", "P-2", "P-3"])
def test_a_project_whose_whole_chain_is_gone_is_named_as_missing(
    engine: Engine, sql: sqlalchemy.Engine, gone: str
) -> None:
    """First, middle or last in chain order: the heads are read beside the events and must not lose step."""
    walk_first_phase(engine, "P-2")
    walk_first_phase(engine, "P-3")
    drop_triggers(sql)
    execute(sql, "DELETE FROM events WHERE chain = :c", c=gone)
    chain, seq, problem, detail = broken(engine)
    assert (chain, seq, problem) == (gone, 1, "missing")
    assert "whole chain" in detail
    assert broken(engine, code=gone)[:3] == (gone, 1, "missing")


def test_the_heads_after_a_project_without_events_are_still_checked(
    engine: Engine, sql: sqlalchemy.Engine
) -> None:
    walk_first_phase(engine, "P-2")
    walk_first_phase(engine, "P-3")
    drop_triggers(sql)
    execute(sql, "DELETE FROM events WHERE chain = 'P-2'")
    execute(sql, "UPDATE projects SET head_hash = :h WHERE code = 'P-3'", h=GENESIS)
    # a chain's own fault is named before a whole chain that is gone (that is known only at the end)
    assert broken(engine)[:3] == ("P-3", 11, "edited")


def test_a_deleted_project_row_is_named_with_or_without_replay_after_any_broken_chain(
    engine: Engine, sql: sqlalchemy.Engine
) -> None:
    """The red-team find: a project vanished from every list while `audit verify` said ok."""
    walk_first_phase(engine, "P-2")
    walk_first_phase(engine, "P-3")
    drop_triggers(sql)
    delete_project_row(sql, "P-2")
    for replay in (True, False):
        chain, seq, problem, detail = broken(engine, replay=replay)
        assert (chain, seq, problem) == ("P-2", 11, "state differs")
        assert detail == "the project's row is missing: its chain has 11 events"
    assert broken(engine, code="P-2")[:3] == ("P-2", 11, "state differs")
    # A broken chain is named first, and the heads after the missing row are still checked.
    execute(sql, "DELETE FROM events WHERE chain = 'P-3' AND seq = 11")
    assert broken(engine)[:3] == ("P-3", 11, "missing")


def _many_projects(url: str, n: int) -> None:
    """A database with ``n`` projects of one event each, copied in bulk from one made by the Engine."""
    import sqlite3

    with Engine(url) as engine:
        engine.init(admin="ana")
        engine.create_project("P-0", template="team-based", actor="ana")
    with sqlite3.connect(url.removeprefix("sqlite:///")) as raw:
        raw.row_factory = sqlite3.Row
        project = dict(raw.execute("SELECT * FROM projects WHERE code = 'P-0'").fetchone())
        event = dict(raw.execute("SELECT * FROM events WHERE chain = 'P-0'").fetchone())
        del project["id"]
        projects, events = [], []
        for i in range(1, n):
            code = f"P-{i:05d}"
            h = event_hash(
                GENESIS, code, 1, event["at"], event["actor"], event["action"], event["phase"], event["data"]
            )
            projects.append({**project, "code": code, "head_hash": h})
            events.append({**event, "chain": code, "hash": h})
        for table, rows in (("projects", projects), ("events", events)):
            columns = list(rows[0])
            raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + k for k in columns)})",
                rows,
            )
        for table in ("insight_projects", "insight_visits"):  # P-0's summary rows (issue 25), for each copy
            columns = [r[1] for r in raw.execute(f"PRAGMA table_info({table})") if r[1] != "project_id"]
            raw.execute(f"INSERT INTO {table} (project_id, {', '.join(columns)}) "
                        f"SELECT p.id, {', '.join('i.' + c for c in columns)} FROM projects p, {table} i "
                        "WHERE p.code <> 'P-0' AND i.project_id = (SELECT id FROM projects WHERE code = 'P-0')")


@pytest.mark.slow
def test_verify_memory_does_not_grow_with_the_number_of_projects(tmp_path: Path) -> None:
    """The heads (and, replaying, the state rows) are streamed beside the events (merge joins), not
    held: 10x the projects, the same peak, with the state check and without it."""
    import tracemalloc

    peaks = {}
    for n in (2_000, 20_000):
        url = f"sqlite:///{tmp_path}/many-{n}.db"
        _many_projects(url, n)
        with Engine(url) as engine:
            for replay in (False, True):
                assert engine.verify_audit(replay=replay).ok  # imports and caches, outside the measurement
                tracemalloc.start()
                try:
                    report = engine.verify_audit(replay=replay)
                    peaks[n, replay] = tracemalloc.get_traced_memory()[1]
                finally:
                    tracemalloc.stop()
                assert report.ok and report.chains_checked == n + 1 and report.state_checked == replay
    for replay in (False, True):
        assert peaks[20_000, replay] <= 1.1 * peaks[2_000, replay] + 64 * 1024, peaks


# -- checkpoints ----------------------------------------------------------------------------------


def write_checkpoint(engine: Engine, path: Path, actor: str = "olga") -> Path:
    path.write_text(engine.checkpoint(reader=actor).to_json(), encoding="utf-8")
    return path


def rewrite_chain(sql: sqlalchemy.Engine, chain: str, edit: Any) -> None:
    """Rebuild a whole chain with ``edit(row_dict)`` applied and every hash recomputed, and move its head."""
    with sql.connect() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(text("SELECT * FROM events WHERE chain = :c ORDER BY seq"), {"c": chain})
        ]
    prev = GENESIS
    for r in rows:
        edit(r)
        r["prev_hash"] = prev
        r["hash"] = prev = event_hash(
            prev, chain, r["seq"], r["at"], r["actor"], r["action"], r["phase"], r["data"]
        )
    execute(sql, "DELETE FROM events WHERE chain = :c", c=chain)
    for r in rows:
        execute(
            sql,
            "INSERT INTO events (chain, seq, at, actor, action, phase, data, prev_hash, hash) "
            "VALUES (:chain, :seq, :at, :actor, :action, :phase, :data, :prev_hash, :hash)",
            **r,
        )
    execute(
        sql,
        "UPDATE projects SET seq = :s, head_hash = :h WHERE code = :c",
        s=rows[-1]["seq"],
        h=prev,
        c=chain,
    )


def test_a_checkpoint_lists_every_chain_with_its_length_and_head(engine: Engine, tmp_path: Path) -> None:
    doc = json.loads(write_checkpoint(engine, tmp_path / "cp.json").read_text())
    assert doc["format"] == "phasegate-checkpoint" and doc["version"] == 1
    assert {c["chain"]: c["length"] for c in doc["chains"]} == {"@system": 5, "P-1": 11}
    assert doc["chains"][1]["head"] == engine.history("P-1")[-1].hash
    assert doc["digest"].startswith("sha256:") and "signature" not in doc


def test_verify_against_a_checkpoint_passes_and_newer_events_and_chains_are_fine(
    engine: Engine, tmp_path: Path
) -> None:
    cp = write_checkpoint(engine, tmp_path / "cp.json")
    engine.hold("P-1", actor="ana", reason="waiting for the client")
    walk_first_phase(engine, "P-2")
    report = engine.verify_audit(checkpoint=cp, reader="olga")
    assert report.ok and report.checkpoint_chains == 2 and report.checkpoint_signed is False


@pytest.mark.slow
def test_a_deleted_tail_passes_the_hash_chains_but_fails_against_the_checkpoint(
    engine: Engine, sql: sqlalchemy.Engine, tmp_path: Path
) -> None:
    cp = write_checkpoint(engine, tmp_path / "cp.json")
    drop_triggers(sql)
    execute(sql, "DELETE FROM events WHERE chain = 'P-1' AND seq >= 10")
    head = row(sql, "P-1", 9).hash
    execute(sql, "UPDATE projects SET seq = 9, head_hash = :h WHERE code = 'P-1'", h=head)
    assert engine.verify_audit(replay=False).ok
    # The state check sees the project's row ahead of its history (unless that was fixed up too).
    assert broken(engine) == (
        "P-1", 9, "state differs", "projects.phase is 'production_kickoff' but the history says 'client_kickoff'"
    )
    chain, seq, problem, detail = broken(engine, checkpoint=cp, replay=False)
    assert (chain, seq, problem) == ("P-1", 10, "missing")
    assert "recorded 11 events" in detail


def test_a_full_rewrite_with_recomputed_hashes_passes_the_hash_chains_but_fails_against_the_checkpoint(
    engine: Engine, sql: sqlalchemy.Engine, tmp_path: Path
) -> None:
    cp = write_checkpoint(engine, tmp_path / "cp.json")
    drop_triggers(sql)

    def mallory_approved(r: dict[str, Any]) -> None:
        if r["seq"] == 9:
            r["actor"] = "mallory"

    rewrite_chain(sql, "P-1", mallory_approved)
    assert engine.verify_audit(replay=False).ok
    # The approvals row still says who signed; a rewrite of the row too would pass (see checkpoints).
    assert broken(engine)[2:] == (
        "state differs",
        "approvals row client_kickoff/1/head_of_technology: person is 'ben' but the history says 'mallory'",
    )
    execute(sql, "UPDATE approvals SET person = 'mallory' WHERE role = 'head_of_technology'")
    assert broken(engine)[2:] == (  # and the insights' row of that signature (issue 25)
        "state differs",
        "insight_signatures row ('client_kickoff', 1, 'head_of_technology'): person is 'ben', the history says "
        "'mallory'",
    )
    execute(sql, "UPDATE insight_signatures SET person = 'mallory' WHERE role = 'head_of_technology'")
    assert engine.verify_audit().ok
    assert engine.history("P-1")[8].actor == "mallory"
    assert broken(engine, checkpoint=cp)[:3] == ("P-1", 11, "edited")
    assert broken(engine, code="P-1", checkpoint=cp)[:3] == ("P-1", 11, "edited")


def test_a_dropped_chain_passes_plain_verify_but_fails_against_the_checkpoint(
    engine: Engine, sql: sqlalchemy.Engine, tmp_path: Path
) -> None:
    walk_first_phase(engine, "P-2")
    cp = write_checkpoint(engine, tmp_path / "cp.json")
    drop_triggers(sql)
    for table in ("tasks", "approvals", "assignments", "insight_signatures", "insight_visits", "insight_projects"):
        execute(sql, f"DELETE FROM {table} WHERE project_id = (SELECT id FROM projects WHERE code = 'P-2')")
    execute(sql, "DELETE FROM projects WHERE code = 'P-2'")
    execute(sql, "DELETE FROM events WHERE chain = 'P-2'")
    assert engine.verify_audit().ok
    chain, seq, problem, detail = broken(engine, checkpoint=cp)
    assert (chain, seq, problem) == ("P-2", 1, "missing")
    assert "whole chain" in detail
    assert broken(engine, code="P-2", checkpoint=cp)[:3] == ("P-2", 1, "missing")


def test_an_altered_checkpoint_file_is_refused_as_audit_broken(engine: Engine, tmp_path: Path) -> None:
    cp = write_checkpoint(engine, tmp_path / "cp.json")
    doc = json.loads(cp.read_text())
    doc["chains"][1]["length"] = 9  # hide a deleted tail
    cp.write_text(json.dumps(doc))
    with pytest.raises(AuditBroken, match="digest does not match"):
        engine.verify_audit(checkpoint=cp)


def test_with_a_key_checkpoints_are_signed_and_the_signature_is_required(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsigned = write_checkpoint(engine, tmp_path / "unsigned.json")
    monkeypatch.setenv(KEY_ENV, "correct horse battery staple")
    signed = write_checkpoint(engine, tmp_path / "signed.json")
    assert json.loads(signed.read_text())["signature"].startswith("hmac-sha256:")
    assert engine.verify_audit(checkpoint=signed).checkpoint_signed is True
    with pytest.raises(AuditBroken, match="not signed"):
        engine.verify_audit(checkpoint=unsigned)

    # Someone who can edit the file recomputes the digest, but cannot recompute the signature.
    doc = json.loads(signed.read_text())
    doc["chains"][1]["length"] = 9
    body = {k: doc[k] for k in ("format", "version", "created_at", "chains")}
    from hashlib import sha256

    doc["digest"] = "sha256:" + sha256(canonical_json(body).encode()).hexdigest()
    signed.write_text(json.dumps(doc))
    with pytest.raises(AuditBroken, match="wrong signature"):
        engine.verify_audit(checkpoint=signed)

    monkeypatch.setenv(KEY_ENV, "another key")
    with pytest.raises(AuditBroken, match="wrong signature"):
        load_checkpoint(write_checkpoint(engine, tmp_path / "x.json").read_text(), b"the first key")


def test_no_checkpoint_is_written_for_a_broken_chain(engine: Engine, sql: sqlalchemy.Engine) -> None:
    drop_triggers(sql)
    execute(sql, "UPDATE events SET actor = 'mallory' WHERE chain = 'P-1' AND seq = 3")
    with pytest.raises(AuditBroken, match="no checkpoint was written: project P-1, event 3: edited"):
        engine.checkpoint(reader="ana")


def test_only_admins_and_auditors_verify_and_checkpoint(engine: Engine, tmp_path: Path) -> None:
    assert engine.verify_audit(reader="olga").ok
    write_checkpoint(engine, tmp_path / "cp.json", actor="olga")
    with pytest.raises(NotPermitted):
        engine.verify_audit(reader="ben")
    with pytest.raises(NotPermitted):
        engine.checkpoint(reader="ben")


def test_history_shows_an_event_whose_data_was_replaced_by_non_json_instead_of_crashing(
    sqlite_url: str,
) -> None:
    """Tampering may leave text that is not JSON; history still reads it and verify names it."""
    import sqlite3

    with Engine(sqlite_url) as engine:
        engine.init(admin="ana")
        engine.create_project("T-1", template="team-based", actor="ana")
    path = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            raw.execute(f'DROP TRIGGER "{name}"')
        raw.execute("UPDATE events SET data = 'not json' WHERE chain = 'T-1' AND seq = 1")
    with Engine(sqlite_url) as engine:
        (event,) = engine.history("T-1")
        assert event.data == {"unreadable_data": "not json"}
        report = engine.verify_audit()
        assert not report.ok and report.first_broken is not None and report.first_broken.seq == 1
