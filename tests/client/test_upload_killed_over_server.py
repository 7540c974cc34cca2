"""A `phasegate --server URL deliverable add` killed with SIGKILL mid-upload (issue 23): the real server
process stores neither a version row nor a blob nor a chunk, keeps serving, and the next upload of
the file goes in whole. On both backends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from support.deliverables import at_sow_estimate, xlsx
from support.servers import live_server

import workflow
from workflow import Engine

pytestmark = pytest.mark.slow  # a real server and a real client process

ROOT = Path(workflow.__file__).resolve().parent.parent


def rows(url: str) -> dict[str, int]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(sqlalchemy.text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in ("deliverables", "blobs", "blob_chunks")}
    finally:
        engine.dispose()


def test_an_upload_killed_mid_stream_stores_nothing_on_the_server(db_url: str, tmp_path: Path) -> None:
    with Engine(db_url) as engine:
        at_sow_estimate(engine)
        engine.add_user("cy", actor="ana")
        _info, token = engine.create_token(actor="cy", name="t")
    with live_server(db_url, tmp_path / "server.log", "--tick-every", "0") as server:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PHASEGATE_SERVER": server.url, "PHASEGATE_TOKEN": token}
        for name in ("PHASEGATE_DB", "PHASEGATE_USER"):
            env.pop(name, None)
        proc = subprocess.Popen([sys.executable, "-m", "workflow.cli", "deliverable", "add", "L-1", "estimate",
                                 "-", "--name", "big.xlsx"], stdin=subprocess.PIPE, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert proc.stdin is not None
        chunk = xlsx(size=1024 * 1024 - 100)
        for _ in range(8):
            proc.stdin.write(chunk)
        proc.stdin.flush()
        time.sleep(1.0)
        assert proc.poll() is None  # still sending
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        time.sleep(0.5)  # the server notices the connection is gone
        assert rows(db_url) == {"deliverables": 0, "blobs": 0, "blob_chunks": 0}
        whole = xlsx(size=3 * 1024 * 1024)
        added = httpx.post(f"{server.url}/api/v1/projects/L-1/deliverables/estimate", params={"name": "e.xlsx"},
                           content=whole, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert added.status_code == 201, added.text
        assert added.json()["data"]["size"] == len(whole)
    assert rows(db_url) == {"deliverables": 1, "blobs": 1, "blob_chunks": 4}
    with Engine(db_url) as engine:
        assert engine.verify_audit().ok and engine.verify_deliverables().ok
