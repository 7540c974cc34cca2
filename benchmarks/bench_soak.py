"""One long-lived process running 100k commands over 10k projects: does memory stay flat?

The soak stands for a service on an established database, not a fresh one: it starts
from a copy of the cached bulk-built dataset (``_dataset.database``: 10k projects on
``digital-agency``, ~200k events, ~170 MiB; only the database file is copied, and
SQLite never opens the cached one). Why: SQLite's page cache is bounded (``PRAGMA
cache_size``, 32 MiB per connection, see ``workflow/storage/database.py``) but fills
as pages are touched. Starting from an empty database that grows during the run
(6 -> 68 MiB), the cache filled during the run and read as +37% "growth". On the
established database it is full by the mark (the status reads below and the first
commands touch more than 32 MiB of pages), so growth after the mark is a leak: a
Machine compiled per project, a session or connection left open, an unbounded cache.

Before the first command, the process reads each project's status once through the
Engine and plans its next ten commands (quick: two) from the template definition: the
open tasks (by the role's holder), approvals by approver-role holders until the gate
is satisfied, the lead's advance, then the next phase likewise. The plans are
interleaved at random over the projects, so the mix is the same early and late; every
command must succeed (a refusal means the planner is wrong and fails the run). The
quick run uses the same 10k-project database, because the 1k one (17 MiB) is smaller
than the page cache, which would then grow with the file all run long.

Memory is read from ``/proc/self/status`` after ``gc.collect()`` after the first 10%
of the commands (10k; quick: 2k of 20k) and at the end: VmRSS, the target (growth
<= 10%), and RssAnon (heap and page cache, without mapped files such as the WAL
index); the count of objects the garbage collector tracks is reported alongside.
"""

from __future__ import annotations

import gc
import random
import shutil
import sqlite3
import sys
import time
from array import array
from collections import Counter
from contextlib import closing
from itertools import repeat
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _dataset

RSS_TARGET = 0.10
DATASET_PROJECTS = 10_000  # full and quick alike: the 1k dataset (17 MiB) is smaller than the page cache
TASK, APPROVE, ADVANCE = "task", "approve", "advance"

# One planned command: (verb, role, person). There are only a handful of distinct ones
# (interned in ``run``), so a project's plan is a tuple of references to shared tuples.
Step = tuple[str, str, str]


def sizes(quick: bool) -> int:
    """Commands planned per project of the established database."""
    return 2 if quick else 10


def _established_copy(data_dir: Path, projects: int, dest: Path) -> tuple[int, int]:
    """Copy the cached dataset's database file (and nothing else) to ``dest``: (events, bytes)."""
    src, events = _dataset.database(data_dir, projects, log=c.log)
    wal = Path(str(src) + "-wal")
    if wal.exists() and wal.stat().st_size:
        raise RuntimeError(f"{wal} is not empty: the cached database is not self-contained")
    shutil.copyfile(src, dest)
    return events, dest.stat().st_size


def _plan(st: Any, definition: Any, limit: int, intern: dict[Step, Step]) -> tuple[Step, ...]:
    """Up to ``limit`` commands that take the project of ``st`` forward, each valid after the last."""
    if st.status != "active":
        return ()
    holder = {role: people[0] for role, people in st.team.items() if people}
    done = {t.role for t in st.tasks if t.done}
    signed = {a.role: a.person for a in st.gate.approvals} if st.gate is not None else {}
    steps: list[Step] = []
    start = definition.phase_position(st.phase)
    for phase in definition.phases[start:]:
        steps += [(TASK, role, holder[role]) for role, _task in phase.tasks if role not in done]
        gate = phase.gate
        if gate is not None:
            people = set(signed.values()) if gate.distinct_people else None
            count = len(people) if people is not None else len(signed)
            for role in gate.approvers:
                if count >= gate.needed:
                    break
                person = holder[role]
                if role in signed or (people is not None and person in people):
                    continue
                steps.append((APPROVE, role, person))
                count += 1
                if people is not None:
                    people.add(person)
            if count < gate.needed:
                raise RuntimeError(f"{st.code}: cannot plan enough approvals for '{gate.title}'")
        if phase.key == st.phase and len(steps) == 0 and not st.can_advance:
            raise RuntimeError(f"{st.code}: nothing left to do in {st.phase}, yet it cannot advance: "
                               f"{st.blockers}")
        steps.append((ADVANCE, definition.lead, holder[definition.lead]))
        if len(steps) >= limit:
            break
        done, signed = set(), {}
    return tuple(intern.setdefault(s, s) for s in steps[:limit])


def _snapshot() -> tuple[int, int, int]:
    """(VmRSS KiB, RssAnon KiB, objects tracked by gc), after a full collection."""
    gc.collect()
    fields: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["RssAnon"], len(gc.get_objects())


