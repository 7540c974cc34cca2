"""Charts as SVG text, drawn on the server: horizontal bars with a p90 mark and a whisker to the
longest, and columns month by month. No chart library and nothing loaded from elsewhere: the page's
Content-Security-Policy admits no inline style, so every colour is a class that the app's
stylesheet (``static/style.css``, ``.chart``) paints, light and dark.

Each chart is an ``<svg role="img">`` named by its own ``<title>`` and described by its ``<desc>``
(a screen reader reads those; the numbers themselves are in the table every chart comes with).
Every text comes from people (a phase's title, a project's code) and is escaped here.
A figure that is only a lower bound (a project still running: "censored") is drawn hatched and
written "at least".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
LABEL = 210  # the left column the bars' labels fit in
RIGHT = 70  # room right of the axis for a value's words
ROW = 28
BAR = 16
AXIS = 26  # below the last row: the axis's numbers
CHAR_WIDTH = 7.0  # px per character of the 12px font, generously: labels are kept inside by it
COLUMN_MOST = 36  # columns wider than this look like bars gone wrong


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: ``value`` the bar's length (a median, say), ``mark`` a tick on it (the
    p90), ``most`` a whisker's end (the longest); ``at_least``: the figures are lower bounds."""

    label: str
    value: float | None
    mark: float | None = None
    most: float | None = None
    at_least: bool = False
    note: str = ""  # said in the tooltip after the figures ("12 projects")


def fit(text: str, width: float) -> str:
    """``text`` cut (with an ellipsis) to what fits in ``width`` px."""
    room = max(int(width / CHAR_WIDTH), 2)
    return text if len(text) <= room else text[: room - 1].rstrip() + "…"


