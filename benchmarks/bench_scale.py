"""Reading one project on a database that has grown for years: status + its last 50 events.

Figure: ``Engine.status(code, actor=lead)`` followed by ``Engine.history(code, actor=lead,
last=50)`` (what ``phasegate project status`` and ``phasegate history --last 50`` ask
the engine, actor included, as the CLI passes it) on a database with 100k projects
and 2M events (quick: 10k / 200k). Floor: the same on a database with 1k projects.
Both databases are open at once; calls alternate between them, each on a random project.

The target is for a database in the OS page cache, as one that serves people every day
is: both files are read once before timing (see ``_common.warm``). A first pass with
both files evicted from the page cache (``posix_fadvise`` DONTNEED) is reported beside
it, so the cost of a cold disk is on record too.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _dataset

RATIO_TARGET = 1.5
ABS_TARGET_MS = 1.0
FLOOR_PROJECTS = 1000


def sizes(quick: bool) -> tuple[int, int, int]:
    """(projects in the big database, calls timed on each database, calls on cold files)."""
    return (10_000, 400, 100) if quick else (100_000, 2000, 200)


def run(args: object) -> str:
    from workflow.engine import Engine

    big_n, calls, cold_calls = sizes(args.quick)  # type: ignore[attr-defined]
    big_path, big_events = _dataset.database(args.data_dir, big_n, log=c.log)  # type: ignore[attr-defined]
    small_path, small_events = _dataset.database(args.data_dir, FLOOR_PROJECTS, log=c.log)  # type: ignore[attr-defined]
    big = Engine(c.sqlite_url(big_path))
    small = Engine(c.sqlite_url(small_path))
    rng = random.Random(6)
    clock = time.perf_counter_ns

    def one(engine: Engine, code: str) -> int:
        t0 = clock()
        engine.status(code, reader="alice")
        engine.history(code, reader="alice", last=50)
        return clock() - t0

    def alternate(n: int) -> tuple[list[int], list[int]]:
        big_ns, small_ns = [], []
        for _ in range(n):
            big_ns.append(one(big, f"P{rng.randrange(big_n):06d}"))
            small_ns.append(one(small, f"P{rng.randrange(FLOOR_PROJECTS):06d}"))
        return big_ns, small_ns

    try:
        alternate(1)  # each engine's template and statement caches, before the cold pass
        for path in (big_path, small_path):
            c.evict(path)
        cold_big_ns, cold_small_ns = alternate(cold_calls)
        warmed = c.warm(big_path) + c.warm(small_path)
        alternate(50)  # warm-up: SQLite's page cache of each connection
        big_ns, small_ns = alternate(calls)
    finally:
        big.close()
        small.close()
    b, s = c.ms(big_ns), c.ms(small_ns)
    cb, cs = c.ms(cold_big_ns), c.ms(cold_small_ns)
    bm, sm = c.median(b), c.median(s)
    label = f"{big_n // 1000}k projects / {big_events / 1e6:.1f}M events"
    rows = [
        c.ratio_row(f"status + last 50 events, {label} vs 1k projects (n={calls})", bm, sm, RATIO_TARGET,
                    measured_note=f" (p95 {c.p95(b):.3f})", floor_note=f" (p95 {c.p95(s):.3f})"),
        c.Row(f"status + last 50 events, {label}: median in-process", c.fmt(bm, "ms"), "—", "—",
              f"<= {ABS_TARGET_MS:g} ms", c.yes_no(bm <= ABS_TARGET_MS)),
        c.Row(f"the same with both files evicted from the OS page cache first (n={cold_calls})",
              f"{c.fmt(c.median(cb), 'ms')} (p95 {c.p95(cb):.3f})",
              f"{c.fmt(c.median(cs), 'ms')} (p95 {c.p95(cs):.3f})",
              f"{c.median(cb) / c.median(cs):.2f}x", "reported", "—"),
    ]
    built = _dataset.build_seconds(big_path)
    notes = [
        f"Databases: {big_path.name} ({big_events:,} project events, "
        f"{big_path.stat().st_size / 2**20:,.0f} MiB, "
        f"bulk-built in {built} s and kept for later runs) and {small_path.name} ({small_events:,} events); "
        "projects on `digital-agency` with 12-28 events each, copied from projects the Engine drove.",
        "Each call: `Engine.status(code, actor=lead)` + `Engine.history(code, actor=lead, last=50)` on a "
        "random project; big and small alternate call by call.",
        f"Timed with both files in the OS page cache (read once before timing, {warmed:.1f} s), as a "
        "database in daily use is: this VM reclaims file pages idle for ~40 s. The cold row comes first, "
        "right after evicting both files: each call then reads its pages from disk.",
    ]
    return c.table("Reading one project at scale", rows, notes)


def main() -> None:
    c.terminate_cleanly()
    print(run(c.parser(__doc__.splitlines()[0]).parse_args()))


if __name__ == "__main__":
    main()
