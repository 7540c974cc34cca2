"""``GET /api/v1/insights`` (issue 25): the Engine's one computation for the caller, as JSON or as CSV
(``Accept: text/csv`` or ``format=csv``), with the CLI's filters; each caller's figures are over the
projects they may read; a bad filter is a 422 (or 404) with the error body; and the CLI on the
database, the CLI through a server, the endpoint and the page say the same numbers for the same
filters. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient
from support.apiclients import api, bearer, error_of
from support.cli_runs import cli_runner, cli_session
from support.insight_agency import agency
from support.schedules import moved_clock
from support.servers import people

from workflow import Engine

FILTERS: list[dict[str, Any]] = [
    {},
    {"template": "timed-team"},
    {"template": "timed-team", "version": 1},
    {"client": "Acme"},
    {"since": "2026-12-14", "until": "2026-12-18"},
    {"client": "Globex", "since": "2026-12-21"},
]
CALLERS = ("root", "aud", "ana", "ben", "out")


@dataclass
class Agency:
    url: str
    engine: Engine
    client: TestClient
    tokens: dict[str, str]

    def get(self, who: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get("/api/v1/insights", params=params or {}, headers={**bearer(self.tokens[who]),
                                                                                 **headers})

    def figures(self, who: str, **filters: Any) -> Any:
        return self.engine.insights(viewer=who, **filters)


@pytest.fixture
def agency_api(db_url: str) -> Iterator[Agency]:
    """The agency's history on a fixed clock (so the engine and the server say the same "now"), tokens
    for everyone, an in-process server on the same database."""
    with moved_clock() as clock, Engine(db_url) as e:
        agency(e, clock, passwords=False)
        tokens = people(e, {"aud": ("auditor",), "ana": (), "ben": (), "out": ()})
        with api(db_url) as c:
            yield Agency(db_url, e, c, tokens)


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_each_caller_gets_the_engines_figures_for_the_same_filters(agency_api: Agency) -> None:
    for who in CALLERS:
        for filters in FILTERS:
            answer = agency_api.get(who, filters)
            assert answer.status_code == 200, (who, filters, answer.text)
            assert answer.headers["content-type"].startswith("application/json")
            assert answer.json() == plain(agency_api.figures(who, **filters).to_dict()), (who, filters)


def test_the_figures_are_over_the_projects_each_caller_may_read(agency_api: Agency) -> None:
    def projects(doc: dict[str, Any]) -> int:
        return sum(v["running"] + v["completed"] + v["cancelled"] for v in doc["versions"])

    everything = agency_api.get("root").json()
    assert (everything["scope"], projects(everything)) == ("all", 4)
    assert agency_api.get("aud").json()["scope"] == "all"
    ana = agency_api.get("ana").json()
    assert (ana["scope"], projects(ana)) == ("readable", 4)  # she produces all four
    ben = agency_api.get("ben").json()
    assert projects(ben) == 1 and [o["code"] for o in ben["overdue"]] == ["P-4"]
    outsider = agency_api.get("out").json()
    assert (projects(outsider), outsider["overdue"], outsider["trend"]) == (0, [], [])


def test_csv_by_accept_header_or_by_format(agency_api: Agency) -> None:
    expected = agency_api.figures("ana", client="Acme").to_csv()
    for params, headers in (({"client": "Acme"}, {"Accept": "text/csv"}),
                            ({"client": "Acme", "format": "csv"}, {}),
                            ({"client": "Acme", "format": "csv"}, {"Accept": "application/json"})):
        answer = agency_api.get("ana", params, **headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert answer.text == expected
    for params, headers in (({"format": "json"}, {"Accept": "text/csv"}),
                            ({}, {"Accept": "application/json, text/csv"}), ({}, {"Accept": "*/*"})):
        assert agency_api.get("ana", params, **headers).headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(("params", "status", "kind", "words"), [
    ({"version": 1}, 422, "bad_input", "--version needs --template"),
    ({"since": "yesterday"}, 422, "bad_input", "not a date"),
    ({"since": "2026-12-20", "until": "2026-12-01"}, 422, "bad_input", "is after"),
    ({"template": "no-such"}, 404, "not_found", "there is no template no-such"),
    ({"template": "timed-team", "version": 9}, 404, "not_found", "timed-team version 9"),
    ({"version": 0}, 422, "bad_input", ""),
    ({"format": "xml"}, 422, "bad_input", ""),
], ids=["version-alone", "not-a-day", "since-after-until", "no-template", "no-version", "version-0", "format"])
def test_a_bad_filter_is_refused_with_the_error_body(agency_api: Agency, params: dict[str, Any], status: int,
                                                     kind: str, words: str) -> None:
    answer = agency_api.get("ana", params)
    assert answer.status_code == status, answer.text
    error = error_of(answer)
    assert error["kind"] == kind and words in error["message"], error


def test_no_credential_no_figures(agency_api: Agency) -> None:
    answer = agency_api.client.get("/api/v1/insights")
    assert answer.status_code == 401 and error_of(answer)["kind"] == "unauthenticated"


def test_the_openapi_document_lists_the_endpoint_with_both_answers(agency_api: Agency) -> None:
    operation = agency_api.client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/insights"]["get"]
    assert operation["tags"] == ["insights"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {p["name"] for p in operation["parameters"]} >= {"template", "version", "client", "since", "until",
                                                             "format"}


def test_the_cli_the_endpoint_and_the_page_say_the_same_numbers(agency_api: Agency) -> None:
    """One computation: ``phasegate insights --json`` and ``--csv`` on the database and the endpoint for
    the same filters (the page's tables are held to the endpoint's document in
    tests/server/web/test_web_insights.py)."""
    from workflow.reports.insights_svg import insights_view
    from workflow.server.web.insights import role_titles

    run = cli_runner(agency_api.url)
    for filters in FILTERS:
        args = [a for k, v in filters.items() for a in (f"--{k}", str(v))]
        shown = run("insights", *args, actor="ana", as_json=True)
        assert shown.exit_code == 0, shown.output
        answer = agency_api.get("ana", filters).json()
        assert json.loads(shown.output) == answer, filters
        as_csv = run("insights", *args, "--csv", actor="ana")
        assert as_csv.output == agency_api.get("ana", filters, Accept="text/csv").text
        view = insights_view(answer, roles=role_titles(agency_api.engine, answer))
        total = sum(v["running"] + v["completed"] + v["cancelled"] for v in answer["versions"])
        assert view.summary.startswith(f"{total} project"), (filters, view.summary)


@pytest.mark.slow
def test_the_cli_through_a_server_says_what_it_says_on_the_database(db_url: str) -> None:
    with moved_clock() as clock, Engine(db_url) as e:
        agency(e, clock, passwords=False)
        direct = cli_runner(db_url)
        with cli_session(db_url, "server") as remote:
            for filters in FILTERS[:4]:
                args = [a for k, v in filters.items() for a in (f"--{k}", str(v))]
                here, there = (run("insights", *args, actor="ana", as_json=True) for run in (direct, remote))
                assert there.exit_code == 0, there.output
                assert json.loads(there.output) == json.loads(here.output), filters
                here, there = (run("insights", *args, actor="ana") for run in (direct, remote))
                assert there.output == here.output
            refused = remote("insights", "--version", "1", actor="ana")
            assert refused.exit_code == 2 and "--version needs --template" in refused.output
