"""Retries are safe: a command carrying a request id is applied once and every repeat is
answered with the first outcome — after a lost acknowledgement (tests/storage/test_faults.py),
and when two processes send the same id at the same instant."""

from __future__ import annotations

import json
from multiprocessing import get_context
from typing import Any

import pytest
from click.testing import CliRunner
from support.invariants import assert_consistent

from workflow import Engine
from workflow.cli import cli
from workflow.errors import PhasegateError

RACERS = 6


def _send(url: str, command: str, request_id: str, barrier: Any, out: Any) -> None:
    with Engine(url) as engine:
        engine.status("P")  # connected and warm before the race
        barrier.wait()
        try:
            if command == "approve":
                event = engine.approve("P", "team", actor="tom", comment="go", request_id=request_id)
            elif command == "advance":
                event = engine.advance("P", actor="ana", request_id=request_id)
            else:
                event = engine.complete_task("P", "team", actor="tom", request_id=request_id)
            out.put(("ok", event.seq, event.hash))
        except PhasegateError as exc:
            out.put((type(exc).__name__, str(exc), ""))


@pytest.mark.slow
@pytest.mark.parametrize("command", ["task", "approve", "advance"])
def test_the_same_request_id_sent_by_several_processes_at_once_is_applied_once(
        db_url: str, command: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        engine.create_project("P", template="team-based", actor="ana")
        engine.assign("P", "integrated_producer", "ana", actor="ana")
        engine.assign("P", "team", "tom", actor="ana")
        if command != "task":
            engine.complete_task("P", "integrated_producer", actor="ana")
            engine.complete_task("P", "team", actor="tom")
        if command == "advance":
            engine.approve("P", "integrated_producer", actor="ana")
            engine.approve("P", "team", actor="tom")
        before = len(engine.history("P"))
        ctx = get_context("spawn")
        barrier = ctx.Barrier(RACERS)
        out = ctx.Queue()
        procs = [ctx.Process(target=_send, args=(db_url, command, "same-id", barrier, out))
                 for _ in range(RACERS)]
        for p in procs:
            p.start()
        answers = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert len(set(answers)) == 1, f"every sender gets the first outcome: {answers}"
        assert answers[0][0] == "ok", answers
        history = engine.history("P")
        assert len(history) == before + 1, "applied once"
        assert (history[-1].seq, history[-1].hash) == answers[0][1:]
        assert_consistent(engine)


def test_a_repeated_request_id_through_the_cli_prints_the_first_outcome(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/rid.db"
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--db", url, "--as", "ana", "--json", *args], prog_name="phasegate")

    assert run("init", "--admin", "ana").exit_code == 0
    first = run("project", "create", "P", "--template", "team-based", "--request-id", "create-P")
    again = run("project", "create", "P", "--template", "team-based", "--request-id", "create-P")
    assert first.exit_code == again.exit_code == 0
    assert json.loads(first.stdout) == json.loads(again.stdout)
    other = run("project", "create", "P", "--template", "large-agency", "--request-id", "create-P")
    assert other.exit_code == 5 and "different command" in other.stderr
