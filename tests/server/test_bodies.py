"""Request bodies are bounded before they are read: 413 ``too_large`` beyond the limit, whether the length
is announced (``Content-Length``) or not (chunked); a form is parsed only for someone signed in.

The memory and spool checks run on a real ``phasegate serve`` process: its peak RSS (VmHWM, reset just
before the request) and the files it holds open are read from /proc.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.apiclients import api, bearer, error_of
from support.rawclient import MIB, chunked, exchange, filler, open_files_under, reset_peak, status_kib
from support.servers import Server, live_server, people

from workflow import Engine
from workflow.domain import limits
from workflow.server.app import SECURITY_HEADERS

pytestmark = pytest.mark.slow  # a real `phasegate serve` taking bodies of several MiB: 2.9 s a test (measured 2026-12-07)

PASSWORD = "correct horse battery"


def prepare(url: str) -> dict[str, str]:
    """root (admin) and ana (a password), project P-1; the tokens by person."""
    with Engine(url) as engine:
        tokens = people(engine, {"ana": ()})
        engine.set_password("ana", PASSWORD, actor="root")
        engine.create_project("P-1", template="team-based", actor="root")
    return tokens


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    folder = tmp_path / "spool"
    folder.mkdir()
    return folder


@pytest.fixture
def server(db_url: str, tmp_path: Path, spool: Path) -> Iterator[Server]:
    """A real server whose temporary files (a spooled upload) go to ``spool``."""
    prepare(db_url)
    with live_server(db_url, tmp_path / "server.log", "--no-deliver", "--tick-every", "0",
                     env={"TMPDIR": str(spool)}) as running:
        with running.client() as client:  # warm the routes up before measuring
            client.post("/api/v1/me/session", json={"login": "ana", "password": "wrong"})
        yield running


def refused_as_too_large(answer_status: int | None, body: bytes) -> None:
    assert answer_status == 413, body[:300]
    error = json.loads(body)["error"]
    assert error["kind"] == "too_large" and error["message"], error


def test_a_json_body_over_the_limit_is_refused_413_before_it_is_read(server: Server) -> None:
    """64 MiB to the sign-in with no credential: answered 413 at once, the server's RSS within +50 MiB."""
    pid, size = server.process.pid, 64 * MIB
    before = status_kib(pid, "VmRSS")
    assert reset_peak(pid)
    start, end = b'{"login": "ana", "password": "', b'"}'
    body = [start, *filler(size - len(start) - len(end), byte=b"x"), end]
    answer, sent = exchange(server.url, "POST", "/api/v1/me/session",
                            {"Content-Type": "application/json", "Content-Length": str(size)}, body, seconds=30)
    peak = status_kib(pid, "VmHWM")
    refused_as_too_large(answer.status, answer.body)
    assert sent < size, "the answer came before the body was all sent"
    assert (peak - before) / 1024 < 50, f"RSS grew from {before // 1024} to a peak of {peak // 1024} MiB"


def test_a_chunked_body_over_the_limit_is_cut_off_with_413(server: Server) -> None:
    """No length up front: the body is counted as it arrives and cut off past the limit."""
    pid, size = server.process.pid, 32 * MIB
    before = status_kib(pid, "VmRSS")
    assert reset_peak(pid)
    answer, sent = exchange(server.url, "POST", "/api/v1/me/session",
                            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                            chunked(filler(size, size=64 * 1024)), seconds=30)
    peak = status_kib(pid, "VmHWM")
    refused_as_too_large(answer.status, answer.body)
    assert sent < size
    assert (peak - before) / 1024 < 50, f"RSS grew from {before // 1024} to a peak of {peak // 1024} MiB"


def multipart_sign_in(file_bytes: int, boundary: str = "xyzzy") -> Iterator[bytes]:
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\nana\r\n"
           f"--{boundary}\r\nContent-Disposition: form-data; name=\"password\"; filename=\"p.bin\"\r\n"
           f"Content-Type: application/octet-stream\r\n\r\n").encode()
    yield from filler(file_bytes, size=64 * 1024)
    yield f"\r\n--{boundary}--\r\n".encode()


