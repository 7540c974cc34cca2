"""The web app's pages against the JSON API, and in Chromium on loopback (issue 14).

Every figure goes through a real ``phasegate serve`` on a copy of the 10k-project scale
database (plus a few large-agency projects for the browser figures), over HTTP on loopback:

* the project page (HTML, server-rendered) vs the JSON status of the same project
  (``GET /api/v1/projects/CODE``), target <= 2x;
* the board's first page (50 of 10k projects) vs that status read, target <= 3x;
* in Chromium (Debian's, through Playwright): the project page's DOMContentLoaded (<= 150 ms)
  and the bytes it transferred (<= 100 KB), first load with nothing cached (the browser's
  cache switched off; also reported in a brand-new context); an Approve pressed to the
  updated page swapped in and settled (<= 200 ms), timed inside the page from the click
  to htmx's ``afterSettle``.

The HTTP figures alternate page and floor call by call with one keep-alive client each
and compare medians. Run alone: ``python benchmarks/bench_web.py [--quick]``.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import _dataset

PROJECTS = 10_000
PAGE_TARGET, BOARD_TARGET = 2.0, 3.0
DCL_TARGET_MS, BYTES_TARGET, ACTION_TARGET_MS = 150.0, 100_000, 200.0
PASSWORD = "benchmark passphrase"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TEAM = {"integrated_producer": "alice", "head_of_technology": "bob", "project_manager": "carol"}


def sizes(quick: bool) -> tuple[int, int]:
    """(HTTP calls per figure, browser loads and approvals)."""
    return (200, 15) if quick else (1000, 40)


def prepare(path: Path, approvals: int) -> tuple[str, str]:
    """Accounts, a token, and large-agency projects W-1… each waiting on alice's approval.
    Returns (the admin's token, the project the page figures read)."""
    from workflow import Engine

    with Engine(c.sqlite_url(path)) as e:
        accounts = {p.login for p in e.users()}
        for person in (c.ADMIN, "alice", "bob", "carol"):
            if person not in accounts:
                e.add_user(person, actor=c.ADMIN)
        e.set_password("alice", PASSWORD, actor=c.ADMIN)
        _info, token = e.create_token(actor=c.ADMIN, name="bench")
        for i in range(1, approvals + 2):
            code = f"W-{i}"
            e.create_project(
                code, template="large-agency", actor=c.ADMIN, name="Spring launch", client="Acme"
            )
            for role, person in TEAM.items():
                e.assign(code, role, person, actor=c.ADMIN)
            for role, person in TEAM.items():
                e.complete_task(code, role, actor=person, note="done")
        # The page figure's project: mid-way, with a history worth a page (and a rejection behind it).
        code = "W-0"
        e.create_project(code, template="large-agency", actor=c.ADMIN, name="Autumn launch", client="Acme")
        for role, person in TEAM.items():
            e.assign(code, role, person, actor=c.ADMIN)
        for _round in range(2):
            for role, person in TEAM.items():
                e.complete_task(code, role, actor=person, note="done")
            e.approve(code, "integrated_producer", actor="alice", comment="fine")
            e.reject(code, "project_manager", actor="carol", reason="the notes are missing")
        return token, code


def alternate(
    server: Any, token: str, page_path: str, floor_path: str, calls: int
) -> tuple[list[int], list[int]]:
    page_ns, floor_ns = [], []
    with server.client(token) as page_client, server.client(token) as floor_client:
        for client, path in ((page_client, page_path), (floor_client, floor_path)):
            for _ in range(20):  # warm-up: templates compiled, caches filled
                assert client.get(path).status_code == 200
        for _ in range(calls):
            t0 = time.perf_counter_ns()
            r = page_client.get(page_path)
            page_ns.append(time.perf_counter_ns() - t0)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            t0 = time.perf_counter_ns()
            r = floor_client.get(floor_path)
            floor_ns.append(time.perf_counter_ns() - t0)
            assert r.status_code == 200
    return page_ns, floor_ns


LOAD = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const parts = [nav, ...performance.getEntriesByType("resource")];
  return {dcl: nav.domContentLoadedEventEnd - nav.startTime,
          bytes: parts.reduce((sum, e) => sum + e.transferSize, 0),
          names: parts.map(e => e.name.replace(location.origin, "") + " " + e.transferSize)};
}"""

TIMED_APPROVE = """() => new Promise(resolve => {
  const form = document.querySelector("form[aria-label='Approve as Integrated Producer']");
  const button = form.querySelector("button");
  let start = 0;
  document.body.addEventListener("htmx:afterSettle", () => resolve(performance.now() - start), {once: true});
  start = performance.now();
  button.click();
})"""


def browser_figures(
    server: Any, loads: int
) -> tuple[list[float], list[int], list[float], list[float], list[str]]:
    from playwright.sync_api import sync_playwright

    dcl, transferred, actions, fresh = [], [], [], []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            signed = chromium.new_context(base_url=server.url)
            page = signed.new_page()
            page.goto("/signin")
            page.get_by_label("Login name").fill("alice")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="My work").wait_for()
            state = signed.storage_state()
            signed.close()
            names: list[str] = []
            # Nothing cached: the browser's HTTP cache is switched off (DevTools' "Disable cache"),
            # so every load fetches the page, the stylesheet and htmx again.
            context = chromium.new_context(base_url=server.url, storage_state=state)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            for i in range(loads + 3):
                page.goto("/projects/W-0", wait_until="load")
                figures = page.evaluate(LOAD)
                if i >= 3:  # the first loads warm the server and the renderer
                    dcl.append(figures["dcl"])
                    transferred.append(figures["bytes"])
                    names = figures["names"]
            context.close()
            for _ in range(loads):  # the same, each in a brand-new context (a new profile's first visit)
                context = chromium.new_context(base_url=server.url, storage_state=state)
                page = context.new_page()
                page.goto("/projects/W-0", wait_until="load")
                fresh.append(page.evaluate(LOAD)["dcl"])
                context.close()
            context = chromium.new_context(base_url=server.url, storage_state=state)
            page = context.new_page()
            for i in range(1, loads + 2):
                page.goto(f"/projects/W-{i}")
                page.get_by_role("button", name="Approve").first.wait_for()
                page.wait_for_function("() => window.htmx !== undefined")
                took = page.evaluate(TIMED_APPROVE)
                page.get_by_text("signed by alice").first.wait_for()
                if i > 1:
                    actions.append(took)
            context.close()
        finally:
            chromium.close()
    return dcl, transferred, actions, fresh, names


def run(args: Any) -> str:
    sys.path.insert(0, str(c.REPO / "tests"))
    from support.servers import live_server  # the tests' real `phasegate serve` on a free port

    calls, loads = sizes(args.quick)
    source, _events = _dataset.database(args.data_dir, PROJECTS, log=c.log)
    with c.scratch_dir(args.data_dir, "web-") as scratch:
        path = scratch / "web.db"
        c.log(f"copying {source.name} ({source.stat().st_size / 2**20:.0f} MiB)")
        shutil.copyfile(source, path)
        token, code = prepare(path, loads)
        c.warm(path)
        with live_server(c.sqlite_url(path), scratch / "server.log") as server:
            page_ns, status_ns = alternate(
                server, token, f"/projects/{code}", f"/api/v1/projects/{code}", calls
            )
            board_ns, status2_ns = alternate(server, token, "/projects", f"/api/v1/projects/{code}", calls)
            with server.client(token) as client:
                board_rows = client.get("/projects").text.count('<th scope="row">')
                page_bytes = len(client.get(f"/projects/{code}").content)
            browser: tuple[list[float], list[int], list[float], list[float], list[str]] | None = None
            why = ""
            if not CHROMIUM.exists():
                why = f"no Chromium at {CHROMIUM}"
            else:
                try:
                    browser = browser_figures(server, loads)
                except ImportError:
                    why = "the playwright package is not installed"
    p, s, b, s2 = c.ms(page_ns), c.ms(status_ns), c.ms(board_ns), c.ms(status2_ns)
    rows = [
        c.ratio_row(
            f"project page (HTML, {page_bytes / 1024:.0f} KiB) vs its JSON status (n={calls})",
            c.median(p),
            c.median(s),
            PAGE_TARGET,
            measured_note=f" (p95 {c.p95(p):.1f})",
            floor_note=f" (p95 {c.p95(s):.1f})",
        ),
        c.ratio_row(
            f"board, first page ({board_rows} of {PROJECTS // 1000}k projects) vs a status read (n={calls})",
            c.median(b),
            c.median(s2),
            BOARD_TARGET,
            measured_note=f" (p95 {c.p95(b):.1f})",
            floor_note=f" (p95 {c.p95(s2):.1f})",
        ),
    ]
    notes = [
        f"A real `phasegate serve` (one worker) on a copy of the {PROJECTS:,}-project scale database; an API "
        "token for both sides, one keep-alive httpx client each, calls alternating; medians compared.",
        "The project page is the mid-way W-0 (large-agency, two rounds of its first phase, 20 events): "
        "status, the history's first page, the team, the forms, the timeline SVG.",
    ]
    if browser is None:
        for figure, target in (
            ("project page DOMContentLoaded, first load", f"<= {DCL_TARGET_MS:g} ms"),
            ("project page bytes transferred, first load", "<= 100 KB"),
            ("Approve pressed to the updated page settled", f"<= {ACTION_TARGET_MS:g} ms"),
        ):
            rows.append(c.skipped_row(figure, target, why))
    else:
        dcl, transferred, actions, fresh, names = browser
        rows += [
            c.Row(
                f"Chromium: project page DOMContentLoaded, first load, nothing cached (n={len(dcl)})",
                f"{c.fmt(c.median(dcl), 'ms')} (p95 {c.p95(dcl):.1f})",
                "—",
                "—",
                f"<= {DCL_TARGET_MS:g} ms",
                c.yes_no(c.median(dcl) <= DCL_TARGET_MS),
            ),
            c.Row(
                f"Chromium: the same in a brand-new browser context each time (n={len(fresh)})",
                f"{c.fmt(c.median(fresh), 'ms')} (p95 {c.p95(fresh):.1f})",
                "—",
                "—",
                "reported",
                "—",
            ),
            c.Row(
                "Chromium: bytes transferred by that load (page, stylesheet, htmx, icon)",
                f"{max(transferred):,} B",
                "—",
                "—",
                "<= 100 KB",
                c.yes_no(max(transferred) <= BYTES_TARGET),
            ),
            c.Row(
                f"Chromium: Approve pressed to the updated page swapped in and settled (n={len(actions)})",
                f"{c.fmt(c.median(actions), 'ms')} (p95 {c.p95(actions):.1f})",
                "—",
                "—",
                f"<= {ACTION_TARGET_MS:g} ms",
                c.yes_no(c.median(actions) <= ACTION_TARGET_MS),
            ),
        ]
        notes += [
            "Browser: Debian's Chromium, headless, driven by Playwright; first loads with the HTTP cache "
            "switched off (DevTools' Network.setCacheDisabled), so the page, stylesheet and htmx are fetched "
            "every time; times from the Navigation Timing entry; bytes are every entry's transferSize "
            "(headers included): " + ", ".join(names) + ". The brand-new-context row adds the browser's "
            "own start-up of a fresh profile (a new renderer), which is Chromium's, not the page's.",
            "The action: a boosted form POST (303) and the GET it leads to, swapped in by htmx; timed in the "
            "page from the click to htmx:afterSettle (htmx's settle delay of 20 ms included).",
        ]
    return c.table("The web app", rows, notes)


def main() -> None:
    c.terminate_cleanly()
    print(run(c.parser(__doc__.splitlines()[0]).parse_args()))


if __name__ == "__main__":
    main()
