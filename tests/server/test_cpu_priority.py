"""What an attacker makes the server compute never takes the CPU from the people it serves (issue 19).

A template check runs in a child process of the server's (not in one of its threads, where pure
Python holds the interpreter's lock every request needs), and the argon2 work of sign-ins in
threads of their own; both at a lower CPU priority than the threads that answer requests. The
latency this buys is measured in ``benchmarks/bench_exposure.py``; these tests check the
arrangement on a real ``phasegate serve`` process, from /proc.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.servers import Server, live_server, people

from workflow import Engine
from workflow.domain.templates.loader import builtin_paths
from workflow.engine.people.passwords import ARGON2_NICE
from workflow.server.checks import CHECKER_NICE

pytestmark = pytest.mark.slow  # a real `phasegate serve` with template checks and sign-ins competing for the CPU: 3.9 s a test (measured 2026-12-07)

YAML = {"Content-Type": "application/x-yaml"}


def nice_of(pid: int, tid: int | None = None) -> int:
    """The nice value of a process (or one of its threads), from /proc/PID[/task/TID]/stat."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    return int(Path(path).read_text().rsplit(")", 1)[1].split()[16])


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def checkers_of(server: Server) -> list[int]:
    """The server's child processes running at the checker's priority."""
    base = nice_of(server.process.pid)
    out = []
    for child in children_of(server.process.pid):
        try:
            if nice_of(child) == min(19, base + CHECKER_NICE):
                out.append(child)
        except FileNotFoundError:
            continue
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A real server and a token of someone signed in (no admin grant)."""
    with Engine(db_url) as engine:
        token = people(engine, {"ana": ()})["ana"]
        engine.set_password("ana", "correct horse battery", actor="root")
    with live_server(db_url, tmp_path / "server.log", "--tick-every", "0", "--no-deliver") as server:
        yield server, token


def validate(server: Server, token: str, data: bytes) -> httpx.Response:
    with server.client(token) as client:
        return client.post("/api/v1/templates/validate", content=data, headers=YAML)


def test_a_template_check_runs_in_a_child_process_at_a_lower_priority(served: tuple[Server, str]) -> None:
    server, token = served
    assert checkers_of(server) == []  # started on the first check, not before
    checked = validate(server, token, builtin_paths()["team-based"].read_bytes())
    assert checked.status_code == 200 and checked.json()["valid"] is True, checked.text
    hostile = validate(server, token, "".join(f"k{i}: v\n" for i in range(100_000)).encode())
    assert hostile.status_code == 200 and hostile.json()["valid"] is False
    assert "more than 500 entries" in hostile.json()["problems"][0]["message"]
    assert len(checkers_of(server)) == 1
    assert nice_of(server.process.pid) < nice_of(checkers_of(server)[0])


def test_a_checker_that_died_is_replaced_by_the_next_check(served: tuple[Server, str]) -> None:
    """Killed (out of memory, by an operator), the check in hand is answered 503 busy at worst, and the
    next check starts a new child."""
    server, token = served
    valid = builtin_paths()["team-based"].read_bytes()
    assert validate(server, token, valid).status_code == 200
    (checker,) = checkers_of(server)
    os.kill(checker, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(checker) and time.monotonic() < deadline:
        time.sleep(0.05)
    first = validate(server, token, valid)
    assert first.status_code in (200, 503), first.text
    if first.status_code == 503:
        assert first.json()["error"]["kind"] == "busy" and first.headers["Retry-After"]
    again = validate(server, token, valid)
    assert again.status_code == 200 and again.json()["valid"] is True, again.text
    assert checkers_of(server) and checker not in checkers_of(server)


def test_the_checker_does_not_outlive_a_killed_server(served: tuple[Server, str]) -> None:
    """SIGKILL gives the server no chance to stop its child: the child sees it gone and exits."""
    server, token = served
    assert validate(server, token, builtin_paths()["team-based"].read_bytes()).status_code == 200
    (checker,) = checkers_of(server)
    server.process.kill()
    server.process.wait()
    deadline = time.monotonic() + 15
    while alive(checker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(checker)


def test_password_checks_run_in_threads_at_a_lower_priority(served: tuple[Server, str]) -> None:
    """After a sign-in (right or wrong, argon2 runs), the server has threads at the lower priority, and
    the threads that answer requests keep the process's."""
    server, _token = served
    pid = server.process.pid
    base = nice_of(pid)
    with server.client() as client:
        wrong = client.post("/api/v1/me/session", json={"login": "ana", "password": "a wrong guess"})
        right = client.post("/api/v1/me/session", json={"login": "ana", "password": "correct horse battery"})
    assert wrong.status_code == 401 and right.status_code == 200
    nices = [nice_of(pid, int(task.name)) for task in Path(f"/proc/{pid}/task").iterdir()]
    assert nice_of(pid, pid) == base  # the event loop's
    assert min(19, base + ARGON2_NICE) in nices
    assert sum(n == base for n in nices) >= 2  # the event loop and the request threads
