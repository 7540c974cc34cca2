"""Verifying a large SQLite database on several cores: the chains split into ranges, one process each.

Every chain is independent (its events and its project's head), so the chain names are
cut into contiguous ranges at the project codes' quantiles and each range is verified by
:func:`workflow.storage.audit.verify.verify_chains` in its own process; the calling process takes the
first range on its own connection and snapshot while the others start. Recomputing
sha256 for every event is Python-bound (about half the rate of merely reading the rows),
so on a 2-core machine this nearly doubles the rate.

What is the same as one pass: every chain is read whole, with its project's head, in one
snapshot, and every event is checked the same way; the first broken event reported is
the first in chain order. What differs: each process reads its own snapshot, taken within
moments of the others, so a checkpoint written from a parallel pass records each chain's
head as one of those snapshots saw it (each head is one the chain really had). SQLite
compares text byte by byte, as Python compares ``str``, so the ranges are exact;
PostgreSQL (whose collation may differ) always verifies in one pass.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from workflow import settings
from workflow.domain.results import STATE_DIFFERS, AuditReport, BrokenEvent
from workflow.storage import dialects
from workflow.storage.audit.verify import EVERY_CHAIN, Heads, Span, verify_chains
from workflow.storage.tables import projects as t_projects

# A worker needs ~0.3 s to start (Python, SQLAlchemy, its snapshot): about as long as this
# process takes to verify this many events. The first range, verified here at once, gets them
# extra when phasegate chooses the split itself, so the ranges finish together.
HEAD_START_EVENTS = 100_000
# Below this many events a split saves less than a worker's start costs.
PARALLEL_FROM_EVENTS = 250_000
MAX_JOBS = 4


def default_jobs() -> int:
    return max(1, min(MAX_JOBS, os.cpu_count() or 1))


def _events(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(t_projects.c.seq), 0))).scalar_one())


def worth_splitting(conn: Connection, jobs: int | None, events: int | None = None) -> int:
    """How many processes to verify every chain of this database with (1: one pass, as always)."""
    if not dialects.of(conn).verifies_in_parallel or jobs == 1:
        return 1
    if jobs is None:
        events = _events(conn) if events is None else events
        return default_jobs() if events >= PARALLEL_FROM_EVENTS else 1
    return jobs


def plan(conn: Connection, jobs: int | None) -> list[Span]:
    """The ranges to verify, the first here: as many as ``jobs`` asks (equal shares), or chosen."""
    events = _events(conn) if jobs is None and dialects.of(conn).verifies_in_parallel else 0
    parts = worth_splitting(conn, jobs, events)
    if parts == 1:
        return [EVERY_CHAIN]
    first = None
    if jobs is None:
        head_start = min(1.0, HEAD_START_EVENTS / max(1, events))
        first = (1 + (parts - 1) * head_start) / parts
    return spans(conn, parts, first)


def spans(conn: Connection, parts: int, first: float | None = None) -> list[Span]:
    """``parts`` contiguous ranges of chain names: the first holds ``first`` of the projects (default:
    an equal share), the others share the rest equally."""
    total = conn.execute(select(func.count()).select_from(t_projects)).scalar_one()
    head = 1 / parts if first is None else min(max(first, 1 / parts), 1.0)
    cuts: list[str] = []
    for i in range(1, parts):
        at = head + (i - 1) * (1 - head) / (parts - 1)
        offset = min(total - 1, int(total * at)) if total else 0
        code = conn.execute(
            select(t_projects.c.code).order_by(t_projects.c.code).limit(1).offset(offset)
        ).scalar()
        if code is not None and (not cuts or code > cuts[-1]):
            cuts.append(code)
    bounds: list[str | None] = [None, *cuts, None]
    return list(itertools.pairwise(bounds))


def within(heads: Mapping[str, tuple[int, str]] | None, span: Span) -> dict[str, tuple[int, str]] | None:
    """The entries of a checkpoint whose chain falls in ``span``."""
    if heads is None:
        return None
    lo, hi = span
    return {k: v for k, v in heads.items() if (lo is None or k >= lo) and (hi is None or k < hi)}


def _worker_command() -> tuple[list[str], dict[str, str]]:
    """``python -m workflow.storage.audit.parallel``, able to import this very copy of the package.

    A plain subprocess, not multiprocessing: its spawn start method would re-run the
    caller's main module (a script without an ``if __name__ == "__main__"`` guard would
    start over), and fork would carry this process's open SQLite connections along.
    """
    import workflow

    root = str(Path(workflow.__file__).resolve().parent.parent)
    env = settings.child_environment()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return [sys.executable, "-m", "workflow.storage.audit.parallel"], env


def _start(
    path: Path, span: Span, checkpoint: dict[str, tuple[int, str]] | None, collect: bool, label: str
) -> subprocess.Popen[bytes]:
    argv, env = _worker_command()
    worker = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    request = {
        "path": str(path),
        "span": list(span),
        "checkpoint": checkpoint,
        "collect": collect,
        "label": label,
    }
    assert worker.stdin is not None
    try:
        worker.stdin.write(json.dumps(request).encode())
        worker.stdin.close()
    except OSError:
        pass  # it died at start; _finish notices and the range is verified here instead
    return worker


def _finish(worker: subprocess.Popen[bytes]) -> tuple[AuditReport, Heads | None] | None:
    """The worker's answer, or None if it failed (its range is then verified in this process)."""
    assert worker.stdout is not None
    with worker.stdout:
        out = worker.stdout.read()
    if worker.wait() != 0:
        return None
    try:
        answer = json.loads(out)
        broken = answer["first_broken"]
        report = AuditReport(
            ok=answer["ok"],
            events_checked=answer["events_checked"],
            chains_checked=answer["chains_checked"],
            first_broken=None if broken is None else BrokenEvent(**broken),
        )
        heads = answer["heads"]
        return report, None if heads is None else {k: (v[0], v[1]) for k, v in heads.items()}
    except (ValueError, KeyError, TypeError):
        return None


