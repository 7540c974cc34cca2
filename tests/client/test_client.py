"""The CLI as a client (issue 13): RemoteEngine answers as the Engine does, and --server mode's own rules.

The commands themselves run over both transports in test_cli.py, test_audit_commands.py,
test_cli_conventions.py, test_output_files.py and test_reopen_withdraw_unassign.py; here are the pieces: errors
and results back from their JSON, pages followed lazily, an export's count, the URL of
every request, and what --server refuses.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from support.cli_runs import CLEAN_ENV, IN_PROCESS, InProcessServer, cli_runner, must_succeed
from support.servers import free_port

from workflow import Engine, errors
from workflow.cli import cli
from workflow.client import RemoteEngine, paging
from workflow.client.decode import from_dict
from workflow.client.transport import base_url, path
from workflow.domain.results import (
    AuditReport,
    Person,
    ProjectStatus,
    ProjectSummary,
    TemplateInfo,
    TokenInfo,
)
from workflow.errors import (
    AuditBroken,
    Conflict,
    DatabaseProblem,
    DefinitionError,
    NotFound,
    NotPermitted,
    PhasegateError,
    PreconditionFailed,
    Problem,
    RuleRefused,
    ServerUnavailable,
    Throttled,
    Unauthenticated,
    UsageError,
    error_from_dict,
)
from workflow.reports.timeline import ProjectReport, TemplateReport

# -- errors and results back from their JSON ----------------------------------------------------------


@pytest.mark.parametrize("error", [
    RuleRefused("P-1 cannot leave Kick-Off yet: waiting for x; waiting for y", ["waiting for x", "waiting for y"]),
    RuleRefused("the project is on hold"),
    UsageError("the reason is required"),
    DefinitionError([Problem("a.yaml", 3, 5, "unknown key 'x'"), Problem("a.yaml", None, None, "no phases")]),
    NotFound("there is no project NOPE-9"),
    NotPermitted("mallory may not publish templates"),
    Conflict("project P-1 exists already"),
    PreconditionFailed("project P-1 has moved on since it was read"),
    AuditBroken("audit verification failed: project P-1, event 2"),
    DatabaseProblem("the database is locked"),
    Unauthenticated("the token is not valid"),
    Throttled("too many failed sign-ins; wait 8 seconds", 8),
], ids=lambda e: type(e).__name__)
def test_every_error_comes_back_as_the_class_the_engine_raised(error: PhasegateError) -> None:
    back = error_from_dict(json.loads(json.dumps(error.to_dict())), retry_after=8)
    assert type(back) is type(error)
    assert (back.message, back.to_dict(), back.exit_code) == (error.message, error.to_dict(), error.exit_code)
    if isinstance(error, RuleRefused):
        assert back.blockers == error.blockers  # type: ignore[attr-defined]


def test_the_kind_table_holds_every_kind_an_error_class_names() -> None:
    declared = {cls.kind for cls in vars(errors).values()
                if isinstance(cls, type) and issubclass(cls, PhasegateError) and "kind" in vars(cls)}
    assert set(errors.KINDS) == declared
    assert errors.KINDS["refused"] is RuleRefused  # not the base class: a refusal carries its blockers
    assert type(error_from_dict({"kind": "new-in-a-later-version", "message": "m"})) is PhasegateError


def test_a_framework_validation_error_is_bad_input_not_a_template_problem() -> None:
    body = {"kind": "bad_input", "message": "body.role: Field required",
            "problems": [{"where": "body.role", "message": "Field required"}]}
    back = error_from_dict(body)
    assert type(back) is UsageError and back.exit_code == 2 and back.message == "body.role: Field required"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A project through its first phase and a rejection, an account with a token, an auditor."""
    with Engine(f"sqlite:///{tmp_path}/c.db") as e:
        e.init(admin="ana")
        e.add_user("ana", actor="ana", name="Ana", email="ana@example.com")
        e.add_user("ben", actor="ana", name="Ben")
        e.create_project("C-1", template="team-based", actor="ana", name="Client", client="Acme")
        e.assign("C-1", "integrated_producer", "ana", actor="ana")
        e.assign("C-1", "team", "ben", actor="ana")
        e.complete_task("C-1", "integrated_producer", actor="ana", note="two\nlines")
        e.approve("C-1", "team", actor="ben", comment="fine")
        e.reject("C-1", "integrated_producer", actor="ana", reason="not yet")
        e.hold("C-1", actor="ana", reason="budget")
        yield e


