"""Instructions per engine command, counted by valgrind's callgrind: a figure load does not move.

Timings on a shared machine drift with whatever else runs; the instructions a command
executes do not. This runs the command mix of ``bench_commands.py`` (task done, approve,
advance, 3:2:1, round robin over projects) on SQLite twice under callgrind, once with
``--commands N`` and once with ``2N`` after the same set-up and warm-up, and reports the
difference divided by N: the instructions of one command, set-up excluded.

    python benchmarks/instructions.py [--commands 300] [--profile OUT] [--pg URL]

``--profile OUT`` keeps the second run's callgrind file (``callgrind_annotate OUT``).
Not part of ``run.py``: valgrind is not everywhere, and a run takes a minute.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = r"""
import contextlib, sys, tempfile
sys.path.insert(0, {here!r})
import _common as c
from bench_commands import _build
from workflow.engine import Engine

count, pg = int(sys.argv[1]), sys.argv[2]
with contextlib.ExitStack() as stack:
    if pg:
        url, _info = stack.enter_context(c.pg_scratch_database(pg, "instructions"))
    else:
        url = c.sqlite_url(__import__("pathlib").Path(stack.enter_context(tempfile.TemporaryDirectory()))
                           / "engine.db")
    engine = Engine(url)
    schedule = _build(engine, 10, 12, "CG")
    for _kind, cmd in schedule[:60]:
        cmd()
    for _kind, cmd in schedule[60:60 + count]:
        cmd()
    engine.close()
"""


def instructions(count: int, out: Path, pg: str) -> int:
    code = CHILD.format(here=str(HERE))
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", code,
         str(count), pg],
        check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    text = out.read_text(errors="replace")
    match = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    assert match, "no totals in the callgrind output"
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=300,
                        help="N: commands in the first run (default 300)")
    parser.add_argument("--profile", type=Path, help="keep the second run's callgrind output here")
    parser.add_argument("--pg", default="", metavar="URL",
                        help="PostgreSQL instead (a scratch database next to URL): this process's "
                             "instructions only, not the server's")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        one = instructions(args.commands, Path(tmp) / "one.out", args.pg)
        two = instructions(2 * args.commands, Path(tmp) / "two.out", args.pg)
        if args.profile is not None:
            shutil.copy(Path(tmp) / "two.out", args.profile)
    per = (two - one) / args.commands
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"{backend} command mix 3:2:1: {per / 1e6:.3f} M instructions per command "
          f"({args.commands} more commands: {two - one:,} instructions)")


if __name__ == "__main__":
    main()
