"""The full-size kill -9 loop: at least 200 kills per backend (CI runs 40, tests/system/test_killloop.py).

    python benchmarks/killloop.py --kills 200                      # SQLite and PostgreSQL
    python benchmarks/killloop.py --kills 200 --backend sqlite
    python benchmarks/killloop.py --kills 200 --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Worker processes run writing commands in a loop; one at a time is killed with SIGKILL
0-200 ms into its work and restarted. After every kill: SQLite's integrity check (or
PostgreSQL answering), every chain verifies, stored state equals the replay of history,
and every command a worker was told succeeded is stored. See tests/support/killing.py.
PostgreSQL runs in a fresh schema of the given database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for path in (REPO, REPO / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from support.killing import run_kill_loop  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=200, help="kills per backend (default 200)")
    parser.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"a PostgreSQL database URL (default {DEFAULT_PG})")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="phasegate-killloop-") as tmp:
        work = Path(tmp)
        if args.backend in ("sqlite", "both"):
            (work / "sqlite").mkdir()
            url = f"sqlite:///{work}/killloop.db"
            print(f"sqlite: {args.kills} kills, {args.workers} workers", flush=True)
            result = run_kill_loop(url, work / "sqlite", kills=args.kills, workers=args.workers,
                                   seed=args.seed, log=lambda s: print(s, flush=True))
            print(f"sqlite: {result.line()}", flush=True)
        if args.backend in ("postgresql", "both"):
            (work / "pg").mkdir()
            base = make_url(args.pg).set(drivername="postgresql+psycopg")
            schema = f"killloop_{secrets.token_hex(4)}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                url = base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
                    hide_password=False)
                print(f"postgresql: {args.kills} kills, {args.workers} workers", flush=True)
                result = run_kill_loop(url, work / "pg", kills=args.kills, workers=args.workers,
                                       seed=args.seed, log=lambda s: print(s, flush=True))
                print(f"postgresql: {result.line()}", flush=True)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
    return 0  # a failed check raises (exit 1, with the broken invariant named)


if __name__ == "__main__":
    sys.exit(main())
