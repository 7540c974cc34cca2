"""Timelines: phase visits with work and gate waits, the HTML page, and a template's medians."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from workflow import Engine
from workflow.domain.templates.loader import builtin_paths
from workflow.errors import NotFound, NotPermitted
from workflow.reports.html import render_html
from workflow.reports.text import duration, report_lines, template_report_lines

TEAM = {"integrated_producer": "ana", "team": "fay"}


def builtin_text(key: str) -> str:
    return builtin_paths()[key].read_text(encoding="utf-8")


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


@pytest.mark.slow
def test_the_report_has_one_visit_per_phase_round_with_work_waits_and_signers(engine: Engine) -> None:
    with_rejection(engine, "P-1")
    rep = engine.report("P-1", reader="fay")
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_html_escapes_what_people_typed(engine: Engine) -> None:
    start(engine, "P-1")
    engine.complete_task("P-1", "team", actor="fay")
    engine.complete_task("P-1", "integrated_producer", actor="ana")
    engine.approve("P-1", "team", actor="fay", comment="<script>alert(1)</script>")
    html = render_html(engine.report("P-1"))
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.slow
def test_the_template_summary_gives_medians_per_phase_and_gate_role(engine: Engine) -> None:
    with_rejection(engine, "P-1")
    start(engine, "P-2")
    finish_phase(engine, "P-2")
    finish_phase(engine, "P-2")
    summary = engine.template_report("team-based", reader="olga")
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


@pytest.mark.slow
def test_reports_follow_the_read_permissions(engine: Engine) -> None:
    start(engine, "P-1")
    assert engine.report("P-1", reader="fay").code == "P-1"
    assert engine.report("P-1", reader="olga").code == "P-1"
    with pytest.raises(NotPermitted):
        engine.report("P-1", reader="mallory")
    with pytest.raises(NotPermitted):
        engine.template_report("team-based", reader="fay")
    with pytest.raises(NotFound):
        engine.template_report("no-such-model", reader="olga")


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


# -- the HTML page: its axis, its labels, holds, times, and what it says about the project -----------

SVG_NS = "{http://www.w3.org/2000/svg}"


def finish_any_phase(engine: Engine, code: str) -> None:
    """Like finish_phase, for gated and ungated phases alike."""
    status = engine.status(code)
    for task in status.tasks:
        if not task.done:
            engine.complete_task(code, task.role, actor=TEAM[task.role])
    for role in status.gate.missing if status.gate is not None else ():
        engine.approve(code, role, actor=TEAM[role])
    engine.advance(code, actor="ana")


def _svg_of(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])


def _bars(svg: ET.Element, cls: str) -> list[tuple[float, float]]:
    """(x, right edge) of each ``<rect>`` of class ``cls``."""
    return [(float(r.get("x", 0)), float(r.get("x", 0)) + float(r.get("width", 0)))
            for r in svg.iter(f"{SVG_NS}rect") if cls in (r.get("class") or "").split()]


def _axis_end(svg: ET.Element) -> float:
    return max(float(line.get("x1", 0)) for line in svg.iter(f"{SVG_NS}line"))


@pytest.mark.parametrize("ending", ["completed", "cancelled"])
@pytest.mark.slow
def test_the_timeline_of_a_finished_project_ends_at_its_last_event(engine: Engine, ending: str) -> None:
    """A report made a year later draws the same picture: the axis stops where the project stopped."""
    start(engine, "P-1")
    finish_any_phase(engine, "P-1")
    if ending == "completed":
        while engine.status("P-1").status == "active":
            finish_any_phase(engine, "P-1")
    else:
        engine.cancel("P-1", actor="ana", reason="budget cut")
    rep = engine.report("P-1")
    assert rep.status == ending and rep.ended_at == engine.history("P-1")[-1].at
    later = dataclasses.replace(rep, as_of="2999-01-01T00:00:00.000000Z")
    svg = _svg_of(render_html(later))
    assert max(end for _x, end in _bars(svg, "visit")) == pytest.approx(_axis_end(svg), abs=0.2)
    assert render_html(later) == render_html(rep)


def test_the_timeline_of_an_active_project_runs_to_the_moment_of_the_report(engine: Engine) -> None:
    start(engine, "P-1")
    finish_phase(engine, "P-1")
    rep = engine.report("P-1")
    assert rep.ended_at is None and rep.end == rep.as_of
    svg = _svg_of(render_html(rep))
    current = _bars(svg, "current")
    assert len(current) == 1 and current[0][1] == pytest.approx(_axis_end(svg), abs=0.2)


def _extent(text: ET.Element, char_width: float = 7.5) -> tuple[float, float]:
    """Where a 12px SVG label spans, from its anchor and a generous width per character."""
    shown = (text.text or "") + "".join(child.tail or "" for child in text)  # not a <title> child's text
    x, width = float(text.get("x", 0)), char_width * len(shown)
    anchor = text.get("text-anchor", "start")
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return left, left + width


def test_every_label_of_the_timeline_stays_inside_the_picture(engine: Engine) -> None:
    """The last tick label was centred on the axis end and cut in half; long titles ran into the bars."""
    long_title = "A phase with a very long title indeed, " * 4
    source = builtin_text("team-based").replace("title: Client Kick-Off", f"title: {long_title.strip()}")
    engine.publish_template(source.replace("key: team-based", "key: long-titles"), actor="ana")
    engine.create_project("P-1", template="long-titles", actor="ana")
    for role, person in TEAM.items():
        engine.assign("P-1", role, person, actor="ana")
    finish_phase(engine, "P-1")
    svg = _svg_of(render_html(engine.report("P-1")))
    width = float(svg.get("viewBox", "0 0 0 0").split()[2])
    texts = list(svg.iter(f"{SVG_NS}text"))
    assert len(texts) == 5 + 2  # five ticks, two lanes
    for text in texts:
        left, right = _extent(text)
        assert left >= 0 and right <= width, (text.text, left, right)
    lane = next(t for t in texts if t.get("x") == "4")
    assert lane.text is None and lane.find(f"{SVG_NS}title") is not None  # the full title as its tooltip
    assert long_title.strip() == lane.find(f"{SVG_NS}title").text  # type: ignore[union-attr]
    label = "".join(t.tail or "" for t in lane)
    assert label.endswith("…") and _extent(lane)[1] < 220  # inside the label column


def test_hold_time_and_its_reason_are_on_the_page(engine: Engine) -> None:
    start(engine, "P-1")
    engine.hold("P-1", actor="ana", reason="client <script>alert('hold')</script> away")
    engine.resume("P-1", actor="ana")
    engine.hold("P-1", actor="ana", reason="again")
    rep = engine.report("P-1")
    (visit,) = rep.visits
    assert [(h.by, h.ended_at is None) for h in visit.holds] == [("ana", False), ("ana", True)]
    html = render_html(rep)
    svg = _svg_of(html)
    assert len(_bars(svg, "hold")) == 2
    assert "on hold" in "".join(t.findtext(f"{SVG_NS}title") or "" for t in svg.iter(f"{SVG_NS}rect"))
    page = _Text()
    page.feed(html)
    assert "<th>on hold</th>" in html and "client <script>alert('hold')</script> away" in page.text
    assert "still on hold" in page.text and "status: on hold" not in page.text
    assert "<script>" not in html


class _Text(HTMLParser):
    """The text a reader sees, and every ``<time>``'s attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.times: list[dict[str, str | None]] = []
        self._in_time = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "time":
            self.times.append(dict(attrs) | {"shown": ""})
            self._in_time = True

    def handle_endtag(self, tag: str) -> None:
        self._in_time = self._in_time and tag != "time"

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._in_time:
            self.times[-1]["shown"] = (self.times[-1]["shown"] or "") + data


