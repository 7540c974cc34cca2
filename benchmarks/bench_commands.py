"""One engine command (task done, approve, advance) against the cost of one durable write.

SQLite floor: a raw ``sqlite3`` transaction on a file in the same directory as the
engine's database, WAL and ``synchronous=FULL`` (the engine's settings):
``BEGIN IMMEDIATE; UPDATE t SET n = n + 1 WHERE id = ?; INSERT INTO log ...; COMMIT``.

PostgreSQL floor: one psycopg round trip, autocommit on, running
``WITH u AS (UPDATE t SET n = n + 1 WHERE id = 1 RETURNING n) INSERT INTO log(n) SELECT n FROM u``:
in autocommit mode the server commits the statement before it answers, so the commit
(and its WAL flush) is inside the timed call.

Engine and floor calls alternate one by one, so drift hits both alike; each call is
timed on its own with ``time.perf_counter_ns`` and medians (and p95) are reported.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

SQLITE_TARGET = 2.2
PG_TARGET = 4.0
KINDS = ("task done", "approve", "advance")


def _schedule(engine: object, codes: list[str], phases: int) -> list[tuple[str, Callable[[], object]]]:
    """Round robin over projects: command i goes to project i % len(codes), each in its own order."""
    per_project = []
    for code in codes:
        cmds = []
        for _ in range(phases):
            cmds.extend(c.phase_commands(engine, code))
        per_project.append(cmds)
    out = []
    for i in range(len(per_project[0])):
        for cmds in per_project:
            out.append(cmds[i])
    return out


def _build(engine: object, projects: int, phases: int, prefix: str) -> list[tuple[str, Callable[[], object]]]:
    engine.init(c.ADMIN)  # type: ignore[attr-defined]
    engine.publish_template(c.bench_template(phases), actor=c.ADMIN)  # type: ignore[attr-defined]
    codes = [f"{prefix}-{i:04d}" for i in range(projects)]
    c.setup_projects(engine, codes, "bench-flow")
    return _schedule(engine, codes, phases)


def _alternate(schedule: list[tuple[str, Callable[[], object]]], floor: Callable[[], object], warmup: int,
               ) -> tuple[dict[str, list[int]], list[int]]:
    """Run the schedule, one floor transaction after each command; returns ns per kind and floor ns."""
    clock = time.perf_counter_ns
    for _kind, cmd in schedule[:warmup]:
        cmd()
        floor()
    by_kind: dict[str, list[int]] = {k: [] for k in KINDS}
    floors: list[int] = []
    for kind, cmd in schedule[warmup:]:
        t0 = clock()
        cmd()
        t1 = clock()
        floor()
        t2 = clock()
        by_kind[kind].append(t1 - t0)
        floors.append(t2 - t1)
    return by_kind, floors


def _rows(backend: str, by_kind: dict[str, list[int]], floors: list[int], target: float) -> list[c.Row]:
    floor_ms = c.ms(floors)
    f_med = c.median(floor_ms)
    f_note = f" (p95 {c.p95(floor_ms):.3f})"
    rows = []
    everything: list[float] = []
    for kind in KINDS:
        vals = c.ms(by_kind[kind])
        everything.extend(vals)
        rows.append(c.ratio_row(f"{backend}: `{kind}` (n={len(vals)})", c.median(vals), f_med, target,
                                measured_note=f" (p95 {c.p95(vals):.3f})", floor_note=f_note))
    rows.append(c.ratio_row(f"{backend}: command, realistic mix 3:2:1 (n={len(everything)})",
                            c.median(everything), f_med, target,
                            measured_note=f" (p95 {c.p95(everything):.3f})", floor_note=f_note))
    return rows


def sizes(quick: bool) -> tuple[int, int, int]:
    """(projects, phases per project, warm-up commands): projects * phases * 6 commands in all."""
    return (10, 10, 30) if quick else (20, 25, 60)


def run_sqlite(args: object) -> list[c.Row]:
    from workflow.engine import Engine

    projects, phases, warmup = sizes(args.quick)  # type: ignore[attr-defined]
    with c.scratch_dir(args.data_dir, "commands-") as tmp:  # type: ignore[attr-defined]
        engine = Engine(c.sqlite_url(tmp / "engine.db"))
        raw = sqlite3.connect(tmp / "floor.db", isolation_level=None)
        try:
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=FULL")
            raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
            raw.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, note TEXT NOT NULL)")
            raw.execute("INSERT INTO t (id, n) VALUES (1, 0)")
            note = "x" * 64

            def floor() -> None:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute("UPDATE t SET n = n + 1 WHERE id = 1")
                raw.execute("INSERT INTO log (n, note) VALUES (?, ?)", (1, note))
                raw.execute("COMMIT")

            schedule = _build(engine, projects, phases, "SQ")
            by_kind, floors = _alternate(schedule, floor, warmup)
        finally:
            raw.close()
            engine.close()
    return _rows("SQLite", by_kind, floors, SQLITE_TARGET)


def run_pg(args: object) -> list[c.Row]:
    reason = c.pg_unreachable(args.pg)  # type: ignore[attr-defined]
    if reason:
        figure = "PostgreSQL: command vs one committed round trip"
        return [c.skipped_row(figure, f"<= {PG_TARGET:g}x", reason)]
    import psycopg

    from workflow.engine import Engine

    projects, phases, warmup = sizes(args.quick)  # type: ignore[attr-defined]
    with c.pg_scratch_database(args.pg, "pgbench_commands") as (url, conninfo):  # type: ignore[attr-defined]
        engine = Engine(url)
        raw = psycopg.connect(conninfo, autocommit=True)
        try:
            raw.execute("CREATE TABLE t (id integer PRIMARY KEY, n integer NOT NULL)")
            raw.execute("CREATE TABLE log (id bigserial PRIMARY KEY, n integer NOT NULL)")
            raw.execute("INSERT INTO t (id, n) VALUES (1, 0)")
            cur = raw.cursor()
            stmt = ("WITH u AS (UPDATE t SET n = n + 1 WHERE id = 1 RETURNING n) "
                    "INSERT INTO log (n) SELECT n FROM u")

            def floor() -> None:
                cur.execute(stmt)  # autocommit: the server commits before it answers

            schedule = _build(engine, projects, phases, "PG")
            by_kind, floors = _alternate(schedule, floor, warmup)
        finally:
            raw.close()
            engine.close()
    return _rows("PostgreSQL", by_kind, floors, PG_TARGET)


NOTES = [
    "SQLite floor: raw `sqlite3`, WAL, `synchronous=FULL`, `BEGIN IMMEDIATE`; UPDATE one row + INSERT one "
    "row; `COMMIT`, on a file in the engine database's directory.",
    "PostgreSQL floor: one psycopg round trip in autocommit mode (the commit is part of the timed call): "
    "`WITH u AS (UPDATE t SET n=n+1 WHERE id=1 RETURNING n) INSERT INTO log(n) SELECT n FROM u`.",
    "Engine calls and floor transactions alternate one by one; medians (p95 in brackets) in ms.",
]


def run(args: object) -> str:
    rows = run_sqlite(args) + run_pg(args)
    return c.table("Engine commands vs one durable write", rows, NOTES)


def main() -> None:
    c.terminate_cleanly()
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "pg", "both"), default="both")
    args = p.parse_args()
    if args.backend == "sqlite":
        print(c.table("Engine commands vs one durable write", run_sqlite(args), NOTES))
    elif args.backend == "pg":
        print(c.table("Engine commands vs one durable write", run_pg(args), NOTES))
    else:
        print(run(args))


if __name__ == "__main__":
    main()
