"""Who may do what over HTTP: every endpoint of /api/v1 against every kind of caller.

The callers: nobody (no credential), a disabled admin, an admin's revoked token, an admin's
expired token, and an SSO proxy's header from an address that is not trusted (all four: 401, the
credential proves nobody); then the people of the CLI's matrix (``test_authorization.py``): an
outsider (an account with no role and no grant), a member of another role, the holder of the
role the request names, the lead, an admin and an auditor. Only the pairs the contract allows
succeed, the others get 403 (404 for a token that is not the caller's: nobody learns which ids
exist), each refusal is one JSON body ``{"error": {"kind", "message"}}`` and changes nothing: a
dump of every table is the same before and after.

On SQLite every cell runs on a fresh copy of one prepared database. On PostgreSQL every refusal
and every allowed read runs against one prepared database (a refusal must change nothing there
either, and a read never does); the allowed writes run on SQLite only.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlalchemy.engine import URL
from support.apiclients import PROXY_HEADER, app_for, bearer, error_of, serving, unchanged_dump
from support.servers import people

from workflow import Engine
from workflow.domain.commands import COMMANDS
from workflow.domain.templates.loader import builtin_paths
from workflow.domain.templates.variants import variant_source
from workflow.server.app import create_app
from workflow.server.settings import Settings
from workflow.storage.tables import tokens

# The CLI's matrix (tests/cli/test_authorization.py), which the requests here mirror.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "cli"))
from test_authorization import MATRIX as CLI_MATRIX

PEOPLE = {"admin": "root", "auditor": "aud", "lead": "lee", "holder": "hol", "member": "mem", "outsider": "out"}
TEAM = {"integrated_producer": "lee", "head_of_technology": "hol", "project_manager": "mem"}
NO_CREDENTIAL = ("nobody", "disabled", "revoked token", "expired token", "untrusted proxy")
CALLERS = (*NO_CREDENTIAL, *PEOPLE)
EVERYONE = frozenset(PEOPLE)
READERS = frozenset({"admin", "auditor", "lead", "holder", "member"})
AUDITORS = frozenset({"admin", "auditor"})
PASSWORD = "correct horse battery"
REVISED = "title: Team Based, revised"
ESTIMATE_V1 = b"PK\x03\x04" + b"\x14\x00" * 13 + b"xl/workbook.xml v1"
ESTIMATE_V2 = b"PK\x03\x04" + b"\x14\x00" * 13 + b"xl/workbook.xml v2"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    allowed: frozenset[str]
    ok: int = 200
    json: Any = None
    yaml: bool = False  # the body is the revised team-based template
    checkpoint: bool = False  # the body is a checkpoint of the prepared database
    refused: int = 403
    public: bool = False  # needs no credential (signing in)
    by_rule: frozenset[str] = frozenset()  # callers refused 409 by the project's state, not 403
    note: str = ""
    cli: str | None = None  # the command of the CLI matrix that is this request
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None  # a raw body (a deliverable's file)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.note})" if self.note else "")

    @property
    def reads(self) -> bool:
        return self.method == "GET"


def row(method: str, path: str, allowed: frozenset[str] | set[str], *, by_rule: set[str] = set(),  # noqa: B006
        **more: Any) -> Row:
    return Row(method, path, frozenset(allowed), by_rule=frozenset(by_rule), **more)


ROWS = [
    row("POST", "/me/session", EVERYONE, public=True, json={"login": "mem", "password": PASSWORD},
        note="signing in needs no credential"),
    row("DELETE", "/me/session", EVERYONE, ok=204),
    row("GET", "/me", EVERYONE),
    row("GET", "/me/work", EVERYONE),
    row("GET", "/me/tokens", EVERYONE),
    row("POST", "/me/tokens", EVERYONE, ok=201, json={"name": "laptop", "expires_in": "30d"}),
    row("DELETE", "/me/tokens/{spare}", {"holder", "admin"}, refused=404, note="the holder's token"),
    row("GET", "/people", {"admin"}),
    row("POST", "/people", {"admin"}, ok=201, json={"login": "newbie", "name": "New Bie"}),
    row("PATCH", "/people/mem", {"admin"}, json={"active": False}, note="disable"),
    row("PATCH", "/people/hol", {"admin", "holder"}, json={"password": "a new long password"},
        note="a person may set their own password"),
    row("GET", "/grants", AUDITORS),
    row("POST", "/grants", {"admin"}, ok=201, json={"person": "newbie", "privilege": "auditor"}, cli="grant"),
    row("DELETE", "/grants/aud/auditor", {"admin"}, cli="revoke"),
    row("GET", "/templates", EVERYONE),
    row("GET", "/templates/large-agency", EVERYONE),
    row("POST", "/templates/validate", EVERYONE, yaml=True),
    row("POST", "/templates", {"admin"}, ok=201, yaml=True, cli="template publish"),
    row("GET", "/templates/large-agency/diagram", EVERYONE),
    row("GET", "/templates/large-agency/report", AUDITORS),
    row("GET", "/projects", EVERYONE, cli="project list"),
    row("POST", "/projects", {"admin"}, ok=201, json={"code": "NEW-1", "template": "team-based"},
        cli="project create"),
    row("GET", "/projects/T", READERS, cli="project status"),
    row("PUT", "/projects/T/team/project_manager/out", {"admin", "lead"}, cli="project assign",
        note="an account"),
    row("DELETE", "/projects/T/team/project_manager/mem", {"admin", "lead"}, cli="project unassign"),
    row("POST", "/projects/T/tasks/head_of_technology/done", {"holder"}, json={"note": "n"}, cli="task done"),
    row("POST", "/projects/A/tasks/head_of_technology/reopen", {"holder", "lead"}, json={"reason": "r"},
        cli="task reopen"),
    row("POST", "/projects/A/approvals", {"holder"}, json={"role": "head_of_technology", "comment": "c"},
        cli="approve"),
    row("DELETE", "/projects/V/approvals/head_of_technology", {"holder"}, note="the approver's own",
        cli="withdraw"),
    # Whoever cannot have given the approval is refused 403 before any rule of the project's state
    # (an auditor's write is never a 409); only the role's holder learns there is nothing to withdraw.
    row("DELETE", "/projects/T/approvals/head_of_technology", set(), by_rule={"holder"},
        note="nobody approved"),
    row("DELETE", "/projects/R/approvals/head_of_technology", set(), by_rule={"holder"}, note="on hold"),
    row("POST", "/projects/A/rejections", {"holder"}, json={"role": "head_of_technology", "reason": "r"},
        cli="reject"),
    row("POST", "/projects/V/advance", {"lead"}, cli="advance"),
    row("POST", "/projects/H/hold", {"lead"}, json={"reason": "r"}, cli="hold"),
    row("POST", "/projects/R/resume", {"lead"}, cli="resume"),
    row("POST", "/projects/H/cancel", {"lead"}, json={"reason": "r"}, cli="cancel"),
    row("PUT", "/projects/T/due/client_kickoff", {"lead"}, json={"date": "2027-01-15", "reason": "r"},
        cli="project due"),
    row("POST", "/tick", {"admin"}),
    row("GET", "/tick", {"admin"}, params={"now": "2027-01-05T10:00:00Z"}, note="a try-out, nothing written"),
    row("POST", "/me/calendar-key", EVERYONE, ok=201),
    row("GET", "/me/calendar.ics", EVERYONE, note="signed in (a feed's key is the other way in)"),
    row("GET", "/webhooks", {"admin"}),
    row("POST", "/webhooks", {"admin"}, ok=201, json={"url": "https://hooks.example.com/new", "events": "sign"}),
    row("DELETE", "/webhooks/{webhook}", {"admin"}),
    row("GET", "/me/notifications", EVERYONE),
    row("PUT", "/me/notifications", EVERYONE, json={"email": "sign,task"}),
    row("GET", "/notifications", AUDITORS),
    row("POST", "/notifications/1/retry", {"admin"}, note="a pending notification"),
    row("GET", "/projects/T/history", READERS, cli="history"),
    row("GET", "/projects/T/report", READERS),
    row("GET", "/projects/T/check", READERS),
    row("GET", "/insights", EVERYONE, note="each caller: the projects they may read"),
    row("GET", "/audit/verify", AUDITORS, cli="audit verify"),
    row("GET", "/audit/verify", AUDITORS, params={"project": "T"}, note="one project", cli="audit verify one"),
    row("POST", "/audit/verify", AUDITORS, checkpoint=True, note="against a checkpoint"),
    row("POST", "/audit/checkpoint", AUDITORS),
    row("GET", "/audit/export", AUDITORS, cli="audit export"),
    # deliverables: D is at SOW & Estimate, its Estimate (by the Project Manager) at v1
    row("POST", "/projects/D/deliverables/estimate", {"member"}, ok=201, content=ESTIMATE_V2,
        params={"name": "estimate-v2.xlsx"}, note="the Estimate is the Project Manager's"),
    row("GET", "/projects/D/deliverables", READERS),
    row("GET", "/projects/D/deliverables/estimate", READERS),
    row("POST", "/audit/prove", EVERYONE, params={"sha256": hashlib.sha256(ESTIMATE_V1).hexdigest()},
        note="a digest: each caller learns only of the projects they may read"),
    row("GET", "/audit/files", AUDITORS),
    # outside signers (issue 24): K is on large-agency-client, its client invited once
    row("POST", "/projects/K/invitations", {"admin", "lead"}, json={"role": "client", "email": "b@acme.example"},
        cli="invite new"),
    row("DELETE", "/projects/K/invitations/{invitation}", {"admin", "lead"}, cli="invite revoke"),
    row("GET", "/projects/K/invitations", READERS),
    # delegations (issue 26): the person away or an admin makes one; the person, the delegate or an
    # admin ends one (the prepared one, lee's to hol, lies in the future: it changes no other row)
    row("POST", "/delegations", {"holder", "admin"}, ok=201,
        json={"person": "hol", "to": "mem", "from": "2030-01-07", "until": "2030-01-11"}),
    row("GET", "/delegations", EVERYONE, note="each caller's own"),
    row("DELETE", "/delegations/{delegation}", {"lead", "holder", "admin"}),
]


def expected_status(r: Row, caller: str) -> int:
    if caller in NO_CREDENTIAL:
        return r.ok if r.public else 401
    if caller in r.by_rule:
        return 409
    return r.ok if caller in r.allowed else r.refused


# -- the prepared database ---------------------------------------------------------------------------


@dataclass
class Base:
    url: str
    headers: dict[str, dict[str, str]]  # caller -> the headers that carry their credential
    spare: str  # the holder's second token's id
    yaml: str
    checkpoint: str = ""  # a checkpoint file's text
    webhook: str = ""  # the webhook every project's notifications go to
    invitation: str = ""  # project K's client's invitation
    delegation: str = ""  # lee's delegation to hol, in the future


def prepare(url: str) -> Base:
    """Projects staffed alike, each in the state its request needs (as the CLI matrix's): T (tasks
    open), A (the Head of Technology's approval missing), V (ready to advance), H (active),
    R (on hold); accounts with tokens for everyone, and the broken credentials."""
    with Engine(url) as engine:
        tokens_of = people(engine, {"aud": ("auditor",), "lee": (), "hol": (), "mem": (), "out": (),
                                    "dis": ("admin",)})
        engine.set_password("mem", PASSWORD, actor="root")
        spare, _secret = engine.create_token(actor="hol", name="spare")
        revoked, revoked_secret = engine.create_token(actor="root", name="revoked")
        engine.revoke_token(revoked.id, actor="root")
        expired, expired_secret = engine.create_token(actor="root", name="expired", expires_in="1h")
        with engine.store.connect() as conn:  # expired an hour early: no test waits for it
            conn.execute(update(tokens).where(tokens.c.id == expired.id).values(expires_at=tokens.c.created_at))
            conn.commit()
        engine.disable_user("dis", actor="root")
        hook, _secret = engine.add_webhook("https://hooks.example.com/hook", actor="root")  # outbox rows to list
        for code in ("T", "A", "V", "H", "R"):
            engine.create_project(code, template="large-agency", actor="root")
            for role, person in TEAM.items():
                engine.assign(code, role, person, actor="root")
        for code in ("A", "V"):
            for role, person in TEAM.items():
                engine.complete_task(code, role, actor=person)
            engine.approve(code, "integrated_producer", actor="lee")
            engine.approve(code, "project_manager", actor="mem")
        engine.approve("V", "head_of_technology", actor="hol")
        engine.hold("R", actor="lee", reason="client away")
        engine.create_project("D", template="large-agency", actor="root")
        for role, person in TEAM.items():
            engine.assign("D", role, person, actor="root")
        for _ in range(2):  # to SOW & Estimate, the phase with deliverables
            for role, person in TEAM.items():
                engine.complete_task("D", role, actor=person)
                engine.approve("D", role, actor=person)
            engine.advance("D", actor="lee")
        engine.add_deliverable("D", "estimate", io.BytesIO(ESTIMATE_V1), name="estimate-v1.xlsx", actor="mem")
        engine.publish_template(variant_source("large-agency-client"), actor="root")
        engine.create_project("K", template="large-agency-client", actor="root")
        for role, person in TEAM.items():
            engine.assign("K", role, person, actor="root")
        invitation = engine.invite("K", "client", email="buyer@acme.example", actor="root").data["invitation"]
        delegation = engine.delegate("lee", "hol", "2030-03-04", "2030-03-08", actor="root").id
        checkpoint = engine.checkpoint().to_json()
    headers = {caller: bearer(tokens_of[person]) for caller, person in PEOPLE.items()}
    headers |= {
        "nobody": {},
        "disabled": bearer(tokens_of["dis"]),
        "revoked token": bearer(revoked_secret),
        "expired token": bearer(expired_secret),
        "untrusted proxy": {PROXY_HEADER: "root"},
    }
    yaml = builtin_paths()["team-based"].read_text(encoding="utf-8")
    yaml = yaml.replace("title: Integrated Project Management - Team Based", REVISED)
    assert REVISED in yaml
    return Base(url, headers, spare.id, yaml, checkpoint, hook.id, invitation, delegation)


@pytest.fixture(scope="module")
def sqlite_base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    path = tmp_path_factory.mktemp("http-authz") / "base.db"
    return prepare(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def pg_base(pg_database_url: URL) -> Iterator[Base]:
    """One prepared PostgreSQL schema for the whole module (the refusals must leave it as it is)."""
    schema = f"authz_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(pg_database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = pg_database_url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield prepare(url.render_as_string(hide_password=False))
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(scope="module")
def cell_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where each SQLite cell runs: a fresh copy of the prepared database, made by ``fresh_copy``."""
    return f"sqlite:///{tmp_path_factory.mktemp('http-authz-cell')}/cell.db"


@pytest.fixture(scope="module")
def cell_app(cell_url: str) -> FastAPI:
    return app_for(cell_url)


@pytest.fixture(scope="module")
def pg_app(pg_base: Base) -> FastAPI:
    return app_for(pg_base.url)


def fresh_copy(base: Base, url: str) -> str:
    db = Path(url.removeprefix("sqlite:///"))
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copy(base.url.removeprefix("sqlite:///"), db)
    return url


def send(client: Any, base: Base, r: Row, caller: str) -> Any:
    kwargs: dict[str, Any] = {"headers": dict(base.headers[caller]), "params": r.params}
    if r.yaml:
        kwargs["content"] = base.yaml.encode()
        kwargs["headers"]["Content-Type"] = "application/x-yaml"
    elif r.checkpoint:
        kwargs["content"] = base.checkpoint.encode()
        kwargs["headers"]["Content-Type"] = "application/json"
    elif r.json is not None:
        kwargs["json"] = r.json
    elif r.content is not None:
        kwargs["content"] = r.content
        kwargs["headers"]["Content-Type"] = "application/octet-stream"
    where = (r.path.replace("{spare}", base.spare).replace("{webhook}", base.webhook)
             .replace("{invitation}", base.invitation).replace("{delegation}", base.delegation))
    return client.request(r.method, "/api/v1" + where, **kwargs)


def check_cell(app: FastAPI, url: str, base: Base, r: Row, caller: str) -> None:
    with Engine(url) as engine:
        before = unchanged_dump(engine)
        with serving(app) as client:
            response = send(client, base, r, caller)
        after = unchanged_dump(engine)
    want = expected_status(r, caller)
    assert response.status_code == want, f"{caller}: {r.id} -> {response.status_code} {response.text}"
    if want >= 400:
        error = error_of(response)
        assert error["kind"] == {401: "unauthenticated", 403: "not_permitted", 404: "not_found", 409: "refused"}[want]
        if want == 403 and r.cli:  # as the CLI matrix asserts (a withdrawal names the approver)
            assert PEOPLE[caller] in error["message"], "the refusal names who was refused"
        assert after == before, f"a refused {r.id} by {caller} changed nothing"
    if r.reads:
        assert after == before, "reading changes nothing"


# -- the matrix ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("r", ROWS, ids=[r.id for r in ROWS])
def test_each_endpoint_answers_each_caller_as_the_contract_says_and_a_refusal_changes_nothing(
    sqlite_base: Base, cell_app: FastAPI, cell_url: str, r: Row, caller: str
) -> None:
    check_cell(cell_app, fresh_copy(sqlite_base, cell_url), sqlite_base, r, caller)


UNCHANGING = [(r, c) for r in ROWS for c in CALLERS if r.reads or expected_status(r, c) >= 400]


@pytest.mark.parametrize(("r", "caller"), UNCHANGING, ids=[f"{r.id}-{c}" for r, c in UNCHANGING])
def test_on_postgresql_every_refusal_and_every_read_answers_the_same_and_changes_nothing(
    pg_base: Base, pg_app: FastAPI, r: Row, caller: str
) -> None:
    check_cell(pg_app, pg_base.url, pg_base, r, caller)


@pytest.mark.slow
def test_the_matrix_covers_every_operation_the_openapi_document_lists() -> None:
    """A new endpoint fails here until it has its row."""
    document = create_app(Settings(db="sqlite://", access_log=False)).openapi()
    listed = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}

    def operation_of(r: Row) -> tuple[str, str]:
        """The listed operation a row's request reaches (the most specific path that matches)."""
        path = "/api/v1" + r.path
        matching = [t for m, t in listed if m == r.method and re.fullmatch(re.sub(r"{[^}]+}", "[^/]+", t), path)]
        assert matching, f"{r.id} reaches no operation of the document"
        return r.method, min(matching, key=lambda t: t.count("{"))

    covered = {operation_of(r) for r in ROWS}
    assert sorted(listed - covered) == [], "endpoints without a row in ROWS"


