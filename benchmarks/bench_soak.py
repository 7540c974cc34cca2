"""One long-lived process running 100k commands over 10k projects: does memory stay flat?

Every project takes ten commands (create, three assigns, three tasks, two approvals,
advance); the order interleaves projects at random, so the mix is the same early and
late. Memory is read from ``/proc/self/status`` (VmRSS) after the first 10% of the
commands (10k; quick: 2k of 20k) and at the end, after ``gc.collect()`` both times;
the count of objects the garbage collector tracks is reported alongside. A Machine
compiled per project, a session or a connection left open, or an unbounded cache
would show as growth.
"""

from __future__ import annotations

import gc
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

RSS_TARGET = 0.10
COMMANDS_PER_PROJECT = 10


def sizes(quick: bool) -> int:
    """Projects (ten commands each)."""
    return 2_000 if quick else 10_000


def _project_commands(engine: Any, code: str) -> Iterator[Callable[[], object]]:
    yield lambda: engine.create_project(code, template="bench-flow", actor=c.ADMIN, name=f"Project {code}",
                                        client="ACME")
    for role, person in c.PEOPLE.items():
        yield lambda role=role, person=person: engine.assign(code, role, person, actor=c.ADMIN)
    for _kind, cmd in c.phase_commands(engine, code):
        yield cmd


def _snapshot() -> tuple[int, int]:
    gc.collect()
    return c.vm_rss_kib(), len(gc.get_objects())


def run(args: Any) -> str:
    from workflow.engine import Engine

    projects = sizes(args.quick)
    total = projects * COMMANDS_PER_PROJECT
    mark = total // 10
    rng = random.Random(7)
    with c.scratch_dir(args.data_dir, "soak-") as tmp:
        engine = Engine(c.sqlite_url(tmp / "soak.db"))
        try:
            engine.init(c.ADMIN)
            engine.publish_template(c.bench_template(1), actor=c.ADMIN)
            pending = [_project_commands(engine, f"S{i:05d}") for i in range(projects)]
            done = 0
            early: tuple[int, int] | None = None
            t0 = time.perf_counter()
            while pending:
                k = rng.randrange(len(pending))
                try:
                    cmd = next(pending[k])
                except StopIteration:
                    pending[k] = pending[-1]
                    pending.pop()
                    continue
                cmd()
                done += 1
                if done == mark:
                    early = _snapshot()
                    t_mark = time.perf_counter()
            t_end = time.perf_counter()
            del pending
            late = _snapshot()
        finally:
            engine.close()
    assert early is not None
    rss_growth = late[0] / early[0] - 1
    obj_growth = late[1] / early[1] - 1
    rate = (done - mark) / (t_end - t_mark)
    rows = [
        c.Row(f"VmRSS after {mark:,} commands vs after all {done:,} ({projects:,} projects)",
              c.fmt(late[0] / 1024, "MiB"), c.fmt(early[0] / 1024, "MiB"), f"{rss_growth:+.1%}",
              f"growth <= {RSS_TARGET:.0%}", c.yes_no(rss_growth <= RSS_TARGET)),
        c.Row("objects tracked by gc (`len(gc.get_objects())`), same moments", f"{late[1]:,}",
              f"{early[1]:,}", f"{obj_growth:+.1%}", "reported", "—"),
    ]
    notes = [f"One process, SQLite file, {rate:,.0f} commands/s after the mark ({t_end - t0:.0f} s in all); "
             "commands interleaved at random over the projects."]
    return c.table("Long-lived process", rows, notes)


def main() -> None:
    c.terminate_cleanly()
    print(run(c.parser(__doc__.splitlines()[0]).parse_args()))


if __name__ == "__main__":
    main()
