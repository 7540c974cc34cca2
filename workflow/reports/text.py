"""A timeline report as text: the lines ``report`` prints for a project and for a template."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the timeline's summary words its lines with duration() and count()
    from workflow.reports.timeline import PassedWith, ProjectReport, TemplateReport, Visit, Voided


def duration(seconds: float | None) -> str:
    """A duration for people: 2d 03h, 4h 05m, 12m 30s, 45s."""
    if seconds is None:
        return "-"
    if seconds < 10 and seconds != int(seconds):
        return f"{seconds:.1f}s"
    s = round(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def report_lines(rep: ProjectReport) -> list[str]:
    lines = [f"{rep.code} ({rep.template} v{rep.template_version}), {rep.status}, as of {rep.as_of}"]
    for v in rep.visits:
        end = v.ended_at or "now"
        how = f" ({v.ended_by})" if v.ended_by else " (current)"
        lines.append("")
        lines.append(f"{v.phase_title}, round {v.round}: {v.started_at} -> {end}{how}")
        tail = "" if v.tasks_done_at else " (tasks not all done)"
        lines.append(f"  in work: {duration(v.work_seconds)}{tail}")
        if v.due_on is not None:
            planned = f"planned {v.planned}, " if v.planned else ""
            verdict = (("late" if v.ended_at else "overdue") if v.late
                       else ("on time" if v.ended_at else "on track"))
            lines.append(f"  schedule: {planned}due {v.due_on}: {verdict}")
        if v.held_seconds:
            lines.append(f"  on hold: {duration(v.held_seconds)}")
        for w in v.waits:
            who = f"signed by {w.person} at {w.signed_at}" if w.person else "not signed"
            lines.append(f"  waiting on {w.role_title}: {duration(w.wait_seconds)} ({who})")
        if v.passed_with:
            lines.append("  passed with: " + ", ".join(passed_words(p) for p in v.passed_with))
        lines += [f"  {line}" for line in trail_lines(v)]
    return lines


def passed_words(p: PassedWith) -> str:
    """A version a gate was passed with: "Estimate v2 (sha256 3f2a9c01b7e4)"."""
    return f"{p.title} v{p.version} " + (f"(sha256 {p.sha256[:12]})" if p.sha256 else "(a link)")


def voiding_words(w: Voided) -> str:
    """What voided an approval, in words: "fay withdrew it" or "ana removed fay from Team"."""
    a = w.approval
    if w.action == "withdraw":
        return f"{w.by} withdrew it"
    if w.action == "deliverable.add":
        return f"{w.by} added a new version of what it signed"
    return f"{w.by} removed {a.person} from {a.role_title}"


def trail_lines(v: Visit) -> list[str]:
    """A visit's approval trail in the order it happened: the approvals and rejections that stand,
    the approvals withdrawn (marked so) and the events that withdrew them."""
    entries: list[tuple[int, str]] = []
    for s in v.signatures:
        note = f": {s.comment}" if s.comment else ""
        entries.append((s.seq, f"#{s.seq} {s.at} {s.person} {s.decision} as {s.role_title}{note}"))
    for w in v.voided:
        a = w.approval
        note = f": {a.comment}" if a.comment else ""
        entries.append((a.seq, f"#{a.seq} {a.at} {a.person} {a.decision} as {a.role_title}{note} "
                               f"(withdrawn: #{w.seq})"))
        why = f": {w.reason}" if w.reason else ""
        entries.append((w.seq, f"#{w.seq} {w.at} {voiding_words(w)}, voiding #{a.seq} "
                               f"({a.person}'s approval as {a.role_title}){why}"))
    return [line for _seq, line in sorted(entries, key=lambda e: e[0])]


def template_report_lines(t: TemplateReport) -> list[str]:
    lines = [f"{t.template}: {count(t.projects, 'project')}", "", "median time per phase:"]
    for p in t.phases:
        lines.append(f"  {p.phase_title}: {duration(p.median_seconds)} "
                     f"(in work {duration(p.median_work_seconds)}; {count(p.visits, 'finished visit')})")
    lines += ["", "median wait per gate role:"]
    for r in t.roles:
        where = "all phases" if r.phase is None else r.phase
        lines.append(f"  {r.role_title} ({where}): {duration(r.median_wait_seconds)} "
                     f"over {count(r.signed, 'sign-off')}")
    lines += ["", "where projects wait longest:"]
    lines += [f"  {s}" for s in t.longest_waits] or ["  (no finished visits yet)"]
    return lines