def test_every_result_the_cli_prints_comes_back_equal_from_its_json(engine: Engine) -> None:
    _info, _secret = engine.create_token(actor="ana", name="laptop")
    results: list[Any] = [
        engine.status("C-1"), engine.list_projects()[0], engine.report("C-1"), engine.template_report("team-based"),
        engine.verify_audit(), engine.users()[0], engine.tokens(reader="ana")[0], engine.templates()[0],
    ]
    for value in results:
        assert from_dict(type(value), json.loads(json.dumps(value.to_dict()))) == value, type(value).__name__
    assert {type(v) for v in results} == {ProjectStatus, ProjectSummary, ProjectReport, TemplateReport,
                                          AuditReport, Person, TokenInfo, TemplateInfo}


def test_a_field_a_newer_server_adds_is_left_out() -> None:
    info = {"key": "k", "version": 1, "title": "t", "sha256": "0" * 64, "published_at": "x", "published_by": "y"}
    assert from_dict(TemplateInfo, {**info, "colour": "blue"}) == TemplateInfo(**info)


# -- requests: URLs, pages, the export's count ---------------------------------------------------------


def test_every_path_segment_is_encoded_whole_so_no_name_reaches_another_endpoint() -> None:
    assert path("projects", "A.1", "team", "a b", "x@y.z") == "/api/v1/projects/A%2E1/team/a%20b/x%40y%2Ez"
    assert httpx.URL("http://h" + path("templates", "..", "report")).path == "/api/v1/templates/../report"
    for bad in ("x/report", ""):
        with pytest.raises(NotFound, match="no name phasegate gives"):
            path("templates", bad)


@pytest.mark.parametrize("given, root", [
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("https://pg.example.com/", "https://pg.example.com"),
    ("https://pg.example.com/api/v1/", "https://pg.example.com"),
    ("https://example.com/phasegate?x=1", "https://example.com/phasegate"),
])
def test_the_server_url_may_end_with_a_slash_or_the_api_prefix(given: str, root: str) -> None:
    assert base_url(given) == root


@pytest.mark.parametrize("bad", ["127.0.0.1:8765", "ftp://x", "http://", "not a url"])
def test_a_server_url_that_is_not_http_is_bad_input(bad: str) -> None:
    with pytest.raises(UsageError, match="--server needs an http:// or https:// URL"):
        base_url(bad)


@pytest.fixture
def server(engine: Engine, tmp_path: Path) -> Iterator[InProcessServer]:
    """The app on the engine's database, in this process."""
    with InProcessServer(f"sqlite:///{tmp_path}/c.db") as s:
        yield s


def counting(server: InProcessServer, person: str) -> tuple[RemoteEngine, list[str]]:
    """A RemoteEngine as ``person`` and the paths it asks for."""
    asked: list[str] = []
    client = server.client()
    client.event_hooks["request"] = [lambda request: asked.append(request.url.path)]
    token = server.token(person)
    assert token is not None
    return RemoteEngine(client, token=token), asked


