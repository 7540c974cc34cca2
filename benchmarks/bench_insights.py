"""Insights across projects (issue 25): ``Engine.insights`` over 100k projects / 2M events against a
plain ``SELECT count(*) FROM events`` in the same run, on SQLite and PostgreSQL; memory at 10k and
100k projects (quick: 1k and 10k).

The databases are the bulk-built ones of the other benchmarks (``_dataset.database``: projects on
``digital-agency`` copied from projects the Engine drove), their summary rows filled by the
migration's own backfill (``storage/insights/backfill.py``, timed: what upgrading such a database to
0013 costs), cached beside them. PostgreSQL gets the same rows by ``COPY`` into a scratch database
(dropped afterwards), then ``VACUUM ANALYZE``.

Timed: the median of several calls each, the two alternating, warm (the file read once into the OS
page cache first; PostgreSQL's buffers warmed by the first calls). Memory: tracemalloc's peak during
one call (Python's allocations), and the process's RSS growth over it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _dataset
from _insights_page import page_rows

RATIO_TARGET = 20.0
CALLS = 5
SUMMARY = ("insight_projects", "insight_visits", "insight_signatures")
COPIED = ("projects", "events", *SUMMARY)


def sizes(quick: bool) -> tuple[int, int]:
    """(the smaller database, the bigger) in projects."""
    return (1000, 10_000) if quick else (10_000, 100_000)


def _fingerprint() -> str:
    h = hashlib.sha256()
    for rel in ("workflow/storage/insights/backfill.py", "workflow/domain/insights/changes.py",
                "workflow/domain/insights/history.py", "workflow/storage/insights/schema.py"):
        h.update((c.REPO / rel).read_bytes())
    return h.hexdigest()[:8]


def prepared(data_dir: Path, projects: int) -> tuple[Path, int, float]:
    """(a copy of the scale database with its summary rows, its events, the backfill's seconds)."""
    import sqlalchemy

    from workflow.storage.insights.backfill import backfill

    source, events = _dataset.database(data_dir, projects, log=c.log)
    path = data_dir / f"insights-{source.stem}-{_fingerprint()}.db"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, events, float(json.loads(meta.read_text())["backfill_seconds"])
    for stale in data_dir.glob(f"insights-{source.stem}-*"):
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f".building-{path.name}")
    shutil.copyfile(source, tmp)
    engine = sqlalchemy.create_engine(c.sqlite_url(tmp))
    try:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            done = backfill(conn)
        took = time.perf_counter() - t0
    finally:
        engine.dispose()
    c.log(f"backfilled {done:,} projects of {source.name} in {took:.0f} s")
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    tmp.replace(path)
    meta.write_text(json.dumps({"backfill_seconds": round(took, 1)}))
    return path, events, took


def _count(engine: Any) -> None:
    from sqlalchemy import text

    with engine.store.sqlalchemy.connect() as conn:
        conn.execute(text("SELECT count(*) FROM events")).scalar()


def timed(engine: Any) -> tuple[list[float], list[float]]:
    """(insights ms, count ms), alternating, after one warm-up call of each."""
    clock = time.perf_counter
    engine.insights(viewer=None)
    _count(engine)
    ins, cnt = [], []
    for _ in range(CALLS):
        t0 = clock()
        engine.insights(viewer=None)
        ins.append((clock() - t0) * 1000)
        t0 = clock()
        _count(engine)
        cnt.append((clock() - t0) * 1000)
    return ins, cnt


