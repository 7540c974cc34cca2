"""The tutorial (docs/tutorial.md) runs as written, against a throw-away SQLite database (issue 22).

Every ```console line starting with `$ ` and every ```sh line is a command; they run in the page's order
in one bash session (so an `export` carries on), each expected to exit 0 or the code its trailing
`# exit N` names. A line whose comment says "until Ctrl-C" (`phasegate serve`) is not run. ```python
blocks run at their place in the page, in the same environment. The session runs in a temporary folder
with a fake HOME and data directory, so nothing outside it is read or written.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
EXIT = re.compile(r"#\s*exit (\d+)\b")


def steps(text: str) -> list[tuple[str, str, int]]:
    """(kind, code, expected exit) for every runnable piece of the page, in its order: kind is "sh" (one
    command line, or a whole ```sh block) or "python" (a whole block)."""
    found: list[tuple[str, str, int]] = []
    for match in FENCE.finditer(text):
        lang, body = match[1], match[2]
        if lang == "console":
            for line in body.splitlines():
                if line.startswith("$ ") and "until Ctrl-C" not in line:
                    expected = EXIT.search(line)
                    found.append(("sh", line[2:], int(expected[1]) if expected else 0))
        elif lang in ("sh", "bash"):
            expected = EXIT.search(body)
            found.append(("sh", body, int(expected[1]) if expected and body.count("\n") <= 1 else 0))
        elif lang == "python":
            found.append(("python", body, 0))
    return found


def script(pieces: list[tuple[str, str, int]]) -> str:
    """One bash script: each piece, then a check of its exit code that stops the run with the piece's
    number (a ```sh block runs with `set -e`, so its first failing line fails it)."""
    lines = ["set -u", f"phasegate() {{ {shlex.quote(sys.executable)} -m workflow.cli \"$@\"; }}",
             "export -f phasegate"]
    for number, (kind, code, expected) in enumerate(pieces, 1):
        if kind == "python":
            lines.append(f"{shlex.quote(sys.executable)} - <<'PHASEGATE_TUTORIAL_PY'\n{code}PHASEGATE_TUTORIAL_PY")
        elif "\n" in code.strip():
            lines.append(f"( set -e\n{code})")
        else:
            lines.append(code)
        lines.append(f'rc=$?; if [ "$rc" -ne {expected} ]; then '
                     f'echo "tutorial step {number} exited $rc, the page says {expected}" >&2; exit 99; fi')
    return "\n".join(lines) + "\n"


def test_the_page_has_commands_in_order_and_marks_the_refusals() -> None:
    pieces = steps(TUTORIAL.read_text(encoding="utf-8"))
    assert [kind for kind, _, _ in pieces].count("python") >= 1
    commands = [code for kind, code, _ in pieces if kind == "sh"]
    assert commands[0].strip() == "phasegate demo"
    assert any(expected == 1 for _, _, expected in pieces), "the refused advance is marked # exit 1"
    assert not any("phasegate serve" in code for code in commands), "the server line is not run"


@pytest.mark.slow
def test_every_command_of_the_tutorial_runs_as_the_page_says(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PHASEGATE_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               PHASEGATE_DB=f"sqlite:///{tmp_path / 'throwaway.db'}", USER="tutorial", LOGNAME="tutorial",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    done = subprocess.run(["bash", "-c", script(steps(TUTORIAL.read_text(encoding="utf-8")))], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-4000:]
    assert (tmp_path / "tutorial.db").exists(), "the page's own database, in the working folder"
    assert (tmp_path / "checkpoint.json").exists() and (tmp_path / "audit.csv").exists()
    assert "completed" in done.stdout
