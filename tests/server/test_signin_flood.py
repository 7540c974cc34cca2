"""A flood of sign-ins cannot take the server's memory or check every guess (issue 19, item 3).

Each password check is argon2id with 64 MiB of memory. On a real ``phasegate serve``
process: the checks in flight are bounded per process (beyond the bound a quick 503 Busy
with Retry-After), and a failure is counted before the next guess under the same key is
checked, so simultaneous guesses at one account cost at most the budget's worth of argon2.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support.servers import Server, live_server

from workflow import Engine
from workflow.engine.people import signin

PASSWORD = "correct horse battery"
MiB = 1024 * 1024


def memory_of(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process, in bytes, from /proc/PID/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) * 1024
    return out


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    """A real server behind a (pretend) proxy on 127.0.0.1, so each request can come from its own address."""
    with Engine(db_url) as engine:
        engine.init(admin="root")
        engine.add_user("ana", actor="root")
        engine.set_password("ana", PASSWORD, actor="root")
    with live_server(db_url, tmp_path / "server.log", "--trusted-proxy", "127.0.0.1/32",
                     "--tick-every", "0", "--no-deliver") as running:
        yield running


def at_once(server: Server, attempts: list[tuple[str, str]]) -> list[httpx.Response]:
    """Every (login, client address) sign-in with a wrong password, released together."""
    start = threading.Barrier(len(attempts))

    def attempt(login: str, address: str) -> httpx.Response:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            start.wait(timeout=60)
            return client.post("/api/v1/me/session", json={"login": login, "password": "a wrong guess"},
                               headers={"X-Forwarded-For": address})

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(lambda a: attempt(*a), attempts))


@pytest.mark.slow
def test_32_concurrent_sign_ins_keep_the_servers_memory_within_400_mib(server: Server) -> None:
    """The red team's flood: 32 sign-ins at once, each from its own address with its own name, so
    no throttle stops them before the password check; the server's peak RSS stays bounded."""
    with httpx.Client(base_url=server.url) as client:  # argon2's one-off costs (the dummy hash) paid first
        client.post("/api/v1/me/session", json={"login": "warm-up", "password": "x"},
                    headers={"X-Forwarded-For": "192.0.2.254"})
    before = memory_of(server.process.pid)["VmRSS"]
    answers = at_once(server, [(f"someone-{n}", f"198.51.100.{n + 1}") for n in range(32)])
    peak = memory_of(server.process.pid)["VmHWM"]
    assert peak - before < 400 * MiB, f"{(peak - before) / MiB:.0f} MiB over the {before / MiB:.0f} MiB at rest"
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {401, 503}, statuses
    busy = [r for r in answers if r.status_code == 503]
    assert all(r.json()["error"]["kind"] == "busy" and int(r.headers["Retry-After"]) >= 1 for r in busy)
    with httpx.Client(base_url=server.url) as client:
        signed_in = client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD},
                                headers={"X-Forwarded-For": "192.0.2.1"})
    assert signed_in.status_code == 200, "after the flood, ana signs in"


@pytest.mark.slow
def test_24_simultaneous_guesses_at_one_account_are_not_all_checked(server: Server) -> None:
    """From 24 addresses at once, so only the account's count can stop them: at most the budget's
    worth are checked (answered 401); the rest are refused before argon2 (429, or 503 Busy)."""
    answers = at_once(server, [("ana", f"198.51.100.{n + 1}") for n in range(24)])
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {401, 429, 503}, statuses
    assert statuses[401] <= signin.FREE_FAILURES + 1, statuses


def test_the_bound_on_password_checks_reaches_every_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve --password-checks N`` travels to each worker in its settings; 0 means one per core."""
    from workflow.engine.people import passwords
    from workflow.server.settings import ENV, Settings

    monkeypatch.setenv(ENV, Settings(password_checks=3).to_env())
    assert Settings.from_env().password_checks == 3
    monkeypatch.setattr(passwords, "_slots", None)  # put back after the test
    monkeypatch.setattr(passwords, "_threads", None)
    assert passwords.bound(0) == passwords.cores() and passwords.bound(5) == 5


def test_the_default_password_checks_share_the_cores_among_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers on two cores get one check each (four at once would take 256 MiB and every core)."""
    from workflow.engine.people import passwords
    from workflow.server.serve import shared_among
    from workflow.server.settings import Settings

    monkeypatch.setattr(passwords, "cores", lambda: 2)
    assert shared_among(Settings(), 2).password_checks == 1
    assert shared_among(Settings(), 1).password_checks == 2
    assert shared_among(Settings(), 8).password_checks == 1
    assert shared_among(Settings(password_checks=3), 2).password_checks == 3, "a chosen bound is kept"
