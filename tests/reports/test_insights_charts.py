"""The Insights page's charts, drawn alone: well-formed SVG named by its title and description, bars as
long as their numbers, lower bounds hatched and said "at least", and every text escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from workflow.reports.charts import LABEL, RIGHT, WIDTH, Bar, Column, bar_chart, column_chart, fit, nice_step

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>&amp;'


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything not well-formed (an unescaped name would be)


def days(v: float) -> str:
    return f"{v:g} d"


def test_a_bar_chart_is_an_image_named_by_its_title_and_description() -> None:
    root = parsed(bar_chart([Bar("Brief", 2.0)], chart_id="c", title="Time in phase", desc="the medians",
                            words=days))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "Time in phase"  # type: ignore[union-attr]
    assert root.find(f"{SVG}title").get("id") == "c-title"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "the medians"  # type: ignore[union-attr]


def test_bars_are_as_long_as_their_numbers_on_a_round_axis() -> None:
    root = parsed(bar_chart([Bar("Brief", 5.0, mark=8.0, most=10.0), Bar("Build", 10.0)], chart_id="c",
                            title="t", desc="d", words=days))
    bars = root.findall(f"{SVG}rect[@class='bar']")
    widths = [float(b.get("width") or 0) for b in bars]
    span = WIDTH - LABEL - RIGHT
    assert widths == [span / 2, span]  # the axis ends at 10: a round step of 2.5 four times
    axis = [t.text for t in root.findall(f"{SVG}text[@class='axis']")]
    assert axis == ["0", "2.5", "5", "7.5", "10"]
    mark = root.find(f"{SVG}line[@class='mark']")
    assert mark is not None and float(mark.get("x1") or 0) == LABEL + span * 0.8
    whiskers = root.findall(f"{SVG}line[@class='whisker']")
    assert float(whiskers[0].get("x2") or 0) == LABEL + span


def test_a_lower_bound_is_hatched_and_said_at_least() -> None:
    svg = bar_chart([Bar("Build", 4.0, mark=6.0, at_least=True)], chart_id="c", title="t", desc="d", words=days)
    root = parsed(svg)
    bar = root.find(f"{SVG}rect[@class='bar at-least']")
    assert bar is not None and bar.get("fill") == "url(#c-hatch)"
    assert root.find(f".//{SVG}pattern[@id='c-hatch']") is not None
    assert "Build: at least 4 d; p90 at least 6 d" in (bar.find(f"{SVG}title").text or "")  # type: ignore[union-attr]
    assert any(t.text == "≥ 4 d" for t in root.findall(f"{SVG}text[@class='value']"))


def test_hostile_names_are_escaped_in_labels_and_tooltips() -> None:
    svg = bar_chart([Bar(HOSTILE, 1.0, note=HOSTILE)], chart_id="c", title=HOSTILE, desc=HOSTILE, words=days)
    assert "<script>" not in svg and "<img" not in svg
    root = parsed(svg)
    assert root.find(f"{SVG}title").text == HOSTILE  # type: ignore[union-attr]
    svg = column_chart([Column(HOSTILE, 1.0)], chart_id="c", title="t", desc="d", words=days)
    assert "<script>" not in svg
    parsed(svg)


def test_an_empty_chart_says_so() -> None:
    root = parsed(bar_chart([], chart_id="c", title="t", desc="d", words=days, empty="no gate passed yet"))
    assert [t.text for t in root.findall(f"{SVG}text")] == ["no gate passed yet"]
    root = parsed(column_chart([], chart_id="c", title="t", desc="d", words=days))
    assert root.findall(f"{SVG}rect") == []


def test_a_row_without_a_figure_draws_no_bar() -> None:
    root = parsed(bar_chart([Bar("Review", None)], chart_id="c", title="t", desc="d", words=days))
    assert root.findall(f"{SVG}rect[@class='bar']") == []
    assert any(t.text == "no figure yet" for t in root.findall(f"{SVG}text"))


def test_columns_run_left_to_right_and_thin_their_labels_to_fit() -> None:
    columns = [Column(f"M{i:02d}", float(i), float(i) + 1) for i in range(1, 37)]
    root = parsed(column_chart(columns, chart_id="t", title="t", desc="d", words=days))
    bars = root.findall(f"{SVG}rect[@class='bar']")
    xs = [float(b.get("x") or 0) for b in bars]
    assert xs == sorted(xs) and len(bars) == 36
    heights = [float(b.get("height") or 0) for b in bars]
    assert heights == sorted(heights)
    labels = [t.text for t in root.findall(f"{SVG}text[@class='axis']") if t.text and t.text.startswith("M")]
    assert labels[0] == "M01" and 6 <= len(labels) < 36  # every few months, never overlapping


def test_round_steps_and_cut_labels() -> None:
    assert [nice_step(v) for v in (4, 10, 7, 0.3, 130)] == [1, 2.5, 2, 0.1, 50]
    assert nice_step(0) == 1
    assert fit("Production", 200) == "Production"
    cut = fit("A very long phase title that cannot fit", 70)
    assert cut.endswith("…") and len(cut) == 10
    assert re.fullmatch(r"[^<>]*", cut)
