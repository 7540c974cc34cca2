"""A longer schemathesis run of the HTTP API against its own OpenAPI document than CI's.

    python benchmarks/schema_fuzz.py [--examples 2000] [--steps 20] [-- PYTEST-ARGS...]

Runs ``tests/server/api/test_http_schema.py`` (every operation, then the stateful run over the document's
links) with ``SCHEMATHESIS_EXAMPLES``/``SCHEMATHESIS_STEPS`` raised and the cases random rather
than CI's fixed ones; the exit status is pytest's. CI runs the same file with 8 examples an
operation, in well under a minute.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="cases per operation (CI: 8)")
    parser.add_argument("--steps", type=int, default=20, help="calls per stateful sequence (CI: 8)")
    parser.add_argument("pytest_args", nargs="*", help="more arguments for pytest, after --")
    args = parser.parse_args()
    env = {
        **os.environ,
        "SCHEMATHESIS_EXAMPLES": str(args.examples),
        "SCHEMATHESIS_STEPS": str(args.steps),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               str(ROOT / "tests" / "server" / "api" / "test_http_schema.py"), *args.pytest_args]
    return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
