"""The Insights page (issue 25): the numbers of ``GET /api/v1/insights`` for the same filters, as charts
(server-drawn SVG, each an image named by its title) with their tables, a CSV download, links from the
projects over their due date to their pages, a form of the same filters, hostile names escaped, an
empty state that reads well; and in Chromium: at desktop and phone width, with axe-core inside."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect
from starlette.testclient import TestClient
from support.apiclients import api
from support.browser import AXE, DESKTOP, PHONE, Site, axe_script, settle, unavailable, with_axe
from support.insight_agency import HOSTILE, PASSWORD, agency, half_year
from support.schedules import moved_clock

from workflow import Engine


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The agency's four projects on a fixed clock, kept fixed while the module's tests read them (they
    only read)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('insights')}/insights.db"
    with moved_clock() as clock:
        with Engine(url) as e:
            agency(e, clock)
        yield url


def signed_in(url: str, login: str) -> Iterator[TestClient]:
    with api(url) as c:
        assert c.post("/api/v1/me/session", json={"login": login, "password": PASSWORD}).status_code == 200
        yield c


@pytest.fixture
def ana(history: str) -> Iterator[TestClient]:
    yield from signed_in(history, "ana")


def cells(page: str, table_caption: str) -> list[list[str]]:
    """The rows of the table with this caption, each cell's text."""
    start = page.index(f'<caption class="muted">{table_caption}</caption>')
    body = page[start:page.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)[1:]  # after the headings
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S)] for r in rows]


def document(c: TestClient, **filters: Any) -> dict[str, Any]:
    answer = c.get("/api/v1/insights", params={k: v for k, v in filters.items() if v is not None})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


# -- the page in-process ------------------------------------------------------------------------------


def test_the_page_draws_each_chart_as_an_image_named_by_its_title_with_its_table(ana: TestClient) -> None:
    page = ana.get("/insights")
    assert page.status_code == 200
    text = page.text
    for title in ("Time in phase", "Rounds per gate", "Cycle time, month by month"):
        assert re.search(rf'<svg [^>]*role="img" aria-labelledby="([^"]+)-title \1-desc">\s*'
                         rf'<title id="\1-title">{re.escape(title)}(: [^<]+)?</title>', text), title
    assert text.count('<svg ') == text.count('role="img" aria-labelledby=')  # every chart named
    assert 'style="' not in text and "<script>" not in text.split("</head>")[1]  # the CSP holds


def test_the_page_says_the_numbers_of_the_json_for_the_same_filters(ana: TestClient) -> None:
    from workflow.reports.insights_svg import insights_view
    from workflow.server.web.insights import role_titles

    for filters in ({}, {"template": "timed-team"}, {"client": "Acme"}):
        page = ana.get("/insights?" + urlencode(filters))
        assert page.status_code == 200
        doc = document(ana, **filters)
        with Engine(str(ana.app.state.engine.url)) as e:  # type: ignore[attr-defined]
            view = insights_view(doc, roles=role_titles(e, doc))
        parts = [part for section in view.sections for part in section.parts if part.rows]
        assert len(parts) >= 5
        for part in parts:
            shown = cells(page.text, part.caption)
            assert shown == [[c if isinstance(c, str) else f"{c.text} {c.more}".strip() for c in row]
                             for row in part.rows], (filters, part.key)


def test_the_projects_over_their_due_date_link_to_their_pages(ana: TestClient) -> None:
    text = ana.get("/insights").text
    assert '<a href="/projects/P-2">P-2</a>' in text


def test_the_csv_link_gives_the_csv_of_the_same_filters(ana: TestClient) -> None:
    text = ana.get("/insights?client=Acme").text
    href = html.unescape(re.search(r'<a href="([^"]+)" download="insights.csv" hx-boost="false">', text).group(1))  # type: ignore[union-attr]
    assert href == "/api/v1/insights?client=Acme&format=csv"
    answer = ana.get(href)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.text == ana.get("/api/v1/insights?client=Acme", headers={"Accept": "text/csv"}).text


def test_the_form_keeps_the_filters_it_was_given(ana: TestClient) -> None:
    text = ana.get("/insights?template=timed-team&version=1&client=Acme&since=2026-12-01&until=2026-12-31").text
    assert '<option value="timed-team" selected>' in text
    for name, value in (("version", "1"), ("client", "Acme"), ("since", "2026-12-01"), ("until", "2026-12-31")):
        assert re.search(rf'<input id="i-{name}" name="{name}"[^>]* value="{value}"', text), name


def test_a_bad_filter_is_refused_with_its_sentence_on_the_page(ana: TestClient) -> None:
    for query, status in (("version=two", 422), ("since=yesterday", 422), ("template=no-such", 404)):
        page = ana.get("/insights?" + query)
        assert page.status_code == status, (query, page.status_code)
        assert 'role="alert"' in page.text and '<form class="filters"' in page.text


