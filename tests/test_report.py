"""Timelines: phase visits with work and gate waits, the HTML page, and a template's medians."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from workflow import Engine
from workflow.errors import NotFound, NotPermitted
from workflow.reports.timeline import duration, report_lines, template_report_lines
from workflow.reports.html import render_html

TEAM = {"integrated_producer": "ana", "team": "fay"}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="ana")
        e.grant("olga", "auditor", actor="ana")
        yield e


def start(engine: Engine, code: str) -> None:
    engine.create_project(code, template="team-based", actor="ana")
    for role, person in TEAM.items():
        engine.assign(code, role, person, actor="ana")


def finish_phase(engine: Engine, code: str) -> None:
    status = engine.status(code)
    for task in status.tasks:
        if not task.done:
            engine.complete_task(code, task.role, actor=TEAM[task.role])
    assert status.gate is not None
    for role in status.gate.missing:
        engine.approve(code, role, actor=TEAM[role], comment=f"{role} ok")
    engine.advance(code, actor="ana")


def with_rejection(engine: Engine, code: str) -> None:
    """Kick-off passes; production kick-off is rejected once by the team, then passes."""
    start(engine, code)
    finish_phase(engine, code)
    engine.complete_task(code, "integrated_producer", actor="ana")
    engine.complete_task(code, "team", actor="fay")
    engine.approve(code, "integrated_producer", actor="ana")
    engine.reject(code, "team", actor="fay", reason="scope unclear")
    finish_phase(engine, code)


def test_the_report_has_one_visit_per_phase_round_with_work_waits_and_signers(engine: Engine) -> None:
    with_rejection(engine, "P-1")
    rep = engine.report("P-1", actor="fay")
    kickoff, production_1, production_2, third = rep.visits
    assert [(v.phase, v.round, v.ended_by) for v in rep.visits] == [
        ("client_kickoff", 1, "advance"),
        ("production_kickoff", 1, "reject"),
        ("production_kickoff", 2, "advance"),
        (third.phase, 1, None),
    ]
    assert production_1.ended_at == production_2.started_at
    assert third.ended_at is None and third.tasks_done_at is None
    assert [(w.role, w.person) for w in kickoff.waits] == [("integrated_producer", "ana"), ("team", "fay")]
    assert all(w.wait_seconds is not None and w.wait_seconds >= 0 for w in kickoff.waits)
    assert kickoff.work_seconds >= 0 and kickoff.tasks_done_at is not None
    assert [(s.person, s.decision) for s in production_1.signatures] == [
        ("ana", "approved"),
        ("fay", "rejected"),
    ]
    assert production_1.signatures[1].comment == "scope unclear"
    assert "round 2" in production_2.signatures[0].meaning

    text = "\n".join(report_lines(rep))
    assert "Production Kick-Off, round 2:" in text
    assert "waiting on Team:" in text and "fay rejected as Team: scope unclear" in text


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_html_report_is_one_page_with_one_svg_bar_per_phase_visit(engine: Engine) -> None:
    with_rejection(engine, "P-1")
    rep = engine.report("P-1")
    page = _Page()
    page.feed(render_html(rep))
    page.close()
    names = [t for t, _ in page.tags]
    assert names.count("svg") == 1 and "script" not in names
    assert not any(a.get("src") or (t == "link") for t, a in page.tags)  # nothing fetched from anywhere
    bars = [a for t, a in page.tags if t == "rect" and "visit" in (a.get("class") or "").split()]
    assert len(bars) == len(rep.visits) == 4
    assert names.count("tr") == 1 + len(rep.signatures) + 1 + len(rep.visits)  # two tables with headers


def test_html_escapes_what_people_typed(engine: Engine) -> None:
    start(engine, "P-1")
    engine.complete_task("P-1", "team", actor="fay")
    engine.complete_task("P-1", "integrated_producer", actor="ana")
    engine.approve("P-1", "team", actor="fay", comment="<script>alert(1)</script>")
    html = render_html(engine.report("P-1"))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_template_summary_gives_medians_per_phase_and_gate_role(engine: Engine) -> None:
    with_rejection(engine, "P-1")
    start(engine, "P-2")
    finish_phase(engine, "P-2")
    finish_phase(engine, "P-2")
    summary = engine.template_report("team-based", actor="olga")
    assert summary.projects == 2
    by_phase = {p.phase: p for p in summary.phases}
    assert by_phase["client_kickoff"].visits == 2 and by_phase["client_kickoff"].median_seconds is not None
    assert by_phase["production_kickoff"].visits == 3
    waits = {(r.phase, r.role): r for r in summary.roles}
    assert waits[("client_kickoff", "team")].signed == 2
    assert waits[("client_kickoff", "team")].median_wait_seconds is not None
    assert waits[(None, "team")].signed == 4
    assert summary.longest_waits
    text = "\n".join(template_report_lines(summary))
    assert "team-based: 2 projects" in text and "median time per phase:" in text


def test_reports_follow_the_read_permissions(engine: Engine) -> None:
    start(engine, "P-1")
    assert engine.report("P-1", actor="fay").code == "P-1"
    assert engine.report("P-1", actor="olga").code == "P-1"
    with pytest.raises(NotPermitted):
        engine.report("P-1", actor="mallory")
    with pytest.raises(NotPermitted):
        engine.template_report("team-based", actor="fay")
    with pytest.raises(NotFound):
        engine.template_report("no-such-model", actor="olga")


def test_durations_read_like_people_write_them() -> None:
    assert [duration(s) for s in (None, 0.25, 45, 750, 4 * 3600 + 300, 2 * 86400 + 3 * 3600)] == [
        "-",
        "0.2s",
        "45s",
        "12m 30s",
        "4h 05m",
        "2d 03h",
    ]


def test_a_report_on_a_history_without_its_creation_says_to_verify(engine: Engine, db_url: str) -> None:
    import sqlalchemy

    from workflow.errors import AuditBroken

    start(engine, "P-1")
    client = sqlalchemy.create_engine(db_url)
    with client.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sqlalchemy.text("DROP TRIGGER events_no_delete ON events"))
        else:
            conn.execute(sqlalchemy.text("DROP TRIGGER events_no_delete"))
        conn.execute(sqlalchemy.text("DELETE FROM events WHERE chain = 'P-1' AND seq = 1"))
    client.dispose()
    with pytest.raises(AuditBroken, match="audit verify P-1"):
        engine.report("P-1")
    with pytest.raises(AuditBroken):
        engine.template_report("team-based")