@pytest.mark.slow
def test_times_are_shown_to_the_second_with_the_stored_value_in_datetime(engine: Engine) -> None:
    with_rejection(engine, "P-1")
    page = _Text()
    page.feed(render_html(engine.report("P-1")))
    assert len(page.times) > 10
    for t in page.times:
        assert t["datetime"] == t["title"] and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",
                                                            t["datetime"] or "")
        assert t["shown"] == (t["datetime"] or "")[:19].replace("T", " ")
    assert not re.search(r"\d\d:\d\d\.\d{6}", page.text)  # no microseconds in anything shown


@pytest.mark.slow
def test_the_page_names_the_project_and_where_its_audit_chain_stood(engine: Engine) -> None:
    engine.create_project("P-1", template="team-based", actor="ana", name="Spring <b>launch</b>",
                          client="ACME & <script>x</script>")
    for role, person in TEAM.items():
        engine.assign("P-1", role, person, actor="ana")
    rep = engine.report("P-1")
    head = engine.history("P-1")[-1]
    assert (rep.name, rep.client, rep.head_hash, rep.head_seq) == (
        "Spring <b>launch</b>", "ACME & <script>x</script>", head.hash, head.seq)
    page = _Text()
    html = render_html(rep)
    page.feed(html)
    for fact in ("Spring <b>launch</b>", "ACME & <script>x</script>", "Status", "active", head.hash,
                 f"(event {head.seq})", "not checked for this page"):
        assert fact in page.text, fact
    assert "<b>" not in html and "<script>" not in html
    assert "passed" in _text_of(render_html(rep, verified=True))
    broken = _text_of(render_html(rep, verified=False, head_hash="f" * 64))
    assert "FAILED" in broken and "f" * 64 in broken and head.hash not in broken


