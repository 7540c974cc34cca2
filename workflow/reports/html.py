"""One self-contained HTML page for a project report: a Gantt-style SVG and the approval trail.

No network, no JavaScript: inline CSS, an inline SVG (one ``<rect class="visit">``
per phase visit, with a darker ``<rect class="work">`` for its time in work, a striped
``<rect class="hold">`` per hold and an SVG ``<title>`` as tooltip), and plain tables.
Every text from the database is escaped: names, reasons and comments are typed by
people, and so are the template's titles.

The page is something to file with a client: it says which project it is, where the
audit chain stood when it was made (its head hash, and whether ``audit verify`` passed),
and what its words mean.
"""

from __future__ import annotations

from html import escape
from string import Template
from urllib.parse import quote, urlencode

from workflow.reports.text import duration, voiding_words
from workflow.reports.timeline import Hold, PassedWith, ProjectReport, Visit, _seconds, _time

WIDTH = 900
LABEL = 220
LANE = 28
BAR = 18
RIGHT = 10  # the axis ends this far from the right edge
CHAR_WIDTH = 7.2  # px per character of the 12px SVG font, generously: labels are kept inside by it

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>$title</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; margin-top: .5em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
time { white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
dl.terms dt { font-weight: 600; margin-top: .4em; } dl.terms dd { margin-left: 1.5em; }
code.hash { overflow-wrap: anywhere; }
.broken { color: #b3261e; font-weight: 600; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
rect.visit { fill: #9ec5e8; stroke: #3a6f9e; }
rect.visit.current { fill: #f4d58d; stroke: #a07d1c; }
rect.visit.rejected { stroke: #b3261e; stroke-width: 2; }
rect.work { fill: #3a6f9e; opacity: .55; }
rect.hold { fill: url(#hold-stripes); stroke: #555; stroke-dasharray: 2 2; }
line.tick { stroke: #ddd; }
.rejected td { color: #b3261e; }
.voided td { color: #666; font-style: italic; }
</style>
</head>
<body>
<h1>$heading</h1>
$facts
<h2>Timeline</h2>
$svg
<p>Each bar is one visit of a phase (one round), from the left edge (the project's creation) to $axis_end.
The dark part is the time in work, the striped part the time on hold, the rest the time waiting on
the gate. Hover a bar for its numbers.</p>
$terms
<h2>Phase visits</h2>
$visits
<h2>Holds</h2>
$holds
<h2>Approval trail</h2>
$trail
</body>
</html>
""")

_TERMS = (
    ("In work", "From the moment a phase was entered (a round began) until the last of its tasks was "
                "marked done. A visit whose tasks are not all done is in work until it ended, or until now."),
    ("Waiting (on a gate role)", "From the moment the last task was done until that role approved the gate: "
                                 "zero when it approved earlier; a role that has not signed waits until the "
                                 "visit ended, or until now."),
    ("On hold", "Time the project was held during the visit. It is not subtracted from the other two: a "
                "phase's clock keeps running while it is held."),
)


def render_html(rep: ProjectReport, *, head_hash: str | None = None, verified: bool | None = None) -> str:
    """The page for ``rep``.

    ``head_hash`` (default: the report's own, the hash of the last event it read) and
    ``verified`` (the result of ``audit verify`` for this project; None: not checked)
    let the caller state where the audit chain stood, so a printed page can be checked
    against the database later.
    """
    return _PAGE.substitute(
        title=escape(f"{rep.code} — timeline"),
        heading=escape(f"{rep.code} — {rep.name}" if rep.name else rep.code),
        facts=_facts(rep, head_hash if head_hash is not None else rep.head_hash, verified),
        svg=timeline_svg(rep),
        axis_end="its end" if rep.ended_at else "the moment of this report",
        terms=_terms(),
        visits=_visits_table(rep),
        holds=_holds_table(rep),
        trail=_trail_table(rep),
    )


# -- text helpers --------------------------------------------------------------------------------------


def _short_time(at: str) -> str:
    """An instant to the second, in UTC: the microseconds the database keeps only make a cell wrap."""
    return _time(at).strftime("%Y-%m-%d %H:%M:%S")


def _time_html(at: str | None, missing: str = "now") -> str:
    """``<time>`` shown to the second, the full stored value in ``datetime`` and as a tooltip."""
    if at is None:
        return escape(missing)
    full = escape(at, quote=True)
    return f'<time datetime="{full}" title="{full}">{escape(_short_time(at))}</time>'


def _status(status: str) -> str:
    return status.replace("_", " ")


# -- the facts and the terms ---------------------------------------------------------------------------


def _verified_html(code: str, verified: bool | None) -> str:
    if verified is None:
        return escape(f"not checked for this page (run: phasegate audit verify {code})")
    if verified:
        return escape("passed: every event's hash recomputes and links to the one before")
    text = f"FAILED: run phasegate audit verify {code} for the first broken event"
    return f'<span class="broken">{escape(text)}</span>'


def _facts(rep: ProjectReport, head_hash: str | None, verified: bool | None) -> str:
    head = "-"
    if head_hash:
        at_seq = f" (event {rep.head_seq})" if rep.head_seq is not None else ""
        head = f'<code class="hash">{escape(head_hash)}</code>{escape(at_seq)}'
    rows = [
        ("Project", escape(rep.code)),
        ("Name", escape(rep.name or "-")),
        ("Client", escape(rep.client or "-")),
        ("Template", escape(f"{rep.template} v{rep.template_version}")),
        ("Status", escape(_status(rep.status))),
        ("Created", _time_html(rep.created_at)),
        ("Ended" if rep.ended_at else "As of", _time_html(rep.end)),
        ("Audit chain head", head),
        ("Audit verify", _verified_html(rep.code, verified)),
    ]
    items = "\n".join(f"<dt>{escape(term)}</dt><dd>{value}</dd>" for term, value in rows)
    return f'<dl class="facts">\n{items}\n</dl>'


def _terms() -> str:
    items = "\n".join(f"<dt>{escape(term)}</dt><dd>{escape(text)}</dd>" for term, text in _TERMS)
    return f'<dl class="terms">\n{items}\n</dl>'


# -- the timeline --------------------------------------------------------------------------------------


def _fit(text: str, width: float) -> str:
    """``text`` cut (with an ellipsis) to what fits in ``width`` px, so a long title stays in its column."""
    room = int(width / CHAR_WIDTH)
    return text if len(text) <= room else text[: max(room - 1, 1)].rstrip() + "…"


def _ticks(total: float, height: int) -> list[str]:
    """Five ticks from creation to the axis end; the last label ends at the axis, inside the picture."""
    span = WIDTH - LABEL - RIGHT
    out = []
    for i in range(5):
        tx = LABEL + span * i / 4
        anchor = "end" if i == 4 else "middle"
        out.append(f'<line class="tick" x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{height - 20}"/>')
        out.append(f'<text x="{tx:.1f}" y="{height - 5}" text-anchor="{anchor}">'
                   f'{escape(duration(total * i / 4))}</text>')
    return out


def _tooltip(v: Visit) -> str:
    waits = "; ".join(f"waiting on {w.role_title} {duration(w.wait_seconds)}" for w in v.waits)
    end = _short_time(v.ended_at) if v.ended_at else "now"
    held = f"; on hold {duration(v.held_seconds)}" if v.held_seconds else ""
    return (f"{v.phase_title}, round {v.round}: {_short_time(v.started_at)} to {end} (UTC); "
            f"in work {duration(v.work_seconds)}{held}" + (f"; {waits}" if waits else ""))


def _hold_end(hold: Hold, v: Visit, end: str) -> str:
    return hold.ended_at or v.ended_at or end


def timeline_svg(rep: ProjectReport) -> str:
    lanes: list[str] = []
    for v in rep.visits:
        if v.phase not in lanes:
            lanes.append(v.phase)
    start, end = rep.created_at, rep.end
    total = _seconds(start, end) or 1.0  # only a project created this very instant has no length
    span = WIDTH - LABEL - RIGHT
    height = LANE * len(lanes) + 30

    def x(at: str) -> float:
        return LABEL + span * min(_seconds(start, at), total) / total

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="phase timeline">',
           '<defs><pattern id="hold-stripes" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="3" height="6" fill="#777" opacity=".5"/>'
           '</pattern></defs>']
    out += _ticks(total, height)
    titles = {v.phase: v.phase_title for v in rep.visits}
    for i, phase in enumerate(lanes):
        out.append(f'<text x="4" y="{i * LANE + LANE / 2 + 4:.1f}"><title>{escape(titles[phase])}</title>'
                   f'{escape(_fit(titles[phase], LABEL - 12))}</text>')
    for v in rep.visits:
        y = lanes.index(v.phase) * LANE + (LANE - BAR) / 2
        x0 = x(v.started_at)
        x1 = max(x(v.ended_at or end), x0 + 2)
        classes = "visit" + (" current" if v.ended_at is None else "")
        classes += " rejected" if v.ended_by == "reject" else ""
        out.append(f'<rect class="{classes}" x="{x0:.1f}" y="{y:.1f}" width="{x1 - x0:.1f}" height="{BAR}">'
                   f'<title>{escape(_tooltip(v))}</title></rect>')
        work_end = x(v.tasks_done_at) if v.tasks_done_at else x1
        if work_end > x0:
            out.append(f'<rect class="work" x="{x0:.1f}" y="{y + BAR / 3:.1f}" width="{work_end - x0:.1f}" '
                       f'height="{BAR / 3:.1f}"/>')
        for h in v.holds:
            h0, h1 = x(h.started_at), x(_hold_end(h, v, end))
            out.append(f'<rect class="hold" x="{h0:.1f}" y="{y:.1f}" width="{max(h1 - h0, 1):.1f}" '
                       f'height="{BAR}"><title>{escape(_hold_tip(h))}</title></rect>')
    out.append("</svg>")
    return "\n".join(out)


def _hold_tip(h: Hold) -> str:
    until = _short_time(h.ended_at) if h.ended_at else "the end of the visit, or now"
    return f"on hold from {_short_time(h.started_at)} to {until} (UTC), by {h.by}" + (
        f": {h.reason}" if h.reason else "")


# -- the tables ----------------------------------------------------------------------------------------


def _table(header: list[str], rows: list[tuple[list[str], str]]) -> str:
    """A table of ``rows`` (cells already HTML: escape text with :func:`html.escape` first)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "\n".join(f"<tr{f' class={cls!r}' if cls else ''}>"
                     + "".join(f"<td>{c}</td>" for c in cells) + "</tr>" for cells, cls in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def _visits_table(rep: ProjectReport) -> str:
    rows = []
    for v in rep.visits:
        waits = "; ".join(f"{w.role_title}: {duration(w.wait_seconds)}"
                          + (f" ({w.person})" if w.person else "") for w in v.waits)
        cells = [escape(v.phase_title), escape(str(v.round)), _time_html(v.started_at),
                 _time_html(v.ended_at), escape(v.ended_by or "current"), escape(duration(v.work_seconds)),
                 escape(duration(v.held_seconds) if v.held_seconds else "-"), escape(waits or "-"),
                 ", ".join(_passed_html(rep.code, v, p) for p in v.passed_with) or "-"]
        rows.append((cells, "rejected" if v.ended_by == "reject" else ""))
    header = ["phase", "round", "started (UTC)", "ended (UTC)", "how", "in work", "on hold", "waiting on",
              "passed with"]
    return _table(header, rows)


def _passed_html(code: str, v: Visit, p: PassedWith) -> str:
    """A version the gate was passed with, linked to its download (the server's route)."""
    if p.sha256 is None:
        return escape(f"{p.title} v{p.version} (a link)")
    query = urlencode({"version": p.version, "phase": v.phase})
    href = f"/api/v1/projects/{quote(code, safe='')}/deliverables/{quote(p.key, safe='')}?{query}"
    return (f'<a href="{escape(href)}" title="sha256 {escape(p.sha256)}">{escape(p.title)} v{p.version}</a> '
            f"<code>{escape(p.sha256[:12])}</code>")


def _holds_table(rep: ProjectReport) -> str:
    rows = [([escape(v.phase_title), escape(str(v.round)), _time_html(h.started_at),
              _time_html(h.ended_at, "not resumed" if v.ended_at else "still on hold"),
              escape(duration(_seconds(h.started_at, _hold_end(h, v, rep.end)))), escape(h.by),
              escape(h.reason or "")], "")
            for v in rep.visits for h in v.holds]
    if not rows:
        return "<p>The project was never on hold.</p>"
    return _table(["phase", "round", "held (UTC)", "resumed (UTC)", "for", "by", "reason"], rows)


def _trail_table(rep: ProjectReport) -> str:
    """Every approval and rejection in the order given, the withdrawn ones marked, and the events that
    withdrew them (an audit report shows what was voided and by whom)."""
    rows: list[tuple[int, list[str], str]] = [
        (s.seq, [escape(str(s.seq)), _time_html(s.at), escape(s.person), escape(s.role_title),
                 escape(s.decision), escape(s.meaning), escape(s.comment or "")],
         "rejected" if s.decision == "rejected" else "")
        for s in rep.signatures]
    for w in rep.voided:
        a = w.approval
        rows.append((a.seq, [escape(str(a.seq)), _time_html(a.at), escape(a.person), escape(a.role_title),
                             escape(f"{a.decision}, withdrawn by event {w.seq}"), escape(a.meaning),
                             escape(a.comment or "")], "voided"))
        rows.append((w.seq, [escape(str(w.seq)), _time_html(w.at), escape(w.by), escape(a.role_title),
                             escape(f"voided the approval of event {a.seq}: {voiding_words(w)}"),
                             escape(a.meaning), escape(w.reason or "")], "voided"))
    if not rows:
        return "<p>No approvals or rejections yet.</p>"
    rows.sort(key=lambda r: r[0])
    return _table(["event", "at (UTC)", "who", "authority", "decision", "meaning", "comment or reason"],
                  [(cells, cls) for _seq, cells, cls in rows])
