"""Lists that stream: memory flat and time linear from 10k to 100k rows (issue 16, item 12).

Each figure runs one whole CLI command in a fresh process (output to /dev/null) on a
small and a ten-times-larger database and compares the two:

* ``phasegate --json project list`` over 10k and 100k projects (the scale datasets);
* ``phasegate --json history CODE`` and ``phasegate --json report CODE`` of one project
  with 10k and 100k events (hold/resume pairs appended in bulk, hash chain recomputed).

Memory is the process's peak RSS (VmHWM); "flat" means the large run's peak is at most
1.2x the small one's. Time per row of the large run against the small run's is the
linearity figure (at most 1.3x).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _dataset

from workflow.storage.database import ENV_SQLITE_CACHE

MEMORY_TARGET = 1.2
TIME_TARGET = 1.3
LONG_CODE = "LONG-1"

PROBE = r"""
import os, sys
sys.argv = ["phasegate", *sys.argv[1:]]
from workflow.cli import main
try:
    main()
except SystemExit:
    pass
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(line.split()[1], file=sys.stderr)
"""


def measure(args: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS KiB) of one CLI run in a new process."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    lines = done.stderr.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].isdigit():
        raise RuntimeError(f"{args}: {done.stderr[-500:]}")
    return seconds, int(lines[-1])


def long_history(data_dir: Path, events: int) -> Path:
    """A database whose project LONG-1 has ``events`` events (cached)."""
    from workflow import Engine
    from workflow.domain.audit.events import new_event

    path = data_dir / f"long-{events}-v2-{_dataset._fingerprint()}.db"
    if path.exists():
        return path
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    with Engine(c.sqlite_url(tmp)) as engine:
        engine.init(c.ADMIN)
        engine.create_project(LONG_CODE, template="team-based", actor=c.ADMIN, name="a long history")
        engine.assign(LONG_CODE, "integrated_producer", "lee", actor=c.ADMIN)
        head = engine.history(LONG_CODE)[-1]
        tpl = head.data["template"]
    import sqlite3

    db = sqlite3.connect(tmp, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    seq, prev, rows = head.seq, head.hash, []
    signed = 0
    for i in range((events - seq) // 2 * 2):  # pairs: it ends withdrawn, as its state says
        # A signer who approves and withdraws, again and again: the history grows, the state does not.
        action = "approve" if i % 2 == 0 else "withdraw"
        data: dict[str, object] = {
            "template": tpl,
            "phase_title": "Client Kick-Off",
            "round": 1,
            "gate": "Client kick-off sign-off",
            "meaning": "Client kick-off sign-off for Client Kick-Off, round 1",
            "role": "integrated_producer",
            "role_title": "Integrated Producer",
            "authority": {"role": "integrated_producer", "assignment_seq": 2},
        }
        if action == "approve":
            data.update(decision="approved", comment=f"take {i}")
            signed = seq + 1
        else:
            data.update(
                decision="withdrawn",
                reason=None,
                voided={"approvals": [{"role": "integrated_producer", "person": "lee", "seq": signed}]},
            )
        at = f"2026-01-01T00:00:00.{i % 1000000:06d}Z" if i < 1000000 else head.at
        event = new_event(LONG_CODE, seq + 1, prev, max(at, head.at), "lee", action, "client_kickoff", data)
        rows.append(
            (
                event.chain,
                event.seq,
                event.at,
                event.actor,
                event.action,
                event.phase,
                event.data_json,
                event.prev_hash,
                event.hash,
            )
        )
        seq, prev = event.seq, event.hash
    db.execute("BEGIN")
    db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute(
        "UPDATE projects SET seq = ?, head_hash = ?, updated_at = ? WHERE code = ?",
        (seq, prev, rows[-1][2], LONG_CODE),
    )
    db.execute("COMMIT")
    db.close()
    tmp.rename(path)
    return path


def compare(
    label: str, small: tuple[float, int], big: tuple[float, int], rows: tuple[int, int], startup: float
) -> list[c.Row]:
    (ts, ms_), (tb, mb) = small, big
    per_small, per_big = (ts - startup) / rows[0], (tb - startup) / rows[1]
    return [
        c.Row(
            f"{label}: peak memory, {rows[1]:,} vs {rows[0]:,} rows",
            f"{mb / 1024:.1f} MiB",
            f"{ms_ / 1024:.1f} MiB",
            f"{mb / ms_:.2f}x",
            f"<= {MEMORY_TARGET}x",
            c.yes_no(mb / ms_ <= MEMORY_TARGET),
        ),
        c.Row(
            f"{label}: time per row, {rows[1]:,} vs {rows[0]:,} rows",
            f"{per_big * 1e6:.1f} µs ({tb:.2f} s)",
            f"{per_small * 1e6:.1f} µs ({ts:.2f} s)",
            f"{per_big / per_small:.2f}x",
            f"<= {TIME_TARGET}x",
            c.yes_no(per_big / per_small <= TIME_TARGET),
        ),
    ]


def run(args: object) -> str:
    quick = args.quick  # type: ignore[attr-defined]
    data_dir = args.data_dir  # type: ignore[attr-defined]
    small_n, big_n = (1_000, 10_000) if quick else (10_000, 100_000)
    # A small SQLite page cache in the measured processes: a bounded cache that fills up to its
    # size on the larger file would read as growth (it is not; the default is 32 MiB).
    os.environ[ENV_SQLITE_CACHE] = "2"
    small_db, _ = _dataset.database(data_dir, small_n, log=c.log)
    big_db, _ = _dataset.database(data_dir, big_n, log=c.log)
    short, long_ = long_history(data_dir, small_n), long_history(data_dir, big_n)
    rows: list[c.Row] = []
    for path in (small_db, big_db, short, long_):
        c.warm(path)
    # The start-up of a command (the same command on the same file, one row) is subtracted from both.
    head = ["--as", c.ADMIN, "--json"]
    startup = min(
        measure(["--db", c.sqlite_url(big_db), *head, "project", "list", "--limit", "1"])[0] for _ in range(3)
    )
    board = [measure(["--db", c.sqlite_url(p), *head, "project", "list"]) for p in (small_db, big_db)]
    rows += compare("`project list --json`", board[0], board[1], (small_n, big_n), startup)
    startup = min(
        measure(["--db", c.sqlite_url(long_), *head, "history", LONG_CODE, "--limit", "1"])[0]
        for _ in range(3)
    )
    for name, argv in (("history", ["history", LONG_CODE]), ("report", ["report", LONG_CODE])):
        runs = [measure(["--db", c.sqlite_url(p), *head, *argv]) for p in (short, long_)]
        rows += compare(f"`{name} --json`, one project", runs[0], runs[1], (small_n, big_n), startup)
    notes = [
        "Whole CLI processes; time per row is the run's time less the same command's start-up (the "
        "same command with `--limit 1`), over the rows it printed.",
        "Memory includes SQLite's page cache, bounded per connection (32 MiB by default): the measured "
        "processes run with PHASEGATE_SQLITE_CACHE_MIB=2, so that both files fill it and a cache "
        "filling up is not read as growth.",
        "The long history is a signer approving and withdrawing, over and over: the history grows, the "
        "project's state and report do not.",
        "Peak memory is VmHWM of the process; the board reads a page of 500 projects at a time, a "
        "history 1,000 events at a time, a report reads its events once as they stream.",
        json.dumps({"datasets": [p.name for p in (small_db, big_db, short, long_)]}),
    ]
    return c.table("Lists that stream", rows, notes)


def main() -> None:
    c.terminate_cleanly()
    print(run(c.parser(__doc__.splitlines()[0]).parse_args()))


if __name__ == "__main__":
    main()
