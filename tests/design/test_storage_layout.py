"""The storage package stays small enough to read: no folder of more than 15 modules, no module of
more than 400 lines (issue 20). Scoped to workflow/storage/, the package this guard was written
with; the rest of the package has guards of its own or none yet."""

from __future__ import annotations

from pathlib import Path

import workflow

STORAGE = Path(workflow.__file__).resolve().parent / "storage"
MAX_MODULES = 15  # a package's own __init__.py not counted
MAX_LINES = 400


def test_no_storage_folder_holds_more_than_15_modules() -> None:
    crowded = {}
    for folder in [STORAGE, *(p for p in STORAGE.rglob("*") if p.is_dir() and p.name != "__pycache__")]:
        modules = [p.name for p in folder.glob("*.py") if p.name != "__init__.py"]
        if len(modules) > MAX_MODULES:
            crowded[str(folder.relative_to(STORAGE.parent))] = len(modules)
    assert not crowded, f"more than {MAX_MODULES} modules: {crowded}; group them in a subpackage by purpose"


def test_no_storage_module_is_longer_than_400_lines() -> None:
    long = {str(p.relative_to(STORAGE.parent)): n for p in sorted(STORAGE.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"more than {MAX_LINES} lines: {long}"
