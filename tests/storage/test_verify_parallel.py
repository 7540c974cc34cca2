"""Verifying a whole SQLite database in several processes gives the answer one pass gives.

The chains are split into ranges of project codes (workflow/parallel.py); these
tests force the split on small databases (``jobs=``) and compare every answer with the
one-pass answer (``jobs=1``): the counts, the first broken event, the checkpoint.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner
from sqlalchemy import text

from workflow import Engine
from workflow.cli import cli
from workflow.errors import UsageError
from workflow.storage.audit import parallel

pytestmark = pytest.mark.slow  # verification split over several processes: 1.2 s a test (measured 2026-12-07)

CODES = [f"P{i:02d}" for i in range(24)]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path}/audit.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
        for i, code in enumerate(CODES):
            engine.create_project(code, template="large-agency", actor="ana")
            for person in ("ben", "cy")[: 1 + i % 2]:
                engine.assign(code, "project_manager", person, actor="ana")
        yield url, engine


def tamper(url: str, statement: str) -> None:
    """As someone with a SQL client: drop the append-only triggers, then edit."""
    client = sqlalchemy.create_engine(url)
    try:
        with client.begin() as conn:
            for name in list(
                conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
            ):
                conn.execute(text(f'DROP TRIGGER "{name}"'))
            conn.execute(text(statement))
    finally:
        client.dispose()


@pytest.mark.parametrize("jobs", [2, 3, 5])
def test_a_split_verification_counts_what_one_pass_counts(db: tuple[str, Engine], jobs: int) -> None:
    _url, engine = db
    one = engine.verify_audit(jobs=1)
    split = engine.verify_audit(jobs=jobs)
    assert one.ok and split.ok
    assert (split.events_checked, split.chains_checked) == (one.events_checked, one.chains_checked)
    assert one.chains_checked == len(CODES) + 1  # and the templates-and-grants chain
    assert split.processes == jobs and one.processes == 1, "each range past the first ran in a worker"


def test_the_ranges_cover_every_chain_once(db: tuple[str, Engine]) -> None:
    _url, engine = db
    with engine.store.connect() as conn:
        spans = parallel.spans(conn, 4)
    assert spans[0][0] is None and spans[-1][1] is None and len(spans) == 4
    for (_, hi), (lo, _) in itertools.pairwise(spans):
        assert hi == lo
    for code in [*CODES, "@system"]:
        assert sum(1 for lo, hi in spans if (lo is None or code >= lo) and (hi is None or code < hi)) == 1


@pytest.mark.parametrize("code", ["P02", "P13", "P23"])
def test_an_edit_in_any_range_is_named_as_one_pass_names_it(db: tuple[str, Engine], code: str) -> None:
    url, engine = db
    tamper(url, f"UPDATE events SET actor = 'mallory' WHERE chain = '{code}' AND seq = 2")
    one = engine.verify_audit(jobs=1)
    split = engine.verify_audit(jobs=3)
    assert not split.ok and split.first_broken == one.first_broken
    assert split.first_broken is not None and split.first_broken.chain == code
    assert split.first_broken.problem == "edited"


def test_with_edits_in_two_ranges_the_first_in_chain_order_is_named(db: tuple[str, Engine]) -> None:
    url, engine = db
    tamper(url, "UPDATE events SET actor = 'mallory' WHERE chain IN ('P03', 'P20') AND seq = 2")
    split = engine.verify_audit(jobs=3)
    assert split.first_broken == engine.verify_audit(jobs=1).first_broken
    assert split.first_broken is not None and split.first_broken.chain == "P03"


def test_a_checkpoint_from_a_split_pass_is_the_one_pass_checkpoint(
    db: tuple[str, Engine], tmp_path: Path
) -> None:
    _url, engine = db
    assert engine.checkpoint(jobs=3).chains == engine.checkpoint(jobs=1).chains


def test_a_split_pass_checks_a_checkpoint_in_every_range(db: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = db
    anchor = tmp_path / "cp.json"
    anchor.write_text(engine.checkpoint(jobs=1).to_json())
    assert engine.verify_audit(jobs=3, checkpoint=anchor).checkpoint_chains == len(CODES) + 1
    tamper(
        url,
        "DELETE FROM events WHERE chain = 'P21' AND seq = (SELECT max(seq) FROM events WHERE chain = 'P21')",
    )
    tamper(
        url,
        "UPDATE projects SET seq = seq - 1, head_hash = (SELECT hash FROM events "
        "WHERE chain = 'P21' AND seq = projects.seq - 1) WHERE code = 'P21'",
    )
    assert engine.verify_audit(jobs=3, replay=False).ok, "the truncated chain agrees with its project's head"
    one = engine.verify_audit(jobs=1, checkpoint=anchor, replay=False)
    split = engine.verify_audit(jobs=3, checkpoint=anchor, replay=False)
    assert split.first_broken == one.first_broken
    assert split.first_broken is not None and split.first_broken.problem == "missing"
    assert split.first_broken.chain == "P21"


def test_a_worker_that_fails_costs_time_not_the_answer(
    db: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine = db
    tamper(url, "UPDATE events SET actor = 'mallory' WHERE chain = 'P22' AND seq = 2")
    monkeypatch.setattr(
        parallel, "_worker_command", lambda: ([sys.executable, "-c", "import sys; sys.exit(3)"], {})
    )
    split = engine.verify_audit(jobs=3)
    assert split.first_broken == engine.verify_audit(jobs=1).first_broken
    assert split.first_broken is not None and split.first_broken.chain == "P22"
    assert split.processes == 1, "the failed workers' ranges were verified in this process"


def test_small_databases_and_postgresql_verify_in_one_pass(db_url: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        engine.create_project("P1", template="large-agency", actor="ana")
        with engine.store.connect() as conn:
            assert parallel.worth_splitting(conn, None) == 1
            if conn.dialect.name == "postgresql":
                assert parallel.worth_splitting(conn, 4) == 1
        assert engine.verify_audit(jobs=4).ok  # PostgreSQL: one REPEATABLE READ snapshot, one pass


@pytest.mark.parametrize("jobs", [0, -1, 65, True, 2.5])
def test_a_number_of_jobs_out_of_range_is_refused(db: tuple[str, Engine], jobs: object) -> None:
    _url, engine = db
    with pytest.raises(UsageError, match="number of jobs"):
        engine.verify_audit(jobs=jobs)  # type: ignore[arg-type]


def test_the_command_line_takes_jobs(db: tuple[str, Engine]) -> None:
    url, _engine = db
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", url, "--as", "ana", "--json", "audit", "verify", "--jobs", "3"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["chains_checked"] == len(CODES) + 1
    refused = runner.invoke(cli, ["--db", url, "--as", "ana", "audit", "verify", "--jobs", "0"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output


def test_when_phasegate_chooses_the_split_the_first_range_gets_a_head_start(
    db: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calling process starts at once while a worker starts Python: the first range is larger."""
    _url, engine = db
    with engine.store.connect() as conn:
        assert parallel.plan(conn, None) == [(None, None)], "a small database: one pass"
        events = parallel._events(conn)
        monkeypatch.setattr(parallel, "PARALLEL_FROM_EVENTS", 0)
        monkeypatch.setattr(parallel, "HEAD_START_EVENTS", events // 2)
        monkeypatch.setattr(parallel, "default_jobs", lambda: 2)
        (lo, cut), (cut_again, hi) = parallel.plan(conn, None)
    assert lo is None and hi is None and cut == cut_again
    assert sum(code < cut for code in CODES) == 18, "three quarters of the projects: (1 + 1/2) / 2"
    chosen = engine.verify_audit()
    assert chosen == engine.verify_audit(jobs=1)
    assert chosen.processes == 2
