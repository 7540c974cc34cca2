"""A worker process that plays a whole agency against one database, for the load test, the
kill -9 loop (tests/system/test_load.py, tests/system/test_killloop.py) and benchmarks/killloop.py.

Each step picks a project and does something a person on it would do — a task, an
approval, an advance, now and then a rejection, a hold, a resume, a team change, a
status or history read — as a person who holds the role (so most commands are allowed
and races make some of them refused). Every command that *returned* is logged to the
ack file as one JSON line, flushed and fsynced before the next one starts: what a user
was told happened.

    python tests/support/workload.py URL WORKER_ID ACK_FILE SEED STEPS CODE[,CODE...] [--create PREFIX]

STEPS 0 runs until killed. ``--create PREFIX`` replaces finished projects with new ones.
The last stdout line is a JSON summary: acked count, refusals by kind, unexpected errors.
"""

from __future__ import annotations

import json
import os
import random
import sys
from typing import Any

from workflow import Engine
from workflow.domain.audit.events import Event
from workflow.errors import NotFound, NotPermitted, PhasegateError, RuleRefused

ADMIN = "root"
SPARE = ["sam", "sue", "sol"]
MODELS = ["team-based", "large-agency", "digital-agency"]
# Refusals a user may legitimately get when others act at the same moment.
REFUSALS = (RuleRefused, NotPermitted, NotFound)


def staff(engine: Engine, code: str, ack: Any = None) -> None:
    """Two people per role: ``<role>-a`` and ``<role>-b``; the lead's are ``lead-a``/``lead-b``."""
    st = engine.status(code)
    for role in st.team:
        for suffix in ("a", "b"):
            person = f"{'lead' if role == st.lead else role}-{suffix}"
            event = engine.assign(code, role, person, actor=ADMIN)
            if ack:
                ack(event)


def step(engine: Engine, rng: random.Random, code: str) -> Event | None:
    """One thing a person on ``code`` might do now; returns the event of a change, None for a read."""
    st = engine.status(code)
    if st.status in ("completed", "cancelled"):
        return None
    leads = st.team.get(st.lead) or []
    if not leads:
        return engine.assign(code, st.lead, rng.choice(["lead-a", "lead-b"]), actor=ADMIN)
    lead = rng.choice(leads)
    if st.status == "on_hold":
        return engine.resume(code, actor=lead, request_id=f"r-{rng.getrandbits(64):x}")
    r = rng.random()
    if r < 0.03:
        return engine.hold(code, actor=lead, reason="waiting on the client")
    if r < 0.10:
        role = rng.choice(list(st.team))
        person = rng.choice(SPARE)
        who = rng.choice([ADMIN, lead])
        if person in st.team[role]:
            return engine.unassign(code, role, person, actor=who)
        return engine.assign(code, role, person, actor=who)
    if r < 0.13 and st.gate is not None:
        role = rng.choice(st.gate.approvers)
        people = st.team.get(role) or [ADMIN]
        return engine.reject(code, role, actor=rng.choice(people), reason="'; DROP TABLE events; --")
    if r < 0.20:
        who = rng.choice([ADMIN, lead, "outsider", *SPARE])
        if rng.random() < 0.5:
            engine.status(code, reader=who)
        else:
            engine.history(code, reader=who, last=5)
        return None
    moves: list[Any] = []
    for t in st.tasks:
        if not t.done:
            moves.append(lambda role=t.role: engine.complete_task(
                code, role, actor=rng.choice(st.team.get(role) or [ADMIN]), note="done"))
    if st.gate is not None:
        for role in st.gate.missing:
            moves.append(lambda role=role: engine.approve(
                code, role, actor=rng.choice(st.team.get(role) or [ADMIN])))
    if st.can_advance or not moves or rng.random() < 0.2:
        moves.append(lambda: engine.advance(code, actor=lead, request_id=f"a-{rng.getrandbits(64):x}"))
    return rng.choice(moves)()


def main(argv: list[str]) -> int:
    url, worker, ack_path, seed, steps = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    codes = argv[5].split(",")
    prefix = argv[7] if len(argv) > 7 and argv[6] == "--create" else None
    rng = random.Random(seed)
    summary: dict[str, Any] = {"acked": 0, "refused": {}, "errors": []}
    with open(ack_path, "a", encoding="utf-8") as log, Engine(url) as engine:

        def ack(event: Event) -> None:
            log.write(json.dumps([event.chain, event.seq, event.hash, event.action]) + "\n")
            log.flush()
            os.fsync(log.fileno())
            summary["acked"] += 1

        log.write(json.dumps(["ready", worker]) + "\n")
        log.flush()
        n = 0
        while steps == 0 or n < steps:
            n += 1
            code = rng.choice(codes)
            try:
                if prefix is not None and engine.status(code).status in ("completed", "cancelled"):
                    new = f"{prefix}-{rng.getrandbits(40):x}"
                    ack(engine.create_project(new, template=rng.choice(MODELS), actor=ADMIN, name="kill loop",
                                              request_id=f"c-{new}"))
                    staff(engine, new, ack)
                    codes[codes.index(code)] = new
                    continue
                event = step(engine, rng, code)
            except REFUSALS as exc:
                kind = type(exc).__name__
                summary["refused"][kind] = summary["refused"].get(kind, 0) + 1
                continue
            except PhasegateError as exc:
                summary["errors"].append(f"{type(exc).__name__}: {exc}")
                print(f"unexpected {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                continue
            if event is not None:
                ack(event)
    print(json.dumps(summary))
    return 0


def read_acks(path: str) -> set[tuple[str, int, str]]:
    """Every acknowledged event in an ack file (a torn last line, from a kill, is ignored)."""
    acked: set[tuple[str, int, str]] = set()
    if not os.path.exists(path):  # killed before it opened its log
        return acked
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            item = json.loads(line)
            if item[0] != "ready":
                acked.add((item[0], item[1], item[2]))
    return acked


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
