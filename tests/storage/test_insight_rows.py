"""The insights' summary rows (issue 25): the rows the engine keeps in each event's transaction are
the rows the history gives (``audit verify`` compares them, so an edited row is named), and the
migration's backfill writes those same rows for projects that were there before it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import text
from support.insight_histories import three_histories

from workflow import Engine
from workflow.storage.insights.backfill import backfill

TABLES = ("insight_signatures", "insight_visits", "insight_projects")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with three_histories(db_url) as e:
        yield e


@pytest.fixture
def sql(db_url: str) -> Iterator[sqlalchemy.Engine]:
    client = sqlalchemy.create_engine(db_url)
    yield client
    client.dispose()


def rows(sql: sqlalchemy.Engine) -> dict[str, list[tuple[Any, ...]]]:
    with sql.connect() as conn:
        return {t: sorted(tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))) for t in TABLES}


def test_the_rows_kept_are_the_rows_the_history_gives(engine: Engine) -> None:
    report = engine.verify_audit()
    assert report.ok and report.state_checked, report


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (
            "UPDATE insight_visits SET days = 9 WHERE phase = 'review' AND round = 1",
            "insight_visits row ('review', 1): days is 9, the history says 3",
        ),
        (
            "DELETE FROM insight_signatures WHERE role = 'producer'",
            "insight_signatures row ('kickoff', 1, 'producer') is missing",
        ),
        (
            "UPDATE insight_projects SET held_days = 0 WHERE status = 'completed'",
            "insight_projects row 1: held_days is 0, the history says 3",
        ),
    ],
)
def test_an_edited_summary_row_is_named_by_audit_verify(
    engine: Engine, sql: sqlalchemy.Engine, statement: str, named: str
) -> None:
    with sql.begin() as conn:
        conn.execute(text(statement))
    report = engine.verify_audit()
    assert not report.ok and report.first_broken is not None
    assert (report.first_broken.chain, report.first_broken.problem, report.first_broken.detail) == (
        "P-1",
        "state differs",
        named,
    )


def test_the_backfill_writes_the_rows_the_engine_kept(engine: Engine, sql: sqlalchemy.Engine) -> None:
    kept = rows(sql)
    assert [len(kept[t]) for t in TABLES] == [3, 7, 3]  # standing signatures, rounds, projects
    with sql.begin() as conn:
        for t in TABLES:
            conn.execute(text(f"DELETE FROM {t}"))
        assert backfill(conn) == 3
    assert rows(sql) == kept
