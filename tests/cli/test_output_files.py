"""Files the CLI writes (--output, --html): one rule for every command (issue 16, item 9).

Written under a fresh name in the target's folder and renamed into place on success;
nothing is followed, overwritten or deleted that the command did not create; a refused
command creates no file; an existing file is replaced only with --force.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli_runs import Run, cli_session, must_succeed


@pytest.fixture
def run(tmp_path: Path, transport: str) -> Iterator[Run]:
    """On the database, and through a server on it: the file is written here either way."""
    with cli_session(f"sqlite:///{tmp_path}/out.db", transport) as run:
        ok = must_succeed(run)
        ok("init", "--admin", "ana")
        ok("grant", "olga", "auditor")
        ok("project", "create", "P-1", "--template", "team-based")
        ok("project", "assign", "P-1", "integrated_producer", "ana")
        yield run


COMMANDS = {
    "export": lambda target: ["audit", "export", "--format", "csv", "--output", target],
    "checkpoint": lambda target: ["audit", "checkpoint", "--output", target],
    "report": lambda target: ["report", "P-1", "--html", target],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_planted_symlink_or_partial_file_is_never_followed_or_removed(
    run: Run, tmp_path: Path, command: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "shared.out"
    (tmp_path / "shared.out.partial").symlink_to(victim)  # the old fixed temporary name
    (tmp_path / ".shared.out.partial").write_text("someone else's")
    result = run(*COMMANDS[command](str(target)), actor="olga" if command != "report" else "ana")
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious"
    assert (tmp_path / "shared.out.partial").is_symlink()
    assert (tmp_path / ".shared.out.partial").read_text() == "someone else's"
    assert target.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir() if "shared" in p.name) == [
        ".shared.out.partial", "shared.out", "shared.out.partial"]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_refuses_to_replace_a_file_without_force(run: Run, tmp_path: Path, command: str) -> None:
    target = tmp_path / "existing.out"
    target.write_text("keep me")
    actor = "olga" if command != "report" else "ana"
    refused = run(*COMMANDS[command](str(target)), actor=actor)
    assert refused.exit_code == 2 and "exists already; use --force to replace it" in refused.stderr
    assert target.read_text() == "keep me"
    replaced = run(*COMMANDS[command](str(target)), "--force", actor=actor)
    assert replaced.exit_code == 0, replaced.output
    assert target.read_text() != "keep me"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_refused_command_creates_no_file(run: Run, tmp_path: Path, command: str) -> None:
    target = tmp_path / "never.out"
    refused = run(*COMMANDS[command](str(target)), actor="mallory")
    assert refused.exit_code == 4
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if "never" in p.name] == []


def test_a_symlink_at_the_target_is_replaced_only_with_force_and_never_written_through(
    run: Run, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "link.csv"
    target.symlink_to(victim)
    assert run("audit", "export", "--output", str(target), actor="olga").exit_code == 2
    assert run("audit", "export", "--output", str(target), "--force", actor="olga").exit_code == 0
    assert victim.read_text() == "precious" and not target.is_symlink()
