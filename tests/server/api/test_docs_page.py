"""``/api/v1/docs``: the API's documentation works under the app's Content-Security-Policy, from
files shipped in the package (no CDN, no inline script), and stays small.

The browser test uses ``tests/support/browser.py``'s site: a real ``phasegate serve`` and Debian's
Chromium, the test failing at its end on any CSP violation in the console or script error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.apiclients import api

from workflow.server.web import STATIC

pytestmark = pytest.mark.slow  # a real `phasegate serve`, and Chromium: 6.6 s a test (measured 2026-12-07)


def operation(method: str, path: str) -> str:
    """How Swagger UI names an operation's button (a zero-width space before each ``/``)."""
    return f"{method.lower()} " + path.replace("/", "\u200b/")


def test_the_api_docs_list_the_operations_under_the_apps_csp_with_nothing_from_elsewhere(site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = site.open()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto("/api/v1/docs")
    status = page.get_by_role("button", name=operation("GET", "/api/v1/projects/{code}"), exact=True)
    expect(status).to_be_visible()
    expect(page.get_by_role("button", name=operation("POST", "/api/v1/projects/{code}/approvals"),
                            exact=True)).to_be_visible()
    status.click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    site.shoot(page, "api-docs")
    assert asked and all(url.startswith(site.url + "/") for url in asked), asked


def test_the_docs_page_is_a_few_lines_naming_files_of_this_server_which_come_gzipped(sqlite_url: str) -> None:
    with api(sqlite_url) as client:
        page = client.get("/api/v1/docs")
        assert page.status_code == 200
        assert len(page.content) < 2048
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "unsafe" not in policy
        assert "<script>" not in page.text, "no inline script"
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources), sources
        for source in (s for s in sources if s.startswith("/static/")):
            shipped = (STATIC / source.removeprefix("/static/")).read_bytes()
            sent = client.get(source, headers={"Accept-Encoding": "gzip"})
            assert sent.status_code == 200 and sent.content == shipped, source
            if len(shipped) > 2048:  # Swagger UI's bundle is 1.8 MB as shipped
                assert sent.headers["Content-Encoding"] == "gzip", source
                assert sent.num_bytes_downloaded < len(shipped) / 2, source
    licence = Path(STATIC / "swagger-ui" / "LICENSE").read_text()
    assert "Apache License" in licence
