"""The event reference: every action is described once (workflow/domain/audit/actions.py), every
``data`` field an event really records is declared there, the generated page names them all, and
the audit search accepts every action the engine records (it refused the webhook and e-mail
actions before they were declared)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from support.docs_reference import generated
from support.schedules import moved_clock, timed_project

from workflow import Engine
from workflow.domain.audit.actions import ACTIONS, PROJECT_FIELDS, SYSTEM_FIELDS, fields_of
from workflow.domain.vocabulary import EVENT_ACTIONS
from workflow.engine.schedule.tick import tick
from workflow.storage.database import utcnow


def test_every_action_has_a_sentence_and_every_field_a_meaning() -> None:
    assert set(ACTIONS) == set(EVENT_ACTIONS)
    for action, described in ACTIONS.items():
        assert described.meaning.strip().endswith("."), action
        assert all(meaning.strip() for meaning in described.data.values()), action
    assert all(m.strip() for m in [*PROJECT_FIELDS.values(), *SYSTEM_FIELDS.values()])


def test_the_generated_page_names_every_action_and_each_of_its_fields() -> None:
    page = generated("events")
    for action in EVENT_ACTIONS:
        section = page.split(f"### `{action}`", 1)[1].split("### ", 1)[0]
        assert ACTIONS[action].meaning in section, action
        for name in ACTIONS[action].data:
            assert f"`{name}`" in section, (action, name)
    for name in [*PROJECT_FIELDS, *SYSTEM_FIELDS]:
        assert f"`{name}`" in page


def every_kind_of_event(engine: Engine) -> None:
    """One of each action, through the engine as users cause them (the clock's too)."""
    with moved_clock() as clock:
        timed_project(engine, calendar="GB-ENG")  # init, publish, create, assign
        engine.add_user("eve", actor="ana", name="Eve", email="eve@example.com")
        engine.grant("eve", "auditor", actor="ana")
        engine.revoke("eve", "auditor", actor="ana")
        engine.set_password("eve", "a long enough password", actor="ana")
        info, _secret = engine.create_token(actor="eve", name="laptop")
        engine.revoke_token(info.id, actor="eve")
        engine.create_token(actor="eve", name="desktop")
        engine.disable_user("eve", actor="ana")  # revokes the desktop token too
        engine.enable_user("eve", actor="ana")
        engine.new_calendar_key(actor="eve")
        hook, _ = engine.add_webhook("https://hooks.example.com/phasegate", actor="ana")
        engine.remove_webhook(hook.id, actor="ana")
        engine.add_webhook("https://hooks.example.com/kept", actor="ana")  # the outbox fills for it
        engine.set_notifications("eve", "all", actor="eve")
        engine.set_due("P-1", "kickoff", "2026-12-11", actor="ana", reason="client holiday")
        engine.complete_task("P-1", "producer", actor="ana", note="brief sent")
        engine.reopen_task("P-1", "producer", actor="ana", reason="wrong brief")
        engine.complete_task("P-1", "producer", actor="ana")
        engine.complete_task("P-1", "dev", actor="dev")
        clock.move(days=2, hours=1)
        tick(engine.store)  # remind
        clock.move(days=3)
        tick(engine.store)  # escalate, overdue
        today = utcnow()[:10]
        away = engine.delegate("qa", "dee", today, today, actor="qa", roles=["qa"], reason="a day off")
        engine.approve("P-1", "qa", actor="dee", comment="fine")  # on qa's behalf
        engine.withdraw("P-1", "qa", actor="qa", reason="one more look")
        engine.end_delegation(away.id, actor="qa")
        engine.approve("P-1", "qa", actor="qa")
        engine.approve("P-1", "producer", actor="ana")
        engine.advance("P-1", actor="ana")
        engine.complete_task("P-1", "dev", actor="dev")
        engine.advance("P-1", actor="ana")
        engine.complete_task("P-1", "qa", actor="qa")
        engine.reject("P-1", "qa", actor="qa", reason="crashes")
        engine.hold("P-1", actor="ana", reason="client away")
        engine.resume("P-1", actor="ana")
        engine.unassign("P-1", "qa", "qa", actor="ana")
        engine.cancel("P-1", actor="ana", reason="budget cut")
        deliverables_recorded(engine)
        links_recorded(engine)
        # the newest notification that carries no secret (an invitation's or a code's is never retried)
        entry = next(e for e in engine.outbox(reader="ana") if e.kind not in ("invite", "code"))
        engine.retry_notification(entry.id, actor="ana")


def deliverables_recorded(engine: Engine) -> None:
    """A deliverable added, signed, and a new version voiding the signature (issue 23)."""
    import tempfile
    from pathlib import Path

    from support.deliverables import signed_sow_project, write, xlsx

    signed_sow_project(engine, "D-1")
    folder = Path(tempfile.mkdtemp())
    engine.add_deliverable("D-1", "sow_doc", write(folder, "sow.pdf", b"%PDF-1.4 sow"), actor="ana")
    engine.add_deliverable("D-1", "estimate", write(folder, "e1.xlsx", xlsx()), actor="cy", note="first")
    engine.approve("D-1", "head_of_technology", actor="bo")
    engine.add_deliverable("D-1", "estimate", write(folder, "e1.xlsx", xlsx()), actor="cy", note="first")
    engine.approve("D-1", "head_of_technology", actor="bo")
    engine.add_deliverable("D-1", "estimate", folder / "e1.xlsx", actor="cy", note="same bytes")
    engine.add_deliverable("D-1", "moodboard", url="https://board.example/1", label="Board", actor="dee")


def links_recorded(engine: Engine) -> None:
    """An outside signer invited, doing their task and approving through the link, revoked (issue 24)."""
    import tempfile
    from pathlib import Path

    from support.links import client_project, code_of, invited

    client_project(engine, Path(tempfile.mkdtemp()), "K-1", init=False)
    invitation, secret = invited(engine, "K-1")
    code = code_of(engine, engine.link_send_code(secret, ip="127.0.0.1"))
    engine.link_decide(secret, code=code, decision="done", ip="127.0.0.1", user_agent="Firefox")
    engine.complete_task("K-1", "producer", actor="pat")
    code = code_of(engine, engine.link_send_code(secret, ip="127.0.0.1"))
    shown = {d["key"]: d["sha256"] for d in engine.link(secret).deliverables}
    engine.link_decide(secret, code=code, decision="approve", seen=shown, ip="127.0.0.1", user_agent="Firefox")
    engine.revoke_invite("K-1", invitation, actor="pat")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, list[dict[str, object]]]]:
    with Engine(f"sqlite:///{tmp_path_factory.mktemp('events')}/phasegate.db") as engine:
        every_kind_of_event(engine)
        out = io.StringIO()
        engine.export(out, "jsonl", reader="ana")
        yield engine, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.slow  # the workload: 1.3 s (measured 2026-12-07)
def test_every_field_an_event_records_is_declared(recorded: tuple[Engine, list[dict[str, object]]]) -> None:
    _engine, events = recorded
    assert {e["action"] for e in events} == set(EVENT_ACTIONS), "the workload records every action"
    for event in events:
        data = event["data"]
        assert isinstance(data, dict)
        undeclared = set(data) - set(fields_of(str(event["action"])))
        assert not undeclared, f"{event['action']} records {sorted(undeclared)}: describe them in actions.py"


@pytest.mark.slow
def test_the_audit_search_accepts_every_recorded_action(recorded: tuple[Engine, list[dict[str, object]]]) -> None:
    engine, _events = recorded
    for action in ("webhook.add", "webhook.remove", "notify.email", "notify.retry"):
        found = engine.search_events(reader="ana", action=action)
        assert found and {e.action for e in found} == {action}
