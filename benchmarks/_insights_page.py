"""The Insights page's figures for ``bench_insights`` (issue 25: "first answer in the web page <= 2 s"):
a real ``phasegate serve`` on the benchmark's database, the page asked for over HTTP on loopback.

* first answer: ``GET /insights`` the first time after the server is ready (every template version's
  definition still to be read), from the request to the last byte; target <= 2 s;
* then the page and ``GET /api/v1/insights`` (the same Engine call, as JSON) alternating: their
  medians compared (what drawing the charts and tables adds), reported.

The admin is named by a single-sign-on header from loopback (``--proxy-header``): no token or
password is written into the cached database (only the admin's account, where the bulk-built
database has none: one row, one system event, nothing the insights count).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import _common as c
import httpx

FIRST_TARGET_S = 2.0
HEADER = "X-Bench-User"


def page_rows(path: Path, label: str, calls: int = 5) -> tuple[list[c.Row], list[str]]:
    sys.path.insert(0, str(c.REPO / "tests"))
    from support.servers import live_server  # the tests' real `phasegate serve` on a free port

    from workflow import Engine

    with Engine(c.sqlite_url(path)) as e:
        if c.ADMIN not in {p.login for p in e.users()}:
            e.add_user(c.ADMIN, actor=c.ADMIN)
    log = path.with_name(f"{path.stem}-insights-page.log")
    with (live_server(c.sqlite_url(path), log, "--proxy-header", HEADER, "--trusted-proxy", "127.0.0.1",
                      ready_seconds=120) as server,
          httpx.Client(base_url=server.url, headers={HEADER: c.ADMIN}, timeout=120) as client):
        t0 = time.perf_counter()
        first = client.get("/insights")
        first_s = time.perf_counter() - t0
        if first.status_code != 200:
            raise RuntimeError(f"GET /insights answered {first.status_code}: {first.text[:300]}")
        page_ms, json_ms = [], []
        for _ in range(calls):
            t0 = time.perf_counter()
            client.get("/insights").raise_for_status()
            page_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            client.get("/api/v1/insights").raise_for_status()
            json_ms.append((time.perf_counter() - t0) * 1000)
    size = len(first.content)
    rows = [
        c.Row(f"Insights page, first answer after the server started, {label}", c.fmt(first_s * 1000, "ms"),
              "—", "—", f"<= {FIRST_TARGET_S:g} s", c.yes_no(first_s <= FIRST_TARGET_S)),
        c.ratio_row(f"Insights page ({size / 1024:.0f} KiB of HTML and SVG) vs GET /api/v1/insights, warm "
                    f"(n={calls})", c.median(page_ms), c.median(json_ms), 2.0),
    ]
    notes = ["The Insights page: a real `phasegate serve` on the same SQLite file, the admin named by a "
             "single-sign-on header from loopback; first answer timed from the request to its last byte."]
    return rows, notes