@pytest.mark.slow
def test_pages_are_asked_for_as_they_are_read_and_a_refusal_comes_first(
    server: InProcessServer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "PAGE", 2)
    for n in range(4):
        engine.resume("C-1", actor="ana")
        engine.hold("C-1", actor="ana", reason=f"pause {n}")
    remote, asked = counting(server, "ana")
    events = remote.iter_history("C-1")
    assert len(asked) == 1, "the first page is read at once"
    assert [e.seq for e in events] == [e.seq for e in engine.history("C-1")]
    assert len(asked) == 1 + len(engine.history("C-1")) // 2
    assert [e.seq for e in remote.iter_history("C-1", last=5, limit=3)] == [e.seq for e in engine.history("C-1", last=5, limit=3)]
    assert [e.seq for e in remote.iter_history("C-1", after=3, limit=5)] == list(range(4, 9))
    stranger, _ = counting(server, "mallory")
    with pytest.raises(NotPermitted):
        stranger.iter_history("C-1")  # raised by the call, before anything is iterated
    for n in range(5):
        engine.create_project(f"D-{n}", template="team-based", actor="ana")
    assert [p.code for p in remote.iter_projects(after="C-1", limit=4)] == ["D-0", "D-1", "D-2", "D-3"]
    assert [p.code for p in remote.iter_projects(status="active")] == [f"D-{n}" for n in range(5)]


class Chunks:
    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.slow
def test_an_export_streams_into_the_sink_and_counts_its_events(server: InProcessServer, engine: Engine,
                                                              fmt: str) -> None:
    engine.resume("C-1", actor="ana")
    engine.complete_task("C-1", "team", actor="ben", note='quoted "and"\nbroken, across lines')
    remote, _ = counting(server, "ana")
    sink = Chunks()
    count = remote.export(sink, fmt, project="C-1")
    direct = Chunks()
    assert count == engine.export(direct, fmt, project="C-1") == len(engine.history("C-1"))
    assert "".join(sink.written) == "".join(direct.written)


def test_a_csv_row_count_does_not_depend_on_where_the_chunks_break(engine: Engine) -> None:
    engine.resume("C-1", actor="ana")
    engine.complete_task("C-1", "team", actor="ben", note='a "quoted"\nline,\n\nbreak')
    sink = Chunks()
    count = engine.export(sink, "csv")
    text = "".join(sink.written)
    rng = random.Random(13)
    for _ in range(50):
        counter, at = paging.RowCounter(csv=True), 0
        while at < len(text):
            step = rng.randint(1, 40)
            counter.read(text[at:at + step])
            at += step
        assert counter.rows == count


@pytest.mark.slow
def test_actor_and_reader_are_never_sent_the_token_says_who_acts(server: InProcessServer, engine: Engine) -> None:
    engine.resume("C-1", actor="ana")
    ben, _ = counting(server, "ben")
    event = ben.complete_task("C-1", "team", actor="ana")  # actor= is not who acts
    assert (event.actor, event.auth) == ("ben", "token")
    with pytest.raises(NotPermitted):
        ben.users(reader="ana")


def test_a_request_id_is_ascii_text_on_the_wire(server: InProcessServer) -> None:
    ana, _ = counting(server, "ana")
    with pytest.raises(UsageError, match="cannot be sent to a server"):
        ana.resume("C-1", request_id="café")
    first = ana.resume("C-1", request_id="r-1")
    assert ana.resume("C-1", request_id="r-1") == first


# -- what --server mode refuses, and the server it cannot use ------------------------------------------


def phasegate(*args: str, env: dict[str, str | None] | None = None, obj: Any = None) -> Any:
    return CliRunner().invoke(cli, list(args), prog_name="phasegate", env={**CLEAN_ENV, **(env or {})}, obj=obj)


@pytest.mark.parametrize("args, env, sentence", [
    (["--server", IN_PROCESS, "--as", "ana", "project", "list"], {}, "--as is not used with --server"),
    (["--server", IN_PROCESS, "project", "list"], {"PHASEGATE_USER": "ana"}, "PHASEGATE_USER is not used with --server"),
    (["--server", IN_PROCESS, "--db", "sqlite:///x.db", "project", "list"], {}, "--db and --server are two ways"),
    (["project", "list"], {"PHASEGATE_SERVER": IN_PROCESS, "PHASEGATE_DB": "sqlite:///x.db"},
     "PHASEGATE_DB and --server are two ways"),
])
def test_server_mode_refuses_as_and_db_with_exit_2(args: list[str], env: dict[str, str | None],
                                                  sentence: str) -> None:
    result = phasegate(*args, env={"PHASEGATE_TOKEN": "pg_x", **env})
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {sentence}")


