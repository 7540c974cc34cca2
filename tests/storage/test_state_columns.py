"""Every column of every table is either compared by `audit verify` (edited with SQL, it fails) or named
here as left outside, with the reason the Auditors page's "does not catch" list gives (docs/use/auditors.md).

A column added to the schema without a word here fails ``test_every_column_is_compared_or_left_outside_
with_a_reason``: a new credential or clock column cannot be left out of the check silently.

SQLite only: the comparisons are the same Python on both backends, and the named scenarios of
``test_state_check.py`` and ``tests/storage/test_verify_credentials_and_clock.py`` run on both. One
database of the standard history (with accounts, tokens, a webhook, a calendar key and a timed project
whose clock has ticked) is built per module and copied for each edit.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy
from support.schedules import TIMED, moved_clock
from support.tampering import drop_triggers, execute, two_rounds_on_hold

from workflow import Engine
from workflow.domain.results import AuditReport
from workflow.storage.database import utcnow
from workflow.storage.tables import metadata

# -- every compared column, edited -------------------------------------------------------------------


def flipped(column: str) -> str:
    """SQL for a hash with its first digit changed (whatever it was)."""
    return f"CASE substr({column}, 1, 1) WHEN '0' THEN '1' ELSE '0' END || substr({column}, 2)"


# Every column the state check compares, with an edit that changes it (all rows of the table).
EDITS: dict[str, dict[str, str]] = {
    "projects": {
        "name": "name || 'x'", "client": "client || 'x'", "phase": "phase || 'x'", "round": "round + 7",
        "status": "'cancelled'", "rounds": "replace(rounds, '2', '3')", "seq": "seq + 7",
        "head_hash": flipped("head_hash"), "created_at": "created_at || 'x'",
        "updated_at": "updated_at || 'x'", "hold_seq": "NULL", "rejection_seq": "coalesce(rejection_seq, 0) + 7",
    },
    "assignments": {"role": "role || 'x'", "person": "person || 'x'", "assigned_at": "assigned_at || 'x'",
                    "assigned_by": "assigned_by || 'x'", "seq": "seq + 7"},
    "tasks": {"phase": "phase || 'x'", "round": "round + 7", "role": "role || 'x'", "person": "person || 'x'",
              "note": "coalesce(note, '') || 'x'", "done_at": "done_at || 'x'", "seq": "seq + 7",
              "auth": "'token'", "on_behalf_of": "coalesce(on_behalf_of, '') || 'x'"},
    "approvals": {"phase": "phase || 'x'", "round": "round + 7", "role": "role || 'x'",
                  "person": "person || 'x'", "comment": "coalesce(comment, '') || 'x'",
                  "approved_at": "approved_at || 'x'", "seq": "seq + 7", "auth": "'proxy'",
                  "on_behalf_of": "coalesce(on_behalf_of, '') || 'x'"},
    "grants": {"person": "person || 'x'", "granted_by": "granted_by || 'x'",
               "privilege": "CASE privilege WHEN 'admin' THEN 'auditor' ELSE 'admin' END"},
    "templates": {"id": "id + 1000", "key": "key || 'x'", "version": "version + 7", "title": "title || 'x'",
                  "sha256": flipped("sha256"), "published_by": "published_by || 'x'",
                  "source": "source || '#'", "compiled": "replace(compiled, '\"title\":\"', '\"title\":\"x')"},
    "timers": {"phase": "phase || 'x'", "round": "round + 7", "kind": "kind || 'x'", "person": "person || 'x'",
               "seq": "seq + 7"},
    "people": {"login": "login || 'x'", "display_name": "coalesce(display_name, '') || 'x'",
               "email": "coalesce(email, '') || 'x'", "active": "NOT active",
               "password_hash": "coalesce(password_hash, 'x') || 'y'"},
    "tokens": {"id": "id || 'x'", "person": "person || 'x'", "name": "coalesce(name, '') || 'x'",
               "secret_hash": flipped("secret_hash"),
               "expires_at": "coalesce(expires_at, '2030-01-01T00:00:00.000000Z') || 'x'",
               "revoked_at": "CASE WHEN revoked_at IS NULL THEN '2026-01-01T00:00:00.000000Z' END"},
    "webhooks": {"id": "id || 'x'", "url": "url || 'x'", "kinds": "'[\"task\"]'", "secret": "secret || 'x'",
                 "format": "CASE format WHEN 'json' THEN 'slack' ELSE 'json' END", "active": "NOT active",
                 "created_by": "created_by || 'x'"},
    "delegations": {"id": "id || 'x'", "person": "person || 'x'", "delegate": "delegate || 'x'",
                    "starts_on": "'2026-01-01'", "until": "'2026-01-02'", "roles": "'[\"x\"]'",
                    "project": "coalesce(project, '') || 'x'", "reason": "coalesce(reason, '') || 'x'",
                    "created_by": "created_by || 'x'", "created_at": "created_at || 'x'",
                    "ended_at": "coalesce(ended_at, '') || 'x'", "ended_by": "coalesce(ended_by, '') || 'x'",
                    "seq": "seq + 7"},
    "notify_settings": {"person": "person || 'x'", "email_kinds": "'[\"task\"]'",
                        "calendar_key_hash": flipped("calendar_key_hash")},
    # The hash chain covers every field of an event (the state check then trusts them).
    "events": {"chain": "chain || 'x'", "seq": "seq + 100", "at": "at || 'x'", "actor": "actor || 'x'",
               "action": "action || 'x'", "phase": "coalesce(phase, '') || 'x'", "data": "data || ' '",
               "prev_hash": flipped("prev_hash"), "hash": flipped("hash")},
}
EDITS["projects"] |= {
    "id": "id + 100", "code": "code || 'x'", "template_id": "template_id + 1", "calendar": "'GB'",
    "starts_on": "'2026-01-01'", "due_on": "'2026-01-01'", "planned_due": "'{\"x\": \"2026-01-01\"}'",
    "gate_opened_at": "'2026-01-01T00:00:00.000000Z'", "next_tick_at": "'2026-01-01T00:00:00.000000Z'",
}
# The insights' summary rows (issue 25), replayed from the history with the write path's own changes.
EDITS |= {
    "insight_visits": {
        "project_id": "project_id + 100", "phase": "phase || 'x'", "round": "round + 7",
        "template_id": "template_id + 1", "client": "coalesce(client, '') || 'x'", "calendar": "'GB'",
        "entered_at": "entered_at || 'x'", "entered_ord": "entered_ord + 7", "left_at": "coalesce(left_at, '') || 'x'",
        "outcome": "CASE outcome WHEN 'running' THEN 'passed' ELSE 'running' END", "held_days": "held_days + 7",
        "held_since_ord": "coalesce(held_since_ord, 0) + 7", "days": "coalesce(days, 0) + 7",
        "due_on": "'2026-01-01'", "late": "CASE WHEN late THEN 0 ELSE 1 END", "gate_days": "coalesce(gate_days, 0) + 7",
        "reason": "coalesce(reason, '') || 'x'",
    },
    "insight_signatures": {
        "project_id": "project_id + 100", "phase": "phase || 'x'", "round": "round + 7", "role": "role || 'x'",
        "person": "person || 'x'", "template_id": "template_id + 1", "client": "coalesce(client, '') || 'x'",
        "signed_at": "signed_at || 'x'", "days": "days + 7",
    },
    "insight_projects": {
        "project_id": "project_id + 100", "template_id": "template_id + 1", "client": "coalesce(client, '') || 'x'",
        "calendar": "'GB'", "created_at": "created_at || 'x'", "created_ord": "created_ord + 7",
        "status": "CASE status WHEN 'running' THEN 'completed' ELSE 'running' END",
        "ended_at": "coalesce(ended_at, '') || 'x'", "held_days": "held_days + 7",
        "held_since_ord": "coalesce(held_since_ord, 0) + 7", "days": "coalesce(days, 0) + 7",
    },
}
# What an edit of a key is named as, where the sentence does not name its own table.
NAMED_AS = {("projects", "id"): "assignments has no row", ("templates", "id"): "which no templates row has"}

# Every column the state check leaves alone, with the reason (docs/use/auditors.md's "does not catch" list).
OUTSIDE: dict[str, dict[str, str]] = {
    "templates": {"published_at": "when a version was stored: the clock's, apart from the event's time"},
    "grants": {"granted_at": "when a grant was stored: the clock's, apart from the event's time"},
    "assignments": {"project_id": "a row of no project belongs to nothing (named once a project takes the id)"},
    "tasks": {"project_id": "a row of no project belongs to nothing (named once a project takes the id)"},
    "approvals": {"project_id": "a row of no project belongs to nothing (named once a project takes the id)"},
    "timers": {"project_id": "a row of no project belongs to nothing (named once a project takes the id)"},
    "people": {"created_at": "the clock's, apart from the event's time",
               "updated_at": "the clock's, apart from the event's time"},
    "tokens": {"created_at": "the clock's, apart from the event's time",
               "last_used_at": "written when the token is used, which is not an event"},
    "webhooks": {"created_at": "the clock's, apart from the event's time"},
    "notify_settings": {"updated_at": "the clock's, apart from the event's time"},
    "sessions": dict.fromkeys(("id_hash", "person", "csrf", "auth", "created_at", "expires_at", "revoked_at"),
                              "a sign-in is not an event: a session is not on the record, so someone who can "
                              "write the database can add one as easily as edit one; each lapses within hours"),
    "sign_in_failures": dict.fromkeys(("key", "failures", "first_at", "last_at"),
                                      "the sign-in throttle's counts, not a record of anything"),
    "server_keys": dict.fromkeys(("name", "secret", "created_at"),
                                 "the device cookies' signing key: replacing it only makes every browser sign "
                                 "in as a new one; a forged cookie spends only its own small failure budget"),
    "requests": dict.fromkeys(("request_id", "actor", "command", "outcome", "at"),
                              "request ids: the answer a retried command gets back, not the record"),
    "outbox": dict.fromkeys(("id", "chain", "seq", "kind", "people", "channel", "target", "status", "attempts",
                             "next_attempt_at", "lease_until", "last_error", "created_at", "delivered_at", "payload"),
                            "delivery's queue: sending changes it, so it is no cache of the record"),
    # issue 23: audit verify's deliverables pass (engine/deliverables/proof.py) compares each version row
    # with its deliverable.add event, and hashes each stored file again
    "deliverables": dict.fromkeys(("project_id", "phase", "key", "version", "round", "kind", "sha256", "size",
                                   "name", "media_type", "note", "url", "label", "person", "added_at", "seq"),
                                  "compared with its deliverable.add event by audit verify's files pass"),
    "blobs": dict.fromkeys(("sha256", "size", "chunks", "place", "stored_at"),
                           "the bytes: audit verify hashes each stored file again"),
    "blob_chunks": dict.fromkeys(("sha256", "n", "data"), "the bytes: audit verify hashes each stored file again"),
    # issue 24: an invitation's invite and invite.revoke events are on the project's chain, and replay puts
    # its signer on the team; the row's link and code state (hashes, expiry, tries, use) is the door's
    "invitations": dict.fromkeys(("id", "project_id", "role", "email", "name", "secret_hash", "created_at",
                                  "created_by", "expires_at", "seq", "revoked_at", "used_seq", "code_hash",
                                  "code_delivery", "code_expires_at", "code_tries"),
                                 "a link's door: its events are on the chain (invite, invite.revoke, the "
                                 "decision); the row's hashes, expiry and tries are not compared"),
}


def test_every_column_is_compared_or_left_outside_with_a_reason() -> None:
    """A column added to any table (a credential, a clock) fails here until it is compared (an edit in
    EDITS that verify catches) or left outside with its reason (OUTSIDE, and docs/use/auditors.md says why)."""
    for table in metadata.sorted_tables:
        columns = {c.name for c in table.columns}
        compared, outside = set(EDITS.get(table.name, {})), set(OUTSIDE.get(table.name, {}))
        assert not compared & outside, f"{table.name}: {sorted(compared & outside)} both compared and outside"
        assert columns == compared | outside, (
            f"{table.name}: {sorted(columns - compared - outside)} neither compared nor left outside with a "
            f"reason; {sorted((compared | outside) - columns)} no longer exist")


def test_what_is_left_outside_is_in_the_auditors_pages_does_not_catch_list() -> None:
    readme = (Path(__file__).parents[2] / "docs" / "use" / "auditors.md").read_text()
    paragraph = readme[readme.index("- **The state check**"):readme.index("- **A checkpoint**")]
    said = re.sub(r"\s+", " ", paragraph)
    for table, columns in OUTSIDE.items():
        for column in columns:
            assert f"`{table}`" in said or f"`{table}.{column}`" in said or (
                f"`{column}`" in said and table in said), f"{table}.{column} is not in docs/use/auditors.md's list"



@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file of the standard history, copied for each edit (building it each time is slow):
    with accounts (passwords, tokens, one revoked), a webhook, e-mail choices and calendar keys, and a
    timed project T-1 whose clock has reminded, escalated and told of its overdue gate."""
    path = tmp_path_factory.mktemp("state") / "built.db"
    with moved_clock() as clock, Engine(f"sqlite:///{path}") as e:
        two_rounds_on_hold(e)
        e.publish_template(TIMED, actor="ana")
        e.create_project("T-1", template="timed-team", actor="ana")
        for role, person in (("producer", "ana"), ("dev", "dev"), ("qa", "qa")):
            e.assign("T-1", role, person, actor="ana")
        e.complete_task("T-1", "producer", actor="ana")
        e.complete_task("T-1", "dev", actor="dev")
        for person in ("ana", "ben"):
            e.add_user(person, actor="ana", name=person.title(), email=f"{person}@agency.example")
            e.set_password(person, f"the password of {person}", actor="ana")
            e.create_token(actor=person, name="laptop", expires_in="30d")
            e.set_notifications(person, "sign", actor=person)
            e.new_calendar_key(actor=person)
        spare, _secret = e.create_token(actor="ben")
        e.revoke_token(spare.id, actor="ben")
        e.add_webhook("https://hooks.example.com/all", actor="ana", events="all", secret="s" * 16)
        today = utcnow()[:10]
        e.delegate("ana", "ben", today, today, actor="ana", project="T-1", reason="a day off")
        clock.move(days=4, hours=1)
        assert len(e.tick().events) == 3
        assert e.verify_audit().ok
    return path