def test_a_multipart_sign_in_spools_nothing(server: Server, spool: Path) -> None:
    """A file in the sign-in form (chunked, 24 MiB) is refused; nothing lands in the server's temp folder."""
    pid = server.process.pid
    seen: list[str] = []

    def watching(chunks: Iterator[bytes]) -> Iterator[bytes]:
        for i, chunk in enumerate(chunks):
            if i % 8 == 0:
                seen.extend(open_files_under(pid, str(spool)))
                time.sleep(0.01)  # give the server time to write what it was sent
            yield chunk

    answer, _sent = exchange(server.url, "POST", "/signin",
                             {"Content-Type": "multipart/form-data; boundary=xyzzy",
                              "Transfer-Encoding": "chunked", "Accept": "text/html"},
                             chunked(watching(multipart_sign_in(24 * MIB))), seconds=30)
    assert answer.status is not None and 400 <= answer.status < 500, answer.raw[:300]
    assert not seen, f"the server spooled the upload: {sorted(set(seen))}"
    assert not list(spool.iterdir())


def test_an_anonymous_form_post_is_answered_before_its_body_is_read(server: Server) -> None:
    """A form post with no credential is sent to sign in without its (announced, never sent) body read."""
    answer, _sent = exchange(server.url, "POST", "/projects/P-1/do",
                             {"Content-Type": "application/x-www-form-urlencoded",
                              "Content-Length": "500000", "Accept": "text/html"}, (), seconds=8)
    assert answer.status == 303, answer.raw[:300]
    assert answer.headers["location"].startswith("/signin")


def test_a_signed_in_form_over_the_limit_is_refused_413(db_url: str) -> None:
    prepare(db_url)
    with api(db_url) as client:
        signed = client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD})
        csrf = signed.json()["csrf"]
        big = "x" * (limits.REQUEST_BYTES.default + 1)
        refused = client.post("/projects/P-1/do", data={"csrf": csrf, "action": "advance", "note": big})
    assert refused.status_code == 413
    assert error_of(refused)["kind"] == "too_large"


def test_a_get_announcing_a_body_over_the_limit_is_refused_413(db_url: str) -> None:
    tokens = prepare(db_url)
    with api(db_url) as client:
        refused = client.request("GET", "/api/v1/projects", headers={**bearer(tokens["ana"]),
                                 "Content-Length": str(limits.REQUEST_BYTES.default + 1)},
                                 content=b"x" * (limits.REQUEST_BYTES.default + 1))
    assert refused.status_code == 413
    assert error_of(refused)["kind"] == "too_large"
    for name, value in SECURITY_HEADERS.items():
        assert refused.headers[name] == value
    assert refused.headers["cache-control"] == "no-store"


def test_a_template_may_be_uploaded_past_the_default_limit_up_to_its_own(db_url: str) -> None:
    """A template over 1 MiB gets the loader's sentence (the upload limit is larger); far over it, 413."""
    tokens = prepare(db_url)
    over_template = b"# " + b"x" * limits.TEMPLATE_BYTES.default + b"\n"
    with api(db_url) as client:
        checked = client.post("/api/v1/templates/validate", content=over_template,
                              headers={**bearer(tokens["ana"]), "Content-Type": "application/x-yaml"})
        refused = client.post("/api/v1/templates/validate", content=b"x" * (limits.UPLOAD_BYTES.default + 1),
                              headers={**bearer(tokens["ana"]), "Content-Type": "application/x-yaml"})
    assert checked.status_code == 200, checked.text[:300]
    assert checked.json()["valid"] is False
    assert "at most 1,048,576 bytes" in checked.json()["problems"][0]["message"]
    assert refused.status_code == 413
    assert error_of(refused)["kind"] == "too_large"


def test_a_template_file_past_the_default_limit_reaches_the_loader_on_the_web(db_url: str) -> None:
    prepare(db_url)
    over_template = b"# " + b"x" * limits.TEMPLATE_BYTES.default + b"\n"
    with api(db_url) as client:
        signed = client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD})
        checked = client.post("/templates/check", data={"csrf": signed.json()["csrf"]},
                              files={"file": ("t.yaml", over_template, "application/x-yaml")},
                              headers={"Accept": "text/html"})
    assert checked.status_code == 422, checked.text[:300]
    assert "at most 1,048,576 bytes" in checked.text
