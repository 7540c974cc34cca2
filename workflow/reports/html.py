"""One self-contained HTML page for a project report: a Gantt-style SVG and the approval trail.

No network, no JavaScript: inline CSS, an inline SVG (one ``<rect class="visit">``
per phase visit, with a darker ``<rect class="work">`` for its time in work and an
SVG ``<title>`` as tooltip), and plain tables. Every text from the database is
escaped.
"""

from __future__ import annotations

from html import escape
from string import Template

from workflow.reports.timeline import ProjectReport, _seconds, duration

WIDTH = 900
LABEL = 220
LANE = 28
BAR = 18

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
svg text { font: 12px system-ui, sans-serif; fill: #222; }
rect.visit { fill: #9ec5e8; stroke: #3a6f9e; }
rect.visit.current { fill: #f4d58d; stroke: #a07d1c; }
rect.visit.rejected { stroke: #b3261e; stroke-width: 2; }
rect.work { fill: #3a6f9e; opacity: .55; }
line.tick { stroke: #ddd; }
.rejected td { color: #b3261e; }
</style>
</head>
<body>
<h1>$title</h1>
<p>$summary</p>
<h2>Timeline</h2>
$svg
<p>Each bar is one visit of a phase (one round); the dark part is the time in work, until every task was
done; the rest is time waiting on the gate. Hover a bar for its numbers.</p>
<h2>Phase visits</h2>
$visits
<h2>Approval trail</h2>
$trail
</body>
</html>
""")


def render_html(rep: ProjectReport) -> str:
    return _PAGE.substitute(
        title=escape(f"{rep.code} — timeline"),
        summary=escape(f"Template {rep.template} v{rep.template_version}; status {rep.status}; "
                       f"created {rep.created_at}; as of {rep.as_of}."),
        svg=_svg(rep), visits=_visits_table(rep), trail=_trail_table(rep),
    )


def _svg(rep: ProjectReport) -> str:
    lanes: list[str] = []
    for v in rep.visits:
        if v.phase not in lanes:
            lanes.append(v.phase)
    start = rep.created_at
    total = max(_seconds(start, rep.as_of), 1.0)
    span = WIDTH - LABEL - 10
    height = LANE * len(lanes) + 30

    def x(at: str) -> float:
        return LABEL + span * _seconds(start, at) / total

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="phase timeline">']
    for i in range(5):
        tx = LABEL + span * i / 4
        out.append(f'<line class="tick" x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{height - 20}"/>')
        out.append(f'<text x="{tx:.1f}" y="{height - 5}" text-anchor="middle">'
                   f'{escape(duration(total * i / 4))}</text>')
    titles = {v.phase: v.phase_title for v in rep.visits}
    for i, phase in enumerate(lanes):
        out.append(f'<text x="4" y="{i * LANE + LANE / 2 + 4:.1f}">{escape(titles[phase])}</text>')
    for v in rep.visits:
        y = lanes.index(v.phase) * LANE + (LANE - BAR) / 2
        x0 = x(v.started_at)
        x1 = max(x(v.ended_at or rep.as_of), x0 + 2)
        classes = "visit" + (" current" if v.ended_at is None else "")
        classes += " rejected" if v.ended_by == "reject" else ""
        waits = "; ".join(f"waiting on {w.role_title} {duration(w.wait_seconds)}" for w in v.waits)
        tip = (f"{v.phase_title}, round {v.round}: {v.started_at} to {v.ended_at or 'now'}; "
               f"in work {duration(v.work_seconds)}" + (f"; {waits}" if waits else ""))
        out.append(f'<rect class="{classes}" x="{x0:.1f}" y="{y:.1f}" width="{x1 - x0:.1f}" height="{BAR}">'
                   f'<title>{escape(tip)}</title></rect>')
        work_end = x(v.tasks_done_at) if v.tasks_done_at else x1
        if work_end > x0:
            out.append(f'<rect class="work" x="{x0:.1f}" y="{y + BAR / 3:.1f}" width="{work_end - x0:.1f}" '
                       f'height="{BAR / 3:.1f}"/>')
    out.append("</svg>")
    return "\n".join(out)


def _table(header: list[str], rows: list[tuple[list[str], str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "\n".join(f"<tr{f' class={cls!r}' if cls else ''}>"
                     + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>" for cells, cls in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def _visits_table(rep: ProjectReport) -> str:
    rows = []
    for v in rep.visits:
        waits = "; ".join(f"{w.role_title}: {duration(w.wait_seconds)}"
                          + (f" ({w.person})" if w.person else "") for w in v.waits)
        rows.append(([v.phase_title, str(v.round), v.started_at, v.ended_at or "now", v.ended_by or "current",
                      duration(v.work_seconds), waits or "-"], "rejected" if v.ended_by == "reject" else ""))
    return _table(["phase", "round", "started", "ended", "how", "in work", "waiting on"], rows)


def _trail_table(rep: ProjectReport) -> str:
    rows = [([str(s.seq), s.at, s.person, s.role_title, s.decision, s.meaning, s.comment or ""],
             "rejected" if s.decision == "rejected" else "") for s in rep.signatures]
    if not rows:
        return "<p>No approvals or rejections yet.</p>"
    return _table(["event", "at (UTC)", "who", "authority", "decision", "meaning", "comment or reason"], rows)
