"""Schedules and notifications: what the outbox costs a command, and what ``tick`` costs at scale.

1. **A command with its outbox rows vs without.** Two SQLite databases with the same
   template, projects and people; in one, the three people have e-mail addresses and a
   webhook is subscribed to every kind, so each command that asks somebody to act also
   writes its outbox rows (two or three a command on average), in its own transaction.
   Commands on the two alternate one by one; the ratio of medians is the outbox's cost.
2. **``tick`` over a big database** (the cached ``scale`` dataset: 100k active projects,
   2M events; ``--quick``: 10k) whose template gives every gate ``remind_after: 1d``:
   - nothing due (every project's next moment is tomorrow): the tick reads the partial
     index on ``projects.next_tick_at`` and nothing else;
   - 1% due (their gates opened a week ago): each of those gets its reminders, an event
     with its outbox rows, one transaction per project;
   - peak memory of a tick with nothing due on the small (1k) and the big database, each in
     its own process.

The query plan (an index search on ``ix_projects_next_tick_at``) is guarded by
``tests/engine/test_tick.py``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _dataset

OUTBOX_TARGET = 1.1
TICK_TARGET_S = 2.0
MEMORY_TARGET = 1.2
SMALL = 1_000
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """A moment as the store keeps it."""
    from workflow.domain.schedule.workdays import stored

    return stored(moment)


# -- 1. the outbox's cost ----------------------------------------------------------------------------


def _engine_with(tmp: Path, name: str, notified: bool, projects: int, phases: int
                 ) -> tuple[Any, list[tuple[str, Callable[[], object]]]]:
    from workflow.engine import Engine

    engine = Engine(c.sqlite_url(tmp / f"{name}.db"))
    engine.init(c.ADMIN)
    for person in c.PEOPLE.values():
        engine.add_user(person, actor=c.ADMIN, email=f"{person}@example.com" if notified else None)
    engine.publish_template(c.bench_template(phases), actor=c.ADMIN)
    if notified:
        db = sqlite3.connect(tmp / f"{name}.db")
        with db:  # the webhooks table as `phasegate webhook add … --events all` leaves it
            db.execute("INSERT INTO webhooks (id, url, kinds, secret, format, active, created_at,"
                       " created_by) VALUES ('wh1', 'http://127.0.0.1:9/hook', '[\"*\"]', 's3cret',"
                       " 'json', 1, ?, ?)",
                       (stamp(NOW), c.ADMIN))
        db.close()
    codes = [f"{name[:2].upper()}-{i:04d}" for i in range(projects)]
    c.setup_projects(engine, codes, "bench-flow")
    schedule = []
    for i in range(phases):
        for code in codes:
            schedule.extend(c.phase_commands(engine, code))
        del i
    return engine, schedule


def outbox_rows(args: Any) -> list[c.Row]:
    projects, phases, warmup = (6, 8, 30) if args.quick else (10, 20, 60)
    with c.scratch_dir(args.data_dir, "schedule-") as tmp:
        with_rows, sched_a = _engine_with(tmp, "notified", True, projects, phases)
        without, sched_b = _engine_with(tmp, "quiet", False, projects, phases)
        clock = time.perf_counter_ns
        a_ns: list[int] = []
        b_ns: list[int] = []
        try:
            for i, ((_ka, cmd_a), (_kb, cmd_b)) in enumerate(zip(sched_a, sched_b, strict=True)):
                first, second = (cmd_a, cmd_b) if i % 2 == 0 else (cmd_b, cmd_a)
                t0 = clock()
                first()
                t1 = clock()
                second()
                t2 = clock()
                if i < warmup:
                    continue
                (a_ns if first is cmd_a else b_ns).append(t1 - t0)
                (b_ns if first is cmd_a else a_ns).append(t2 - t1)
        finally:
            with_rows.close()
            without.close()
        db = sqlite3.connect(tmp / "notified.db")
        queued = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        db.close()
    a, b = c.ms(a_ns), c.ms(b_ns)
    per = queued / len(sched_a)
    return [c.ratio_row(f"SQLite: command with its outbox rows ({per:.1f} a command, e-mail and webhook) "
                        f"vs the same without (n={len(a)} each)", c.median(a), c.median(b), OUTBOX_TARGET,
                        measured_note=f" (p95 {c.p95(a):.3f})", floor_note=f" (p95 {c.p95(b):.3f})")]


# -- 2. tick at scale --------------------------------------------------------------------------------


def _timed_copy(source: Path, target: Path) -> None:
    """``source`` copied to ``target``, its template reminding after a day, nothing due until tomorrow."""
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    db = sqlite3.connect(target, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")  # set-up only
        for template_id, compiled in db.execute("SELECT id, compiled FROM templates WHERE key = ?",
                                                (_dataset.TEMPLATE,)).fetchall():
            definition = json.loads(compiled)
            for phase in definition["phases"]:
                if phase["gate"]:
                    phase["gate"]["remind_after"] = "1d"
            db.execute("UPDATE templates SET compiled = ? WHERE id = ?",
                       (json.dumps(definition), template_id))
        db.execute("UPDATE projects SET next_tick_at = ? WHERE status = 'active'",
                   (stamp(NOW + timedelta(days=1)),))
    finally:
        db.close()


def _make_due(path: Path, every: int) -> int:
    """One active project in ``every``: its gate opened a week ago, its clock due now."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        cur = db.execute("UPDATE projects SET gate_opened_at = ?, next_tick_at = ? "
                         "WHERE status = 'active' AND id % ? = 0",
                         (stamp(NOW - timedelta(days=7)), stamp(NOW - timedelta(minutes=1)), every))
        return cur.rowcount
    finally:
        db.close()


