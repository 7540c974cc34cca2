"""``phasegate insights`` (issue 25): the engine's one computation as a table, JSON or CSV, with the
same filters; the figures themselves are checked by hand in tests/engine/test_insights.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from support.cli_runs import Run, cli_runner
from support.insight_histories import three_histories

from workflow import Engine
from workflow.client.decode import from_dict
from workflow.domain.insights.report import Insights


@pytest.fixture
def histories(db_url: str) -> Iterator[tuple[Engine, Run]]:
    with three_histories(db_url) as engine:
        yield engine, cli_runner(db_url)


def test_json_and_csv_are_the_engines_figures(histories: tuple[Engine, Run]) -> None:
    engine, run = histories
    as_json = run("insights", "--template", "timed-team", as_json=True)
    assert as_json.exit_code == 0, as_json.output
    found = engine.insights(viewer="ana", template="timed-team")
    assert json.loads(as_json.output) == json.loads(json.dumps(found.to_dict()))
    as_csv = run("insights", "--template", "timed-team", "--csv")
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.output == found.to_csv()


def test_the_table_says_what_each_figure_is(histories: tuple[Engine, Run]) -> None:
    _engine, run = histories
    shown = run("insights", "--client", "ACME")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "Insights over every project, 2026-12-24 (client ACME)"
    assert "Timed team (timed-team v1): 1 running, 1 completed, 0 cancelled" in lines
    assert any(line.split()[:3] == ["Review", "1", "1"] and "2 / 3 / 3 (n=2)" in line for line in lines)
    assert any(line.startswith("QA sign-off") and "Fails QA (1)" in line for line in lines)
    assert any(line.startswith("Kick-Off") and "≥8 / ≥8 / ≥8 (n=1)" in line for line in lines)
    assert any(line.startswith("P-3") and "waiting on" not in line and "tasks: producer, dev" in line
               for line in lines)


def test_bad_filters_are_refused_with_a_sentence(histories: tuple[Engine, Run]) -> None:
    _engine, run = histories
    both = run("insights", "--csv", as_json=True)
    assert both.exit_code == 2 and "choose one" in both.output
    unknown = run("insights", "--template", "nope")
    assert unknown.exit_code == 3 and "there is no template nope" in unknown.output
    not_a_day = run("insights", "--since", "yesterday")
    assert not_a_day.exit_code == 2 and "is not a date" in not_a_day.output


def test_the_http_clients_answer_decodes_to_the_same_figures(histories: tuple[Engine, Run]) -> None:
    engine, _run = histories
    found = engine.insights(viewer="ana")
    assert from_dict(Insights, json.loads(json.dumps(found.to_dict()))) == found