def test_hostile_names_and_reasons_are_escaped_in_charts_and_tables(history: str) -> None:
    for c in signed_in(history, "root"):
        text = c.get("/insights").text
        assert HOSTILE not in text and "<img src=x" not in text
        assert html.escape("<script>alert(1)</script>") in text  # the rejection's reason, shown as text


def test_a_person_who_reads_no_project_gets_a_page_that_says_so(history: str) -> None:
    for c in signed_in(history, "out"):
        page = c.get("/insights")
        assert page.status_code == 200
        assert "No project matches these filters, or none you may read yet" in page.text
        assert "<svg" not in page.text.split('<main id="main"')[1]


# -- in Chromium, against a real server ----------------------------------------------------------------


def four_weeks_ago_monday() -> datetime:
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday() + 28)


@pytest.fixture
def agency_site(site: Site) -> Site:
    """The agency's history on the site's database, dated in the past (the server's clock is the real one)."""
    with moved_clock(four_weeks_ago_monday()) as clock, site.engine() as e:
        agency(e, clock)
    return site


@pytest.mark.slow
def test_the_page_at_desktop_and_phone_width_has_no_serious_accessibility_violation(agency_site: Site) -> None:
    """Screenshots for a person to look at; never wider than the screen (a wide table scrolls in its box);
    axe-core inside the page, light and dark."""
    if axe_script() is None:
        unavailable("axe-core is not installed: npm ci --prefix tests/axe")
    ana = agency_site.open("ana")
    found = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        ana.set_viewport_size(viewport)
        ana.goto("/insights")
        expect(ana.get_by_role("heading", name="Insights", level=1)).to_be_visible()
        expect(ana.get_by_role("img", name=re.compile(r"^Time in phase"))).to_be_visible()
        assert agency_site.shoot(ana, f"insights-{label}").stat().st_size > 5000
        width = ana.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the page is wider than the {label} screen ({width}px)"
        ana.route("**/__axe__.js", with_axe)
        ana.add_script_tag(url="/__axe__.js")
        for scheme in ("light", "dark"):
            ana.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            found += [f"{label} ({scheme}): {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
                      for v in ana.evaluate(AXE) if v["impact"] in ("serious", "critical")]
        ana.emulate_media(color_scheme="light")
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_a_producer_filters_downloads_the_csv_and_follows_an_overdue_project(agency_site: Site) -> None:
    ana = agency_site.open("ana")
    ana.goto("/")
    ana.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    form = ana.get_by_role("search", name="Filter the insights")
    form.get_by_label("Template").select_option("timed-team")
    form.get_by_label("Client").fill("Acme")
    form.get_by_role("button", name="Show").click()
    settle(ana)
    assert "template=timed-team" in ana.url and "client=Acme" in ana.url
    expect(ana.get_by_role("search", name="Filter the insights").get_by_label("Client")).to_have_value("Acme")
    with ana.expect_download() as download:
        ana.get_by_role("link", name="Download these figures as CSV").click()
    got = Path(download.value.path()).read_text(encoding="utf-8")
    with agency_site.engine() as e:
        expected = e.insights(viewer="ana", template="timed-team", client="Acme").to_csv()
    assert got.splitlines()[0] == expected.splitlines()[0] and len(got.splitlines()) == len(expected.splitlines())
    overdue = ana.get_by_role("table", name="Projects over their due date")
    overdue.get_by_role("link", name="P-2").click()
    expect(ana.get_by_role("heading", name="P-2", level=1)).to_be_visible()


@pytest.mark.slow
def test_half_a_year_of_projects_reads_at_a_glance_at_desktop_and_phone_width(site: Site) -> None:
    """The screenshot of the docs (docs/web-insights.png): 26 projects started a week apart, two template
    versions; the trend has a column a month, every chart its table, and the phone scrolls nothing but
    the charts' and tables' own boxes."""
    now = datetime.now(UTC)
    start = (now - timedelta(days=now.weekday() + 26 * 7)).replace(hour=9, minute=0, second=0, microsecond=0)
    with moved_clock(start) as clock, site.engine() as e:
        half_year(e, clock, until=now - timedelta(hours=1))
    ana = site.open("ana")
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        ana.set_viewport_size(viewport)
        ana.goto("/insights")
        trends = ana.get_by_role("img", name=re.compile(r"^Cycle time, month by month"))
        expect(trends).to_have_count(2)  # one per template version
        assert ana.locator("svg.chart-columns rect.bar").count() >= 6
        expect(ana.get_by_role("heading", name="Timed team v2", level=3).first).to_be_visible()
        site.shoot(ana, f"insights-half-year-{label}")
        assert ana.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
