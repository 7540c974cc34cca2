"""The rest of the package stays as small as storage's guard keeps workflow/storage/
(tests/design/test_storage_layout.py): no folder of more than 15 modules, no module of more than
400 lines (issue 20). The Alembic scripts are history, never edited once applied: not counted."""

from __future__ import annotations

from pathlib import Path

import workflow

PACKAGE = Path(workflow.__file__).resolve().parent
SKIPPED = ("storage", "migrations")  # storage: its own guard; migrations: history
MAX_MODULES = 15  # a package's own __init__.py not counted, as in storage's guard
MAX_LINES = 400


def _ours(path: Path) -> bool:
    return path.relative_to(PACKAGE).parts[0] not in SKIPPED and "__pycache__" not in path.parts


def test_no_folder_holds_more_than_15_modules() -> None:
    folders = [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir() and _ours(p))]
    crowded = {str(f.relative_to(PACKAGE.parent)): n for f in folders
               if (n := len([p for p in f.glob("*.py") if p.name != "__init__.py"])) > MAX_MODULES}
    assert not crowded, f"more than {MAX_MODULES} modules: {crowded}; group them in a subpackage by purpose"


def test_no_module_is_longer_than_400_lines() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in sorted(PACKAGE.rglob("*.py")) if _ours(p)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"more than {MAX_LINES} lines: {long}; split it by purpose"
