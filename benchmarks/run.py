"""Run the benchmark suite of issue 6 and write the tables to stdout and benchmarks/results.md.

    python benchmarks/run.py            # full size (builds a 2M-event database once, cached)
    python benchmarks/run.py --quick    # scaled down, about two minutes on a warm cache
    python benchmarks/run.py --only scale --only verify
    python benchmarks/run.py --profile  # and where the time goes on the hot paths
    python benchmarks/run.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Each script also runs alone (``python benchmarks/bench_scale.py --quick``). PostgreSQL
rows are skipped, with a note, when the server does not answer.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

# Cheapest first; start-up last, as it needs the command line.
SUITE = {
    "commands": "bench_commands",
    "scale": "bench_scale",
    "verify": "bench_verify",
    "lists": "bench_lists",
    "concurrency": "bench_concurrency",
    "soak": "bench_soak",
    "web": "bench_web",
    "schedule": "bench_schedule",
    "server": "bench_server",
    "exposure": "bench_exposure",
    "startup": "bench_startup",
    "notify": "bench_notify",
    "deliverables": "bench_deliverables",
    "insights": "bench_insights",
}
RESULTS = Path(__file__).resolve().parent / "results.md"


def main() -> None:
    c.terminate_cleanly()
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--only", action="append", choices=sorted(SUITE), metavar="NAME",
                   help=f"run only this benchmark (repeatable): {', '.join(SUITE)}")
    p.add_argument("--phasegate", help="bench_startup: an installed `phasegate` console script to time")
    p.add_argument("--profile", action="store_true",
                   help="append profiles of the hot paths (benchmarks/profile_paths.py): statements per "
                        "command, where the time goes")
    p.add_argument("--output", type=Path, default=RESULTS,
                   help=f"where to write the results (default {RESULTS})")
    args = p.parse_args()
    names = args.only or list(SUITE)

    header = [f"# phasegate benchmark results ({'quick' if args.quick else 'full'} run)", ""]
    header += [f"- {line}" for line in c.machine()]
    header += [f"- command: `python benchmarks/run.py{' --quick' if args.quick else ''}"
               f"{''.join(f' --only {n}' for n in args.only or [])}`", ""]
    print("\n".join(header), flush=True)
    sections = []
    failed = []
    for name in names:
        module = importlib.import_module(SUITE[name])
        print(f"<!-- running {name} -->", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            section = module.run(args)
        except Exception:
            failed.append(name)
            section = f"### {name}\n\nfailed:\n\n```\n{traceback.format_exc()}```\n"
        took = time.perf_counter() - t0
        section += f"\n_{name}: {took:.0f} s_\n"
        print(section, flush=True)
        sections.append(section)
    if args.profile:
        import profile_paths

        try:
            section = profile_paths.run(args)
        except Exception:
            failed.append("profile")
            section = f"### profile\n\nfailed:\n\n```\n{traceback.format_exc()}```\n"
        print(section, flush=True)
        sections.append(section)
    args.output.write_text("\n".join(header) + "\n" + "\n".join(sections))
    print(f"written to {args.output}", file=sys.stderr)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
