"""Shared pieces of the benchmark scripts: result rows, statistics, the machine, scratch databases.

Every figure is measured next to its floor in the same run and reported as a ratio of
medians, because absolute times on shared machines drift. Nothing here is timed itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python benchmarks/bench_x.py` from anywhere imports the working tree
    sys.path.insert(0, str(REPO))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_ENV = "PHASEGATE_BENCH_PG_URL"
DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "phasegate-bench"

# The people of the benchmark template: one per role, so the four-eyes rule is met.
ADMIN = "admin"
PEOPLE = {"lead": "alice", "dev": "bob", "qa": "carol"}


# -- rows and tables ---------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    measured: str
    floor: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: str = "—"


def yes_no(ok: bool | None) -> str:
    if ok is None:
        return "—"
    return "yes" if ok else "**no**"


def ratio_row(figure: str, measured: float, floor: float, limit: float, unit: str = "ms",
              measured_note: str = "", floor_note: str = "") -> Row:
    """A row whose target is ``measured / floor <= limit``."""
    r = measured / floor if floor else float("inf")
    return Row(figure, fmt(measured, unit) + measured_note, fmt(floor, unit) + floor_note,
               f"{r:.2f}x", f"<= {limit:g}x", yes_no(r <= limit))


def skipped_row(figure: str, target: str, reason: str) -> Row:
    return Row(figure, f"skipped: {reason}", "—", "—", target, "—")


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    return f"{value:,.0f} {unit}"


def table(title: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> str:
    out = [f"### {title}", "", "| figure | measured | floor | ratio | target | met |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = (r.figure, r.measured, r.floor, r.ratio, r.target, r.met)
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if notes:
        out.append("")
        out.extend(f"- {n}" for n in notes)
    return "\n".join(out) + "\n"


# -- statistics --------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(ns: Sequence[int]) -> list[float]:
    return [v / 1e6 for v in ns]


# -- the machine -------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        uname = subprocess.run(["uname", "-srm"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        uname = f"{platform.system()} {platform.release()} {platform.machine()}"
    import sqlite3

    import sqlalchemy

    return [
        f"machine: `{uname}`, CPU: {cpu}, {os.cpu_count()} cores",
        f"Python {platform.python_version()} ({sys.executable}), SQLite {sqlite3.sqlite_version}, "
        f"SQLAlchemy {sqlalchemy.__version__}",
        f"date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
    ]


# -- command-line plumbing ---------------------------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    add_common_options(p)
    return p


def add_common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="a scaled-down run (the whole suite in ~2 minutes)")
    p.add_argument("--pg", default=os.environ.get(PG_ENV) or DEFAULT_PG,
                   help=f"PostgreSQL URL (default: ${PG_ENV} or {DEFAULT_PG}); scratch databases are "
                        "created next to it and dropped afterwards")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                   help="where generated databases are cached and scratch files go "
                        f"(default {DEFAULT_DATA_DIR})")


def terminate_cleanly() -> None:
    """Turn SIGTERM into SystemExit so ``finally`` blocks drop scratch databases and temp files."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


@contextmanager
def scratch_dir(data_dir: Path, prefix: str) -> Iterator[Path]:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=data_dir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- the OS page cache -------------------------------------------------------------------------------
#
# A database that serves people every day lives in the OS page cache. This VM (Firecracker with
# proactive reclaim) drops file pages that have not been touched for ~40 s, even with 22 GiB free,
# so a 1.7 GiB benchmark file built a minute earlier is read back from disk at random: the figure
# would then measure the disk, not phasegate. The benchmarks that read big files warm them first
# (and bench_scale also reports a cold figure after evicting them).


def database_files(path: Path) -> list[Path]:
    """A SQLite database file and its -wal file (when there is one)."""
    return [p for p in (path, Path(f"{path}-wal")) if p.exists()]


def warm(path: Path) -> float:
    """Read ``path`` (and its -wal) once into the OS page cache; returns the seconds it took."""
    t0 = time.perf_counter()
    for p in database_files(path):
        with open(p, "rb", buffering=0) as f:
            while f.read(1 << 22):
                pass
    return time.perf_counter() - t0


