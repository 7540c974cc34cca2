"""The server against its own OpenAPI document (schemathesis): no 5xx, and every answer as documented.

Each operation of ``/api/v1`` gets generated requests (valid and invalid) from an admin with an
API token; a stateful run follows the document's links (the templates -> a new project -> its
status, history, team, hold and cancel; a new account -> its change; a grant -> its revoke; a
token -> its revoke). Every response must have a documented status, content type and body.

Two of schemathesis' checks are left out, on purpose:
- ``positive_data_acceptance``: the engine's input rules (login names, project codes, control
  characters, durations) are richer than the schema says, and a 422 with the engine's sentence is
  the contract's answer to a request that breaks them;
- ``negative_data_rejection`` on ``POST /templates/validate``: its answer to any body, however
  broken, is a 200 report of the problems (that is what validating means).

``SCHEMATHESIS_EXAMPLES=2000`` runs longer (``benchmarks/schema_fuzz.py`` does).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from support.servers import people

from workflow import Engine
from workflow.server.app import create_app
from workflow.server.settings import Settings

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
STEPS = int(os.environ.get("SCHEMATHESIS_STEPS", "8"))
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "derandomize": "SCHEMATHESIS_EXAMPLES" not in os.environ,  # CI: the same cases every run
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine(f"sqlite:///{tmp_path}/schema.db") as engine:
        yield engine


@pytest.fixture
def admin_token(engine: Engine) -> str:
    return people(engine, {})["root"]


@pytest.fixture
def api(engine: Engine, admin_token: str) -> Iterator[schemathesis.BaseSchema]:
    """The document as the server serves it, bound to an in-process app over ``engine``."""
    app = create_app(Settings(db=engine.url, access_log=False), engine=engine)
    try:
        yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    finally:
        asgi.shutdown_lifespans()  # schemathesis keeps an app's lifespan open until told


def excluded(case: schemathesis.Case) -> list[Any]:
    if case.operation.label == "POST /api/v1/templates/validate":
        return [positive_data_acceptance, negative_data_rejection]
    return [positive_data_acceptance]


@pytest.mark.slow
def test_every_operation_answers_as_its_document_says(
    api: schemathesis.BaseSchema, admin_token: str, subtests: pytest.Subtests
) -> None:
    """Valid and invalid requests for each operation, one subtest per operation.

    Driven through hypothesis directly rather than schemathesis' pytest plugin, which reads a
    private pytest attribute (``Function._nodeid``) that pytest 9.1 removed.
    """
    headers = {"Authorization": f"Bearer {admin_token}"}
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 30, "the document lists every endpoint"
    for operation in operations:
        cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

        @given(case=cases)
        @settings(max_examples=EXAMPLES, **SETTINGS)
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=excluded(case))

        with subtests.test(operation.label):
            answers_as_documented()


@pytest.mark.slow
def test_following_the_documents_links_never_breaks_the_server_or_the_document(
    api: schemathesis.BaseSchema, admin_token: str, engine: Engine, tmp_path: Path
) -> None:
    """Sequences of calls, each feeding the next through the document's links.

    Each sequence starts on a fresh copy of the database (the admin and their token, nothing else),
    served by an app of its own: hypothesis replays the beginnings of sequences while it explores, and
    a sequence must draw the same way each time — on a server that kept what earlier sequences made
    (a project code taken, a template version published) a link could answer differently, and
    hypothesis stopped the run as flaky (FlakyStrategyDefinition, about one run in ten).
    """
    headers = {"Authorization": f"Bearer {admin_token}"}
    pristine = Path(engine.url.removeprefix("sqlite:///"))
    engine.close()  # the copy is taken of a database nobody writes
    servers: list[Engine] = []

    class Workflow(api.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            copy = tmp_path / f"sequence-{len(servers)}.db"
            shutil.copyfile(pristine, copy)
            servers.append(Engine(f"sqlite:///{copy}"))
            self.app = create_app(Settings(db=servers[-1].url, access_log=False), engine=servers[-1])

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers, "app": self.app}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(response, excluded_checks=excluded(case), transport_kwargs=kwargs)

    try:
        Workflow.run(settings=settings(max_examples=EXAMPLES * 3, stateful_step_count=STEPS, **SETTINGS))
    finally:
        asgi.shutdown_lifespans()
        for served in servers:
            served.close()
    assert len(servers) > 1, "each sequence had a server of its own"
    for served in servers:
        with Engine(served.url) as reopened:
            assert reopened.verify_audit().ok, "whatever the calls did, the audit chains still verify"
