"""Large SQLite databases for the scale and verify benchmarks, built in bulk and cached.

Driving 100k projects through the Engine command by command would take hours, so:

1. The Engine itself builds a small *prototype* database: it publishes the built-in
   templates, and takes 17 projects on ``digital-agency`` through 12 to 28 events
   each (create, assign, tasks, approvals, advances), so every row and every event
   ``data`` dict is exactly what the engine writes.
2. A fresh database is created by the Engine (schema via its migrations, templates
   and the admin grant on the system chain), then each of N projects copies one
   prototype (round robin, mean 20 events): its own code, its own times, and a hash
   chain recomputed with :func:`workflow.domain.audit.events.event_hash`, so ``audit verify`` passes.
   Rows go in with ``executemany``, one transaction per batch.

The file is cached under the data directory, keyed by the sizes and by the source of
the schema and the hash chain (``tables.py``, ``events.py``, the migrations), and built
under a temporary name, so an interrupted build is never reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

GENERATOR_VERSION = "3"
TEMPLATE = "digital-agency"
LENGTHS = tuple(range(12, 29))  # events per prototype project: mean 20
BATCH_PROJECTS = 5000
CHILD_TABLES = ("assignments", "tasks", "approvals")
TIME_COLUMNS = {"assigned_at", "done_at", "approved_at"}
BASE_TIME = datetime(2019, 1, 7, 9, 0, tzinfo=UTC)


def _fingerprint() -> str:
    h = hashlib.sha256(GENERATOR_VERSION.encode())
    for rel in ("workflow/storage/tables.py", "workflow/domain/audit/events.py", "benchmarks/_dataset.py"):
        h.update((c.REPO / rel).read_bytes())
    versions = c.REPO / "workflow" / "migrations" / "versions"
    for p in sorted(versions.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def database(data_dir: Path, projects: int, *, rebuild: bool = False, log: Any = None) -> tuple[Path, int]:
    """(path of a database with ``projects`` projects, its number of project events), built if needed."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"scale-{projects}p-{_fingerprint()}.db"
    meta = path.with_suffix(".json")
    if not rebuild and path.exists() and meta.exists():
        return path, json.loads(meta.read_text())["events"]
    for stale in data_dir.glob(f"scale-{projects}p-*"):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    tmp = data_dir / f".building-{os.getpid()}-{path.name}"
    try:
        events = _build(tmp, projects)
        for suffix in ("-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)
        os.replace(tmp, path)
    finally:
        for p in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
            p.unlink(missing_ok=True)
    took = time.perf_counter() - started
    meta.write_text(json.dumps({"projects": projects, "events": events, "build_seconds": round(took, 1)}))
    if log:
        log(f"built {path.name}: {projects:,} projects, {events:,} events in {took:.0f} s")
    return path, events


def build_seconds(path: Path) -> float | None:
    meta = path.with_suffix(".json")
    return json.loads(meta.read_text()).get("build_seconds") if meta.exists() else None


# -- the prototype: what the Engine really writes ----------------------------------------------------


def _drive(engine: Any, code: str, definition: Any, people: dict[str, str], events: int) -> None:
    """Take ``code`` through its phases until its chain holds ``events`` events."""
    done = 1 + len(people)  # create + one assign per role
    engine.create_project(code, template=TEMPLATE, actor=c.ADMIN, name="Website relaunch", client="ACME Corp")
    for role, person in people.items():
        engine.assign(code, role, person, actor=c.ADMIN)
    for phase in definition.phases:
        steps: list[Any] = []
        for role, _task in phase.tasks:
            steps.append(lambda r=role: engine.complete_task(code, r, actor=people[r], note="see the wiki"))
        if phase.gate is not None:
            for role in phase.gate.approvers:
                steps.append(lambda r=role: engine.approve(code, r, actor=people[r], comment="approved"))
        steps.append(lambda: engine.advance(code, actor=people[definition.lead]))
        for step in steps:
            if done >= events:
                return
            step()
            done += 1


def _prototype(tmp: Path) -> dict[str, Any]:
    from workflow.engine import Engine

    engine = Engine(c.sqlite_url(tmp))
    try:
        engine.init(c.ADMIN)
        _info, definition, _src = engine.template(TEMPLATE)
        names = ["alice", "bob", "carol", "dave", "erin"]
        people = {role: names[i] for i, role in enumerate(definition.role_keys)}
        for i, n in enumerate(LENGTHS):
            _drive(engine, f"PROTO{i:02d}", definition, people, n)
    finally:
        engine.close()
    db = sqlite3.connect(tmp)
    db.row_factory = sqlite3.Row
    try:
        protos = []
        for i, _n in enumerate(LENGTHS):
            code = f"PROTO{i:02d}"
            project = dict(db.execute("SELECT * FROM projects WHERE code = ?", (code,)).fetchone())
            children = {
                t: [dict(r) for r in db.execute(f"SELECT * FROM {t} WHERE project_id = ?", (project["id"],))]
                for t in CHILD_TABLES
            }
            rows = db.execute("SELECT * FROM events WHERE chain = ? ORDER BY seq", (code,))
            events = [dict(r) for r in rows]
            protos.append({"project": project, "children": children, "events": events})
        template_key = db.execute(
            "SELECT t.key FROM templates t JOIN projects p ON p.template_id = t.id WHERE p.code = 'PROTO00'"
        ).fetchone()[0]
    finally:
        db.close()
    return {"protos": protos, "template_key": template_key}


# -- the bulk copy -----------------------------------------------------------------------------------


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def _insert_sql(table: str, cols: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"


def _build(path: Path, projects: int) -> int:
    from workflow.domain.audit.events import GENESIS, canonical_json, event_hash
    from workflow.engine import Engine

    proto_path = path.with_name(path.name + ".proto")
    try:
        proto = _prototype(proto_path)
    finally:
        for p in (proto_path, Path(str(proto_path) + "-wal"), Path(str(proto_path) + "-shm")):
            p.unlink(missing_ok=True)

    engine = Engine(c.sqlite_url(path))  # the schema through the project's migrations, built-ins, admin
    try:
        engine.init(c.ADMIN)
    finally:
        engine.close()

    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")  # this connection only: a failed build is thrown away
        db.execute("PRAGMA cache_size=-262144")
        template_id = db.execute(
            "SELECT id FROM templates WHERE key = ? ORDER BY version DESC LIMIT 1", (proto["template_key"],)
        ).fetchone()[0]
        first_id = (db.execute("SELECT coalesce(max(id), 0) FROM projects").fetchone()[0]) + 1
        p_cols = [col for col in _columns(db, "projects") if col in proto["protos"][0]["project"]]
        e_cols = [col for col in _columns(db, "events") if col in proto["protos"][0]["events"][0]]
        child_cols = {t: _columns(db, t) for t in CHILD_TABLES}
        p_sql = _insert_sql("projects", p_cols)
        e_sql = _insert_sql("events", e_cols)
        child_sql = {t: _insert_sql(t, cols) for t, cols in child_cols.items()}
        protos = proto["protos"]
        # Per prototype: its create event's data with the name to be replaced, parsed once.
        create_data = [json.loads(p["events"][0]["data"]) for p in protos]
        total_events = 0
        fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
        for start in range(0, projects, BATCH_PROJECTS):
            p_rows: list[tuple[Any, ...]] = []
            e_rows: list[tuple[Any, ...]] = []
            c_rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in CHILD_TABLES}
            for i in range(start, min(projects, start + BATCH_PROJECTS)):
                k = (i * 7) % len(protos)
                src = protos[k]
                code = f"P{i:06d}"
                pid = first_id + i
                # ~10 minutes apart across the years; events of one project a few minutes apart.
                t0 = BASE_TIME + timedelta(seconds=i * 631)
                times = {}
                prev = GENESIS
                for ev in src["events"]:
                    seq = ev["seq"]
                    jitter = (i * 7919 + seq) % 1_000_000
                    at = (t0 + timedelta(seconds=seq * 173, microseconds=jitter)).strftime(fmt)
                    times[seq] = at
                    if seq == 1:
                        data = canonical_json({**create_data[k], "name": f"Project {code}"})
                    else:
                        data = ev["data"]
                    digest = event_hash(prev, code, seq, at, ev["actor"], ev["action"], ev["phase"], data)
                    values = {**ev, "chain": code, "at": at, "data": data, "prev_hash": prev, "hash": digest}
                    e_rows.append(tuple(values[col] for col in e_cols))
                    prev = digest
                last = src["events"][-1]["seq"]
                total_events += len(src["events"])
                project = {**src["project"], "id": pid, "code": code, "name": f"Project {code}",
                           "template_id": template_id, "head_hash": prev, "seq": last,
                           "created_at": times[1], "updated_at": times[last]}
                p_rows.append(tuple(project[col] for col in p_cols))
                for t, rows in src["children"].items():
                    for r in rows:
                        v = {**r, "project_id": pid}
                        for col in TIME_COLUMNS & v.keys():
                            v[col] = times.get(v.get("seq"), times[last])
                        c_rows[t].append(tuple(v.get(col) for col in child_cols[t]))
            db.execute("BEGIN")
            db.executemany(p_sql, p_rows)
            for t in CHILD_TABLES:
                db.executemany(child_sql[t], c_rows[t])
            db.executemany(e_sql, e_rows)
            db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return total_events


def main() -> None:
    c.terminate_cleanly()
    p = c.parser("Build (or find cached) the benchmark databases")
    p.add_argument("projects", type=int, nargs="*", default=[1000, 10_000, 100_000])
    p.add_argument("--rebuild", action="store_true")
    args = p.parse_args()
    for n in args.projects:
        path, events = database(args.data_dir, n, rebuild=args.rebuild, log=print)
        print(f"{path}: {n:,} projects, {events:,} events (built in {build_seconds(path)} s)")


if __name__ == "__main__":
    main()