def run(args: Any) -> str:
    from workflow.engine import Engine
    from workflow.errors import PhasegateError
    from workflow.storage.database import SQLITE_CACHE_KIB

    projects, per_project = DATASET_PROJECTS, sizes(args.quick)
    with c.scratch_dir(args.data_dir, "soak-") as tmp:
        db_path = tmp / "soak.db"
        events, db_bytes = _established_copy(args.data_dir, projects, db_path)
        with closing(sqlite3.connect(db_path)) as db:
            codes = [r[0] for r in db.execute("SELECT code FROM projects ORDER BY id")]
        engine = Engine(c.sqlite_url(db_path))
        try:
            # The plan, before command 1: one status read per project, then compact tuples.
            t_plan = time.perf_counter()
            _info, definition, _src = engine.template(_dataset.TEMPLATE)
            intern: dict[Step, Step] = {}
            plans: list[tuple[str, tuple[Step, ...]]] = []
            for code in codes:
                st = engine.status(code, reader=c.ADMIN)
                plans.append((code, _plan(st, definition, per_project, intern)))
            del st, codes
            # The interleaving: project k appears len(plan k) times, shuffled; its i-th
            # appearance runs its i-th step. One flat array of indices, fixed before the run.
            order = array("I")
            for k, (_code, steps) in enumerate(plans):
                order.extend(repeat(k, len(steps)))
            random.Random(7).shuffle(order)
            cursor = array("B", bytes(len(plans)))
            total = len(order)
            mark = total // 10
            t_plan = time.perf_counter() - t_plan
            verbs = Counter(step[0] for _code, steps in plans for step in steps)
            before = _snapshot()

            early: tuple[int, int, int] | None = None
            done = 0
            t0 = t_mark = time.perf_counter()
            for k in order:
                code, steps = plans[k]
                verb, role, person = steps[cursor[k]]
                cursor[k] += 1
                try:
                    if verb == TASK:
                        engine.complete_task(code, role, actor=person)
                    elif verb == APPROVE:
                        engine.approve(code, role, actor=person)
                    else:
                        engine.advance(code, actor=person)
                except PhasegateError as exc:
                    raise RuntimeError(f"command {done + 1} ({verb} {role} by {person} on {code}) was "
                                       f"refused, so the planner is wrong: {exc}") from exc
                done += 1
                if done == mark:
                    early = _snapshot()
                    t_mark = time.perf_counter()
            t_end = time.perf_counter()
            late = _snapshot()  # the plan (plans, order, cursor) is alive at both snapshots
        finally:
            engine.close()
        db_after = db_path.stat().st_size
    assert early is not None
    rows = [
        _growth_row(f"VmRSS after {mark:,} commands vs after all {done:,} ({projects:,} projects)",
                    early[0], late[0], target=True),
        _growth_row("RssAnon (anonymous memory: the heap, SQLite's page cache), same moments",
                    early[1], late[1], target=False),
        c.Row("objects tracked by gc (`len(gc.get_objects())`), same moments", f"{late[2]:,}",
              f"{early[2]:,}", f"{late[2] / early[2] - 1:+.1%}", "reported", "—"),
    ]
    rate = (done - mark) / (t_end - t_mark)
    notes = [
        f"An established SQLite database, copied from the cached dataset: {projects:,} projects on "
        f"`{_dataset.TEMPLATE}`, {events:,} events, {db_bytes / 2**20:.0f} MiB at the start "
        f"({db_after / 2**20:.0f} MiB at the end). SQLite's page cache is bounded at "
        f"{SQLITE_CACHE_KIB // 1024} MiB per connection but fills as pages are touched; on an empty "
        "database growing during the run it filled during the run and read as growth. Here it fills "
        f"before the mark (VmRSS {before[0] / 1024:.1f} MiB before command 1, after the status reads), "
        "so growth after the mark would be a leak.",
        f"Before command 1, one status read per project planned its next {per_project} commands "
        f"(tasks, approvals until the gate is satisfied, advance, next phase) in {t_plan:.0f} s; "
        f"{done:,} commands ({verbs[TASK]:,} tasks done, {verbs[APPROVE]:,} approvals, {verbs[ADVANCE]:,} "
        "advances) interleaved at random over the projects, all of which succeeded. The plan "
        "(shared step tuples, one index array) is built before and kept alive to the end, so it weighs "
        "the same at both snapshots and frees nothing during the run for later commands to reuse.",
        f"Target on VmRSS; RssAnon and the gc count are reported. One process, {rate:,.0f} commands/s "
        f"after the mark ({t_end - t0:.0f} s of commands in all).",
    ]
    return c.table("Long-lived process", rows, notes)


def _growth_row(figure: str, early_kib: int, late_kib: int, *, target: bool) -> c.Row:
    growth = late_kib / early_kib - 1
    return c.Row(figure, c.fmt(late_kib / 1024, "MiB"), c.fmt(early_kib / 1024, "MiB"), f"{growth:+.1%}",
                 f"growth <= {RSS_TARGET:.0%}" if target else "reported",
                 c.yes_no(growth <= RSS_TARGET) if target else "—")


def main() -> None:
    c.terminate_cleanly()
    print(run(c.parser(__doc__.splitlines()[0]).parse_args()))


if __name__ == "__main__":
    main()
