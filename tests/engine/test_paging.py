"""Lists stream and page (issue 16, item 12): the board and a history are read a page at a time.

The pages are small here (monkeypatched) so that every boundary is crossed; each answer
must equal slicing the whole list, whatever the page size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.cli_runs import cli_runner

from workflow import Engine
from workflow.engine import board, reads
from workflow.errors import NotPermitted

pytestmark = pytest.mark.slow  # boards and histories long enough to cross every page boundary: 0.7 s a test (measured 2026-12-07)

CODES = [f"P-{i:03d}" for i in range(23)]


@pytest.fixture
def engine(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setattr(board, "PAGE", 4)
    monkeypatch.setattr(reads, "HISTORY_PAGE", 5)
    with Engine(db_url) as e:
        e.init(admin="ana")
        for i, code in enumerate(CODES):
            e.create_project(code, template="team-based", actor="ana")
            e.assign(code, "integrated_producer", "ana" if i % 3 else "ben", actor="ana")
        for n in range(30):  # a long history on one project
            e.hold("P-000", actor="ben", reason=f"pause {n}")
            e.resume("P-000", actor="ben")
        yield e


def test_the_board_pages_by_code_whatever_the_page_size(engine: Engine) -> None:
    everything = [p.code for p in engine.iter_projects()]
    assert everything == CODES
    assert [p.code for p in engine.iter_projects(limit=9)] == CODES[:9]
    assert [p.code for p in engine.iter_projects(after="P-004", limit=6)] == CODES[5:11]
    assert [p.code for p in engine.iter_projects(after="P-020")] == CODES[21:]
    mine = [p.code for p in engine.iter_projects(reader="ben")]
    assert mine == [c for i, c in enumerate(CODES) if i % 3 == 0]


def test_paging_through_the_board_visits_every_project_once(engine: Engine) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = [p.code for p in engine.iter_projects(after=after, limit=5)]
        if not page:
            break
        seen += page
        after = page[-1]
    assert seen == CODES


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # read-only: the fixture may be shared
@given(after=st.none() | st.integers(0, 70), limit=st.none() | st.integers(1, 70),
       last=st.none() | st.integers(1, 70), action=st.sampled_from([None, "hold", "resume"]))
def test_history_pages_equal_slicing_the_whole_history(
    engine: Engine, after: int | None, limit: int | None, last: int | None, action: str | None
) -> None:
    whole = [e for e in engine.history("P-000") if action is None or e.action == action]
    expected = [e for e in whole if after is None or e.seq > after]
    if last is not None:
        expected = expected[-last:]
    if limit is not None:
        expected = expected[:limit]
    got = list(engine.iter_history("P-000", after=after, limit=limit, last=last, action=action))
    assert [e.seq for e in got] == [e.seq for e in expected]


def test_a_refusal_comes_before_anything_is_streamed(engine: Engine, db_url: str) -> None:
    with pytest.raises(NotPermitted):
        engine.iter_history("P-000", reader="mallory")  # raised by the call, not by the first next()
    result = cli_runner(db_url)("--json", "history", "P-000", actor="mallory")
    assert result.exit_code == 4 and result.stdout == ""
    listed = cli_runner(db_url)("--json", "project", "list", "--phase", "bogus")
    assert listed.exit_code == 2 and listed.stdout == ""


def test_the_cli_pages_the_board_and_the_history(engine: Engine, db_url: str) -> None:
    run = cli_runner(db_url)
    page = json.loads(run("--json", "project", "list", "--after", "P-010", "--limit", "3").stdout)
    assert [p["code"] for p in page] == ["P-011", "P-012", "P-013"]
    lines = run("history", "P-000", "--after", "10", "--limit", "4").stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["11", "12", "13", "14"]
    events = [json.loads(line) for line in run("--json", "history", "P-000", "--last", "12").stdout.splitlines()]
    assert [e["seq"] for e in events] == list(range(51, 63))
    human = run("project", "list").stdout.splitlines()
    assert human[0].startswith("CODE") and len(human) == 1 + len(CODES)