def nice_step(most: float, steps: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) so that ``steps`` of them reach ``most``."""
    if most <= 0 or not math.isfinite(most):
        return 1.0
    rough = most / steps
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)


def _number(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.1f}"


def _frame(chart_id: str, title: str, desc: str, height: float, kind: str) -> list[str]:
    t, d = escape(f"{chart_id}-title", quote=True), escape(f"{chart_id}-desc", quote=True)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" width="{WIDTH}" '
            f'height="{height:.0f}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-labelledby="{t} {d}">',
            f'<title id="{t}">{escape(title)}</title>', f'<desc id="{d}">{escape(desc)}</desc>',
            '<defs><pattern id="' + escape(chart_id, quote=True) + '-hatch" width="6" height="6" '
            'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            '<rect class="hatch" width="3" height="6"/></pattern></defs>']


def bar_chart(bars: Sequence[Bar], *, chart_id: str, title: str, desc: str,
              words: Callable[[float], str], unit: str = "", empty: str = "nothing to draw yet") -> str:
    """Horizontal bars, one per row: the bar to ``value``, a mark at ``mark``, a thin line on to
    ``most``; the value in words at the bar's end (with "at least" for a lower bound)."""
    height = ROW * max(len(bars), 1) + AXIS
    out = _frame(chart_id, title, desc, height, "bars")
    if not bars:
        out.append(f'<text class="empty" x="{WIDTH / 2:.0f}" y="{ROW / 2 + 4:.0f}" text-anchor="middle">'
                   f'{escape(empty)}</text></svg>')
        return "\n".join(out)
    top = max((v for b in bars for v in (b.value, b.mark, b.most) if v is not None), default=0.0)
    step = nice_step(top)
    end = step * max(math.ceil(top / step), 1)
    span = WIDTH - LABEL - RIGHT

    def x(v: float) -> float:
        return LABEL + span * min(max(v, 0.0), end) / end

    bottom = ROW * len(bars)
    ticks = round(end / step)
    if unit:
        out.append(f'<text class="axis unit" x="{LABEL - 8}" y="{bottom + 18}" text-anchor="end">'
                   f'{escape(unit)}</text>')
    for i in range(ticks + 1):
        tx = x(step * i)
        out.append(f'<line class="grid" x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{bottom}"/>')
        out.append(f'<text class="axis" x="{tx:.1f}" y="{bottom + 18}" text-anchor="middle">'
                   f'{escape(_number(step * i))}</text>')
    for i, b in enumerate(bars):
        y = i * ROW + (ROW - BAR) / 2
        mid = y + BAR / 2
        out.append(f'<text class="label" x="{LABEL - 8}" y="{mid + 4:.1f}" text-anchor="end">'
                   f'{escape(fit(b.label, LABEL - 12))}</text>')
        if b.value is None:
            out.append(f'<text class="none" x="{LABEL + 4}" y="{mid + 4:.1f}">no figure yet</text>')
            continue
        cls = "bar at-least" if b.at_least else "bar"
        fill = f' fill="url(#{escape(chart_id, quote=True)}-hatch)"' if b.at_least else ""
        length = max(x(b.value) - LABEL, 1.5)
        out.append(f'<rect class="{cls}"{fill} x="{LABEL}" y="{y:.1f}" width="{length:.1f}" height="{BAR}">'
                   f'<title>{escape(_tip(b, words))}</title></rect>')
        reach = x(b.value)
        if b.most is not None and b.most > b.value:
            reach = x(b.most)
            out.append(f'<line class="whisker" x1="{x(b.value):.1f}" y1="{mid:.1f}" x2="{reach:.1f}" '
                       f'y2="{mid:.1f}"/>')
            out.append(f'<line class="whisker" x1="{reach:.1f}" y1="{y + 4:.1f}" x2="{reach:.1f}" '
                       f'y2="{y + BAR - 4:.1f}"/>')
        if b.mark is not None:
            mx = x(b.mark)
            reach = max(reach, mx)
            out.append(f'<line class="mark" x1="{mx:.1f}" y1="{y - 2:.1f}" x2="{mx:.1f}" '
                       f'y2="{y + BAR + 2:.1f}"/>')
        said = ("≥ " if b.at_least else "") + words(b.value)
        out.append(f'<text class="value" x="{reach + 6:.1f}" y="{mid + 4:.1f}">{escape(said)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _tip(b: Bar, words: Callable[[float], str]) -> str:
    least = "at least " if b.at_least else ""
    parts = [f"{b.label}: {least}{words(b.value)}" if b.value is not None else b.label]
    if b.mark is not None:
        parts.append(f"p90 {least}{words(b.mark)}")
    if b.most is not None:
        parts.append(f"longest {least}{words(b.most)}")
    return "; ".join(parts) + (f" ({b.note})" if b.note else "")


@dataclass(frozen=True)
class Column:
    """One period of a trend: its label ("Mar 2026"), its figure (a median) and its p90."""

    label: str
    value: float | None
    mark: float | None = None
    at_least: bool = False
    note: str = ""


def column_chart(columns: Sequence[Column], *, chart_id: str, title: str, desc: str,
                 words: Callable[[float], str], unit: str = "", empty: str = "nothing to draw yet") -> str:
    """Columns left to right in time order, each with its p90 mark; labels thinned to fit."""
    plot = 190
    top_margin = 22  # room above the plot for the unit
    height = top_margin + plot + 32
    out = _frame(chart_id, title, desc, height, "columns")
    if not columns:
        out.append(f'<text class="empty" x="{WIDTH / 2:.0f}" y="{plot / 2:.0f}" text-anchor="middle">'
                   f'{escape(empty)}</text></svg>')
        return "\n".join(out)
    left, right = 56, 12
    span = WIDTH - left - right
    most = max((v for c in columns for v in (c.value, c.mark) if v is not None), default=0.0)
    step = nice_step(most)
    end = step * max(math.ceil(most / step), 1)
    base = top_margin + plot - 20

    def y(v: float) -> float:
        return base - (plot - 20) * min(max(v, 0.0), end) / end

    for i in range(round(end / step) + 1):
        ty = y(step * i)
        out.append(f'<line class="grid" x1="{left}" y1="{ty:.1f}" x2="{WIDTH - right}" y2="{ty:.1f}"/>')
        out.append(f'<text class="axis" x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">'
                   f'{escape(_number(step * i))}</text>')
    if unit:
        out.append(f'<text class="axis unit" x="{left}" y="12">{escape(unit)}</text>')
    slot = span / len(columns)
    width = min(slot * 0.7, COLUMN_MOST)
    every = max(1, math.ceil(len(columns) * 64 / span))  # a label each 64 px at least
    for i, c in enumerate(columns):
        cx = left + slot * (i + 0.5)
        if c.value is not None:
            cls = "bar at-least" if c.at_least else "bar"
            fill = f' fill="url(#{escape(chart_id, quote=True)}-hatch)"' if c.at_least else ""
            out.append(f'<rect class="{cls}"{fill} x="{cx - width / 2:.1f}" y="{y(c.value):.1f}" '
                       f'width="{width:.1f}" height="{max(base - y(c.value), 1.5):.1f}">'
                       f'<title>{escape(_column_tip(c, words))}</title></rect>')
        if c.mark is not None:
            my = y(c.mark)
            out.append(f'<line class="mark" x1="{cx - width / 2 - 3:.1f}" y1="{my:.1f}" '
                       f'x2="{cx + width / 2 + 3:.1f}" y2="{my:.1f}"/>')
        if i % every == 0:
            out.append(f'<text class="axis" x="{cx:.1f}" y="{base + 18}" text-anchor="middle">'
                       f'{escape(fit(c.label, slot * every))}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _column_tip(c: Column, words: Callable[[float], str]) -> str:
    least = "at least " if c.at_least else ""
    said = f"{c.label}: median {least}{words(c.value)}" if c.value is not None else c.label
    if c.mark is not None:
        said += f"; p90 {least}{words(c.mark)}"
    return said + (f" ({c.note})" if c.note else "")
