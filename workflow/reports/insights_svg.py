"""The Insights page's sections from the insights' JSON document (``Insights.to_dict()``, the very
answer of ``GET /api/v1/insights`` and ``phasegate insights --json``): per template version a chart
(:mod:`workflow.reports.charts`) and the table of the same numbers, so that every chart can be read
without seeing it, and the page cannot say other figures than the document.

Pure: a dict in, text out (the web app marks the SVG safe and draws the tables with Jinja, which
escapes every cell). A distribution is the document's ``{n, median, p90, max, at_least}``; one that
is a lower bound (rounds or projects still running) is drawn hatched and written "at least".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from workflow.reports.charts import Bar, Column, bar_chart, column_chart

Doc = Mapping[str, Any]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UNIT = "working days"


@dataclass(frozen=True)
class Link:
    """A table cell that leads somewhere (a project's page), with words after it."""

    text: str
    href: str
    more: str = ""


Cell = str | Link


@dataclass
class Part:
    """One chart (or none) and its table: a section has one per template version."""

    key: str  # unique on the page: the chart's id
    heading: str  # the template version's name, when the section has several parts
    svg: str
    caption: str
    headings: list[str]
    rows: list[list[Cell]]
    numeric: frozenset[int] = frozenset()  # the columns of numbers (right-aligned)


@dataclass
class Section:
    key: str
    heading: str
    intro: str
    parts: list[Part]
    none: str = "Nothing to show for these filters."


@dataclass
class View:
    summary: str
    scope: str
    as_of: str | None
    empty: str | None  # the page's one sentence when there is nothing at all
    sections: list[Section] = field(default_factory=list)


def project_href(code: str) -> str:
    return "/projects/" + quote(code, safe="")


def days(value: float | None, at_least: bool = False) -> str:
    """Working days for people: "3 d", "2.5 d", "at least 4 d", "-"."""
    if value is None:
        return "-"
    shown = f"{value:g}" if float(value).is_integer() else f"{value:.1f}"
    return ("at least " if at_least else "") + f"{shown} d"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def month_words(month: str) -> str:
    """"2026-03" -> "Mar 2026" (anything else as it is)."""
    if len(month) >= 7 and month[:4].isdigit() and month[5:7].isdigit() and 1 <= int(month[5:7]) <= 12:
        return f"{MONTHS[int(month[5:7]) - 1]} {month[:4]}"
    return month


def _dist(d: Mapping[str, Any] | None) -> tuple[Any, Any, Any, bool, int]:
    d = d or {}
    return d.get("median"), d.get("p90"), d.get("max"), bool(d.get("at_least")), int(d.get("n") or 0)


def _bar(label: str, d: Mapping[str, Any] | None, noun: str) -> Bar:
    median, p90, most, at_least, n = _dist(d)
    return Bar(label, median, p90, most, at_least, note=_plural(n, noun))


def _figures(d: Mapping[str, Any] | None) -> list[Cell]:
    median, p90, most, at_least, _n = _dist(d)
    return [days(median, at_least), days(p90, at_least), days(most, at_least)]


def _name(v: Mapping[str, Any]) -> str:
    return f"{v.get('title') or v.get('template')} v{v.get('version')}"


RoleTitles = Mapping[tuple[str, int], Mapping[str, str]]  # (template, version) -> role key -> title


def insights_view(doc: Doc, *, href: Callable[[str], str] = project_href, roles: RoleTitles | None = None
                  ) -> View:
    """The page's summary line and its sections, in reading order; ``roles``: the titles of the roles
    the overdue projects wait on (the document names them by key), where the caller knows them."""
    versions = list(doc.get("versions") or [])
    running = sum(int(v.get("running") or 0) for v in versions)
    completed = sum(int(v.get("completed") or 0) for v in versions)
    cancelled = sum(int(v.get("cancelled") or 0) for v in versions)
    total = running + completed + cancelled
    summary = (f"{_plural(total, 'project')}: {running} running, {completed} completed, "
               f"{cancelled} cancelled (shown apart).")
    scope = ("Every project (admins and auditors see all)." if doc.get("scope") == "all"
             else "The projects you may read.")
    if doc.get("names_shown") == "led":
        scope += " The slowest signers are named only on the projects you lead."
    if total == 0:
        return View(summary, scope, doc.get("generated_at"), "No project matches these filters, or none you "
                    "may read yet: the figures appear as projects move through their phases.")
    several = len(versions) > 1
    sections = [phase_section(versions, several), gate_section(versions, several),
                trend_section(list(doc.get("trend") or []), versions),
                overdue_section(doc, href, roles or {}), role_section(versions, several),
                version_section(versions)]
    return View(summary, scope, doc.get("generated_at"), None, sections)


def phase_section(versions: Sequence[Mapping[str, Any]], several: bool) -> Section:
    parts = []
    for i, v in enumerate(versions):
        bars: list[Bar] = []
        rows: list[list[Cell]] = []
        for p in v.get("phases") or []:
            title = str(p.get("title") or p.get("phase"))
            if (p.get("days") or {}).get("n"):
                bars.append(_bar(title, p.get("days"), "ended round"))
            if p.get("running"):
                bars.append(_bar(f"{title} (running)", p.get("running_days"), "running round"))
            rows.append([title, str(p.get("passed", 0)), str(p.get("rejected", 0)), *_figures(p.get("days")),
                         f"{p.get('running', 0)}" + (f" ({days(_dist(p.get('running_days'))[0], True)})"
                                                     if p.get("running") else ""),
                         days(p.get("held_days")), f"{p.get('on_time', 0)} / {p.get('late', 0)}",
                         str(p.get("cancelled", 0))])
        svg = bar_chart(bars, chart_id=f"chart-phases-{i}", title=f"Time in phase: {_name(v)}",
                        desc="For each phase, the median working days of its ended rounds, a mark at the "
                             "90th percentile and a line to the longest; a phase's running rounds below it, "
                             "hatched: their time so far, at least. The table below gives the numbers.",
                        words=days, unit=UNIT, empty="no round has ended yet")
        parts.append(Part(f"phases-{i}", _name(v) if several else "", svg,
                          f"Time in phase, {_name(v)}, in working days",
                          ["Phase", "Passed", "Sent back", "Median", "p90", "Longest",
                           "Running (median so far)", "On hold", "On time / late", "Cancelled in it"], rows,
                          frozenset({1, 2, 3, 4, 5, 6, 7, 9})))
    return Section("phases", "Time in phase", "Working days from entering a phase until leaving it (passed, "
                   "or sent back by its gate: each round counted), on each project's calendar, time on hold "
                   "left out and shown apart. Rounds still running count their time so far: at least.", parts)


def _having(versions: Sequence[Mapping[str, Any]], key: str
            ) -> Iterator[tuple[int, Mapping[str, Any], list[Any]]]:
    """Each version that has ``key`` (its gates, its roles), with its place for the chart's id."""
    for i, v in enumerate(versions):
        items = list(v.get(key) or [])
        if items:
            yield i, v, items


def gate_section(versions: Sequence[Mapping[str, Any]], several: bool) -> Section:
    parts = []
    for i, v, gates in _having(versions, "gates"):
        bars = [Bar(str(g.get("gate") or g.get("phase")), g.get("rounds_per_pass"),
                    note=_plural(int(g.get("passes") or 0), "pass")) for g in gates]
        svg = bar_chart(bars, chart_id=f"chart-gates-{i}", title=f"Rounds per gate: {_name(v)}",
                        desc="For each gate, the rounds its phase took per pass: 1 means the gate never sent "
                             "work back, 2 that every pass took a second round.", words=lambda r: f"{r:g}",
                        unit="rounds per pass", empty="no gate passed yet")
        rows: list[list[Cell]] = [
            [str(g.get("gate") or g.get("phase")), str(g.get("passes", 0)), str(g.get("rejections", 0)),
             "-" if g.get("rounds_per_pass") is None else f"{g['rounds_per_pass']:g}",
             *_figures(g.get("days_to_last_signature"))[:2],
             "; ".join(f"{r.get('reason')} ({r.get('count')})" for r in g.get("reasons") or []) or "-"]
            for g in gates]
        parts.append(Part(f"gates-{i}", _name(v) if several else "", svg, f"Rounds per gate, {_name(v)}",
                          ["Gate", "Passes", "Sent back", "Rounds per pass", "To last signature (median)",
                           "To last signature (p90)", "Reasons sent back (times)"], rows,
                          frozenset({1, 2, 3, 4, 5})))
    return Section("gates", "Rounds per gate", "How often each gate sends work back, the reasons grouped, "
                   "and the working days from the gate opening (its phase's tasks done) to its last "
                   "signature.",
                   parts, none="No template here has a gate.")


def trend_section(trend: Sequence[Mapping[str, Any]], versions: Sequence[Mapping[str, Any]]) -> Section:
    titles = {(v.get("template"), v.get("version")): _name(v) for v in versions}
    by_version: dict[tuple[Any, Any], list[Mapping[str, Any]]] = {}
    for t in trend:
        by_version.setdefault((t.get("template"), t.get("version")), []).append(t)
    parts = []
    for i, (key, points) in enumerate(by_version.items()):
        name = titles.get(key, f"{key[0]} v{key[1]}")
        cols = [Column(month_words(str(t.get("month"))), _dist(t.get("cycle_days"))[0],
                       _dist(t.get("cycle_days"))[1], note=_plural(int(t.get("completed") or 0), "project"))
                for t in points]
        svg = column_chart(cols, chart_id=f"chart-trend-{i}", title=f"Cycle time, month by month: {name}",
                           desc="For each month, the median working days from creation to completion of the "
                                "projects completed that month, with a mark at the 90th percentile.",
                           words=days, unit=UNIT)
        rows: list[list[Cell]] = [[month_words(str(t.get("month"))), str(t.get("completed", 0)),
                                   *_figures(t.get("cycle_days"))] for t in points]
        parts.append(Part(f"trend-{i}", name if len(versions) > 1 else "", svg,
                          f"Cycle time by month of completion, {name}",
                          ["Month", "Completed", "Median", "p90", "Longest"], rows, frozenset({1, 2, 3, 4})))
    return Section("trend", "Cycle time, month by month", "Working days from a project's creation to its "
                   "completion, holds left out, by the month it was completed.", parts,
                   none="No project has been completed in this range yet.")


def overdue_section(doc: Doc, href: Callable[[str], str], roles: RoleTitles) -> Section:
    rows_in = sorted(doc.get("overdue") or [], key=lambda r: -(r.get("days_overdue") or 0))
    total = int(doc.get("overdue_total") or len(rows_in))
    intro = ("The projects past their current phase's due date today, most overdue first, and where each "
             "is stuck: the tasks not done, or the signatures missing.")
    if total > len(rows_in):
        intro += f" The {len(rows_in)} most overdue of {total} are listed."
    if not rows_in:
        return Section("overdue", "Over their due date now", intro, [],
                       none="No project is over its due date.")
    bars = [Bar(str(r.get("code")), r.get("days_overdue"), note=str(r.get("phase_title") or ""))
            for r in rows_in]
    svg = bar_chart(bars, chart_id="chart-overdue", title="Projects over their due date",
                    desc="For each project now past the due date of its current phase, by how many working "
                         "days; the table below links each to its page.", words=days, unit=UNIT)
    rows: list[list[Cell]] = [
        [Link(str(r.get("code")), href(str(r.get("code"))), str(r.get("name") or "")),
         f"{r.get('phase_title')}" + (f", round {r.get('round')}" if (r.get("round") or 1) > 1 else ""),
         str(r.get("due_on") or ""), days(r.get("days_overdue")),
         _stuck(r, roles.get((str(r.get("template")), int(r.get("version") or 0)), {}))]
        for r in rows_in]
    return Section("overdue", "Over their due date now", intro,
                   [Part("overdue", "", svg, "Projects over their due date",
                         ["Project", "Phase", "Due", "Over by", "Stuck on"], rows, frozenset({3}))])


def _stuck(r: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    who = ", ".join(titles.get(str(x), str(x)) for x in r.get("roles") or [])
    if r.get("waiting_on") == "tasks":
        return f"tasks of {who}" if who else "its tasks"
    return f"the signatures of {who}" if who else "its gate's signatures"


def role_section(versions: Sequence[Mapping[str, Any]], several: bool) -> Section:
    parts = []
    for i, v, roles in _having(versions, "roles"):
        bars = [_bar(str(r.get("title") or r.get("role")), r.get("days_to_sign"), "signature") for r in roles]
        svg = bar_chart(bars, chart_id=f"chart-roles-{i}", title=f"Time to sign, per role: {_name(v)}",
                        desc="For each role that signs gates, the median working days from the gate opening "
                             "to its signature, a mark at the 90th percentile and a line to the longest.",
                        words=days, unit=UNIT)
        rows: list[list[Cell]] = [
            [str(r.get("title") or r.get("role")), str((r.get("days_to_sign") or {}).get("n", 0)),
             *_figures(r.get("days_to_sign")),
             ", ".join(f"{s.get('person')} ({days(s.get('mean_days'))} on average)"
                       for s in r.get("slowest") or []) or "-"] for r in roles]
        parts.append(Part(f"roles-{i}", _name(v) if several else "", svg,
                          f"Time to sign per role, {_name(v)}",
                          ["Role", "Signatures", "Median", "p90", "Longest", "Slowest to sign"], rows,
                          frozenset({1, 2, 3, 4})))
    return Section("roles", "Time to sign, per role", "From the gate opening to each signature that stands.",
                   parts, none="Nobody has signed a gate yet.")


def version_section(versions: Sequence[Mapping[str, Any]]) -> Section:
    bars: list[Bar] = []
    for v in versions:
        if (v.get("cycle_days") or {}).get("n"):
            bars.append(_bar(f"{_name(v)}", v.get("cycle_days"), "completed project"))
        if v.get("running"):
            bars.append(_bar(f"{_name(v)} (running)", v.get("running_cycle_days"), "running project"))
    svg = bar_chart(bars, chart_id="chart-versions", title="Cycle time per template version",
                    desc="For each template version, the median working days from creation to completion, "
                         "a mark at the 90th percentile and a line to the longest; its running projects "
                         "below it, hatched: their time so far, at least.", words=days, unit=UNIT)
    rows: list[list[Cell]] = [
        [_name(v), str(v.get("running", 0)), str(v.get("completed", 0)), *_figures(v.get("cycle_days")),
         days(_dist(v.get("running_cycle_days"))[0], True) if v.get("running") else "-",
         str(v.get("cancelled", 0)), days(_dist(v.get("cancelled_cycle_days"))[0])]
        for v in versions]
    return Section("versions", "Template versions side by side", "Whether a new version made things faster: "
                   "the cycle time of each version's completed projects; cancelled ones apart.",
                   [Part("versions", "", svg, "Cycle time per template version",
                         ["Version", "Running", "Completed", "Median", "p90", "Longest",
                          "Running (median so far)", "Cancelled", "Cancelled after (median)"], rows,
                         frozenset({1, 2, 3, 4, 5, 6, 7, 8}))])
