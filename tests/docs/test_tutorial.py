"""The tutorial (docs/tutorial.md) runs as written, against a throw-away SQLite database (issue 22).

Every ```console line starting with `$ ` and every ```sh line is a command; they run in the page's order
in one bash session (so an `export` carries on), each expected to exit 0 or the code its trailing
`# exit N` names. The lines a console block shows under a command are its output: each must be a line the
command printed (`...` or `…` stands for anything). A line whose comment says "until Ctrl-C"
(`phasegate serve`) is not run. ```python blocks run at their place in the page, in the same environment.
The session runs in a temporary folder with a fake HOME and data directory, so nothing outside it is read
or written.
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
    return [(kind, code, expected) for kind, code, expected, _ in pieces_with_output(text)]


def pieces_with_output(text: str) -> list[tuple[str, str, int, list[str]]]:
    """As :func:`steps`, with the output lines the page shows under each console command."""
    found: list[tuple[str, str, int, list[str]]] = []
    for match in FENCE.finditer(text):
        lang, body = match[1], match[2]
        if lang == "console":
            for line in body.splitlines():
                if line.startswith("$ "):
                    expected = EXIT.search(line)
                    found.append(("sh", line[2:], int(expected[1]) if expected else 0, []))
                elif found and found[-1][0] == "sh" and line.strip():
                    found[-1][3].append(line)
            found = [piece for piece in found if "until Ctrl-C" not in piece[1]]
        elif lang in ("sh", "bash"):
            expected = EXIT.search(body)
            found.append(("sh", body, int(expected[1]) if expected and body.count("\n") <= 1 else 0, []))
        elif lang == "python":
            found.append(("python", body, 0, []))
    return found


def shown_lines_printed(shown: list[str], printed: str) -> list[str]:
    """The shown lines that no printed line matches (`...` and `…` match anything)."""
    lines = printed.splitlines()
    missing = []
    for line in shown:
        if line.strip() in ("...", "…"):
            continue
        pattern = ".*".join(re.escape(part) for part in re.split(r"\.\.\.|…", line.rstrip()))
        if not any(re.fullmatch(pattern, candidate.rstrip()) for candidate in lines):
            missing.append(line)
    return missing


def script(pieces: list[tuple[str, str, int]], outputs: Path | None = None) -> str:
    """One bash script: each piece, then a check of its exit code that stops the run with the piece's
    number (a ```sh block runs with `set -e`, so its first failing line fails it). With ``outputs``, each
    one-line command's stdout and stderr are also kept there as N.txt."""
    lines = ["set -u", f"phasegate() {{ {shlex.quote(sys.executable)} -m workflow.cli \"$@\"; }}",
             "export -f phasegate"]
    for number, (kind, code, expected) in enumerate(pieces, 1):
        if kind == "python":
            lines.append(f"{shlex.quote(sys.executable)} - <<'PHASEGATE_TUTORIAL_PY'\n{code}PHASEGATE_TUTORIAL_PY")
        elif "\n" in code.strip():
            lines.append(f"( set -e\n{code})")
        elif outputs is not None:
            kept = shlex.quote(str(outputs / f"{number}.txt"))
            lines.append(f"{{ {code}\n}} > {kept} 2>&1")
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
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    pieces = pieces_with_output(TUTORIAL.read_text(encoding="utf-8"))
    done = subprocess.run(["bash", "-c", script([piece[:3] for piece in pieces], outputs)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    printed = {int(path.stem): path.read_text(encoding="utf-8") for path in outputs.glob("*.txt")}
    failed = max(printed, default=0)
    assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-4000:] + printed.get(failed, "")[-4000:]
    assert (tmp_path / "tutorial.db").exists(), "the page's own database, in the working folder"
    assert (tmp_path / "checkpoint.json").exists() and (tmp_path / "audit.csv").exists()
    wrong = {pieces[number - 1][1]: missing for number, text in printed.items()
             if (missing := shown_lines_printed(pieces[number - 1][3], text))}
    assert wrong == {}, "lines the page shows that the command did not print"
    assert "completed" in printed[next(n for n, p in enumerate(pieces, 1) if "--status completed" in p[1])]


def test_shown_output_is_matched_line_by_line_with_ellipses_as_wildcards() -> None:
    printed = "phasegate demo\ndatabase: /tmp/phasegate-demo-x1y2/demo.db (thrown away afterwards)\nok\n"
    assert shown_lines_printed(["database: /tmp/phasegate-demo-…/demo.db (thrown away afterwards)", "..."],
                               printed) == []
    assert shown_lines_printed(["Error: nothing like this"], printed) == ["Error: nothing like this"]