@pytest.mark.parametrize(("table", "column"), [(t, c) for t, columns in EDITS.items() for c in columns])
def test_every_compared_column_edited_fails_verify(built: Path, tmp_path: Path, table: str, column: str) -> None:
    path = tmp_path / "edited.db"
    shutil.copy(built, path)
    client = sqlalchemy.create_engine(f"sqlite:///{path}")
    try:
        if table == "events":
            drop_triggers(client)
        execute(client, f"UPDATE {table} SET {column} = {EDITS[table][column]}")
    finally:
        client.dispose()
    with Engine(f"sqlite:///{path}") as e:
        report: AuditReport = e.verify_audit()
    assert not report.ok and report.first_broken is not None, f"{table}.{column} edited, and verify passed"
    if table != "events" and (table, column) not in (("projects", "seq"), ("projects", "head_hash"),
                                                     ("projects", "code")):
        # (an event's fields, and the chain's head, are the hash pass's to name)
        detail = report.first_broken.detail
        assert report.first_broken.problem == "state differs", detail
        assert NAMED_AS.get((table, column), table) in detail or "pinned" in detail, detail


def test_a_row_of_no_project_is_ignored_until_a_project_takes_its_id(built: Path, tmp_path: Path) -> None:
    """A plain SQLite client does not enforce foreign keys; the next project's id is the row's."""
    path = tmp_path / "orphan.db"
    shutil.copy(built, path)
    client = sqlalchemy.create_engine(f"sqlite:///{path}")
    try:
        execute(client, "INSERT INTO approvals VALUES ((SELECT max(id) + 1 FROM projects), 'client_kickoff', 1, "
                        "'project_manager', 'mallory', NULL, '2026-01-01T00:00:00.000000Z', 2, 'asserted', NULL)")
    finally:
        client.dispose()
    with Engine(f"sqlite:///{path}") as e:
        assert e.verify_audit().ok, "the row belongs to no project: nothing reads it"
        e.create_project("P-2", template="large-agency", actor="ana")
        report = e.verify_audit()
    assert report.first_broken is not None and report.first_broken.chain == "P-2"
    assert report.first_broken.detail == "approvals has a row client_kickoff/1/project_manager that no event recorded"
