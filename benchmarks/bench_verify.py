"""``audit verify`` over millions of events: its rate against reading the rows, and its memory.

Rate: ``Engine.verify_audit(replay=False)`` (the hash chains: ``audit verify --no-replay``)
over the whole database (2M project events; quick: 200k) against raw ``sqlite3`` reading
the same rows in chain order (``SELECT chain, seq, at, actor, action, phase, data,
prev_hash, hash FROM events ORDER BY chain, seq``, every row fetched), alternated, median
of the repetitions.

The hash pass splits a large SQLite database into ranges of chains verified by one
process per core (up to 4; workflow/verify_parallel.py), as a user gets it by default;
the one-process rate (``jobs=1``) is reported beside it. ``audit verify`` as a user runs
it also replays every chain against the state tables (storage/audit/state.py, one
process, after the hash pass): its rate is reported with its ratio to the hash pass's.

Memory: peak RSS (``VmHWM``) of a fresh process that opens the Engine and verifies
everything in one pass (``jobs=1``: the streaming the target is about), at 200k vs 2M
events (quick: 40k vs 400k), one subprocess per size, the hash pass alone and with the
state check; the default (split) run at the larger size is reported beside it, its
workers' peaks added.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _dataset

RATE_TARGET = 0.50
MEMORY_TARGET = 1.2
RAW_SQL = "SELECT chain, seq, at, actor, action, phase, data, prev_hash, hash FROM events ORDER BY chain, seq"


def sizes(quick: bool) -> tuple[int, int, int]:
    """(projects in the big database, in the small one for memory, repetitions of the rate pair)."""
    return (20_000, 2_000, 3) if quick else (100_000, 10_000, 3)


def _raw_read(path: Path) -> tuple[float, int]:
    db = sqlite3.connect(path)
    try:
        t0 = time.perf_counter()
        n = 0
        for _row in db.execute(RAW_SQL):
            n += 1
        return time.perf_counter() - t0, n
    finally:
        db.close()


def _engine_verify(path: Path, jobs: int | None = None, *, replay: bool = False) -> tuple[float, int]:
    """Seconds and events of one ``verify_audit``; the database must verify (and, replaying, its state
    tables match the replay: the dataset builder writes the rows the engine would)."""
    from workflow.engine import Engine

    engine = Engine(c.sqlite_url(path))
    try:
        t0 = time.perf_counter()
        report = engine.verify_audit(jobs=jobs, replay=replay)
        took = time.perf_counter() - t0
    finally:
        engine.close()
    if not report.ok or report.state_checked != replay:
        raise RuntimeError(f"the benchmark database failed verification: {report.first_broken}")
    return took, report.events_checked


def _child_peak(path: Path, jobs: int | None, *, replay: bool = False) -> dict[str, float]:
    """Peak RSS of a fresh process verifying ``path`` (and its RSS before verifying), its workers' added."""
    argv = [sys.executable, __file__, "--child-verify", str(path), str(jobs or 0), str(int(replay))]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=c.REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _vm_hwm_kib() -> int:
    """Peak RSS of this process image: VmHWM starts afresh at exec.

    (``ru_maxrss`` does not: after fork+exec it still holds the parent's high-water mark,
    so a parent that has verified 2M events in-process would make every child look as big.)
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(path: Path, jobs: int | None, replay: bool) -> None:
    from workflow.engine import Engine

    engine = Engine(c.sqlite_url(path))
    before = _vm_hwm_kib()
    report = engine.verify_audit(jobs=jobs, replay=replay)
    engine.close()
    # The largest worker's peak (this process is their parent; RUSAGE_CHILDREN gives the largest):
    # at two jobs, the one worker.
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if report.processes > 1 else 0
    peak = _vm_hwm_kib() + worker_peak * (report.processes - 1)
    print(json.dumps({"before_kib": before, "peak_kib": peak, "events": report.events_checked,
                      "ok": report.ok and report.state_checked == replay, "workers": report.processes - 1}))


def _rates(big_path: Path, reps: int) -> tuple[dict[str, float], int]:
    """Median rates of the raw read, the hash pass (default split, and one process) and the whole
    ``audit verify`` (hash pass + state check), alternated, each from a warm page cache."""
    runs: dict[str, list[float]] = {"raw": [], "split": [], "one": [], "replay": []}
    events = 0
    for _ in range(reps):  # each reader starts with the whole file in the OS page cache (_common.warm)
        c.warm(big_path)
        t, n = _raw_read(big_path)
        runs["raw"].append(n / t)
        for name, jobs, replay in (("split", None, False), ("one", 1, False), ("replay", None, True)):
            c.warm(big_path)
            t, events = _engine_verify(big_path, jobs, replay=replay)
            runs[name].append(events / t)
    return {name: c.median(rates) for name, rates in runs.items()}, events


def _memory(small_path: Path, big_path: Path) -> dict[str, dict[str, float]]:
    peaks = {
        "small": _child_peak(small_path, 1),
        "big": _child_peak(big_path, 1),
        "small replay": _child_peak(small_path, 1, replay=True),
        "big replay": _child_peak(big_path, 1, replay=True),
        "split": _child_peak(big_path, None),
    }
    for name, peak in peaks.items():
        if not peak["ok"]:
            raise RuntimeError(f"the benchmark database failed verification ({name})")
    return peaks


def _mib(peak: dict[str, float]) -> str:
    return c.fmt(peak["peak_kib"] / 1024, "MiB")


def _rows(rate: dict[str, float], events: int, mem: dict[str, dict[str, float]]) -> list[c.Row]:
    raw, eng, one, replayed = rate["raw"], rate["split"], rate["one"], rate["replay"]
    small, big, split = mem["small"], mem["big"], mem["split"]
    mem_ratio = big["peak_kib"] / small["peak_kib"]
    replay_ratio = mem["big replay"]["peak_kib"] / mem["small replay"]["peak_kib"]
    label = f"{events / 1e6:.1f}M events" if events >= 1e6 else f"{events / 1e3:.0f}k events"
    at = f"{big['events']:,} vs {small['events']:,} events"
    return [
        c.Row(f"`audit verify --no-replay` (the hash chains) rate over {label} vs raw sqlite3 read "
              "in chain order", f"{eng:,.0f} events/s", f"{raw:,.0f} rows/s", f"{eng / raw:.0%}",
              f">= {RATE_TARGET:.0%}", c.yes_no(eng / raw >= RATE_TARGET)),
        c.Row("the same in one process (`--jobs 1`)", f"{one:,.0f} events/s", f"{raw:,.0f} rows/s",
              f"{one / raw:.0%}", "reported", "—"),
        c.Row(f"`audit verify` (the hash chains, then every chain replayed against the state tables) "
              f"over {label}", f"{replayed:,.0f} events/s", f"the hash chains alone: {eng:,.0f} events/s",
              f"{replayed / eng:.0%}", "reported", "—"),
        c.Row(f"`audit verify --jobs 1 --no-replay` peak RSS at {at}", _mib(big), _mib(small),
              f"{mem_ratio:.2f}x", f"<= {MEMORY_TARGET:g}x", c.yes_no(mem_ratio <= MEMORY_TARGET)),
        c.Row(f"`audit verify --jobs 1` (with the state check) peak RSS at {at}", _mib(mem["big replay"]),
              _mib(mem["small replay"]), f"{replay_ratio:.2f}x", f"<= {MEMORY_TARGET:g}x",
              c.yes_no(replay_ratio <= MEMORY_TARGET)),
        c.Row(f"`audit verify --no-replay` (default: {split['workers'] + 1} processes) at "
              f"{split['events']:,} events, all processes' peaks added", _mib(split), "—", "—",
              "reported", "—"),
    ]


def run(args: object) -> str:
    big_n, small_n, reps = sizes(args.quick)  # type: ignore[attr-defined]
    big_path, _ = _dataset.database(args.data_dir, big_n, log=c.log)  # type: ignore[attr-defined]
    small_path, _ = _dataset.database(args.data_dir, small_n, log=c.log)  # type: ignore[attr-defined]
    from workflow.storage.audit.parallel import default_jobs

    rate, events = _rates(big_path, reps)
    mem = _memory(small_path, big_path)
    notes = [
        f"Rates: median of {reps} alternated repetitions over {big_path.name}; the raw read fetches every "
        f"row of `{RAW_SQL}`. The file is read into the OS page cache before each reader starts (this VM "
        "reclaims file pages idle for ~40 s), so both read the same cached file.",
        f"The hash pass splits a SQLite file of 250k events or more into {default_jobs()} ranges of chains "
        "(one process per core, up to 4): this process verifies the first (a head start's worth larger) "
        "and a worker each of the others. The state check then replays every chain in this process "
        "(parsing every event's data, rebuilding each project, comparing its rows), which bounds the "
        "replay row's rate.",
        "Memory: peak RSS (VmHWM) of a fresh process per size verifying in one pass, the streaming the "
        "target is about (peak with the engine open, before verifying: "
        f"{mem['small']['before_kib'] / 1024:.1f} / {mem['big']['before_kib'] / 1024:.1f} MiB); a split "
        "run holds one such process per range.",
    ]
    return c.table("Verifying the audit trail", _rows(rate, events, mem), notes)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child-verify":
        _child(Path(sys.argv[2]), int(sys.argv[3]) or None, sys.argv[4] == "1")
        return
    c.terminate_cleanly()
    print(run(c.parser(__doc__.splitlines()[0]).parse_args()))


if __name__ == "__main__":
    main()
