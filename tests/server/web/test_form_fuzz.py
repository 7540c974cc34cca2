"""Every form of the web app, posted hostile values by a signed-in admin with a valid CSRF token, answers
below 500: huge and non-ASCII numbers, NUL, invalid UTF-8 percent-escapes, text where a file is expected,
a file where text is, missing and repeated fields. (The JSON API has its own fuzz, tests/server/api/test_http_schema.py.)

The routes are every POST of the web app's router and the field names every ``name=`` its pages' forms
use, so a new form is fuzzed without a word here. Bounded: ``EXAMPLES`` a route and backend, and
``SECONDS`` of posting a route at most (the examples left then pass at once). Each example posts with a session of its own,
opened on the engine, so a form that signs out or changes a password cannot end the run's session.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route
from support.apiclients import app_for, serving

import workflow.server.web as web
from workflow import Engine
from workflow.domain.identity import Identity
from workflow.server.auth import SESSION_COOKIE
from workflow.server.web.actions import MOVES
from workflow.server.web.actions import router as actions
from workflow.server.web.invitations import router as invitations
from workflow.server.web.settings import router as my_settings

pytestmark = pytest.mark.slow  # a signed-in admin (argon2id sign-in) for every hostile form: 1.4 s a test (measured 2026-12-07)

EXAMPLES = 25
SECONDS = 20.0

TEMPLATES = Path(web.__file__).parent / "templates"
FIELDS = sorted({name for page in TEMPLATES.glob("*.html")
                 for name in re.findall(r'name="([a-z_-]+)"', page.read_text())} - {"viewport"})
ROUTES = sorted(path for route in [*actions.routes, *my_settings.routes, *invitations.routes]
                if isinstance(route, Route) and "POST" in (route.methods or ()) for path in [route.path])

HOSTILE = [
    "", " ", "0", "-1", "1", "²", "٣", "1e999", "NaN", "9" * 40, str(2**63), str(2**64), str(-(2**63) - 1),
    "\x00", "a\x00b", "P-1\x00", "\u202eevil", "\ud800", "x" * 5000, "../../etc/passwd", "<script>alert(1)</script>",
    "yes", "no", "true", "tokens", "all", "any", "admin", "auditor", "bob", "P-1", "team-based", "integrated_producer",
    "2026-13-45", "9999-12-31", "0001-01-01T00:00Z", "12000-01-01", "1d", "99999w", "https://example.com/",
    *MOVES,
]
# What a value may end with on the wire beyond its percent-encoded text: escapes that are not UTF-8, or broken.
RAW_TAILS = ["", "%FF", "%C3%28", "%ED%A0%80", "%", "%Z", "%00", "%E2%80%AE"]

values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
pairs = st.lists(st.tuples(st.sampled_from(FIELDS), values, st.sampled_from(RAW_TAILS)), max_size=8)


@pytest.fixture
def site(db_url: str) -> Iterator[tuple[TestClient, Engine, dict[str, str]]]:
    """The app over a database with root (admin), bob, P-1 and a token of bob's; the path values to use."""
    with Engine(db_url) as engine:
        engine.init(admin="root")
        engine.add_user("root", actor="root")
        engine.add_user("bob", actor="root")
        engine.create_project("P-1", template="team-based", actor="root")
        engine.assign("P-1", "integrated_producer", "root", actor="root")
        info, _secret = engine.create_token(actor="bob", name="fuzz")
        with serving(app_for(db_url)) as client:
            yield client, engine, {"code": "P-1", "login": "bob", "token_id": info.id}


def path_of(template: str, known: dict[str, str], hostile: str | None) -> str:
    """The route's path with its parameters filled: the known one, or (when given) a hostile one."""
    def fill(match: re.Match[str]) -> str:
        return quote(hostile if hostile is not None else known.get(match.group(1), "x"), safe="",
                     errors="surrogatepass")
    return re.sub(r"{([a-z_]+)}", fill, template)


def urlencoded(fields: list[tuple[str, str, str]]) -> bytes:
    text = "&".join(f"{quote_plus(name)}={quote_plus(value, encoding='utf-8', errors='surrogatepass')}{tail}"
                    for name, value, tail in fields)
    return text.encode("ascii")


def multipart(fields: list[tuple[str, str, str]], as_files: set[str]) -> tuple[bytes, str]:
    """A multipart body; the fields named in ``as_files`` are sent as file parts."""
    boundary = "fuzzboundary7MA4YWxk"
    parts = []
    for name, value, tail in fields:
        data = value.encode("utf-8", "surrogatepass") + tail.encode()
        file = f'; filename="{name}.bin"' if name in as_files else ""
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{file}\r\n\r\n'.encode()
                     + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@pytest.mark.parametrize("route", ROUTES)
@given(fields=pairs, csrf=st.sampled_from(["valid", "valid", "missing", "twice"]),
       encoding=st.sampled_from(["urlencoded", "multipart"]), as_files=st.sets(st.sampled_from(FIELDS), max_size=3),
       hostile_path=st.one_of(st.none(), values))
def test_no_web_form_answers_5xx_to_hostile_values(site: tuple[TestClient, Engine, dict[str, str]], route: str,
                                                   fields: list[tuple[str, str, str]], csrf: str, encoding: str,
                                                   as_files: set[str], hostile_path: str | None) -> None:
    client, engine, known = site
    if time.monotonic() > started.setdefault("at", time.monotonic()) + SECONDS:
        return  # the time bound: what is left of the examples passes trivially
    session_id, token = engine.open_session(Identity("root", "password"))
    sent = list(fields)
    if csrf != "missing":
        sent.insert(0, ("csrf", token, ""))
    if csrf == "twice":
        sent.append(("csrf", "not-the-token", ""))
    headers: dict[str, Any] = {"Cookie": f"{SESSION_COOKIE}={session_id}", "Accept": "text/html"}
    if encoding == "urlencoded":
        body, headers["Content-Type"] = urlencoded(sent), "application/x-www-form-urlencoded"
    else:
        body, headers["Content-Type"] = multipart(sent, as_files)
    answer = client.post(path_of(route, known, hostile_path), content=body, headers=headers)
    assert answer.status_code < 500, (route, sent, encoding, as_files, answer.status_code, answer.text[:500])


started: dict[str, float] = {}


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    """The time bound counts from each test's first example."""
    started.clear()
    yield
