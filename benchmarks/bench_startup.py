"""Whole-process CLI timings against the bare cost of importing what each command needs.

* ``phasegate --json project status CODE`` on a prepared SQLite database vs
  ``python -c "import sqlalchemy, click, transitions"`` (target <= 1.3x);
* ``phasegate --help`` and ``phasegate template validate workflow/definitions/large-agency.yaml``
  vs ``python -c "import click, transitions"`` (target <= 1.5x, and SQLAlchemy must
  not be imported at all).

By default ``phasegate`` is the working tree's console entry point run the way the
installed script runs it (``python -c "from workflow.cli import main; sys.exit(main())"``
from the repository), with the same interpreter as the floors; ``--phasegate PATH``
times an installed console script instead (its floors then use the python beside it).
Every process is run 15-20 times (quick: 7), all five commands alternating, medians.
Which modules each command imports comes from one extra ``-X importtime`` run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

STATUS_TARGET = 1.3
LIGHT_TARGET = 1.5
ENTRY = "import sys; from workflow.cli import run; sys.argv[0] = 'phasegate'; run()"
HEAVY_MODULES = ("sqlalchemy", "alembic", "yaml", "psycopg", "platformdirs", "transitions", "workflow.engine")


def sizes(quick: bool) -> int:
    return 7 if quick else 19


def _prepare(db: Path) -> str:
    from workflow.engine import Engine

    url = c.sqlite_url(db)
    engine = Engine(url)
    try:
        engine.init(c.ADMIN)
        engine.create_project("WEB-1", template="digital-agency", actor=c.ADMIN, name="Website",
                              client="ACME")
        people = {"integrated_producer": "alice", "tech_creative_leads": "bob", "scrum_master": "carol"}
        for role, person in people.items():
            engine.assign("WEB-1", role, person, actor=c.ADMIN)
        engine.complete_task("WEB-1", "integrated_producer", actor="alice", note="kick-off held")
        engine.complete_task("WEB-1", "tech_creative_leads", actor="bob")
        engine.approve("WEB-1", "integrated_producer", actor="alice")
    finally:
        engine.close()
    return url


def _commands(args: Any, url: str) -> tuple[dict[str, list[str]], str]:
    if args.phasegate:
        exe = Path(args.phasegate)
        python = str(exe.parent / "python")
        pg = [python, str(exe)]
        how = f"installed console script {exe}"
    else:
        python = sys.executable
        pg = [python, "-c", ENTRY]
        how = ("the working tree's entry point "
               "(`python -c \"from workflow.cli import main; ...\"` from the repo)")
    large = str(c.REPO / "workflow" / "definitions" / "large-agency.yaml")
    cmds = {
        "status": [*pg, "--db", url, "--as", c.ADMIN, "--json", "project", "status", "WEB-1"],
        "floor_full": [python, "-c", "import sqlalchemy, click, transitions"],
        "help": [*pg, "--help"],
        "validate": [*pg, "template", "validate", large],
        "floor_light": [python, "-c", "import click, transitions"],
    }
    return cmds, how


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHASEGATE_", "PYTHON"))}
    return env


def _imports(cmd: list[str]) -> tuple[set[str], list[tuple[int, str]]]:
    """(top-level modules imported, [(cumulative us, module)] of top-level imports) from ``-X importtime``."""
    run = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, cwd=c.REPO,
                         env=_env())
    modules: set[str] = set()
    tops: list[tuple[int, str]] = []
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, raw = line[len("import time:"):].split("|")
        name = raw[1:]  # one space follows the bar; nested imports are indented further
        modules.add(name.strip())
        if not name.startswith(" "):  # a top-level import (not nested in another)
            tops.append((int(cumulative), name.strip()))
    tops.sort(reverse=True)
    return modules, tops


def run(args: Any) -> str:
    reps = sizes(args.quick)
    with c.scratch_dir(args.data_dir, "startup-") as tmp:
        url = _prepare(tmp / "startup.db")
        cmds, how = _commands(args, url)
        env = _env()
        for name, cmd in cmds.items():  # warm the bytecode caches; fail loudly on a broken command
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=c.REPO, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"{name}: {' '.join(cmd)} exited {done.returncode}: {done.stderr[-500:]}")
        times: dict[str, list[float]] = {k: [] for k in cmds}
        for _ in range(reps):
            for name, cmd in cmds.items():
                t0 = time.perf_counter_ns()
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=c.REPO, env=env,
                               check=False)
                times[name].append((time.perf_counter_ns() - t0) / 1e6)
        imports = {name: _imports(cmds[name]) for name in ("status", "help", "validate")}
    med = {k: c.median(v) for k, v in times.items()}
    note = {k: f" (p95 {c.p95(v):.0f})" for k, v in times.items()}
    rows = [
        c.ratio_row("`phasegate --json project status CODE` vs `import sqlalchemy, click, transitions`",
                    med["status"], med["floor_full"], STATUS_TARGET, measured_note=note["status"],
                    floor_note=note["floor_full"]),
        c.ratio_row("`phasegate --help` vs `import click, transitions`", med["help"], med["floor_light"],
                    LIGHT_TARGET, measured_note=note["help"], floor_note=note["floor_light"]),
        c.ratio_row("`phasegate template validate workflow/definitions/large-agency.yaml` vs "
                    "`import click, transitions`", med["validate"], med["floor_light"], LIGHT_TARGET,
                    measured_note=note["validate"], floor_note=note["floor_light"]),
    ]
    for name in ("help", "validate"):
        sa = "sqlalchemy" in imports[name][0]
        shown = "--help" if name == "help" else "template validate"
        rows.append(c.Row(f"`phasegate {shown}` imports SQLAlchemy",
                          "yes" if sa else "no", "—", "—", "no", c.yes_no(not sa)))
    alembic = "alembic" in imports["status"][0]
    rows.append(c.Row("`phasegate project status` imports alembic", "yes" if alembic else "no", "—", "—",
                      "no", c.yes_no(not alembic)))
    notes = [f"phasegate run as {how}; {reps} runs of each process, all five alternating; "
             "medians (p95) in ms."]
    for name, (mods, tops) in imports.items():
        heavy = ", ".join(m for m in HEAVY_MODULES if m in mods) or "none of them"
        top = ", ".join(f"{m} {us / 1000:.0f} ms" for us, m in tops[:6])
        notes.append(f"`{name}` imports {len(mods)} modules; of {', '.join(HEAVY_MODULES)}: {heavy}. "
                     f"Costliest top-level imports (`-X importtime`, cumulative): {top}.")
    return c.table("Start-up of the command line", rows, notes)


def main() -> None:
    c.terminate_cleanly()
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--phasegate",
                   help="an installed `phasegate` console script to time instead of the working tree")
    print(run(p.parse_args()))


if __name__ == "__main__":
    main()