def memory(engine: Any) -> tuple[float, float]:
    """(tracemalloc peak MiB, RSS growth MiB) of one call."""
    rss0 = c.vm_rss_kib()
    tracemalloc.start()
    try:
        engine.insights(viewer=None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak / 2**20, (c.vm_rss_kib() - rss0) / 1024


def _to_postgresql(path: Path, pg_url: str, conninfo: str) -> None:
    """The SQLite file's projects, events and summary rows copied into the (migrated) PostgreSQL database."""
    import psycopg

    from workflow.domain.audit.events import SYSTEM_CHAIN
    from workflow.engine import Engine

    engine = Engine(pg_url)
    try:
        engine.init(c.ADMIN)
    finally:
        engine.close()
    lite = sqlite3.connect(path)
    try:
        with psycopg.connect(conninfo, autocommit=True) as pg:
            pg_templates = pg.execute("SELECT id, key, version FROM templates ORDER BY id").fetchall()
            lite_templates = lite.execute("SELECT id, key, version FROM templates ORDER BY id").fetchall()
            if [tuple(r) for r in pg_templates] != [tuple(r) for r in lite_templates]:
                raise RuntimeError("the template versions differ between the two databases")
            for table in COPIED:
                cols = [r[1] for r in lite.execute(f"PRAGMA table_info({table})")]
                if table == "projects":
                    pg.execute("DELETE FROM projects")
                where = " WHERE chain <> ?" if table == "events" else ""  # init wrote the system chain
                rows = lite.execute(f"SELECT {', '.join(cols)} FROM {table}{where}",
                                    (SYSTEM_CHAIN,) if where else ())
                with pg.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
            pg.execute("VACUUM ANALYZE")
    finally:
        lite.close()


def run(args: Any) -> str:
    from workflow.engine import Engine

    small_n, big_n = sizes(args.quick)
    rows = []
    notes = []
    mem: dict[int, tuple[float, float]] = {}
    big_path = big_events = None
    for n in (small_n, big_n):
        path, events, backfill_s = prepared(args.data_dir, n)
        warmed = c.warm(path)
        engine = Engine(c.sqlite_url(path))
        try:
            ins, cnt = timed(engine)
            mem[n] = memory(engine)
        finally:
            engine.close()
        label = f"{n // 1000}k projects / {events / 1e6:.2f}M events"
        mi, mc = c.median(ins), c.median(cnt)
        target = f"<= {RATIO_TARGET:g}x" if n == big_n else "reported"
        ok = c.yes_no(mi / mc <= RATIO_TARGET) if n == big_n else "—"
        rows.append(c.Row(f"SQLite: insights vs SELECT count(*) FROM events, {label} (n={CALLS})",
                          c.fmt(mi, "ms"), c.fmt(mc, "ms"), f"{mi / mc:.2f}x", target, ok))
        notes.append(f"{path.name}: summary rows filled by the migration's backfill in {backfill_s:.0f} s "
                     f"({n:,} projects); file read into the page cache in {warmed:.1f} s.")
        big_path, big_events = path, events
    (p_small, r_small), (p_big, r_big) = mem[small_n], mem[big_n]
    # Flat: what one call holds is its grouped rows (distinct values), not a row per project; 1 MiB is
    # ten bytes a project at 100k.
    rows.append(c.Row(f"memory of one call: tracemalloc peak, {big_n // 1000}k vs {small_n // 1000}k",
                      f"{p_big:.3f} MiB", f"{p_small:.3f} MiB", f"{p_big / p_small:.2f}x",
                      "flat: < 1 MiB at both", c.yes_no(max(p_big, p_small) < 1.0)))
    rows.append(c.Row("the same, RSS growth over the call", f"{r_big:.1f} MiB", f"{r_small:.1f} MiB", "—",
                      "reported", "—"))
    assert big_path is not None and big_events is not None
    page, said = page_rows(big_path, f"{big_n // 1000}k projects / {big_events / 1e6:.2f}M events")
    rows += page  # the web page's first answer (lane insights-page: benchmarks/_insights_page.py)
    notes += said
    skip = c.pg_unreachable(args.pg)
    if skip is not None:
        notes.append(f"PostgreSQL rows skipped: {skip}.")
    else:
        assert big_path is not None and big_events is not None
        with c.pg_scratch_database(args.pg, "bench_insights") as (pg_url, conninfo):
            t0 = time.perf_counter()
            _to_postgresql(big_path, pg_url, conninfo)
            loaded = time.perf_counter() - t0
            engine = Engine(pg_url)
            try:
                ins, cnt = timed(engine)
            finally:
                engine.close()
        mi, mc = c.median(ins), c.median(cnt)
        rows.append(c.Row(f"PostgreSQL: insights vs SELECT count(*) FROM events, {big_n // 1000}k projects / "
                          f"{big_events / 1e6:.2f}M events (n={CALLS})", c.fmt(mi, "ms"), c.fmt(mc, "ms"),
                          f"{mi / mc:.2f}x", f"<= {RATIO_TARGET:g}x", c.yes_no(mi / mc <= RATIO_TARGET)))
        notes.append(f"PostgreSQL: the same rows copied in with COPY and VACUUM ANALYZE in {loaded:.0f} s.")
    notes.append("Each insights call: `Engine.insights(viewer=None)` (every project, every figure: phases, "
                 "gates, roles, the trend and the overdue list); its median against the median of "
                 "`SELECT count(*) FROM events` on the engine's own connection pool, the two alternating.")
    return c.table("Insights across projects", rows, notes)


def main() -> None:
    c.terminate_cleanly()
    print(run(c.parser(__doc__.splitlines()[0]).parse_args()))


if __name__ == "__main__":
    main()