def _serve() -> None:
    """The worker: read one request on stdin, verify its range, answer on stdout."""
    from workflow.storage.connections import snapshot_transaction
    from workflow.storage.database import open_database

    request = json.loads(sys.stdin.read())
    lo, hi = request["span"]
    checkpoint = request["checkpoint"]
    if checkpoint is not None:
        checkpoint = {k: (v[0], v[1]) for k, v in checkpoint.items()}
    heads: Heads | None = {} if request["collect"] else None
    engine = open_database(f"sqlite:///{request['path']}")
    try:
        with snapshot_transaction(engine) as conn:
            report = verify_chains(
                conn, checkpoint=checkpoint, collect=heads, checkpoint_label=request["label"], span=(lo, hi)
            )
    finally:
        engine.dispose()
    broken = report.first_broken
    sys.stdout.write(
        json.dumps(
            {
                "ok": report.ok,
                "events_checked": report.events_checked,
                "chains_checked": report.chains_checked,
                "first_broken": None if broken is None else asdict(broken),
                "heads": heads,
            }
        )
    )



def verify_split(
    conn: Connection,
    path: Path,
    ranges: list[Span],
    *,
    checkpoint: Mapping[str, tuple[int, str]] | None = None,
    collect: Heads | None = None,
    checkpoint_label: str = "the checkpoint",
) -> AuditReport:
    """Every chain of the SQLite file ``path``, in ``ranges`` (from :func:`plan`): this process
    verifies the first.

    A worker that fails for any reason (it could not start, it was killed) costs only time:
    its range is then verified in this process.
    """
    if len(ranges) == 1:
        return verify_chains(conn, checkpoint=checkpoint, collect=collect, checkpoint_label=checkpoint_label)
    workers = []
    try:
        for span in ranges[1:]:
            workers.append(
                _start(path, span, within(checkpoint, span), collect is not None, checkpoint_label)
            )
        first = verify_chains(
            conn,
            checkpoint=within(checkpoint, ranges[0]),
            collect=collect,
            checkpoint_label=checkpoint_label,
            span=ranges[0],
        )
        results: list[tuple[AuditReport, Heads | None]] = [(first, None)]
        answered = 0
        for span, worker in zip(ranges[1:], workers, strict=True):
            answer = _finish(worker)
            if answer is None:
                heads: Heads | None = {} if collect is not None else None
                report = verify_chains(
                    conn,
                    checkpoint=within(checkpoint, span),
                    collect=heads,
                    checkpoint_label=checkpoint_label,
                    span=span,
                )
                results.append((report, heads))
                continue
            results.append(answer)
            answered += 1
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            if worker.stdout is not None:
                worker.stdout.close()
    merged = _merge(results, collect, None if checkpoint is None else len(checkpoint))
    return replace(merged, processes=1 + answered)


def _merge(
    results: list[tuple[AuditReport, Heads | None]], collect: Heads | None, checkpoint_chains: int | None
) -> AuditReport:
    """One report for the ranges in chain order: the first broken event is the first range's that broke.

    A broken chain in any range comes before a missing project row in an earlier one, as in
    one pass (which names a missing row only once every chain is read intact).
    """
    checked = chains = 0
    found = []
    for report, heads in results:
        checked += report.events_checked
        chains += report.chains_checked
        if collect is not None and heads is not None:
            collect.update(heads)
        if report.first_broken is not None:
            found.append(report.first_broken)
    broken = next((b for b in found if b.problem != STATE_DIFFERS), found[0] if found else None)
    return AuditReport(
        ok=broken is None,
        events_checked=checked,
        chains_checked=chains,
        first_broken=broken,
        checkpoint_chains=checkpoint_chains,
    )


def sqlite_file(conn: Connection) -> Path | None:
    """The file of an SQLite database (None for PostgreSQL and in-memory databases)."""
    return dialects.of(conn).database_file(conn.engine.url)


if __name__ == "__main__":
    _serve()
