"""``audit verify`` names a credential's hash or a project's clock edited with SQL.

A token's secret hash swapped for an attacker's (whose secret then opens the admin's token), a
calendar feed's key hash or a password hash swapped, the gate's opening or the clock's next moment
NULLed (reminders silently stop), a timer row that says a reminder was given: each is named, with
the table, the row and the column. The events carry each credential's sha256 (of a 32-byte secret,
or of the salted argon2 hash: nothing to guess a secret from); the clock's columns are what the
record (the gate's opening) and the pinned template (the moments still owed) say.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy
from support.apiclients import api, bearer
from support.schedules import moved_clock, timed_project
from support.tampering import drop_triggers, execute

from workflow import Engine
from workflow.domain.audit.events import SYSTEM_CHAIN


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """P-1 on the timed template with its Kick-Off gate open (Monday 09:00); ana (admin) and mem have
    passwords and tokens, both have calendar keys."""
    with moved_clock(), Engine(db_url) as e:
        timed_project(e)
        e.complete_task("P-1", "producer", actor="ana")
        e.complete_task("P-1", "dev", actor="dev")
        for person in ("ana", "mem"):
            e.add_user(person, actor="ana")
            e.set_password(person, f"the password of {person}", actor="ana")
            e.create_token(actor=person, name="laptop")
            e.new_calendar_key(actor=person)
        assert e.verify_audit().ok
        yield e


@pytest.fixture
def sql(db_url: str) -> Iterator[sqlalchemy.Engine]:
    client = sqlalchemy.create_engine(db_url)
    yield client
    client.dispose()


def named(engine: Engine) -> tuple[str, str, str]:
    report = engine.verify_audit()
    assert not report.ok and report.first_broken is not None, "the edit passed audit verify"
    b = report.first_broken
    return b.chain, b.problem, b.detail


def swap(sql: sqlalchemy.Engine, table: str, column: str, key: str, a: str, b: str) -> None:
    """Exchange ``column`` between the rows ``key = a`` and ``key = b``."""
    with sql.begin() as conn:
        first, second = (conn.execute(sqlalchemy.text(f"SELECT {column} FROM {table} WHERE {key} = :k"),
                                      {"k": k}).scalar_one() for k in (a, b))
        for k, value in ((a, "swapping"), (b, first), (a, second)):
            conn.execute(sqlalchemy.text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"), {"v": value, "k": k})


@pytest.mark.slow
def test_a_swapped_token_secret_hash_opens_the_admins_token_and_verify_names_it(
        engine: Engine, sql: sqlalchemy.Engine, db_url: str) -> None:
    ana_token = next(t.id for t in engine.tokens(reader="ana"))
    _info, mine = engine.create_token(actor="mem", name="mallory's")
    mine_id = next(t.id for t in engine.tokens(reader="mem") if t.name == "mallory's")
    swap(sql, "tokens", "secret_hash", "id", ana_token, mine_id)
    with moved_clock(), api(db_url) as client:
        assert client.get("/api/v1/me", headers=bearer(mine)).json()["person"] == "ana", "the attack works"
    chain, problem, detail = named(engine)
    assert (chain, problem) == (SYSTEM_CHAIN, "state differs")
    assert any(detail.startswith(f"tokens row {token}: secret_hash is ") for token in (ana_token, mine_id)), detail


@pytest.mark.slow
def test_a_swapped_calendar_key_hash_is_named(engine: Engine, sql: sqlalchemy.Engine) -> None:
    swap(sql, "notify_settings", "calendar_key_hash", "person", "ana", "mem")
    chain, problem, detail = named(engine)
    assert (chain, problem) == (SYSTEM_CHAIN, "state differs")
    assert detail.startswith("notify_settings row ana: calendar_key_hash is "), detail


@pytest.mark.slow
def test_a_swapped_password_hash_is_named(engine: Engine, sql: sqlalchemy.Engine) -> None:
    swap(sql, "people", "password_hash", "login", "ana", "mem")
    assert engine.sign_in("ana", "the password of mem", address="10.0.0.1").identity.person == "ana"
    chain, problem, detail = named(engine)
    assert (chain, problem) == (SYSTEM_CHAIN, "state differs")
    assert detail.startswith("people row ana: sha256 of password_hash is "), detail


@pytest.mark.slow
def test_a_password_rehashed_at_sign_in_still_verifies(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's parameters moved on: the sign-in rehashes the password, on the record."""
    from argon2 import PasswordHasher

    from workflow.domain import credentials

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(credentials, "_hasher", lambda: weak)
    engine.set_password("mem", "an older kind of hash", actor="ana")
    monkeypatch.undo()
    assert engine.sign_in("mem", "an older kind of hash", address="10.0.0.1").identity.person == "mem"
    last = engine.store.read(lambda tx: tx.conn.execute(sqlalchemy.text(
        "SELECT action, data FROM events WHERE chain = :c ORDER BY seq DESC LIMIT 1"), {"c": SYSTEM_CHAIN}).one())
    assert last.action == "user.password" and '"rehashed":true' in last.data
    assert engine.verify_audit().ok


