"""The insights document: every figure of issue 25, one frozen value, as JSON (:meth:`Insights.to_dict`)
and as one CSV (:meth:`Insights.to_csv`). The CLI, the HTTP API and the web page all show this value.

Built from counted rows (:class:`Counts`, what ``storage/insights/read.py`` adds up in SQL) by
:func:`build`, pure: every figure is checked by hand in ``tests/engine/test_insights.py`` (three known
histories, both backends), the arithmetic in ``tests/domain/test_insights_figures.py``.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflow.domain.insights.figures import Dist, dist
from workflow.domain.templates.definition import Definition

SLOWEST = 3  # people listed per role
REASONS = 10  # rejection reasons listed per gate
OVERDUE_LISTED = 100  # overdue projects listed (all are counted)


@dataclass(frozen=True)
class PhaseFigures:
    phase: str
    title: str
    passed: int  # rounds that passed the phase (the lead advanced)
    rejected: int  # rounds sent back from its gate
    cancelled: int  # rounds ended by the project's cancellation (apart: no time figures)
    running: int  # rounds in the phase now (censored: "at least")
    days: Dist  # working days of the ended rounds (passed or rejected), holds excluded
    running_days: Dist  # working days so far of the running rounds (lower bounds)
    held_days: int  # working days on hold in the ended rounds, shown apart
    on_time: int  # ended rounds that ended on or before their due date
    late: int  # ended rounds that ended after it
    no_due_date: int  # ended rounds without a due date (the phase has no duration)
    overdue_now: int  # running rounds past their due date today


@dataclass(frozen=True)
class Reason:
    reason: str
    count: int


@dataclass(frozen=True)
class GateFigures:
    phase: str
    gate: str
    passes: int
    rejections: int
    rounds_per_pass: float | None  # (passes + rejections) / passes: 1.0 never sends work back
    reasons: tuple[Reason, ...]  # grouped (case and spacing ignored), most frequent first
    days_to_last_signature: Dist  # working days from the gate's opening to its last signature


@dataclass(frozen=True)
class Slow:
    person: str
    signatures: int
    mean_days: float
    max_days: int


@dataclass(frozen=True)
class RoleFigures:
    role: str
    title: str
    days_to_sign: Dist  # working days from the gate's opening to each standing signature
    slowest: tuple[Slow, ...]  # highest mean first; only where the viewer may see names


@dataclass(frozen=True)
class VersionFigures:
    template: str
    version: int
    title: str
    running: int
    completed: int
    cancelled: int
    cycle_days: Dist  # completed projects: creation to completion, working days, holds excluded
    running_cycle_days: Dist  # running projects so far (lower bounds)
    cancelled_cycle_days: Dist  # cancelled projects, creation to cancellation (apart)
    phases: tuple[PhaseFigures, ...]
    gates: tuple[GateFigures, ...]
    roles: tuple[RoleFigures, ...]


@dataclass(frozen=True)
class TrendPoint:
    month: str  # YYYY-MM of the completion
    template: str
    version: int
    completed: int
    cycle_days: Dist


@dataclass(frozen=True)
class Overdue:
    code: str
    name: str | None
    template: str
    version: int
    phase: str
    phase_title: str
    round: int
    due_on: str
    days_overdue: int | None  # working days past the due date (None: too far apart to count)
    waiting_on: str  # "tasks" (the gate is not open) or "signatures"
    roles: tuple[str, ...]  # whose task or signature is missing


@dataclass(frozen=True)
class Insights:
    generated_at: str
    today: str
    filters: Mapping[str, Any]
    scope: str  # "all" (admins, auditors) or "readable" (the viewer's own projects)
    names_shown: str  # "all", "led" (the projects the viewer leads) or "none"
    versions: tuple[VersionFigures, ...]
    trend: tuple[TrendPoint, ...]
    overdue: tuple[Overdue, ...]
    overdue_total: int

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    def csv_rows(self) -> list[dict[str, Any]]:
        """One row per figure: ``section``, the row's keys (template, version, phase, role …), the
        figure's name and its value (a distribution gives n, median, p90, max, at_least)."""
        rows: list[dict[str, Any]] = []

        def add(section: str, key: dict[str, Any], figures: Mapping[str, Any]) -> None:
            for name, value in figures.items():
                if isinstance(value, Dist):
                    for part, v in value.to_dict().items():
                        rows.append({"section": section, **key, "figure": f"{name}.{part}", "value": v})
                elif not isinstance(value, (tuple, list)):
                    rows.append({"section": section, **key, "figure": name, "value": value})

        for v in self.versions:
            base = {"template": v.template, "version": v.version}
            add(
                "projects",
                base,
                {
                    k: getattr(v, k)
                    for k in (
                        "running",
                        "completed",
                        "cancelled",
                        "cycle_days",
                        "running_cycle_days",
                        "cancelled_cycle_days",
                    )
                },
            )
            for p in v.phases:
                add("phase", {**base, "phase": p.phase}, _fields(p, skip=("phase", "title")))
            for g in v.gates:
                add("gate", {**base, "phase": g.phase}, _fields(g, skip=("phase", "gate", "reasons")))
                for reason in g.reasons:
                    rows.append(
                        {"section": "reason", **base, "phase": g.phase, "figure": reason.reason,
                         "value": reason.count}
                    )
            for r in v.roles:
                add("role", {**base, "role": r.role}, {"days_to_sign": r.days_to_sign})
                for s in r.slowest:
                    rows.append(
                        {
                            "section": "slowest",
                            **base,
                            "role": r.role,
                            "person": s.person,
                            "figure": "mean_days",
                            "value": s.mean_days,
                        }
                    )
        for t in self.trend:
            add(
                "trend",
                {"template": t.template, "version": t.version, "month": t.month},
                {"completed": t.completed, "cycle_days": t.cycle_days},
            )
        for o in self.overdue:
            rows.append(
                {
                    "section": "overdue",
                    "template": o.template,
                    "version": o.version,
                    "phase": o.phase,
                    "project": o.code,
                    "figure": "days_overdue",
                    "value": o.days_overdue,
                }
            )
        return rows

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.csv_rows():
            writer.writerow(row)
        return out.getvalue()