def _text_of(html: str) -> str:
    page = _Text()
    page.feed(html)
    return page.text


@pytest.mark.slow
def test_the_page_says_what_in_work_waiting_and_on_hold_mean(engine: Engine) -> None:
    start(engine, "P-1")
    html = render_html(engine.report("P-1"))
    terms = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html[html.index('<dl class="terms">'):])
    assert [t for t, _ in terms] == ["In work", "Waiting (on a gate role)", "On hold"]
    assert all(len(d) > 40 for _, d in terms)


@pytest.mark.slow
def test_html_escapes_what_people_typed_everywhere(engine: Engine) -> None:
    """Titles in a template, names, comments, reasons: typed by people, shown as text."""
    evil = "<script>alert(1)</script>"
    source = builtin_text("team-based")
    for title in ("title: Client Kick-Off", "title: Client kick-off sign-off", "{title: Team"):
        source = source.replace(title, f"{title} {evil}")
    engine.publish_template(source.replace("key: team-based", "key: evil"), actor="ana")
    engine.create_project("P-1", template="evil", actor="ana", name=evil, client=evil)
    for role, person in TEAM.items():
        engine.assign("P-1", role, person, actor="ana")
    engine.complete_task("P-1", "team", actor="fay")
    engine.complete_task("P-1", "integrated_producer", actor="ana")
    engine.approve("P-1", "integrated_producer", actor="ana", comment=evil)
    engine.hold("P-1", actor="ana", reason=evil)
    engine.resume("P-1", actor="ana")
    engine.reject("P-1", "team", actor="fay", reason=evil)
    html = render_html(engine.report("P-1"))
    assert "<script" not in html.lower()
    assert _text_of(html).count(evil) >= 8  # name, client, phase, gate meaning, role, comment, hold, reason


@pytest.mark.slow
def test_a_withdrawn_approval_and_a_reopened_task_do_not_count_in_the_report(engine: Engine) -> None:
    """The report times the work and the waits to the task and approval that stood."""
    start(engine, "U-1")
    engine.complete_task("U-1", "team", actor="fay")
    engine.approve("U-1", "team", actor="fay", comment="first look")
    engine.withdraw("U-1", "team", actor="fay", reason="changed my mind")
    engine.reopen_task("U-1", "team", actor="fay", reason="missed a part")
    done = engine.complete_task("U-1", "team", actor="fay")
    engine.complete_task("U-1", "integrated_producer", actor="ana")
    again = engine.approve("U-1", "team", actor="fay", comment="second look")
    engine.approve("U-1", "integrated_producer", actor="ana")
    engine.advance("U-1", actor="ana")
    (kickoff, _current) = engine.report("U-1").visits
    comments = {s.comment for s in kickoff.signatures}
    assert comments == {"second look", None} and "first look" not in comments
    assert [s.seq for s in kickoff.signatures if s.role == "team"] == [again.seq]
    assert kickoff.tasks_done_at >= done.at


def test_the_report_shows_withdrawn_approvals_and_who_voided_them(engine: Engine) -> None:
    """An audit report shows what happened: the approval withdrawn, the withdrawal with its reason,
    and an approval voided by removing its signer from the role (issue 21, item 10)."""
    start(engine, "W-1")
    engine.complete_task("W-1", "team", actor="fay")
    first = engine.approve("W-1", "team", actor="fay", comment="first look")
    took_back = engine.withdraw("W-1", "team", actor="fay", reason="changed my mind")
    second = engine.approve("W-1", "team", actor="fay", comment="second look")
    removed = engine.unassign("W-1", "team", "fay", actor="ana")
    rep = engine.report("W-1")
    lines = report_lines(rep)
    (kickoff,) = rep.visits
    assert kickoff.signatures == []  # nothing stands: the waits are timed to what stood
    assert [(w.approval.seq, w.seq, w.by, w.action) for w in kickoff.voided] == [
        (first.seq, took_back.seq, "fay", "withdraw"), (second.seq, removed.seq, "ana", "unassign")]
    trail = [line.strip() for line in lines if line.strip().startswith("#")]
    assert [t.split()[0] for t in trail] == [f"#{s}" for s in (first.seq, took_back.seq, second.seq, removed.seq)]
    assert "first look (withdrawn: #" in trail[0]
    assert f"fay withdrew it, voiding #{first.seq}" in trail[1] and trail[1].endswith("changed my mind")
    assert f"ana removed fay from Team, voiding #{second.seq}" in trail[3]
    text = _text_of(render_html(rep))
    assert "first look" in text and "changed my mind" in text
    assert f"approved, withdrawn by event {took_back.seq}" in text
    assert f"voided the approval of event {second.seq}: ana removed fay from Team" in text
