"""The kill -9 loop, shared by tests/system/test_killloop.py (scaled down) and benchmarks/killloop.py.

Worker processes (tests/support/workload.py) run writing commands in a loop against one database.
Again and again one of them is killed with SIGKILL at a random moment (0-200 ms after
the previous check) and restarted. After each kill the others are paused (SIGSTOP, so
the database holds still) and the database is checked:

- SQLite: ``PRAGMA integrity_check`` is ``ok``; PostgreSQL: the server answers;
- every hash chain verifies (``Engine.verify_audit``);
- every project's stored state equals the replay of its history (``workflow.domain.audit.replay``);
- every command a worker was told succeeded (its ack line, fsynced) has its event stored.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

import workflow
from support.invariants import assert_consistent, event_keys
from support.workload import MODELS, read_acks, staff
from workflow import Engine

SUPPORT = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(workflow.__file__).resolve().parent.parent),
                                                    str(SUPPORT)])}


@dataclass
class Worker:
    index: int
    incarnation: int = 0
    proc: subprocess.Popen[bytes] | None = None
    ack: str = ""
    ack_files: list[str] = field(default_factory=list)


@dataclass
class KillLoopResult:
    kills: int = 0
    checks: int = 0
    acked: int = 0
    events: int = 0
    projects: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (f"{self.kills} kills, {self.checks} checks passed, {self.acked} acknowledged commands all "
                f"stored, {self.events} events in {self.projects} projects, {self.seconds:.1f}s")


def _start(url: str, workdir: Path, w: Worker, seed: int, codes: list[str]) -> None:
    w.incarnation += 1
    w.ack = str(workdir / f"ack-{w.index}-{w.incarnation}.jsonl")
    w.ack_files.append(w.ack)
    cmd = [sys.executable, str(SUPPORT / "workload.py"), url, str(w.index), w.ack, str(seed), "0",
           ",".join(codes), "--create", f"K{w.index}x{w.incarnation}"]
    with open(w.ack.replace(".jsonl", ".err"), "wb") as err:
        w.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=ENV)


def _ready(w: Worker) -> bool:
    """In its writing loop: it has been acknowledged at least one command since it (re)started."""
    try:
        with open(w.ack, encoding="utf-8") as f:
            return f.readline().startswith('["ready"') and f.readline().endswith("\n")
    except FileNotFoundError:
        return False


def check_database(url: str, engine: Engine, acked: set[tuple[str, int, str]]) -> tuple[int, int]:
    """The checks after a kill; returns (#projects, #events)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = sqlite3.connect(f"file:{parsed.database}?mode=ro", uri=True)
        try:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], "SQLite integrity check"
        finally:
            db.close()
    else:
        with engine.store.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1, "PostgreSQL answers"
    projects = assert_consistent(engine)
    stored = event_keys(engine)
    lost = acked - stored
    assert not lost, f"acknowledged but not stored: {sorted(lost)[:5]}"
    return projects, len(stored)


def run_kill_loop(url: str, workdir: Path, *, kills: int, workers: int = 3, seed: int = 7,
                  log: Any = None) -> KillLoopResult:
    rng = random.Random(seed)
    started = time.monotonic()
    result = KillLoopResult()
    with Engine(url) as engine:
        engine.init(admin="root")
        codes = []
        for i in range(4):
            code = f"KL-{i}"
            engine.create_project(code, template=MODELS[i % 3], actor="root")
            staff(engine, code)
            codes.append(code)
        crew = [Worker(i) for i in range(workers)]
        for w in crew:
            _start(url, workdir, w, rng.getrandbits(32), codes)
        try:
            while result.kills < kills:
                deadline = time.monotonic() + 60
                while not (ready := [w for w in crew if _ready(w)]):
                    assert time.monotonic() < deadline, "no worker became ready within 60 s"
                    time.sleep(0.01)
                victim = rng.choice(ready)
                time.sleep(rng.uniform(0, 0.2))
                assert victim.proc is not None
                victim.proc.send_signal(signal.SIGKILL)
                victim.proc.wait()
                assert victim.proc.returncode == -signal.SIGKILL, "the worker was running, not finished"
                result.kills += 1
                others = [w for w in crew if w is not victim and w.proc is not None]
                for w in others:
                    w.proc.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
                try:
                    acked: set[tuple[str, int, str]] = set()
                    for w in crew:
                        for path in w.ack_files:
                            acked |= read_acks(path)
                    result.projects, result.events = check_database(url, engine, acked)
                    result.acked = len(acked)
                    result.checks += 1
                finally:
                    for w in others:
                        w.proc.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
                if log is not None and result.kills % 10 == 0:
                    log(f"  {result.kills} kills: {result.acked} acked, {result.events} events, "
                        f"{result.projects} projects, {time.monotonic() - started:.0f}s")
                _start(url, workdir, victim, rng.getrandbits(32), codes)
        finally:
            for w in crew:
                if w.proc is not None and w.proc.poll() is None:
                    w.proc.send_signal(signal.SIGKILL)
                    w.proc.wait()
        acked = set()
        for w in crew:
            for path in w.ack_files:
                acked |= read_acks(path)
        result.projects, result.events = check_database(url, engine, acked)
        result.acked = len(acked)
    errors = [text for w in crew for path in w.ack_files
              if (text := Path(path.replace(".jsonl", ".err")).read_text())]
    assert not errors, "only refusals by the rules reach a user:\n" + "\n".join(e[-3000:] for e in errors[:3])
    result.seconds = time.monotonic() - started
    return result