CSV_COLUMNS = (
    "section",
    "template",
    "version",
    "phase",
    "role",
    "person",
    "project",
    "month",
    "figure",
    "value",
)


def _fields(obj: Any, skip: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in vars(obj).items() if k not in skip}


def _plain(value: Any) -> Any:
    if isinstance(value, Dist):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


# -- from counted rows to figures -----------------------------------------------------------------


Hist = dict[int, int]


@dataclass
class Counts:
    """What the storage adds up, keyed by template version id (each a ``defaultdict``)."""

    # (tid, phase) -> {outcome: count}; -> {late flag: count} over ended rounds; -> held days
    outcomes: dict[tuple[int, str], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    timeliness: dict[tuple[int, str], dict[bool | None, int]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    held: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))
    phase_days: dict[tuple[int, str], Hist] = field(default_factory=lambda: defaultdict(dict))
    running_days: dict[tuple[int, str], Hist] = field(default_factory=lambda: defaultdict(dict))
    gate_days: dict[tuple[int, str], Hist] = field(default_factory=lambda: defaultdict(dict))
    reasons: dict[tuple[int, str], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    sign_days: dict[tuple[int, str], Hist] = field(default_factory=lambda: defaultdict(dict))
    # (tid, role) -> [(person, signatures, total days, max days)]
    signers: dict[tuple[int, str], list[tuple[str, int, int, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # tid -> {status: {days: count}}: completed, cancelled, running (lower bounds)
    cycles: dict[int, dict[str, Hist]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(dict)))
    trend: dict[tuple[int, str], Hist] = field(default_factory=lambda: defaultdict(dict))
    overdue_now: dict[tuple[int, str], int] = field(default_factory=lambda: defaultdict(int))


@dataclass(frozen=True)
class Version:
    """A template version as the figures name it."""

    id: int
    key: str
    version: int
    title: str
    definition: Definition


def add_count(hist: Hist, value: int, count: int) -> None:
    hist[value] = hist.get(value, 0) + count


def build(
    counts: Counts, versions: Sequence[Version]
) -> tuple[tuple[VersionFigures, ...], tuple[TrendPoint, ...]]:
    """The figures of each template version (those with a project in the counts), and the trend."""
    out = []
    present = {tid for tid, _ in counts.outcomes} | set(counts.cycles)
    for v in versions:
        if v.id not in present:
            continue
        d = v.definition
        phases = []
        gates = []
        for p in d.phases:
            k = (v.id, p.key)
            o = counts.outcomes.get(k, {})
            t = counts.timeliness.get(k, {})
            phases.append(
                PhaseFigures(
                    p.key,
                    p.title,
                    o.get("passed", 0),
                    o.get("rejected", 0),
                    o.get("cancelled", 0),
                    o.get("running", 0),
                    dist(counts.phase_days.get(k, {})),
                    dist(counts.running_days.get(k, {}), at_least=True),
                    counts.held.get(k, 0),
                    t.get(False, 0),
                    t.get(True, 0),
                    t.get(None, 0),
                    counts.overdue_now.get(k, 0),
                )
            )
            if p.gate is not None:
                passes, rejections = o.get("passed", 0), o.get("rejected", 0)
                grouped: dict[str, tuple[str, int]] = {}
                for text, n in counts.reasons.get(k, {}).items():
                    norm = " ".join((text or "").split()).casefold()
                    shown, had = grouped.get(norm, (" ".join((text or "").split()), 0))
                    grouped[norm] = (shown, had + n)
                reasons = sorted(grouped.values(), key=lambda r: (-r[1], r[0]))[:REASONS]
                gates.append(
                    GateFigures(
                        p.key,
                        p.gate.title,
                        passes,
                        rejections,
                        round((passes + rejections) / passes, 2) if passes else None,
                        tuple(Reason(r, n) for r, n in reasons),
                        dist(counts.gate_days.get(k, {})),
                    )
                )
        roles = []
        for role in d.roles:
            k = (v.id, role.key)
            hist = counts.sign_days.get(k, {})
            if not hist:
                continue
            slow = sorted(counts.signers.get(k, []), key=lambda s: (-s[2] / s[1], -s[3], s[0]))[:SLOWEST]
            roles.append(
                RoleFigures(
                    role.key,
                    role.title,
                    dist(hist),
                    tuple(Slow(person, n, round(total / n, 2), worst) for person, n, total, worst in slow),
                )
            )
        cyc = counts.cycles.get(v.id, {})
        out.append(
            VersionFigures(
                v.key,
                v.version,
                v.title,
                sum(cyc.get("running", {}).values()),
                sum(cyc.get("completed", {}).values()),
                sum(cyc.get("cancelled", {}).values()),
                dist(cyc.get("completed", {})),
                dist(cyc.get("running", {}), at_least=True),
                dist(cyc.get("cancelled", {})),
                tuple(phases),
                tuple(gates),
                tuple(roles),
            )
        )
    by_id = {v.id: v for v in versions}
    trend = tuple(
        TrendPoint(month, by_id[tid].key, by_id[tid].version, sum(h.values()), dist(h))
        for (tid, month), h in sorted(
            counts.trend.items(), key=lambda kv: (kv[0][1], by_id[kv[0][0]].key, by_id[kv[0][0]].version)
        )
        if tid in by_id
    )
    return tuple(out), trend
