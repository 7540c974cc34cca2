"""A 100 MiB deliverable uploaded to a real `phasegate serve` leaves its memory flat (issue 23): the
server process's peak resident set (VmHWM in /proc/PID/status) after the upload stays within 64 MiB
of what it held before it, on both stores; the bytes come back whole and hash to what was sent.
The upload streams from the client 1 MiB at a time, with no Content-Length (chunked), so nothing
but the server's own streaming keeps it out of memory."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.deliverables import SIGNED_SOW
from support.servers import live_server

from workflow import Engine

pytestmark = pytest.mark.slow  # 100 MiB through a real server: ~10 s

MiB = 1024 * 1024
SIZE = 100 * MiB
FLAT = 64 * MiB  # what the upload may add to the process's peak: far below the file's size


def kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/PID/status (Linux)")
@pytest.mark.parametrize("store", ["database", "directory"])
def test_a_100_mib_upload_leaves_the_servers_memory_flat(tmp_path: Path, store: str) -> None:
    url = f"sqlite:///{tmp_path}/big.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
        engine.publish_template(SIGNED_SOW, actor="ana")
        engine.create_project("S-1", template="signed-sow", actor="ana")
        engine.assign("S-1", "integrated_producer", "ana", actor="ana")
        engine.add_user("ana", actor="ana")
        _info, token = engine.create_token(actor="ana", name="t")
    # SQLite's page cache (32 MiB a connection by default; the upload and the download each fill
    # one connection's) is held small, so what is measured is the file's way through the server
    env = {"PHASEGATE_SQLITE_CACHE_MIB": "2"}
    if store == "directory":
        env["PHASEGATE_FILES"] = str(tmp_path / "files")
        (tmp_path / "files").mkdir()
    block = b"%PDF-1.7\n" + os.urandom(MiB - 9)
    sent = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for _ in range(SIZE // MiB):
            sent.update(block)
            yield block

    headers = {"Authorization": f"Bearer {token}"}
    with live_server(url, tmp_path / "server.log", "--tick-every", "0", env=env) as server, \
            httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        where = "/api/v1/projects/S-1/deliverables/sow_doc"
        assert client.get("/api/v1/projects/S-1").status_code == 200  # warm: every route's code loaded
        pid = server.process.pid
        before = kib(pid, "VmHWM")
        added = client.post(where, params={"name": "sow.pdf"}, content=body(),
                            headers={"Content-Type": "application/octet-stream"})
        assert added.status_code == 201, added.text
        peak = kib(pid, "VmHWM")
        assert added.json()["data"]["size"] == SIZE
        assert added.json()["data"]["sha256"] == sent.hexdigest()
        got = hashlib.sha256()
        with client.stream("GET", where) as answer:
            assert answer.headers["content-length"] == str(SIZE)
            for chunk in answer.iter_bytes(MiB):
                got.update(chunk)
        after_download = kib(pid, "VmHWM")
    assert got.hexdigest() == sent.hexdigest()
    print(f"{store}: VmHWM {before / MiB:.0f} MiB before, {peak / MiB:.0f} MiB after the upload, "
          f"{after_download / MiB:.0f} MiB after the download")
    assert peak - before < FLAT, f"the upload took the server from {before / MiB:.0f} to {peak / MiB:.0f} MiB"
    assert after_download - before < FLAT