def test_who_may_do_what_is_the_same_over_http_as_on_the_command_line() -> None:
    mirrored = {r.cli: r.allowed for r in ROWS if r.cli}
    assert set(mirrored) == set(CLI_MATRIX), "every command of the CLI matrix has its request"
    for command, (_args, allowed) in CLI_MATRIX.items():
        assert mirrored[command] == allowed, command


def test_every_project_command_of_the_table_has_its_row() -> None:
    """Each declared command's endpoint has a row that is its CLI command's request."""
    for cmd in COMMANDS.values():
        words = " ".join(cmd.cli)
        shape = re.sub(r"{[^}]+}", "[^/]+", cmd.path)
        rows = [r for r in ROWS if r.cli == words and r.method == cmd.method and re.fullmatch(shape, r.path)]
        assert rows, f"{cmd.name}: no row of ROWS is {cmd.method} {cmd.path} ({words})"


PROJECT_ROWS = [r for r in ROWS if r.path.startswith("/projects/")]


@pytest.mark.parametrize("r", PROJECT_ROWS, ids=[r.id for r in PROJECT_ROWS])
def test_an_outsider_gets_the_same_answer_for_a_real_and_a_made_up_project(
    sqlite_base: Base, cell_app: FastAPI, cell_url: str, r: Row
) -> None:
    """403 with one sentence either way: nobody learns which project codes exist."""
    code = r.path.split("/")[2]
    made_up = Row(r.method, r.path.replace(f"/{code}", "/NOPE-9", 1), r.allowed, json=r.json, content=r.content,
                  params=r.params)
    fresh_copy(sqlite_base, cell_url)
    with serving(cell_app) as client:
        real = send(client, sqlite_base, r, "outsider")
        fake = send(client, sqlite_base, made_up, "outsider")
    assert real.status_code == fake.status_code == 403
    assert error_of(fake)["message"].replace("NOPE-9", code) == error_of(real)["message"]
