"""``phasegate demo``: one large-agency project, start to finish, narrated.

Told with the Python API alone (each line goes to ``out``; the CLI's ``demo`` passes its
printer), so it lives beside the Engine rather than in ``cli/``. It runs the real Engine on
a throw-away SQLite database (or on ``--keep PATH``), so every refusal it shows is the one a
user would get.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from workflow.errors import PhasegateError

if TYPE_CHECKING:
    from workflow.domain.templates.definition import Definition
    from workflow.engine import Engine

CODE = "ACME-1"
TEAM = {"integrated_producer": "ana", "head_of_technology": "ben", "project_manager": "cy"}


def run_demo(keep: str | None, out: Callable[[str], None]) -> int:
    if keep:
        path = Path(keep).expanduser().resolve()
        if path.exists():
            raise PhasegateError(f"{path} exists already; --keep needs a new file") from None
        return _run(path, out, kept=True)
    with tempfile.TemporaryDirectory(prefix="phasegate-demo-") as tmp:
        return _run(Path(tmp) / "demo.db", out, kept=False)


def _run(path: Path, out: Callable[[str], None], *, kept: bool) -> int:
    from workflow.engine import Engine

    with Engine(f"sqlite:///{path}") as engine:
        story = _Story(engine, out)
        story.introduce(path, kept)
        story.kick_off()
        story.middle_phases()
        story.qa_round_trip()
        ok = story.record()
        if kept:
            story.say()
            story.say(f"Kept the database: phasegate --db sqlite:///{path} --as ana project status {CODE}")
        return 0 if ok else 6


class _Story:
    """The demo's narrated stages, one method each, in the order ``_run`` tells them."""

    definition: Definition  # the large-agency template, read by introduce()

    def __init__(self, engine: Engine, out: Callable[[str], None]) -> None:
        self.engine = engine
        self.out = out

    def say(self, text: str = "") -> None:
        self.out(text)

    def refused(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except PhasegateError as exc:
            self.say(f"  ✗ {what} refused (exit {exc.exit_code}): {str(exc).split(': waiting')[0]}")
            for blocker in getattr(exc, "blockers", [])[:6]:
                self.say(f"      - {blocker}")
        else:  # pragma: no cover - the demo's story depends on these refusals
            raise AssertionError(f"{what} should have been refused")

    def introduce(self, path: Path, kept: bool) -> None:
        """The database, the template and the staffed project the story runs on."""
        engine, say = self.engine, self.say
        say("phasegate demo — a Large Agency project from kick-off to QA sign-off")
        say(f"database: {path}{'' if kept else ' (thrown away afterwards)'}")
        say()
        engine.init(admin="ana")
        info, definition, _ = engine.template("large-agency")
        self.definition = definition
        say(
            f"Template {info.key} v{info.version}: {len(definition.roles)} roles, "
            f"{len(definition.phases)} phases, "
            f"{sum(1 for p in definition.phases if p.gate)} gates; lead: Integrated Producer."
        )
        engine.create_project(CODE, template="large-agency", actor="ana", name="Spring launch", client="Acme")
        for role, person in TEAM.items():
            engine.assign(CODE, role, person, actor="ana")
        engine.assign(CODE, "project_manager", "ana", actor="ana")  # ana covers for cy too
        say(
            f"ana (admin) created {CODE} and staffed it: Integrated Producer ana, Head of Technology ben, "
            "Project Manager cy (and ana as a second Project Manager)."
        )
        say()

    def kick_off(self) -> None:
        """The first gate, with the two refusals a user meets: too early, and one person for two roles."""
        engine, say = self.engine, self.say
        say("1. Client Kick-Off")
        self.refused("ana's advance", lambda: engine.advance(CODE, actor="ana"))
        for role, person in TEAM.items():
            engine.complete_task(CODE, role, actor=person)
        say("  ✓ ana, ben and cy mark their Client Kick-Off tasks done")
        engine.approve(CODE, "integrated_producer", actor="ana", comment="Scope agreed with the client")
        say("  ✓ ana approves the kick-off sign-off as Integrated Producer")
        self.refused(
            "ana's approval as Project Manager too",
            lambda: engine.approve(CODE, "project_manager", actor="ana"),
        )
        engine.approve(CODE, "project_manager", actor="cy")
        engine.approve(CODE, "head_of_technology", actor="ben")
        say("  ✓ cy and ben sign; the gate opens")
        event = engine.advance(CODE, actor="ana")
        say(f"  → advanced to {_title(self.definition, event.data['to_phase'])} (event {event.seq})")
        say()

    def middle_phases(self) -> None:
        engine, say = self.engine, self.say
        say("2. Through the middle phases")
        while True:
            status = engine.status(CODE)
            if status.phase == "production_review_qa":
                break
            _finish_phase(engine, status)
            event = engine.advance(CODE, actor="ana")
            gate = (
                f", gate '{status.gate.title}' signed by {len(status.gate.approvers)}" if status.gate else ""
            )
            say(
                f"  → {status.phase_title}: {len(status.tasks)} tasks done{gate}; advanced to "
                f"{_title(self.definition, event.data['to_phase'])}"
            )
        say()

    def qa_round_trip(self) -> None:
        """A rejected QA gate sends the project back a phase, in a new round, and it comes back."""
        engine, say = self.engine, self.say
        say("3. Production Review QA")
        status = engine.status(CODE)
        for task in status.tasks:
            engine.complete_task(CODE, task.role, actor=TEAM[task.role])
        engine.approve(CODE, "integrated_producer", actor="ana")
        event = engine.reject(
            CODE, "head_of_technology", actor="ben", reason="Checkout fails on Safari; fix before launch"
        )
        say('  ✗ ben rejects the QA sign-off: "Checkout fails on Safari; fix before launch"')
        say(
            f"  → sent back to {_title(self.definition, event.data['to_phase'])}, "
            f"round {event.data['to_round']}; "
            f"{len(event.data['voided']['approvals'])} approval(s) and {len(event.data['voided']['tasks'])} "
            "task(s) of the rejected round no longer count"
        )
        status = engine.status(CODE)
        _finish_phase(engine, status)
        engine.advance(CODE, actor="ana")
        status = engine.status(CODE)
        say(f"  → Execution redone; back in {status.phase_title}, round {status.round}")
        _finish_phase(engine, status)
        engine.advance(CODE, actor="ana")
        say(f"  ✓ QA signed by ana, ben and cy; {CODE} is {engine.status(CODE).status}")
        say()

    def record(self) -> bool:
        """The history, the rejection and the completion in it, and whether the audit chains verify."""
        engine, say = self.engine, self.say
        say("4. The record")
        history = engine.history(CODE)
        counts = Counter(e.action for e in history)
        say(f"  {len(history)} events: " + ", ".join(f"{n} {a}" for a, n in sorted(counts.items())))
        for e in history:
            if e.action == "reject" or e.data.get("status") == "completed":
                say(
                    f"  #{e.seq} {e.at} {e.actor} {e.action} {e.phase}: "
                    f"{e.data.get('reason') or e.data.get('status')}"
                )
        report = engine.verify_audit()
        say(
            f"  audit verify: {'ok' if report.ok else 'BROKEN'} — {report.events_checked} events in "
            f"{report.chains_checked} hash chains recomputed"
        )
        say(f"  last hash: {history[-1].hash}")
        return report.ok


def _finish_phase(engine: object, status: object) -> None:
    """Everyone does their task and every approver signs, each as a distinct person."""
    from workflow.domain.results import ProjectStatus
    from workflow.engine import Engine

    assert isinstance(engine, Engine) and isinstance(status, ProjectStatus)
    for task in status.tasks:
        if not task.done:
            engine.complete_task(status.code, task.role, actor=TEAM[task.role])
    if status.gate:
        for role in status.gate.approvers:
            if role not in {a.role for a in status.gate.approvals}:
                engine.approve(status.code, role, actor=TEAM[role])


def _title(definition: object, key: str | None) -> str:
    from workflow.domain.templates.definition import Definition

    assert isinstance(definition, Definition)
    if key is None:
        return "completed"
    phase = definition.phase(key)
    return phase.title if phase else key
