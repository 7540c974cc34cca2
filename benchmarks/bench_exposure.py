"""A signed-in person's status read while the server is attacked, against the same read unattacked.

Issue 19's "safe to expose", measured on a real ``phasegate serve`` (SQLite: one worker;
PostgreSQL: ``--workers 2``) in one run of alternating windows, no attack / attack / no
attack / attack ...:

* the measured person: one keep-alive client in its own process, with an API token,
  reading ``GET /api/v1/projects/CODE`` every 10 ms (or as soon as the last answer came);
* the attack: 32 concurrent clients (4 processes x 8 connections) sending bad sign-ins,
  half to ``POST /api/v1/me/session`` (JSON), half to the web app's ``POST /signin`` (a
  form): a quarter guessing real people's names, the rest made-up names, each from its own
  loopback address (127.x.y.z; a client moves to a new address every 4 attempts, a botnet
  that no per-address count stops, except 4 clients that stay on one address each); and
  4 clients (one process) with a token validating hostile templates in a loop
  (``POST /api/v1/templates/validate``): the costliest the bounds let through (~1 MiB,
  9,659 values, no mapping or list over 500 entries, every title too long so that each is a
  problem to report) and the red team's 100,000-key YAML, refused by the entries bound.

Reported: p50 and p99 of the read without and with the attack, the ratio of the p99s
(target: within 3x), the attackers' answers by status (the throttle's 429s, the argon2
bound's 503s, the template checks' 503s), and the server's RSS peak (the sum over its
processes, sampled from /proc every 50 ms) during the attack against its peak without.
Every attacker stops at the end of its window (its answers still in flight are read), and
the reads of the first second of each window without attack are not counted, so what the
attack leaves behind cannot lower the floor. Run alone:
``python benchmarks/bench_exposure.py [--quick] [--backend sqlite|pg|both]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

P99_TARGET = 3.0  # the attack's p99 over the floor's
RSS_TARGET_MIB = 400.0  # issue 19: 32 concurrent sign-ins stay under +400 MiB
SIGNIN_PROCESSES, SIGNIN_CONNECTIONS = 4, 8  # 32 sign-in clients
TEMPLATE_CLIENTS = 4
READ_EVERY = 0.010  # seconds between the measured person's reads
SETTLE = 1.0  # seconds at the start of a window without attack whose reads are not counted
ATTEMPTS_PER_ADDRESS = 4  # a botnet client's attempts from one address: under the free failures
REQUEST_TIMEOUT = 20.0  # no attacker waits longer for one answer
PASSWORD = "a real passphrase"  # the real people's (never guessed)
HERE = Path(__file__).resolve()


def sizes(quick: bool) -> tuple[int, float]:
    """(pairs of windows, seconds a window)."""
    return (3, 2.5) if quick else (5, 5.0)


# -- the hostile templates ---------------------------------------------------------------------------


def costly_template() -> bytes:
    """As costly to check as the bounds let through: ~1 MiB, 9,659 values (the bound is 10,000),
    499 roles (the bound on a mapping's entries is 500), 30 phases of 118 tasks, and every role's
    and task's title 11 characters too long, so each is a problem found, worded and sorted
    (every other reading of the same size measured cheaper, 30-45 ms against ~55 ms)."""
    pad = 210
    lines = ["key: costly", "title: Costly", "description: " + "d" * 1990, "roles:"]
    for r in range(499):
        lines.append(f"  r{r}: {{title: Role {r} {'t' * pad}}} #{'c' * 150}")
    lines += ["lead: r0", "phases:"]
    for p in range(30):
        lines += [f"  - key: p{p}", f"    title: Phase {p}", "    description: " + "d" * 1990,
                  "    tasks: {" + ", ".join(f"r{r}: Task {'x' * pad}" for r in range(118)) + "}",
                  "    gate: {title: Sign-off, approvers: [r0, r1], required: all}"]
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) <= 1_048_576, len(data)
    return data


def refused_template() -> bytes:
    """The red team's: a 1 MiB mapping of 100,000 keys (refused at the 501st entry)."""
    return ("".join(f"k{i}: v\n" for i in range(100_000))).encode()


# -- a lean HTTP/1.1 client for the attackers ---------------------------------------------------------
#
# The attackers share the machine's cores with the server: a hand-written exchange on asyncio
# streams costs them a fraction of what a full client would, so more of the attack reaches it.


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """Send one request, read its whole answer; (status, the server closes the connection)."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("closed before an answer")
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


def request_bytes(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


def read_schedule() -> dict[str, Any]:
    """Say ready (imports done, payloads built), then take the schedule from stdin."""
    print("ready", flush=True)
    line = sys.stdin.readline()
    if not line:
        raise SystemExit(0)
    return json.loads(line)  # type: ignore[no-any-return]


def cpu_of_self() -> float:
    t = os.times()
    return t.user + t.system


# -- the sign-in attackers ------------------------------------------------------------------------------


def signin_main(spec: dict[str, Any]) -> None:
    """``--signin``: SIGNIN_CONNECTIONS clients of bad sign-ins, during every attack window."""
    host, port = spec["host"], spec["port"]
    counts: Counter[str] = Counter()
    schedule = read_schedule()
    cpu0 = cpu_of_self()

    def attempt(client: int, n: int) -> bytes:
        real = client % 8 in (0, 1)
        login = spec["people"][n % len(spec["people"])] if real else f"x{secrets.token_hex(5)}"
        password = f"guess-{secrets.token_hex(4)}"
        if client % 2 == 0:
            body = json.dumps({"login": login, "password": password}).encode()
            return request_bytes("POST", "/api/v1/me/session", f"{host}:{port}",
                                 {"Content-Type": "application/json"}, body)
        body = urlencode({"login": login, "password": password, "next": "/"}).encode()
        return request_bytes("POST", "/signin", f"{host}:{port}",
                             {"Content-Type": "application/x-www-form-urlencoded"}, body)

    def address(client: int, n: int) -> str:
        if client % 16 in (6, 7):  # one address throughout: its own count stops it after 4 failures
            return f"127.200.{client}.1"
        moves = n // ATTEMPTS_PER_ADDRESS
        return f"127.{1 + client}.{(moves // 250) % 250}.{1 + moves % 250}"

    async def client_loop(client: int, end: float, start_n: int) -> int:
        n = start_n
        reader = writer = None
        here = None
        kind = "api" if client % 2 == 0 else "web"
        who = "real" if client % 8 in (0, 1) else "made-up"
        try:
            while time.time() < end:
                wanted = address(client, n)
                if writer is None or wanted != here:
                    if writer is not None:
                        writer.close()
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(host, port, local_addr=(wanted, 0)), REQUEST_TIMEOUT)
                    here = wanted
                assert reader is not None
                try:
                    status, close = await asyncio.wait_for(exchange(reader, writer, attempt(client, n)),
                                                           REQUEST_TIMEOUT)
                    counts[f"{kind} {who} {status}"] += 1
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                    counts[f"{kind} {who} {type(exc).__name__}"] += 1
                    close = True
                n += 1
                if close:
                    writer.close()
                    writer = None
        finally:
            if writer is not None:
                writer.close()
        return n

    async def main() -> None:
        firsts = {client: 0 for client in spec["clients"]}
        for start, end in schedule["attacks"]:
            await until(start)
            ns = await asyncio.gather(*(client_loop(cl, end, firsts[cl]) for cl in spec["clients"]))
            firsts = dict(zip(spec["clients"], ns, strict=True))

    asyncio.run(main())
    print(json.dumps({"counts": counts, "cpu": cpu_of_self() - cpu0}), flush=True)


# -- the template attackers -----------------------------------------------------------------------------


def templates_main(spec: dict[str, Any]) -> None:
    """``--templates``: TEMPLATE_CLIENTS clients validating hostile templates, costly and refused in turn."""
    host, port = spec["host"], spec["port"]
    payloads = {"costly": costly_template(), "refused": refused_template()}
    counts: Counter[str] = Counter()
    answered: dict[str, list[float]] = {"costly": [], "refused": []}  # ms of the checks that ran
    schedule = read_schedule()
    cpu0 = cpu_of_self()
    headers = {"Content-Type": "application/x-yaml", "Authorization": f"Bearer {spec['token']}"}
    requests = {k: request_bytes("POST", "/api/v1/templates/validate", f"{host}:{port}", headers, v)
                for k, v in payloads.items()}

    async def client_loop(client: int, end: float) -> None:
        reader = writer = None
        n = client
        try:
            while time.time() < end:
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                            REQUEST_TIMEOUT)
                assert reader is not None
                kind = "costly" if n % 2 == 0 else "refused"
                n += 1
                t0 = time.perf_counter()
                try:
                    status, close = await asyncio.wait_for(exchange(reader, writer, requests[kind]),
                                                           REQUEST_TIMEOUT)
                    counts[f"{kind} {status}"] += 1
                    if status == 200:
                        answered[kind].append((time.perf_counter() - t0) * 1000)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                    counts[f"{kind} {type(exc).__name__}"] += 1
                    close = True
                if close:
                    writer.close()
                    writer = None
        finally:
            if writer is not None:
                writer.close()

    async def main() -> None:
        for start, end in schedule["attacks"]:
            await until(start)
            await asyncio.gather(*(client_loop(cl, end) for cl in range(TEMPLATE_CLIENTS)))

    asyncio.run(main())
    print(json.dumps({"counts": counts, "answered": answered, "cpu": cpu_of_self() - cpu0,
                      "bytes": {k: len(v) for k, v in payloads.items()}}), flush=True)


# -- the measured person ------------------------------------------------------------------------------


def reader_main(spec: dict[str, Any]) -> None:
    """``--reader``: the signed-in person's status reads, every READ_EVERY, from start to end."""
    import httpx

    client = httpx.Client(base_url=spec["url"], timeout=60,
                          headers={"Authorization": f"Bearer {spec['token']}"})
    path = f"/api/v1/projects/{spec['code']}"
    schedule = read_schedule()  # its first reads (connecting, first calls) fall in the warm-up, not counted
    samples: list[tuple[float, float, int]] = []
    clock = time.perf_counter
    next_at = schedule["start"]
    while True:
        now = time.time()
        if now >= schedule["end"]:
            break
        if now < next_at:
            time.sleep(next_at - now)
        at = time.time()
        t0 = clock()
        status = client.get(path).status_code
        samples.append((at, (clock() - t0) * 1000, status))
        next_at = max(next_at + READ_EVERY, at)
    client.close()
    print(json.dumps({"samples": samples}), flush=True)


# -- the server's memory and CPU ----------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a child is listed under the thread that started it: the template
    checker under a request thread)."""
    out = [pid]
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return out
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for child in map(int, children):
            out += process_tree(child)
    return out


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """The server's processes' RSS (summed) and CPU, and the machine's busy CPU, every 50 ms."""

    def __init__(self, pid: int, stop_at: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop_at = pid, stop_at
        self.samples: list[tuple[float, float, float, float]] = []  # (time, MiB, server cpu, machine cpu)

    def run(self) -> None:
        while time.time() < self.stop_at:
            pids = process_tree(self.pid)
            self.samples.append((time.time(), sum(rss_mib(p) for p in pids),
                                 sum(cpu_seconds(p) for p in pids), machine_busy()))
            time.sleep(0.05)

    def peak(self, windows: list[tuple[float, float]]) -> float:
        return max((s[1] for s in self.samples if any(a <= s[0] < b for a, b in windows)), default=0.0)

    def cpu(self, windows: list[tuple[float, float]]) -> tuple[float, float]:
        """(server, machine) CPU seconds spent in ``windows``."""
        server = machine = 0.0
        for a, b in windows:
            inside = [s for s in self.samples if a <= s[0] <= b]
            if len(inside) >= 2:
                server += inside[-1][2] - inside[0][2]
                machine += inside[-1][3] - inside[0][3]
        return server, machine


# -- set-up and the run --------------------------------------------------------------------------------


def prepare(url: str) -> tuple[str, str, str]:
    """The benchmark template, one project two phases along, real people with passwords and a token
    each for the reader (alice) and the template checker (bob). Returns (code, alice's, bob's token)."""
    from workflow import Engine

    with Engine(url) as e:
        e.init(c.ADMIN)
        e.publish_template(c.bench_template(6), actor=c.ADMIN)
        for person in c.PEOPLE.values():
            e.add_user(person, actor=c.ADMIN)
        c.setup_projects(e, ["X-1"], "bench-flow")
        for _phase in range(2):
            for _kind, step in c.phase_commands(e, "X-1"):
                step()  # type: ignore[operator]
        for person in c.PEOPLE.values():
            e.set_password(person, PASSWORD, actor=c.ADMIN)
        _info, alice = e.create_token(actor=c.PEOPLE["lead"], name="bench")
        _info, bob = e.create_token(actor=c.PEOPLE["dev"], name="bench")
    return "X-1", alice, bob


def spawn(mode: str, spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(HERE), mode, json.dumps(spec)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(backend: str, url: str, scratch: Path, args: Any) -> tuple[list[c.Row], list[str]]:
    from support.servers import free_port, live_server

    pairs, window = sizes(args.quick)
    code, alice, bob = prepare(url)
    name = "SQLite, one worker" if backend == "sqlite" else "PostgreSQL, `--workers 2`"
    workers = ["--workers", "2"] if backend == "pg" else []
    host, port = "127.0.0.1", free_port()
    url_of_server = f"http://{host}:{port}"
    # The client processes start (imports, payloads) while the server does; they wait to be told when.
    procs = {"reader": spawn("--reader", {"url": url_of_server, "token": alice, "code": code}),
             "templates": spawn("--templates", {"host": host, "port": port, "token": bob})}
    people = list(c.PEOPLE.values())
    for p in range(SIGNIN_PROCESSES):
        clients = list(range(p * SIGNIN_CONNECTIONS, (p + 1) * SIGNIN_CONNECTIONS))
        procs[f"signin-{p}"] = spawn("--signin", {"host": host, "port": port, "people": people,
                                                  "clients": clients})
    try:
        with live_server(url, scratch / f"serve-{backend}.log", "--tick-every", "0", *workers,
                         port=port) as server:
            for label, proc in procs.items():
                line = proc.stdout.readline()  # type: ignore[union-attr]
                if line.strip() != "ready":
                    raise RuntimeError(f"the {label} process did not start ({proc.wait()})")
            # A warm-up attack (not counted: both workers import the loader, argon2 allocates), a
            # pause, then the measured windows: no attack, attack, no attack, attack ...
            t0 = time.time() + 0.5
            warm = (t0, t0 + 1.5)
            quiet: list[tuple[float, float]] = []
            attacks: list[tuple[float, float]] = []
            at = warm[1] + 1.0
            for _ in range(pairs):
                quiet.append((at, at + window))
                attacks.append((at + window, at + 2 * window))
                at += 2 * window
            end = at
            sampler = Sampler(server.process.pid, end + 0.5)
            sampler.start()
            rest_mib = sum(rss_mib(p) for p in process_tree(server.process.pid))
            schedule = {"attacks": [warm, *attacks], "start": warm[0], "end": end}
            for proc in procs.values():
                proc.stdin.write(json.dumps(schedule) + "\n")  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
            outs = {}
            for label, proc in procs.items():
                out, _ = proc.communicate(timeout=end - time.time() + 2 * REQUEST_TIMEOUT + 30)
                if proc.returncode != 0 or not out.strip():
                    raise RuntimeError(f"the {label} process failed ({proc.returncode})")
                outs[label] = json.loads(out.strip().splitlines()[-1])
            sampler.join()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    samples = outs["reader"]["samples"]
    refused = Counter(s[2] for s in samples if s[2] != 200)
    if refused:
        raise RuntimeError(f"the signed-in person's reads were refused: {dict(refused)}")
    floor = [ms for at, ms, _ in samples if any(a + SETTLE <= at < b for a, b in quiet)]
    under = [ms for at, ms, _ in samples if any(a <= at < b for a, b in attacks)]
    p50 = (c.median(floor), c.median(under))
    p99 = (percentile(floor, 0.99), percentile(under, 0.99))

    signins: Counter[str] = Counter()
    for label, out in outs.items():
        if label.startswith("signin-"):
            signins.update(out["counts"])
    by_status: Counter[str] = Counter()
    for key, n in signins.items():
        by_status[key.rsplit(" ", 1)[1]] += n
    tpl = outs["templates"]
    tcounts = Counter(tpl["counts"])
    checked = {k: (c.median(v) if v else 0.0) for k, v in tpl["answered"].items()}
    attack_peak, quiet_peak = sampler.peak(attacks), sampler.peak(quiet)
    server_cpu_a, machine_a = sampler.cpu(attacks)
    server_cpu_q, machine_q = sampler.cpu(quiet)
    seconds_a = sum(b - a for a, b in attacks)
    seconds_q = sum(b - a for a, b in quiet)
    attackers_cpu = sum(o["cpu"] for label, o in outs.items() if label != "reader")
    total_attack_s = seconds_a + (warm[1] - warm[0])

    def statuses(counter: Counter[str]) -> str:
        return ", ".join(f"{k}: {v:,}" for k, v in sorted(counter.items()))

    ratio50 = p50[1] / p50[0]
    ratio99 = p99[1] / p99[0]
    rows = [
        c.Row(f"{name}: a signed-in person's `GET /api/v1/projects/{{code}}` p50, under the attack vs none "
              f"(n={len(under)} / {len(floor)})", c.fmt(p50[1], "ms"), c.fmt(p50[0], "ms"),
              f"{ratio50:.2f}x", "reported", "—"),
        c.Row(f"{name}: the same, p99", c.fmt(p99[1], "ms"), c.fmt(p99[0], "ms"), f"{ratio99:.2f}x",
              f"<= {P99_TARGET:g}x", c.yes_no(ratio99 <= P99_TARGET)),
        c.Row(f"{name}: the sign-in attackers' answers ({sum(by_status.values()):,} bad sign-ins in "
              f"{total_attack_s:g} s)", statuses(by_status), "—", "—", "reported", "—"),
        c.Row(f"{name}: the template attackers' answers (costly {tpl['bytes']['costly']:,} B checked in "
              f"{checked['costly']:.0f} ms, refused {tpl['bytes']['refused']:,} B in "
              f"{checked['refused']:.0f} ms, medians over HTTP)", statuses(tcounts), "—", "—",
              "reported", "—"),
        c.Row(f"{name}: the server's RSS peak (all its processes), during the attack vs without",
              c.fmt(attack_peak, "MiB"), c.fmt(quiet_peak, "MiB") + f" (at rest {rest_mib:.0f})",
              f"+{attack_peak - rest_mib:.0f} MiB over at rest", f"<= +{RSS_TARGET_MIB:g} MiB",
              c.yes_no(attack_peak - rest_mib <= RSS_TARGET_MIB)),
    ]
    cores = os.cpu_count() or 1
    detail = {k: v for k, v in sorted(signins.items())}
    notes = [
        f"{name}: the sign-in answers by client kind: {statuses(Counter(detail))}.",
        f"{name}: CPU in the attack windows: the server {server_cpu_a / seconds_a:.2f} cores, the machine "
        f"{machine_a / seconds_a:.2f} of {cores} (the attackers' processes "
        f"{attackers_cpu / total_attack_s:.2f}); without the attack: the server "
        f"{server_cpu_q / seconds_q:.2f}, the machine {machine_q / seconds_q:.2f}.",
    ]
    return rows, notes


NOTES = [
    "One run, alternating windows without and with the attack (quick: {q[0]} + {q[0]} of {q[1]:g} s; full: "
    "{f[0]} + {f[0]} of {f[1]:g} s) after a 1.5 s warm-up attack; the reads of a window's first second after "
    "an attack are not counted. "
    "The measured person reads every 10 ms with an API token on one keep-alive connection, in its own "
    "process; the attackers run in 5 other processes on the same 2 cores as the server (and PostgreSQL).",
    "Sign-ins: 32 clients, 16 to `POST /api/v1/me/session`, 16 to `POST /signin`; 8 guess the real people's "
    "names (their account's count answers 429 from the 5th failure), 24 made-up names; each client "
    "connects from its own 127.x.y.z address and moves to a new one every 4 attempts (so no address is "
    "slowed), except 4 that keep one (429 from their 5th). A made-up name from a fresh address reaches "
    "argon2 every time: 401 after the check, or 503 Busy when the worker's checks are all in use.",
    "Templates: 4 clients with a token, `POST /api/v1/templates/validate` in a loop, the costliest template "
    "the bounds let through and the 100,000-key one the entries bound refuses, in turn; 200 is a check "
    "that ran (its answer lists the problems), 503 a check refused because 2 were in flight in the worker.",
]
BACKEND_NOTES: list[str] = []


def run_backend(backend: str, args: Any) -> list[c.Row]:
    sys.path.insert(0, str(c.REPO / "tests"))
    if backend == "sqlite":
        with c.scratch_dir(args.data_dir, "exposure-") as scratch:
            rows, notes = measure("sqlite", c.sqlite_url(scratch / "serve.db"), scratch, args)
    else:
        reason = c.pg_unreachable(args.pg)
        if reason:
            return [c.skipped_row("PostgreSQL, `--workers 2`: the status read's p99 under attack",
                                  f"<= {P99_TARGET:g}x", reason)]
        with c.scratch_dir(args.data_dir, "exposure-") as scratch, \
                c.pg_scratch_database(args.pg, "pgbench_exposure") as (url, _conninfo):
            rows, notes = measure("pg", url, scratch, args)
    BACKEND_NOTES.extend(notes)
    return rows


TITLE = "Exposure: a signed-in person's reads under bad sign-ins and hostile templates"


def notes() -> list[str]:
    return [NOTES[0].format(q=sizes(True), f=sizes(False)), *NOTES[1:], *BACKEND_NOTES]


def run(args: Any) -> str:
    BACKEND_NOTES.clear()
    rows = run_backend("sqlite", args) + run_backend("pg", args)
    return c.table(TITLE, rows, notes())


def main() -> None:
    modes = {"--signin": signin_main, "--templates": templates_main, "--reader": reader_main}
    if len(sys.argv) > 2 and sys.argv[1] in modes:
        modes[sys.argv[1]](json.loads(sys.argv[2]))
        return
    c.terminate_cleanly()
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "pg", "both"), default="both")
    args = p.parse_args()
    if args.backend == "both":
        print(run(args))
    else:
        rows = run_backend(args.backend, args)
        print(c.table(TITLE, rows, notes()))


if __name__ == "__main__":
    main()
