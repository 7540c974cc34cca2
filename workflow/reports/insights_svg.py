"""The Insights page's sections from the insights' JSON document (``Insights.to_dict()``, the very
answer of ``GET /api/v1/insights`` and ``phasegate insights --json``): per section a chart
(:mod:`workflow.reports.charts`) and the table of the same numbers, so that every chart can be read
without seeing it, and the page cannot say other figures than the document.

Pure: a dict in, text out (the web app marks the SVG safe and draws the tables with Jinja, which
escapes every cell). A figure that is a lower bound (a project still running) is written "at least".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from workflow.reports.charts import Bar, Column, bar_chart, column_chart

Doc = Mapping[str, Any]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Link:
    """A table cell that leads somewhere (a project's page), with words after it."""

    text: str
    href: str
    more: str = ""


Cell = str | Link


@dataclass
class Section:
    key: str  # the ids on the page: h-KEY, chart-KEY
    heading: str
    intro: str
    svg: str
    caption: str
    headings: list[str]
    rows: list[list[Cell]]
    numeric: frozenset[int] = frozenset()  # the columns of numbers (right-aligned)
    none: str = "Nothing to show for these filters."


@dataclass
class View:
    summary: str
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


def _short(value: float) -> str:
    return days(value)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def month_words(month: str) -> str:
    """"2026-03" -> "Mar 2026" (anything else as it is)."""
    if len(month) >= 7 and month[:4].isdigit() and month[5:7].isdigit() and 1 <= int(month[5:7]) <= 12:
        return f"{MONTHS[int(month[5:7]) - 1]} {month[:4]}"
    return month


def insights_view(doc: Doc, *, href: Callable[[str], str] = project_href) -> View:
    """The page's summary line and its sections, in reading order."""
    counts = doc.get("projects") or {}
    total = int(counts.get("total", 0))
    summary = (f"{_plural(total, 'project')}: {counts.get('completed', 0)} completed, "
               f"{counts.get('running', 0)} running, {counts.get('cancelled', 0)} cancelled (shown apart).")
    if total == 0:
        return View(summary, doc.get("as_of"), "No project matches these filters, or none you may read yet: "
                    "the figures appear as projects move through their phases.")
    sections = [phase_section(doc), gate_section(doc), trend_section(doc), overdue_section(doc, href),
                role_section(doc), version_section(doc)]
    return View(summary, doc.get("as_of"), None, [s for s in sections if s is not None])


def _label(row: Mapping[str, Any], several: bool) -> str:
    title = str(row.get("title") or row.get("phase") or "")
    return f"{title} ({row.get('template')})" if several and row.get("template") else title


def _several_templates(rows: Sequence[Mapping[str, Any]]) -> bool:
    return len({r.get("template") for r in rows}) > 1


def phase_section(doc: Doc) -> Section:
    rows = list(doc.get("phases") or [])
    several = _several_templates(rows)
    bars = [Bar(_label(r, several), r.get("median_days"), r.get("p90_days"), r.get("max_days"),
                bool(r.get("at_least")), note=_plural(int(r.get("projects", 0)), "project"))
            for r in rows]
    svg = bar_chart(bars, chart_id="chart-phases", title="Time in phase",
                    desc="For each phase, the median working days projects spent in it, a mark at the 90th "
                         "percentile and a line to the longest; the table below gives the numbers.",
                    words=_short, unit="working days")
    table = [[_label(r, several), str(r.get("projects", 0)),
              days(r.get("median_days"), bool(r.get("at_least"))),
              days(r.get("p90_days"), bool(r.get("at_least"))),
              days(r.get("max_days"), bool(r.get("at_least"))), days(r.get("held_days")),
              f"{r.get('on_time', 0)} / {r.get('late', 0)}"] for r in rows]
    return Section("phases", "Time in phase", "Working days from entering a phase until leaving it, every "
                   "round counted, time on hold left out (the hold column shows it apart). A phase a project "
                   "is still in counts its time so far: at least.", svg, "Time in phase, in working days",
                   ["Phase", "Projects", "Median", "p90", "Longest", "On hold (total)", "On time / late"],
                   table, frozenset({1, 2, 3, 4, 5}))


def gate_section(doc: Doc) -> Section:
    rows = list(doc.get("gates") or [])
    several = _several_templates(rows)
    bars = [Bar(_label(r, several), r.get("rounds_per_pass"), note=_plural(int(r.get("passes", 0)), "pass"))
            for r in rows]
    svg = bar_chart(bars, chart_id="chart-gates", title="Rounds per gate",
                    desc="For each gate, how many rounds it took on average to pass it once: "
                         "1 means it never "
                         "sent work back.", words=lambda v: f"{v:.2g}", unit="rounds")
    table = [[_label(r, several), str(r.get("passes", 0)), f"{float(r.get('rounds_per_pass') or 0):.2f}",
              str(r.get("rejections", 0)), days(r.get("median_sign_days")), days(r.get("p90_sign_days")),
              "; ".join(f"{g.get('reason')} ({g.get('count')})" for g in r.get("reasons") or []) or "-"]
             for r in rows]
    return Section("gates", "Rounds per gate", "How often each gate sends work back: the rounds a phase took "
                   "per pass of its gate, the rejections' reasons grouped, and the working days "
                   "from the gate "
                   "opening (the phase's tasks done) to its last signature.", svg, "Rounds and sign-off time "
                   "per gate", ["Gate", "Passes", "Rounds per pass", "Rejections", "To sign (median)",
                                "To sign (p90)", "Reasons sent back"], table, frozenset({1, 2, 3, 4, 5}))


def trend_section(doc: Doc) -> Section:
    rows = list(doc.get("trend") or [])
    cols = [Column(month_words(str(r.get("month"))), r.get("median_days"), r.get("p90_days"),
                   note=_plural(int(r.get("completed", 0)), "project")) for r in rows]
    svg = column_chart(cols, chart_id="chart-trend", title="Cycle time, month by month",
                       desc="For each month, the median working days from creation to completion of the "
                            "projects completed that month, with a mark at the 90th percentile.",
                       words=_short, unit="working days")
    table = [[month_words(str(r.get("month"))), str(r.get("completed", 0)), days(r.get("median_days")),
              days(r.get("p90_days"))] for r in rows]
    return Section("trend", "Cycle time, month by month", "Working days from a project's creation to its "
                   "completion (holds left out), by the month it was completed.", svg,
                   "Cycle time by month of completion", ["Month", "Completed", "Median", "p90"], table,
                   frozenset({1, 2, 3}), none="No project has been completed in this range yet.")


def overdue_section(doc: Doc, href: Callable[[str], str]) -> Section:
    rows = sorted(doc.get("overdue") or [], key=lambda r: -float(r.get("days_over") or 0))
    bars = [Bar(str(r.get("code")), r.get("days_over")) for r in rows]
    svg = bar_chart(bars, chart_id="chart-overdue", title="Projects over their due date",
                    desc="For each project now past the due date of its current phase, by how many working "
                         "days; the table below links each to its page.", words=_short, unit="working days")
    table: list[list[Cell]] = [[Link(str(r.get("code")), href(str(r.get("code"))), str(r.get("name") or "")),
                                str(r.get("phase_title") or r.get("phase") or ""), str(r.get("due_on") or ""),
                                days(r.get("days_over")), str(r.get("stuck") or "-")] for r in rows]
    return Section("overdue", "Over their due date now", "The projects past their current phase's due date "
                   "today, most overdue first, and where each is stuck.", svg if rows else "",
                   "Projects over their due date", ["Project", "Phase", "Due", "Over by", "Stuck on"], table,
                   frozenset({3}), none="No project is over its due date.")


def role_section(doc: Doc) -> Section:
    rows = list(doc.get("roles") or [])
    bars = [Bar(str(r.get("title") or r.get("role")), r.get("median_days"), r.get("p90_days"),
                note=_plural(int(r.get("signatures", 0)), "signature")) for r in rows]
    svg = bar_chart(bars, chart_id="chart-roles", title="Time to sign, per role",
                    desc="For each role that signs gates, the median working days from the gate "
                         "opening to its "
                         "signature, with a mark at the 90th percentile.", words=_short, unit="working days")
    table = [[str(r.get("title") or r.get("role")), str(r.get("signatures", 0)), days(r.get("median_days")),
              days(r.get("p90_days")),
              ", ".join(f"{s.get('person')} ({days(s.get('median_days'))})" for s in r.get("slowest") or [])
              or "-"] for r in rows]
    return Section("roles", "Time to sign, per role", "The slowest signers are named only to admins and to "
                   "the leads of their projects.", svg, "Time to sign per role, in working days",
                   ["Role", "Signatures", "Median", "p90", "Slowest to sign"], table, frozenset({1, 2, 3}))


def version_section(doc: Doc) -> Section | None:
    rows = list(doc.get("versions") or [])
    if not rows:
        return None
    table = [[f"{r.get('template')} v{r.get('version')}", str(r.get("projects", 0)),
              str(r.get("completed", 0)), days(r.get("median_days")), days(r.get("p90_days")),
              f"{float(r.get('rounds_per_pass') or 0):.2f}"] for r in rows]
    bars = [Bar(f"{r.get('template')} v{r.get('version')}", r.get("median_days"), r.get("p90_days"),
                note=_plural(int(r.get("completed", 0)), "completed project")) for r in rows]
    svg = bar_chart(bars, chart_id="chart-versions", title="Cycle time per template version",
                    desc="For each template version, the median working days from creation to completion, "
                         "with a mark at the 90th percentile: the effect of a new version, side by side.",
                    words=_short, unit="working days")
    return Section("versions", "Template versions side by side", "Whether a new version made things faster.",
                   svg, "Cycle time and rounds per template version",
                   ["Version", "Projects", "Completed", "Cycle time (median)", "Cycle time (p90)",
                    "Rounds per pass"], table, frozenset({1, 2, 3, 4, 5}))
