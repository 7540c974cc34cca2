"""The whole story of issue 15, with every part real: a large-agency project on a working
calendar runs through ``phasegate --server`` against a ``phasegate serve`` process, its gate
waits too long, the clock (``phasegate tick``, as cron runs it) reminds the signer, then
escalates to the lead; the server's delivery worker sends each by e-mail (to aiosmtpd) and
webhook (to a local HTTP receiver); each happens once, each is in the history, and every
webhook's signature verifies at the receiver.

The server's clock is the real one. Cron's tick and delivery (``tick``, ``notify run --once``, on
the database) run in this process on the tests' clock (``schedules.moved_clock``) moved to the
moments the engine's own calendar arithmetic computes from the gate's opening: ``tick --now``
only tries a moment out and writes nothing. Their events are dated at those moments, ahead of the
server's clock, and the server's later events at its own (real) time.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner, Result
from support.receivers import Received, http_receiver, smtp_receiver, verified
from support.schedules import moved_clock
from support.servers import live_server

import workflow
from workflow.cli import cli
from workflow.domain.schedule import workdays

SECRET = "the-receivers-shared-secret-0123456789"
CALENDAR = "GB-ENG"
PEOPLE = {"integrated_producer": "ana", "head_of_technology": "hal", "project_manager": "pia"}
pytestmark = pytest.mark.slow


def timed_large_agency() -> str:
    """The built-in large-agency model, each phase five working days long, each gate reminding
    its signers after two and escalating to the lead after four."""
    lines = []
    for line in (Path(workflow.__file__).parent / "definitions" / "large-agency.yaml").read_text().splitlines():
        if line.startswith("key: "):
            line = "key: large-agency-timed"
        lines.append(line)
        if line.startswith("    title: "):  # a phase's title
            lines.append("    duration: 5d")
        if line.startswith("      distinct_people: "):  # the end of a gate
            lines += ["      remind_after: 2d", "      escalate_after: 4d", "      escalate_to: lead"]
    return "\n".join(lines) + "\n"


def mail_env(port: int) -> dict[str, str]:
    """Where the server's worker and cron's ``notify run`` send e-mail, and the links they carry."""
    return {"PHASEGATE_SMTP_URL": f"smtp://127.0.0.1:{port}", "PHASEGATE_MAIL_FROM": "phasegate@agency.example",
            "PHASEGATE_BASE_URL": "https://phasegate.agency.example",
            "PHASEGATE_WEBHOOK_ALLOW": "127.0.0.0/8"}  # the local receiver: an internal one, allowed


def drained(url: str, seconds: float = 30) -> None:
    """Wait until no notification that was due by the real clock is waiting or being sent."""
    now = datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"
    client = sqlalchemy.create_engine(url)
    try:
        deadline = time.monotonic() + seconds
        while True:
            with client.connect() as conn:
                # A row a worker is sending has its next attempt moved to its lease's end.
                waiting = conn.execute(sqlalchemy.text(
                    "SELECT count(*) FROM outbox WHERE status = 'pending'"
                    " AND (next_attempt_at <= :now OR lease_until > :now)"), {"now": now}).scalar_one()
            if waiting == 0:
                return
            assert time.monotonic() < deadline, f"{waiting} notifications still waiting for the server's worker"
            time.sleep(0.05)
    finally:
        client.dispose()


def _instant(stored: str) -> datetime:
    return datetime.fromisoformat(stored.replace("Z", "+00:00"))


def test_an_overdue_gate_reminds_by_email_and_webhook_then_escalates_each_once(db_url: str, tmp_path: Path
                                                                              ) -> None:
    db = db_url
    runner = CliRunner()

    def direct(*args: str, actor: str = "ana", stdin: str | None = None, env: dict[str, str] | None = None
               ) -> Result:
        result = runner.invoke(cli, ["--db", db, "--as", actor, *args], input=stdin, prog_name="phasegate",
                               env={"PHASEGATE_SERVER": None, "PHASEGATE_TOKEN": None, **(env or {})})
        assert result.exit_code == 0, (args, result.output)
        return result

    # From nothing to three people with tokens, as the install page's fresh install does it (docs/run/install.md).
    direct("init", "--admin", "ana")
    tokens = {}
    for person in PEOPLE.values():
        direct("user", "add", person, "--email", f"{person}@agency.example")
        made = direct("token", "create", "--name", "laptop", actor=person).output
        tokens[person] = next(word for word in made.split() if word.startswith("pgt_"))
    (tmp_path / "timed.yaml").write_text(timed_large_agency())

    with http_receiver() as hooks, smtp_receiver() as mailbox, live_server(
        db, tmp_path / "server.log", "--tick-every", "0", env=mail_env(mailbox.port),
    ) as server:
        mail = mail_env(mailbox.port)

        def remote(*args: str, actor: str = "ana", stdin: str | None = None) -> Result:
            result = runner.invoke(cli, ["--server", server.url, *args], input=stdin, prog_name="phasegate",
                                   env={"PHASEGATE_SERVER": None, "PHASEGATE_TOKEN": tokens[actor],
                                        "PHASEGATE_DB": None})
            assert result.exit_code == 0, (args, result.output, server.log_text()[-3000:])
            return result

        remote("template", "publish", str(tmp_path / "timed.yaml"))
        remote("webhook", "add", f"{hooks.url}/phasegate", "--events", "all", "--secret-stdin", stdin=SECRET)
        remote("project", "create", "BIG-1", "--template", "large-agency-timed", "--calendar", CALENDAR)
        for role, person in PEOPLE.items():
            remote("project", "assign", "BIG-1", role, person)
        for role, person in PEOPLE.items():
            remote("task", "done", "BIG-1", role, actor=person)
        remote("approve", "BIG-1", "integrated_producer", actor="ana")
        remote("approve", "BIG-1", "head_of_technology", actor="hal")
        # pia does not sign: the gate waits on her.
        opened = json.loads(remote("--json", "history", "BIG-1", "--action", "task.done").output.splitlines()[-1])["at"]
        status = json.loads(remote("--json", "project", "status", "BIG-1").output)
        assert status["due"] and status["overdue"] is False

        remind_at = workdays.after(opened, "2d", CALENDAR)
        escalate_at = workdays.after(opened, "4d", CALENDAR)
        tried = direct("tick", "--now", escalate_at)  # a try-out: it says, and writes nothing
        assert "would give: 1 reminded, 1 escalated" in tried.output, tried.output
        # Cron's delivery below runs on the moved clock, to which every lease of the server's worker
        # has lapsed: it starts once the server has sent all that was due by the real clock.
        drained(db)
        with moved_clock(_instant(remind_at)) as clock:
            reminded = direct("tick")  # cron's tick, on the database
            assert "1 reminded, 0 escalated" in reminded.output, reminded.output
            direct("tick")  # a second host's tick at the same minute: nothing more
            direct("notify", "run", "--once", env=mail)  # cron's delivery
            clock.to(_instant(escalate_at))
            escalated = direct("tick")
            assert "0 reminded, 1 escalated" in escalated.output, escalated.output
            direct("tick")
            direct("notify", "run", "--once", env=mail)

        history = [json.loads(line) for line in remote("--json", "history", "BIG-1").output.splitlines()]
        clock_events = [(e["action"], e["data"]["people"]) for e in history if e["action"] in ("remind", "escalate")]
        assert clock_events == [("remind", ["pia"]), ("escalate", ["ana"])]  # the signer, then the lead told
        escalation = next(e["data"] for e in history if e["action"] == "escalate")
        assert (escalation["to"], escalation["waiting_on"]) == ("lead", ["pia"])

        # What the ticks queued went out with cron's delivery (the server's worker sends the rest).
        def kinds(got: list[Received]) -> Counter[str]:
            return Counter(json.loads(r.body)["kind"] for r in got)

        def subjects() -> Counter[str]:
            return Counter(m["Subject"] for _from, _to, m in mailbox.messages)

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            kinds(hooks.got)["escalate"] and subjects()["[phasegate] BIG-1: escalated"]
        ):
            time.sleep(0.05)
        got = hooks.got
        assert all(verified(SECRET, r.body, r.headers["x-phasegate-signature"]) for r in got), "every signature verifies"
        assert kinds(got)["remind"] == 1 and kinds(got)["escalate"] == 1
        remind = next(json.loads(r.body) for r in got if json.loads(r.body)["kind"] == "remind")
        assert remind["people"] == ["pia"] and remind["link"] == "https://phasegate.agency.example/projects/BIG-1"
        deliveries = [r.headers["x-phasegate-delivery"] for r in got]
        assert len(deliveries) == len(set(deliveries)), "each notification once (nothing was retried)"

        mails = [(to, m["Subject"]) for _from, to, m in mailbox.messages if "BIG-1" in m["Subject"]]
        assert (["pia@agency.example"], "[phasegate] BIG-1: reminder") in mails
        assert (["ana@agency.example"], "[phasegate] BIG-1: escalated") in mails
        assert Counter(subject for _to, subject in mails)["[phasegate] BIG-1: reminder"] == 1
        assert Counter(subject for _to, subject in mails)["[phasegate] BIG-1: escalated"] == 1

        # pia signs at last, and the project runs to the end through the server.
        remote("approve", "BIG-1", "project_manager", actor="pia")
        remote("advance", "BIG-1")
        for _phase in range(status["phase_count"]):
            status = json.loads(remote("--json", "project", "status", "BIG-1").output)
            if status["status"] == "completed":
                break
            for task in status["tasks"]:
                if not task.get("done"):
                    remote("task", "done", "BIG-1", task["role"], actor=PEOPLE[task["role"]])
            for role in (status["gate"] or {}).get("missing", []):
                remote("approve", "BIG-1", role, actor=PEOPLE[role])
            remote("advance", "BIG-1")

        assert json.loads(remote("--json", "project", "status", "BIG-1").output)["status"] == "completed"
        history = [json.loads(line) for line in remote("--json", "history", "BIG-1").output.splitlines()]
        by_people = [e for e in history if e["actor"] in PEOPLE.values()]
        assert by_people and {e["auth"] for e in by_people} == {"token"}
        assert {e["auth"] for e in history if e["actor"] == "phasegate"} == {"system"}
        remote("audit", "verify")