@pytest.mark.parametrize(
    ("statement", "column"),
    [
        ("UPDATE projects SET gate_opened_at = NULL", "gate_opened_at"),
        ("UPDATE projects SET gate_opened_at = '2026-12-21T09:00:00.000000Z'", "gate_opened_at"),
        ("UPDATE projects SET next_tick_at = NULL", "next_tick_at"),
        ("UPDATE projects SET next_tick_at = '2027-06-01T00:00:00.000000Z'", "next_tick_at"),
    ],
    ids=["gate opening NULLed", "gate opening moved", "next moment NULLed", "next moment moved later"],
)
@pytest.mark.slow
def test_the_clocks_columns_edited_so_reminders_stop_are_named(engine: Engine, sql: sqlalchemy.Engine,
                                                               statement: str, column: str) -> None:
    execute(sql, statement)
    chain, problem, detail = named(engine)
    assert (chain, problem) == ("P-1", "state differs")
    assert detail.startswith(f"projects.{column} is "), detail


@pytest.mark.slow
def test_a_timer_row_that_says_a_reminder_was_given_is_named(engine: Engine, sql: sqlalchemy.Engine) -> None:
    execute(sql, "INSERT INTO timers VALUES ((SELECT id FROM projects WHERE code = 'P-1'), 'kickoff', 1, "
                 "'remind', 'qa', 7)")
    chain, problem, detail = named(engine)
    assert (chain, problem) == ("P-1", "state differs")
    assert detail == "timers has a row kickoff/1/remind/qa that no event gave", detail


@pytest.mark.slow
def test_the_clock_after_ticks_holds_and_verifies(engine: Engine, sql: sqlalchemy.Engine) -> None:
    """Reminded, escalated, overdue: the record and the rows agree; a timer row deleted is named."""
    with moved_clock() as clock:
        clock.move(days=4, hours=1)
        assert len(engine.tick().events) == 3
        clock.move(days=1)
        engine.approve("P-1", "qa", actor="qa")
        assert engine.tick().events == []
    assert engine.verify_audit().ok
    execute(sql, "DELETE FROM timers WHERE kind = 'escalate'")
    chain, problem, detail = named(engine)
    assert (chain, problem) == ("P-1", "state differs") and detail.startswith("timers has no row kickoff/1/escalate/ana")


def test_a_due_date_set_on_a_project_without_durations_is_kept_and_verifies(db_url: str) -> None:
    """``project due`` on a template without durations moved nothing before (the row kept no date)."""
    with moved_clock(), Engine(db_url) as engine:
        engine.init(admin="ana")
        engine.create_project("U-1", template="large-agency", actor="ana")
        engine.assign("U-1", "integrated_producer", "ana", actor="ana")
        engine.set_due("U-1", "client_kickoff", "2026-12-20", actor="ana", reason="the client asked")
        assert engine.status("U-1").due == "2026-12-20"
        assert engine.verify_audit().ok


@pytest.mark.slow
def test_a_database_of_an_older_version_without_fingerprints_still_verifies(engine: Engine, sql: sqlalchemy.Engine
                                                                            ) -> None:
    """Events written before the fingerprints were recorded say nothing of a hash: nothing is compared
    for them (the next change records one)."""
    from workflow.domain.audit.events import canonical_json, event_hash

    drop_triggers(sql)
    with sql.begin() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT chain, seq, at, actor, action, phase, data, prev_hash, hash "
                                            "FROM events ORDER BY chain, seq")).all()
        prev: dict[str, str] = {}
        for r in rows:
            data: dict[str, Any] = json.loads(r.data)
            for key in ("secret_sha256", "key_sha256", "password_sha256", "gate_opened_at"):
                if r.action != "webhook.add":
                    data.pop(key, None)
            text = canonical_json(data)
            prev_hash = prev.get(r.chain, r.prev_hash)
            digest = event_hash(prev_hash, r.chain, r.seq, r.at, r.actor, r.action, r.phase, text)
            conn.execute(sqlalchemy.text("UPDATE events SET data = :d, prev_hash = :p, hash = :h "
                                         "WHERE chain = :c AND seq = :s"),
                         {"d": text, "p": prev_hash, "h": digest, "c": r.chain, "s": r.seq})
            prev[r.chain] = digest
        for chain, head in prev.items():
            conn.execute(sqlalchemy.text("UPDATE projects SET head_hash = :h WHERE code = :c"), {"h": head, "c": chain})
    assert engine.verify_audit().ok
    execute(sql, "UPDATE projects SET next_tick_at = NULL")
    chain, _problem, detail = named(engine)
    assert chain == "P-1" and detail.startswith("projects.next_tick_at is "), "still caught: the template says"

