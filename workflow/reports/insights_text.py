"""``phasegate insights`` as tables for people (issue 25): the same :class:`Insights` the JSON and the
CSV give, a section per template version. A distribution reads ``median / p90 / max (n)``; ``≥``
marks lower bounds (rounds or projects still running)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from workflow.domain.insights.figures import Dist
from workflow.domain.insights.report import Insights

Columns = Callable[[Sequence[Sequence[str]], Sequence[str]], list[str]]


def dist_text(d: Dist) -> str:
    """``3 / 5 / 9 (n=12)`` working days; ``≥`` before each figure of lower bounds; ``-`` for none."""
    if d.n == 0:
        return "-"
    mark = "≥" if d.at_least else ""
    return f"{mark}{d.median} / {mark}{d.p90} / {mark}{d.max} (n={d.n})"


def _under(columns: Columns, rows: Sequence[Sequence[str]], header: Sequence[str], *before: str) -> list[str]:
    """``before`` and the rows under their header; nothing at all when there are no rows."""
    return [*before, *columns(rows, header)] if rows else []


def insights_lines(found: Insights, columns: Columns) -> list[str]:
    """The report as lines; ``columns`` lays rows out under a header (``cli/render.columns``)."""
    f = {k: v for k, v in found.filters.items() if v is not None}
    scope = "every project" if found.scope == "all" else "the projects you may read"
    lines = [
        f"Insights over {scope}, {found.today}"
        + (f" ({', '.join(f'{k} {v}' for k, v in f.items())})" if f else ""),
        "Working days on each project's calendar, holds excluded; median / p90 / max (n); "
        "≥: still running, at least",
    ]
    if not found.versions:
        lines += ["", "No projects."]
    for v in found.versions:
        lines += [
            "",
            f"{v.title} ({v.template} v{v.version}): {v.running} running, {v.completed} completed, "
            f"{v.cancelled} cancelled",
            f"  cycle time: {dist_text(v.cycle_days)}; running {dist_text(v.running_cycle_days)}; "
            f"cancelled {dist_text(v.cancelled_cycle_days)}",
            "",
        ]
        lines += columns(
            [
                [
                    p.title,
                    str(p.passed),
                    str(p.rejected),
                    str(p.running),
                    dist_text(p.days),
                    dist_text(p.running_days),
                    str(p.held_days),
                    f"{p.on_time}/{p.late}/{p.no_due_date}",
                    str(p.overdue_now),
                ]
                for p in v.phases
            ],
            [
                "phase",
                "passed",
                "rejected",
                "running",
                "time in phase",
                "running so far",
                "held",
                "on time/late/no date",
                "overdue now",
            ],
        )
        lines += _under(
            columns,
            [
                [
                    g.gate,
                    str(g.passes),
                    str(g.rejections),
                    "-" if g.rounds_per_pass is None else f"{g.rounds_per_pass:g}",
                    dist_text(g.days_to_last_signature),
                    "; ".join(f"{r.reason} ({r.count})" for r in g.reasons) or "-",
                ]
                for g in v.gates
            ],
            [
                "gate",
                "passes",
                "rejections",
                "rounds per pass",
                "opening to last signature",
                "rejection reasons",
            ],
            "",
        )
        lines += _under(
            columns,
            [
                [
                    r.title,
                    dist_text(r.days_to_sign),
                    ", ".join(f"{s.person} ({s.mean_days:g} mean, {s.signatures})" for s in r.slowest) or "-",
                ]
                for r in v.roles
            ],
            ["role", "time to sign", "slowest"],
            "",
        )
    lines += _under(
        columns,
        [
            [t.month, f"{t.template} v{t.version}", str(t.completed), dist_text(t.cycle_days)]
            for t in found.trend
        ],
        ["month", "template", "completed", "cycle time"],
        "",
        "Cycle time by month of completion:",
    )
    lines += ["", f"Overdue now: {found.overdue_total}"]
    if found.overdue:
        lines += columns(
            [
                [
                    o.code,
                    f"{o.phase_title} (round {o.round})",
                    o.due_on,
                    "-" if o.days_overdue is None else str(o.days_overdue),
                    f"{o.waiting_on}: {', '.join(o.roles) or '-'}",
                ]
                for o in found.overdue
            ],
            ["project", "stuck in", "due", "days over", "waiting on"],
        )
        if found.overdue_total > len(found.overdue):
            lines.append(f"(the {len(found.overdue)} longest overdue shown)")
    return lines
