"""Outside signers through the Engine (issue 24), on SQLite and PostgreSQL: the lead invites the client,
the link shows the project's phase and deliverables, a decision counts only with the code e-mailed to
the invited address and is recorded as the ordinary command with how the signer proved who they were;
a dead link (unknown, expired, revoked, used) gets one answer that says nothing of the project."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from support.links import BUYER, client_project, code_of, invited, payloads

from workflow import Engine
from workflow.domain import credentials
from workflow.domain.identity import Identity, acting
from workflow.errors import (
    DeliverablesChanged,
    LinkUnusable,
    NotFound,
    NotPermitted,
    RuleRefused,
    Throttled,
    UsageError,
)

IP = "203.0.113.7"


@pytest.fixture
def engine(db_url: str) -> Engine:
    e = Engine(db_url)
    yield e
    e.close()


def sql(engine: Engine, query: str, **values: object) -> list[tuple[object, ...]]:
    with engine.store.connect() as conn:
        return [tuple(r) for r in conn.execute(sqlalchemy.text(query), values)]


def fresh_code(engine: Engine, secret: str) -> tuple[str, str]:
    delivery = engine.link_send_code(secret, ip=IP, user_agent="Firefox")
    return delivery, code_of(engine, delivery)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_the_client_approves_through_the_link_on_the_record_with_its_evidence(engine: Engine,
                                                                            tmp_path: Path) -> None:
    made = client_project(engine, tmp_path)
    invitation, secret = invited(engine)
    invite = engine.history("C-1", action="invite")[0]
    assert invite.actor == "pat" and invite.data["email"] == BUYER and invite.data["invitation"] == invitation
    assert secret not in invite.data_json and credentials.secret_hash(secret) not in invite.data_json
    assert sql(engine, "SELECT secret_hash FROM invitations") == [(credentials.secret_hash(secret),)]
    assert engine.status("C-1").team["client"] == [f"client:{BUYER}"]

    view = engine.link(secret)
    assert (view.project, view.role, view.email, view.phase_title, view.gate) == (
        "C-1", "client", BUYER, "SOW & Estimate", "SOW approval")
    assert view.gate_description == "The client agrees to the scope and the price."
    assert view.can == ["approve", "reject", "done:client"] and not view.code_pending
    (sow,) = view.deliverables
    assert (sow["key"], sow["version"], sow["sha256"], sow["media_type"]) == (
        "sow_doc", 1, made["sow"].data["sha256"], "application/pdf")
    assert b"".join(engine.link_file(secret, "sow_doc").chunks) == made["path"].read_bytes()

    engine.complete_task("C-1", "producer", actor="pat")
    engine.link_decide(secret, code=fresh_code(engine, secret)[1], decision="done:client", ip=IP)
    delivery, code = fresh_code(engine, secret)
    assert engine.link(secret).code_pending
    assert payloads(engine, "code")[-1] == (int(delivery), code, BUYER, "pending")  # to the invited address
    shown = {sow["key"]: sow["sha256"]}
    event = engine.link_decide(secret, code=code, decision="approve", seen=shown, ip=IP,
                               user_agent="Firefox/128", request_id="click-1")
    assert (event.action, event.actor, event.auth) == ("approve", f"client:{BUYER}", "email-link")
    assert event.data["deliverables"] == {"sow_doc": {"version": 1, "sha256": sow["sha256"]}}
    assert {k: event.data[k] for k in ("email", "invitation", "code_delivery", "shown", "ip", "user_agent")} == {
        "email": BUYER, "invitation": invitation, "code_delivery": int(delivery), "shown": shown, "ip": IP,
        "user_agent": "Firefox/128"}
    # a double click (the same request id) gets the same event; any other decision finds the link used
    again = engine.link_decide(secret, code=code, decision="approve", seen=shown, ip=IP,
                               user_agent="Firefox/128", request_id="click-1")
    assert again == event
    with pytest.raises(LinkUnusable):
        engine.link_decide(secret, code=code, decision="approve", seen=shown, ip=IP, user_agent="x")
    with pytest.raises(LinkUnusable):
        engine.link(secret)
    engine.approve("C-1", "producer", actor="pat")
    assert engine.advance("C-1", actor="pat").data["to_phase"] == "build"
    proof = engine.prove(made["path"])
    (signed,) = [a for a in proof.approvals if a.role == "client"]
    assert (signed.person, signed.auth, signed.email, signed.invitation, signed.state) == (
        f"client:{BUYER}", "email-link", BUYER, invitation, "passed")
    assert engine.verify_audit().ok


def test_a_dead_link_gets_one_answer_that_names_no_project(engine: Engine, tmp_path: Path) -> None:
    client_project(engine, tmp_path)
    old, old_secret = invited(engine)
    _new, secret = invited(engine)  # the reissue revokes the old link
    assert engine.history("C-1", action="invite")[-1].data["replaces"] == [old]
    revoked, revoked_secret = invited(engine, email="second@acme.example", role="other_client")
    engine.revoke_invite("C-1", revoked, actor="pat")
    with engine.store.connect() as conn:  # an expired link: its expiry passed
        conn.execute(sqlalchemy.text("UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000000Z' "
                                     "WHERE id = :i"), {"i": _new})
        conn.commit()
    for dead in (old_secret, revoked_secret, secret, "x" * 43, "", "nope"):
        for call in (lambda s: engine.link(s), lambda s: engine.link_send_code(s, ip=IP),
                     lambda s: engine.link_decide(s, code="123456", decision="approve", ip=IP),
                     lambda s: engine.link_file(s, "sow_doc")):
            with pytest.raises(LinkUnusable) as refused:
                call(dead)
            assert refused.value.message == "this link can no longer be used"
            assert refused.value.http_status == 410


def test_the_link_secret_is_compared_in_constant_time(engine: Engine, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    client_project(engine, tmp_path)
    _invitation, secret = invited(engine)
    compared: list[tuple[str, str]] = []
    same = credentials.same
    monkeypatch.setattr(credentials, "same", lambda a, b: compared.append((a, b)) or same(a, b))
    engine.link(secret)
    assert (credentials.secret_hash(secret),) * 2 in compared  # hmac.compare_digest, not ==


def test_a_forwarded_link_without_the_code_cannot_decide(engine: Engine, tmp_path: Path) -> None:
    client_project(engine, tmp_path)
    _invitation, secret = invited(engine)
    with pytest.raises(NotPermitted, match="no code is waiting"):
        engine.link_decide(secret, code="123456", decision="approve", ip=IP)
    _delivery, code = fresh_code(engine, secret)
    with pytest.raises(NotPermitted, match="the code is wrong"):
        engine.link_decide(secret, code=wrong(code), decision="approve", ip=IP)
    with pytest.raises(NotPermitted):
        engine.link_decide(secret, code="", decision="approve", ip=IP)
    assert engine.history("C-1", action="approve") == []
    assert engine.link(secret).can[0] == "approve"


def test_five_wrong_codes_kill_the_code_and_a_new_one_replaces_it(engine: Engine, tmp_path: Path) -> None:
    client_project(engine, tmp_path)
    _invitation, secret = invited(engine)
    first, code = fresh_code(engine, secret)
    for left in (4, 3, 2, 1):
        with pytest.raises(NotPermitted, match=f"{left} tr"):
            engine.link_decide(secret, code=wrong(code), decision="done", ip=IP)
    with pytest.raises(NotPermitted, match="last try"):
        engine.link_decide(secret, code=wrong(code), decision="done", ip=IP)
    with pytest.raises(NotPermitted, match="no code is waiting"):  # the right one is dead too now
        engine.link_decide(secret, code=code, decision="done", ip=IP)
    second, new = fresh_code(engine, secret)
    assert second != first
    assert engine.link_decide(secret, code=new, decision="done:client", ip=IP).action == "task.done"
    with pytest.raises(NotPermitted):  # a code is used once
        engine.link_decide(secret, code=new, decision="reject", reason="no", ip=IP)
    # the old code's e-mail, not sent yet, is not sent at all, and its secret is gone
    assert sql(engine, "SELECT status, payload FROM outbox WHERE id = :i", i=int(first)) == [("dead", None)]


def test_codes_and_wrong_tries_are_bounded_per_link_and_per_address(engine: Engine, tmp_path: Path) -> None:
    client_project(engine, tmp_path)
    _invitation, secret = invited(engine)
    for _ in range(5):
        engine.link_send_code(secret, ip=IP)
    with pytest.raises(Throttled) as throttled:
        engine.link_send_code(secret, ip=IP)
    assert 0 < throttled.value.retry_after <= 3600
    assert len(payloads(engine, "code")) == 5
    # wrong codes: 10 an hour for an address, whatever the codes (5 a code)
    _other, other_secret = invited(engine, role="other_client")
    wrong_tries, code = 0, ""
    for link in (secret, other_secret):
        engine.store.write(lambda tx: tx.core(sqlalchemy.text("DELETE FROM sign_in_failures "
                                                              "WHERE key LIKE 'link-codes%'")))
        for _ in range(5):
            code = code_of(engine, engine.link_send_code(link, ip=IP)) if wrong_tries % 5 == 0 else code
            with pytest.raises(NotPermitted):
                engine.link_decide(link, code=wrong(code), decision="done", ip=IP)
            wrong_tries += 1
    engine.store.write(lambda tx: tx.core(sqlalchemy.text("DELETE FROM sign_in_failures "
                                                          "WHERE key LIKE 'link-codes%'")))
    code = code_of(engine, engine.link_send_code(secret, ip=IP))
    with pytest.raises(Throttled):  # even the right code waits: the address is being guessed at
        engine.link_decide(secret, code=code, decision="done", ip=IP)


def test_only_the_lead_or_an_admin_invites_and_only_to_an_external_role(engine: Engine, tmp_path: Path) -> None:
    client_project(engine, tmp_path)
    with pytest.raises(NotPermitted):
        engine.invite("C-1", "client", email=BUYER, actor="tim")
    with pytest.raises(RuleRefused, match="not external"):
        engine.invite("C-1", "tech", email=BUYER, actor="pat")
    with pytest.raises(NotFound):
        engine.invite("C-1", "nobody", email=BUYER, actor="pat")
    with pytest.raises(RuleRefused, match="external"):  # an account is never given an external role
        engine.assign("C-1", "client", "tim", actor="pat")
    assert engine.invite("C-1", "client", email=BUYER, actor="ana").actor == "ana"  # an admin may
    assert len(engine.invitations("C-1")) == 1


@pytest.mark.parametrize("address", [
    "a@acme.example, b@acme.example", "a@acme.example; b@acme.example", "Pat <a@acme.example>",
    "a@acme.example\r\nBcc: evil@x.example", "a@acme.example\nx", "not-an-address", "a@", "@acme.example",
    "a b@acme.example", "",
])
def test_an_address_that_is_not_one_plain_recipient_is_refused(engine: Engine, tmp_path: Path,
                                                               address: str) -> None:
    client_project(engine, tmp_path)
    with pytest.raises(UsageError):
        engine.invite("C-1", "client", email=address, actor="pat")
    assert engine.invitations("C-1") == [] and payloads(engine, "invite") == []


def test_a_link_acts_only_as_its_role_on_its_project_and_the_current_gate(engine: Engine,
                                                                         tmp_path: Path) -> None:
    client_project(engine, tmp_path)
    client_project(engine, tmp_path, "C-2", init=False)
    _invitation, secret = invited(engine)
    _delivery, code = fresh_code(engine, secret)
    with pytest.raises(UsageError):  # another role's task: never
        engine.link_decide(secret, code=code, decision="done:producer", ip=IP)
    with pytest.raises(UsageError):
        engine.link_decide(secret, code=code, decision="advance", ip=IP)
    event = engine.link_decide(secret, code=code, decision="done", ip=IP)
    assert event.chain == "C-1" and engine.status("C-2").tasks[1].done is False
    with pytest.raises(RuleRefused):  # its task is done: nothing to do twice
        engine.link_decide(secret, code=fresh_code(engine, secret)[1], decision="done", ip=IP)
    assert "done:client" not in engine.link(secret).can
    for claimed in ("client:buyer@acme.example", Identity("client:buyer@acme.example", "password")):
        with pytest.raises(UsageError):  # the identity is the link's alone: no login has a ':'
            acting(claimed)
    with pytest.raises(UsageError):
        acting(Identity("pat", "email-link"))


def test_a_new_version_voids_the_clients_approval_and_tells_them(engine: Engine, tmp_path: Path) -> None:
    made = client_project(engine, tmp_path)
    _invitation, secret = invited(engine)
    engine.link_decide(secret, code=fresh_code(engine, secret)[1], decision="approve", ip=IP)
    stale = {"sow_doc": made["sow"].data["sha256"]}
    path = tmp_path / "SOW-2.pdf"
    path.write_bytes(b"%PDF-1.7\nversion two")
    v2 = engine.add_deliverable("C-1", "sow_doc", path, actor="pat")
    assert v2.data["voided"]["approvals"][0]["person"] == f"client:{BUYER}"
    changed = sql(engine, "SELECT target, people FROM outbox WHERE kind = 'changed'")
    assert changed == [(BUYER, f'["client:{BUYER}"]')]  # to the invited address
    _new, secret = invited(engine)  # reissued
    with pytest.raises(DeliverablesChanged):
        engine.link_decide(secret, code=fresh_code(engine, secret)[1], decision="approve", seen=stale, ip=IP)


def test_status_names_the_outside_signer_and_revoking_takes_them_off(engine: Engine, tmp_path: Path) -> None:
    client_project(engine, tmp_path)
    invitation, secret = invited(engine)
    engine.complete_task("C-1", "producer", actor="pat")
    engine.link_decide(secret, code=fresh_code(engine, secret)[1], decision="done", ip=IP)
    today = engine.history("C-1", action="invite")[0].at[:10]
    waiting = [b for b in engine.status("C-1").blockers if "Client" in b]
    assert waiting == [f"waiting for the Client's approval: {BUYER}, invited {today}, code not yet used"]
    engine.link_send_code(secret, ip=IP)
    assert f"{BUYER}, invited {today}, code sent, not yet used" in " ".join(engine.status("C-1").blockers)
    revoked = engine.revoke_invite("C-1", invitation, actor="pat")
    assert revoked.data["left"] is True and engine.status("C-1").team["client"] == []
    with pytest.raises(RuleRefused, match="revoked already"):
        engine.revoke_invite("C-1", invitation, actor="pat")
    assert [i.state for i in engine.invitations("C-1")] == ["revoked"]
    assert sql(engine, "SELECT count(*) FROM outbox WHERE payload IS NOT NULL") == [(0,)]
    assert engine.verify_audit().ok


def test_a_dead_invitation_email_is_not_retried_without_its_secret(engine: Engine, tmp_path: Path) -> None:
    client_project(engine, tmp_path)
    invitation, _secret = invited(engine)
    engine.revoke_invite("C-1", invitation, actor="pat")
    (row_id, payload, _to, status), = payloads(engine, "invite")
    assert (payload, status) == (None, "dead")
    with pytest.raises(RuleRefused, match="does not keep"):
        engine.retry_notification(row_id, actor="ana")


def test_the_page_offers_no_unassign_for_an_outside_signer(engine: Engine, tmp_path: Path) -> None:
    client_project(engine, tmp_path)
    invited(engine)
    _status, moves = engine.status_and_moves("C-1", reader="pat")
    assert {m.person for m in moves if m.command == "unassign"} == {"tim"}  # pat: the only lead
    assert not any(m.command == "assign" and m.role == "client" for m in moves)
