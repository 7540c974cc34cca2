"""Where the time goes on the engine's hot paths: SQL statements per call and a grouped cProfile.

Not a benchmark (no floors, no targets): the companion that explains a missed target.
For each path it reports the SQL statements sent per call (from SQLAlchemy's
``before_cursor_execute``; the commit is one more round trip on PostgreSQL) and the
profile's own time grouped by where it is spent (SQLAlchemy, the DB driver, workflow,
json/hashlib, transitions), plus the costliest functions.

    python benchmarks/profile_paths.py [--quick] [--pg URL] [--only commands-sqlite ...]
"""

from __future__ import annotations

import cProfile
import pstats
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _dataset

GROUPS = (
    ("sqlalchemy", "SQLAlchemy"),
    ("sqlite3.", "sqlite3 driver (incl. fsync at COMMIT)"),
    ("'sqlite3", "sqlite3 driver (incl. fsync at COMMIT)"),
    ("psycopg", "psycopg driver (incl. waiting for the server)"),
    ("/workflow/", "workflow (engine, gates, audit)"),
    ("transitions", "transitions"),
    ("json", "json"),
    ("hashlib", "hashlib"),
    ("sha256", "hashlib"),
)


def _group(key: tuple[str, int, str]) -> str:
    filename, _line, func = key
    where = f"{filename} {func}"
    for needle, label in GROUPS:
        if needle in where:
            return label
    return "other (stdlib, interpreter)"


def _profile(calls: list[Callable[[], object]]) -> tuple[pstats.Stats, float]:
    prof = cProfile.Profile()
    prof.enable()
    for call in calls:
        call()
    prof.disable()
    stats = pstats.Stats(prof)
    return stats, stats.total_tt  # type: ignore[attr-defined]


def _report(title: str, n: int, statements: Counter[str], stats: pstats.Stats, total: float,
            extra: str = "") -> str:
    groups: Counter[str] = Counter()
    for key, (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        groups[_group(key)] += tt
    lines = [f"#### {title}", ""]
    if statements:
        per = sum(statements.values()) / n
        shown = ", ".join(f"{k} {v / n:.1f}" for k, v in statements.most_common())
        lines.append(f"- SQL statements per call: {per:.1f} ({shown}){extra}")
    elif extra:
        lines.append(f"- {extra}")
    lines.append(f"- profiled time per call: {total / n * 1000:.3f} ms (cProfile inflates Python-heavy code)")
    lines.append("- own time by group: " + ", ".join(f"{g} {t / total:.0%}" for g, t in groups.most_common()))
    top = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:12]  # type: ignore[attr-defined]
    lines.append("- costliest functions (own time per call):")
    for (filename, line, func), (_cc, nc, tt, _ct, _callers) in top:
        short = filename.split("site-packages/")[-1].replace(str(c.REPO) + "/", "")
        lines.append(f"  - {tt / n * 1000:.3f} ms  {short}:{line} {func} ({nc / n:.1f} calls)")
    return "\n".join(lines) + "\n"


def _counting(engine: Any) -> Counter[str]:
    from sqlalchemy import event

    counter: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counter[statement.split(None, 1)[0].upper()] += 1

    event.listen(engine.store.sqlalchemy, "before_cursor_execute", count)  # the Engine's SQLAlchemy engine
    return counter


def profile_commands(url: str, backend: str, quick: bool) -> str:
    from workflow.engine import Engine

    phases = 10 if quick else 25
    engine = Engine(url)
    try:
        engine.init(c.ADMIN)
        engine.publish_template(c.bench_template(phases), actor=c.ADMIN)
        codes = [f"PR-{i:03d}" for i in range(4)]
        c.setup_projects(engine, codes, "bench-flow")
        cmds: list[tuple[str, Callable[[], object]]] = []
        for _ in range(phases):
            for code in codes:
                cmds.extend(c.phase_commands(engine, code))
        for _kind, cmd in cmds[:12]:  # warm-up
            cmd()
        cmds = cmds[12:]
        counter = _counting(engine)
        stats, total = _profile([cmd for _k, cmd in cmds])
    finally:
        engine.close()
    extra = "; plus the COMMIT round trip" if backend == "PostgreSQL" else ""
    return _report(f"{backend}: one engine command (mix of task done / approve / advance, n={len(cmds)})",
                   len(cmds), counter, stats, total, extra)


def profile_read(data_dir: Path, quick: bool) -> str:
    from workflow.engine import Engine

    n_projects = 10_000 if quick else 100_000
    path, _ = _dataset.database(data_dir, n_projects, log=c.log)
    engine = Engine(c.sqlite_url(path))
    rng = random.Random(3)
    try:
        def pair(code: str) -> Callable[[], object]:
            return lambda: (
                engine.status(code, reader="alice"), engine.history(code, reader="alice", last=50)
            )

        for _ in range(50):
            pair(f"P{rng.randrange(n_projects):06d}")()
        counter = _counting(engine)
        calls = [pair(f"P{rng.randrange(n_projects):06d}") for _ in range(500)]
        stats, total = _profile(calls)
    finally:
        engine.close()
    title = f"SQLite: status + history(last=50) on {n_projects:,} projects (n=500)"
    return _report(title, 500, counter, stats, total)


def profile_verify(data_dir: Path) -> str:
    from workflow.engine import Engine

    path, events = _dataset.database(data_dir, 10_000, log=c.log)
    engine = Engine(c.sqlite_url(path))
    try:
        stats, total = _profile([engine.verify_audit])
    finally:
        engine.close()
    return _report(f"SQLite: audit verify over {events:,} events (per event)", events, Counter(), stats,
                   total, "SQL: the heads of all chains, then every event streamed in chain order")


def run(args: Any) -> str:
    only = set(getattr(args, "paths", None) or ["commands-sqlite", "commands-pg", "read", "verify"])
    out = ["### Profiles of the hot paths", ""]
    if "commands-sqlite" in only:
        with c.scratch_dir(args.data_dir, "profile-") as tmp:
            out.append(profile_commands(c.sqlite_url(tmp / "p.db"), "SQLite", args.quick))
    if "commands-pg" in only:
        reason = c.pg_unreachable(args.pg)
        if reason:
            out.append(f"PostgreSQL skipped: {reason}\n")
        else:
            with c.pg_scratch_database(args.pg, "pgbench_profile") as (url, _info):
                out.append(profile_commands(url, "PostgreSQL", args.quick))
    if "read" in only:
        out.append(profile_read(args.data_dir, args.quick))
    if "verify" in only:
        out.append(profile_verify(args.data_dir))
    return "\n".join(out)


def main() -> None:
    c.terminate_cleanly()
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--only", dest="paths", action="append",
                   choices=["commands-sqlite", "commands-pg", "read", "verify"])
    print(run(p.parse_args()))


if __name__ == "__main__":
    main()
