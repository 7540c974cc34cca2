"""The template format is documented in the repository itself (docs/use/template-format.md), every key the
schema allows named there, and the README points to it, not outside the repository (issue 21, LOW; the page
moved under the admins' part of the docs site in issue 22)."""

from __future__ import annotations

import re
from pathlib import Path

from workflow.domain.templates import schema

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "use" / "template-format.md"


def test_the_format_page_names_every_key_the_schema_allows() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = text[text.index("```yaml"):text.index("```", text.index("```yaml") + 3)]
    missing = [f"{level}.{key}" for level, fields in schema.LEVELS.items() for key in fields
               if not re.search(rf"(^|[\s{{,-]){re.escape(key)}:", example, re.MULTILINE)]
    assert missing == []


def test_the_readme_links_the_format_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+)\)", readme)
    assert "docs/use/template-format.md" in links
    assert not [link for link in links if link.startswith("../")]
    for link in links:
        if "://" not in link and not link.startswith("#"):
            assert (ROOT / link.split("#")[0]).exists(), link


def test_the_docs_document_password_stdin_and_the_calendar_url() -> None:
    """Both are a team member's (docs/use/team-members.md; the README was their page before issue 22)."""
    page = (ROOT / "docs" / "use" / "team-members.md").read_text(encoding="utf-8")
    assert "--password-stdin" in page
    key = page[page.index("POST /api/v1/me/calendar-key"):][:200]
    assert '{"url": ...}' in key
