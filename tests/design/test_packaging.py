"""The wheel carries everything under the ``workflow`` package and nothing generic at the top."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
@pytest.mark.slow
def test_the_wheel_ships_definitions_migrations_and_cli_inside_the_workflow_package(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git",
            "*.db*",
            "__pycache__",
            ".pytest_cache",
            ".hypothesis",
            "dist",
            "build",
            "*.egg-info",
            ".venv",
        ),
    )
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("phasegate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"workflow", next(t for t in top if t.endswith(".dist-info"))}
    for required in (
        "workflow/cli/app.py",
        "workflow/engine/__init__.py",
        "workflow/definitions/large-agency.yaml",
        "workflow/definitions/digital-agency.yaml",
        "workflow/definitions/team-based.yaml",
        "workflow/migrations/env.py",
        "workflow/migrations/script.py.mako",
    ):
        assert required in names
    assert any(n.startswith("workflow/migrations/versions/") and n.endswith(".py") for n in names)
    entry_points = (
        zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    )
    assert "phasegate = workflow.cli:run" in entry_points


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
def test_the_source_tree_has_no_symlinks() -> None:
    """Symlinks break on checkouts without symlink support, and tools see two copies."""
    tracked = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    links = [line.split("\t", 1)[1] for line in tracked.stdout.splitlines() if line.startswith("120000")]
    assert links == []
