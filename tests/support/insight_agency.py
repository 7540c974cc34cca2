"""A small agency's history for the Insights tests over HTTP and on the page: four projects on the timed
template (tests/support/schedules.py), moved along a fixed clock, with every case the figures must
handle: a rejection's second round, a hold, a cancellation, a project over its due date, and names and
reasons typed by someone hostile.

- P-1 (Acme): kick-off, build, review sent back to build once, build again, review: completed.
- P-2 (Acme): kick-off passed; in build, held two days, then past its due date.
- P-3 (Globex, a hostile name): cancelled in its kick-off.
- P-4 (Globex): in its kick-off; ben is its developer and reads nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from support.schedules import TIMED, MovableClock
from workflow import Engine

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
PASSWORD = "correct horse battery"
PEOPLE = ("ana", "dev", "qa", "ben", "out", "aud")


def finish(e: Engine, code: str, clock: MovableClock, days: float = 1) -> None:
    """The current phase's tasks done, its gate signed, advanced, ``days`` later."""
    clock.move(days=days)
    st = e.status(code)
    for t in st.tasks:
        if not t.done:
            e.complete_task(code, t.role, actor=_holder(st.team, t.role))
    gate = e.status(code).gate
    if gate is not None:
        for role in gate.missing:
            e.approve(code, role, actor=_holder(st.team, role))
    e.advance(code, actor="ana")


def _holder(team: dict[str, list[str]], role: str) -> str:
    return team[role][0]


def accounts(e: Engine, *, passwords: bool = True) -> None:
    """root (admin), :data:`PEOPLE` (aud an auditor) and the timed template."""
    e.init(admin="root")  # a database that has its admin already keeps it
    have = {p.login: p.has_password for p in e.users(reader="root")}
    for person in ("root", *PEOPLE):
        if person not in have:
            e.add_user(person, actor="root")
        if passwords and not have.get(person):  # an argon2 hash each: only for who signs in
            e.set_password(person, PASSWORD, actor="root")
    if "aud" not in e.grants()["auditor"]:
        e.grant("aud", "auditor", actor="root")
    e.publish_template(TIMED, actor="root")


def agency(e: Engine, clock: MovableClock, *, passwords: bool = True) -> None:
    """The four projects (see the module's docstring), from the clock's Monday on; the clock ends on the
    Monday two weeks later."""
    accounts(e, passwords=passwords)
    staff = {"producer": "ana", "dev": "dev", "qa": "qa"}
    for code, name, client in (("P-1", "Spring launch", "Acme"), ("P-2", "Summer site", "Acme"),
                               ("P-3", HOSTILE, "Globex"), ("P-4", "Intranet", "Globex")):
        e.create_project(code, template="timed-team", actor="root", name=name, client=client)
        for role, person in staff.items():
            e.assign(code, role, "ben" if (code, role) == ("P-4", "dev") else person, actor="root")
    finish(e, "P-1", clock, 2)  # kick-off: Monday to Wednesday
    finish(e, "P-2", clock, 0)
    finish(e, "P-1", clock, 2)  # build: to Friday
    clock.move(days=3)  # Monday: review's task done, then sent back
    e.complete_task("P-1", "qa", actor="qa")
    e.reject("P-1", "qa", actor="qa", reason=HOSTILE + " the build fails on Safari")
    e.hold("P-2", reason="the client is re-scoping", actor="ana")
    clock.move(days=2)  # Wednesday
    e.resume("P-2", actor="ana")
    e.cancel("P-3", reason=HOSTILE, actor="ana")
    finish(e, "P-1", clock, 1)  # build again: to Thursday
    finish(e, "P-1", clock, 1)  # review again: completed on Friday
    due = (clock.at - timedelta(days=3)).date().isoformat()  # the Tuesday before
    e.set_due("P-2", "build", due, actor="ana", reason="agreed with the client")
    clock.move(days=3)  # Monday, two weeks on: P-2's build is past its due date


def half_year(e: Engine, clock: MovableClock, until: datetime, count: int = 26) -> None:
    """A busier history for the page's screenshot: ``count`` projects started a week apart from the
    clock's Monday, each phase taking a few (varying) days and its gate signed a day or so after its
    tasks, every fourth review sent back once, one project cancelled; whatever would happen after ``until`` has not happened yet
    (those projects are running, one stuck past its due date). Half-way, the template's version 2 (a
    shorter build) is published, and the later projects run on it. Events run in time order."""
    accounts(e)
    start = clock.at
    steps: list[tuple[datetime, str, str]] = []
    stalled = f"Q-{count - 4:02d}"  # stuck in its build, past its due date
    for i in range(count):
        code = f"Q-{i + 1:02d}"
        t = start + timedelta(days=7 * i, hours=1)
        steps.append((t, code, "create"))
        for phase_days in (2 + i % 3, 4 + (i * 7) % 5):
            t += timedelta(days=phase_days)
            steps += [(t - timedelta(days=i % 2, seconds=1), code, "tasks"), (t, code, "finish")]
            if code == stalled:
                break
        if code == stalled:
            continue
        if i % 4 == 0:
            t += timedelta(days=1 + i % 2)
            steps.append((t, code, "reject"))
            t += timedelta(days=3)
            steps.append((t, code, "finish"))
        t += timedelta(days=1 + i % 2)
        steps += [(t - timedelta(days=i % 3 // 2, seconds=1), code, "tasks"), (t, code, "finish")]
    steps.append((start + timedelta(days=7 * 5 + 2, hours=2), "Q-06", "cancel"))
    for at, code, step in sorted(steps):
        if at > until:
            continue
        clock.to(at)
        if step == "create" and code == f"Q-{count // 2 + 1:02d}":  # half-way: a revised template
            e.publish_template(TIMED.replace("duration: 5d", "duration: 4d"), actor="root")
        if step == "create":
            e.create_project(code, template="timed-team", actor="root", name=f"Campaign {code[2:]}",
                             client=("Acme", "Globex", "Initech")[int(code[2:]) % 3])
            for role, person in (("producer", "ana"), ("dev", "dev"), ("qa", "qa")):
                e.assign(code, role, person, actor="root")
        elif e.status(code).status != "active":
            continue
        elif step == "reject":
            if not all(task.done for task in e.status(code).tasks):
                e.complete_task(code, "qa", actor="qa")
            e.reject(code, "qa", actor="qa", reason=("Fails QA on Safari", "fails qa on safari",
                                                     "Copy not approved by legal")[int(code[2:]) % 3])
        elif step == "cancel":
            e.cancel(code, reason="budget moved to next year", actor="ana")
        elif step == "tasks":  # the tasks done: the gate opens, its signatures come at "finish"
            st = e.status(code)
            for task in st.tasks:
                if not task.done:
                    e.complete_task(code, task.role, actor=_holder(st.team, task.role))
        else:
            finish(e, code, clock, 0)