def _tick_child(path: Path) -> dict[str, Any]:
    """``tick`` on ``path`` in a fresh process: seconds, events, projects looked at, peak RSS."""
    code = (
        "import json, sys, time\n"
        "from datetime import datetime\n"
        "from workflow.engine import Engine\n"
        "from workflow.storage.database import set_clock\n"
        f"set_clock(lambda: datetime.fromisoformat({NOW.isoformat()!r}))  # the dataset's now\n"
        f"e = Engine({c.sqlite_url(path)!r})\n"
        "t0 = time.perf_counter()\n"
        "r = e.tick()\n"
        "took = time.perf_counter() - t0\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "peak = int(status.split()[0])\n"
        "print(json.dumps({'seconds': took, 'events': len(r.events), 'projects': r.projects,"
        " 'peak_kib': peak}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=c.REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _in_process_ticks(path: Path, rounds: int) -> list[float]:
    from workflow.engine import Engine
    from workflow.storage.database import set_clock

    set_clock(lambda: NOW)  # the dataset's now (`tick --now` only tries a moment out, writing nothing)
    engine = Engine(c.sqlite_url(path))
    try:
        engine.tick()  # connection, template cache
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            engine.tick()
            times.append(time.perf_counter() - t0)
        return times
    finally:
        engine.close()
        set_clock(None)


def tick_rows(args: Any) -> list[c.Row]:
    big_n = 10_000 if args.quick else 100_000
    big_src, _ = _dataset.database(args.data_dir, big_n, log=c.log)
    small_src, _ = _dataset.database(args.data_dir, SMALL, log=c.log)
    rows = []
    with c.scratch_dir(args.data_dir, "tick-") as tmp:
        big, small = tmp / "big.db", tmp / "small.db"
        _timed_copy(big_src, big)
        _timed_copy(small_src, small)
        c.warm(big)
        idle = _in_process_ticks(big, 20)
        rows.append(c.Row(f"`tick` over {big_n:,} active projects, nothing due (median of {len(idle)})",
                          f"{c.median(idle) * 1000:.2f} ms", target=f"<= {TICK_TARGET_S:g} s",
                          met=c.yes_no(c.median(idle) <= TICK_TARGET_S)))
        small_run, big_run = _tick_child(small), _tick_child(big)
        growth = big_run["peak_kib"] / small_run["peak_kib"]
        rows.append(c.Row(f"`tick` peak memory, nothing due: {big_n:,} vs {SMALL:,} projects (own processes)",
                          f"{big_run['peak_kib'] / 1024:.1f} MiB", f"{small_run['peak_kib'] / 1024:.1f} MiB",
                          f"{growth:.2f}x", f"<= {MEMORY_TARGET:g}x", c.yes_no(growth <= MEMORY_TARGET)))
        due = _make_due(big, 100)
        c.warm(big)
        busy = _tick_child(big)
        per_ms = busy["seconds"] * 1000 / max(1, busy["projects"])
        rows.append(c.Row(f"`tick` over {big_n:,} active projects, 1% due ({due:,}: "
                          f"{busy['events']:,} reminder events with their outbox rows)",
                          f"{busy['seconds']:.2f} s ({per_ms:.2f} ms a project due)",
                          target=f"<= {TICK_TARGET_S:g} s", met=c.yes_no(busy["seconds"] <= TICK_TARGET_S)))
        again = _tick_child(big)
        rows.append(c.Row("the same tick again (every reminder already given: the timers' key)",
                          f"{again['seconds'] * 1000:.1f} ms, {again['events']} events", target="no event",
                          met=c.yes_no(again["events"] == 0)))
    return rows


NOTES = [
    "Outbox: the notified database's people have e-mail addresses and one webhook takes every kind; "
    "the quiet one has neither. Commands alternate between the two (which goes first alternates too); "
    "medians in ms, p95 in brackets.",
    "Tick: the cached `scale` dataset copied, its template's gates given `remind_after: 1d` in the "
    "compiled definition, every active project's `next_tick_at` set to tomorrow; 1% due: "
    "`gate_opened_at` a week ago and `next_tick_at` a minute ago. Each reminder is a `remind` event "
    "(one transaction per project, fsynced) naming the signers still waited on.",
    "Memory: the peak resident set (`VmHWM`) of a process that opens the engine and ticks once; most of "
    "it is Python, SQLAlchemy and the engine's imports.",
]


def run(args: Any) -> str:
    return c.table("Schedules and notifications", outbox_rows(args) + tick_rows(args), NOTES)


def main() -> None:
    c.terminate_cleanly()
    args = c.parser(__doc__.splitlines()[0]).parse_args()
    print(run(args))


if __name__ == "__main__":
    main()