def test_server_mode_without_a_token_says_where_it_goes_and_exits_4() -> None:
    result = phasegate("--server", IN_PROCESS, "project", "list")
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: --server needs your API token in PHASEGATE_TOKEN")


def test_init_and_serve_are_database_commands_and_exit_2_with_server(server: InProcessServer) -> None:
    env = {"PHASEGATE_TOKEN": server.token("ana")}
    init = phasegate("--server", IN_PROCESS, "init", "--admin", "ana", env=env, obj=server.connect)
    assert init.exit_code == 2 and "init sets up a database" in init.stderr
    serve = phasegate("--server", IN_PROCESS, "serve", env=env)
    assert serve.exit_code == 2 and "serve runs a server on a database" in serve.stderr


def test_validate_and_a_file_diagram_need_no_server_and_no_token() -> None:
    from workflow.domain.templates.loader import builtin_paths

    good = str(builtin_paths()["team-based"])
    assert phasegate("--server", "http://127.0.0.1:9", "template", "validate", good).exit_code == 0
    assert phasegate("--server", "http://127.0.0.1:9", "template", "diagram", good).exit_code == 0


def test_a_server_that_cannot_be_reached_is_a_sentence_with_exit_2() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = phasegate("--server", url, "project", "list", env={"PHASEGATE_TOKEN": "pg_x"})
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot reach the server at {url}")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("status, body", [(502, "<html>Bad Gateway</html>"), (200, '{"something": "else"}'),
                                          (404, '{"detail": "Not Found"}')])
def test_a_server_that_is_not_phasegate_is_a_sentence_with_exit_2(status: int, body: str) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=body)

    client = httpx.Client(base_url="http://proxy.example", transport=httpx.MockTransport(answer))
    with RemoteEngine(client, token="pg_x") as remote, pytest.raises(ServerUnavailable) as caught:
        remote.status("P-1")
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith(f"the server at http://proxy.example answered {status}")
    client.close()


@pytest.mark.slow
def test_a_token_that_is_not_one_is_refused_by_the_server_with_exit_4(server: InProcessServer) -> None:
    result = phasegate("--server", IN_PROCESS, "project", "list", env={"PHASEGATE_TOKEN": "pg_nonsense"},
                       obj=server.connect)
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: ")


def test_direct_mode_is_untouched_by_a_token_in_the_environment(tmp_path: Path) -> None:
    ok = must_succeed(cli_runner(f"sqlite:///{tmp_path}/d.db"))
    ok("init", "--admin", "ana", env={"PHASEGATE_TOKEN": "pg_x"})
    assert "ana" in ok("grant", "list", env={"PHASEGATE_TOKEN": "pg_x"}).output


def test_completion_with_a_server_sends_nothing_and_offers_the_built_in_roles() -> None:
    def complete(words: str, cword: int) -> list[str]:
        env = {"_PHASEGATE_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
        result = phasegate(env=env)
        assert result.exit_code == 0, result.output
        return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]

    unreachable = f"http://127.0.0.1:{free_port()}"
    assert complete(f"phasegate --server {unreachable} project status ", 5) == []
    assert {"integrated_producer", "scrum_master", "team"} <= set(
        complete(f"phasegate --server {unreachable} task done X-1 ", 6))


@pytest.mark.slow
def test_the_demo_runs_on_its_own_database_with_a_server_set(tmp_path: Path) -> None:
    pytest.importorskip("workflow.demo")
    kept = tmp_path / "demo.db"
    result = phasegate("demo", "--keep", str(kept), env={"PHASEGATE_SERVER": "http://127.0.0.1:9"})
    assert result.exit_code == 0, result.output
    assert kept.exists()