def evict(path: Path) -> None:
    """Drop ``path``'s pages (and its -wal's) from the OS page cache (``posix_fadvise`` DONTNEED)."""
    for p in database_files(path):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


# -- PostgreSQL scratch databases --------------------------------------------------------------------


def _pg_conninfo(url: str) -> tuple[str, str]:
    """(libpq conninfo for ``url``, the database it names)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    parts = {"host": u.host or "127.0.0.1", "port": str(u.port or 5432), "user": u.username or "postgres",
             "dbname": u.database or "postgres", "connect_timeout": "5"}
    if u.password:
        parts["password"] = str(u.password)
    return " ".join(f"{k}={v}" for k, v in parts.items()), parts["dbname"]


def pg_unreachable(url: str) -> str | None:
    """None when PostgreSQL at ``url`` answers, else a short reason."""
    try:
        import psycopg

        conninfo, _ = _pg_conninfo(url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: skip the PostgreSQL rows
        first = (str(exc).strip().splitlines() or [""])[0][:120]
        return f"PostgreSQL at {url} unreachable ({type(exc).__name__}: {first})"
    return None


@contextmanager
def pg_scratch_database(url: str, prefix: str) -> Iterator[tuple[str, str]]:
    """A new, empty database next to ``url``: yields (SQLAlchemy URL, libpq conninfo); dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin_info, _ = _pg_conninfo(url)
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_info, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        u = make_url(url).set(database=name)
        if u.drivername in ("postgres", "postgresql"):
            u = u.set(drivername="postgresql+psycopg")
        sa_url = u.render_as_string(hide_password=False)
        yield sa_url, _pg_conninfo(sa_url)[0]
    finally:
        with psycopg.connect(admin_info, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the benchmark template --------------------------------------------------------------------------


def bench_template(phases: int, key: str = "bench-flow") -> str:
    """A template with ``phases`` gated phases: three tasks, two approvals and one advance each."""
    lines = [
        f"key: {key}",
        "title: Benchmark flow",
        "description: Many gated phases, so one project can take many commands.",
        "roles:",
        "  lead: {title: Lead}",
        "  dev: {title: Developer}",
        "  qa: {title: Quality Assurance}",
        "lead: lead",
        "phases:",
    ]
    for i in range(1, phases + 1):
        lines += [
            f"  - key: p{i:03d}",
            f"    title: Phase {i}",
            f"    tasks: {{lead: Plan step {i}, dev: Build step {i}, qa: Test step {i}}}",
            f"    gate: {{title: Sign-off {i}, approvers: [lead, qa], required: all, distinct_people: true}}",
        ]
    return "\n".join(lines) + "\n"


def phase_commands(engine: object, code: str) -> list[tuple[str, object]]:
    """The six commands that take one project through one phase of the benchmark template, in order."""
    e = engine
    return [
        ("task done", lambda: e.complete_task(code, "lead", actor=PEOPLE["lead"], note="planned")),  # type: ignore[attr-defined]
        ("task done", lambda: e.complete_task(code, "dev", actor=PEOPLE["dev"])),  # type: ignore[attr-defined]
        ("task done", lambda: e.complete_task(code, "qa", actor=PEOPLE["qa"], note="tests green")),  # type: ignore[attr-defined]
        ("approve", lambda: e.approve(code, "lead", actor=PEOPLE["lead"], comment="ok")),  # type: ignore[attr-defined]
        ("approve", lambda: e.approve(code, "qa", actor=PEOPLE["qa"])),  # type: ignore[attr-defined]
        ("advance", lambda: e.advance(code, actor=PEOPLE["lead"])),  # type: ignore[attr-defined]
    ]


def setup_projects(engine: object, codes: Sequence[str], template: str) -> None:
    """Create and staff ``codes`` on ``template`` through the Engine (untimed set-up)."""
    e = engine
    for code in codes:
        e.create_project(code, template=template, actor=ADMIN, name=f"Project {code}", client="ACME")  # type: ignore[attr-defined]
        for role, person in PEOPLE.items():
            e.assign(code, role, person, actor=ADMIN)  # type: ignore[attr-defined]


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the table."""
    print(message, file=sys.stderr, flush=True)


def vm_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
