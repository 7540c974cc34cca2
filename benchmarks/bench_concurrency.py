"""Four processes working one set of projects at once: which errors reach a user, and throughput.

Each worker process opens its own Engine and, 500 times, picks a random project of a
shared set of 20, reads its status and issues the command a script moving projects
along would issue next (the first open task, else the first missing approval, else
advance). Workers race, so some commands are refused by a rule (the task was done a
moment ago by another worker): those are :class:`~workflow.errors.RuleRefused` and
are the correct answer. Anything else that escapes the Engine (``Conflict`` after
retries ran out, a database error, a traceback) is counted as an error that reached
a user. Afterwards ``verify_audit`` must pass. SQLite and PostgreSQL.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

PROCESSES = 4
PROJECTS = 20


def sizes(quick: bool) -> tuple[int, int]:
    """(commands per process, phases of the template)."""
    return (200, 20) if quick else (500, 40)


def _next_command(engine: Any, code: str) -> tuple[str, Any] | None:
    st = engine.status(code)
    if st.status != "active":
        return None
    for t in st.tasks:
        if not t.done:
            return "task done", lambda r=t.role: engine.complete_task(code, r, actor=c.PEOPLE[r])
    if st.gate is not None and not st.gate.satisfied:
        signed = {a.role for a in st.gate.approvals}
        for role in st.gate.approvers:
            if role not in signed:
                return "approve", lambda r=role: engine.approve(code, r, actor=c.PEOPLE[r])
    return "advance", lambda: engine.advance(code, actor=c.PEOPLE["lead"])


def _worker(url: str, codes: list[str], commands: int, seed: int, start: Any, out: Any) -> None:
    sys.path.insert(0, str(c.REPO))
    from workflow.engine import Engine
    from workflow.errors import RuleRefused

    result: dict[str, Any] = {"done": 0, "refused": 0, "errors": [], "reads": 0}
    rng = random.Random(seed)
    engine = None
    try:
        engine = Engine(url)
        start.wait()
        t0 = time.perf_counter()
        issued = 0
        while issued < commands:
            code = rng.choice(codes)
            try:
                nxt = _next_command(engine, code)
                result["reads"] += 1
            except Exception as exc:  # a failed read reaches a user as much as a failed write
                result["errors"].append(f"status: {type(exc).__name__}: {exc}"[:300])
                issued += 1
                continue
            if nxt is None:
                continue
            issued += 1
            _kind, cmd = nxt
            try:
                cmd()
                result["done"] += 1
            except RuleRefused:
                result["refused"] += 1
            except Exception as exc:
                result["errors"].append(f"{type(exc).__name__}: {exc}"[:300])
        result["seconds"] = time.perf_counter() - t0
    except BaseException:
        result["errors"].append("worker crashed: " + traceback.format_exc()[-600:])
        result.setdefault("seconds", 0.0)
    finally:
        if engine is not None:
            engine.close()
        out.put(result)


def _run_backend(url: str, args: Any) -> dict[str, Any]:
    from workflow.engine import Engine

    commands, phases = sizes(args.quick)
    codes = [f"C{i:03d}" for i in range(PROJECTS)]
    engine = Engine(url)
    try:
        engine.init(c.ADMIN)
        engine.publish_template(c.bench_template(phases), actor=c.ADMIN)
        c.setup_projects(engine, codes, "bench-flow")
    finally:
        engine.close()
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, codes, commands, seed, start, out))
             for seed in range(PROCESSES)]
    for p in procs:
        p.start()
    time.sleep(0.5)
    t0 = time.perf_counter()
    start.set()
    results = [out.get(timeout=1800) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join(timeout=60)
    engine = Engine(url)
    try:
        report = engine.verify_audit()
    finally:
        engine.close()
    errors = [e for r in results for e in r["errors"]]
    if not report.ok:
        errors.append(f"audit verify failed afterwards: {report.first_broken}")
    issued = sum(r["done"] + r["refused"] for r in results) + sum(len(r["errors"]) for r in results)
    return {
        "done": sum(r["done"] for r in results),
        "refused": sum(r["refused"] for r in results),
        "issued": issued,
        "errors": errors,
        "wall": wall,
        "audit_ok": report.ok,
        "events": report.events_checked,
    }


def _rows(backend: str, r: dict[str, Any]) -> tuple[list[c.Row], list[str]]:
    n_err = len(r["errors"])
    throughput = r["issued"] / r["wall"]
    applied = r["done"] / r["wall"]
    measured = (f"{n_err} errors; {r['issued']} commands ({r['done']} applied, "
                f"{r['refused']} refused by a rule) "
                f"in {r['wall']:.1f} s: {throughput:,.0f} commands/s ({applied:,.0f} applied/s); "
                f"audit verify {'ok' if r['audit_ok'] else 'BROKEN'}")
    figure = f"{backend}: {PROCESSES} processes x {r['issued'] // PROCESSES} commands on {PROJECTS} projects"
    row = c.Row(figure,
                measured, "—", "—", "0 errors reach a user", c.yes_no(n_err == 0))
    notes = []
    if n_err:
        kinds = Counter(e.split(":", 1)[0] for e in r["errors"])
        notes.append(f"{backend} errors by kind: " + ", ".join(f"{k} x{v}" for k, v in kinds.most_common()))
        notes.append(f"{backend} first error: `{r['errors'][0][:240]}`")
    return [row], notes


def run(args: Any) -> str:
    rows: list[c.Row] = []
    notes: list[str] = [
        "Each command is preceded by a status read that picks it (reads not counted); a refusal by a rule "
        "(RuleRefused: another worker did it first) is the correct answer and is not an error.",
    ]
    with c.scratch_dir(args.data_dir, "concurrency-") as tmp:
        r, n = _rows("SQLite", _run_backend(c.sqlite_url(tmp / "concurrency.db"), args))
        rows += r
        notes += n
    reason = c.pg_unreachable(args.pg)
    if reason:
        rows.append(c.skipped_row(f"PostgreSQL: {PROCESSES} processes", "0 errors reach a user", reason))
    else:
        with c.pg_scratch_database(args.pg, "pgbench_concurrency") as (url, _info):
            r, n = _rows("PostgreSQL", _run_backend(url, args))
            rows += r
            notes += n
    return c.table("Concurrent writers", rows, notes)


def main() -> None:
    c.terminate_cleanly()
    print(run(c.parser(__doc__.splitlines()[0]).parse_args()))


if __name__ == "__main__":
    main()
