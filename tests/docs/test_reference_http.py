"""The HTTP reference: every operation of the API's routers is in the generated page under its tag,
and each says in words what it does (its endpoint's docstring, the OpenAPI description). The routers
are walked here on their own, not through the OpenAPI document the generator reads."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from support.docs_reference import page

import workflow.server.api as api


def every_operation() -> Iterator[tuple[str, str, APIRoute]]:
    """(METHOD, path, route) of every route of every router under workflow/server/api/."""
    for found in pkgutil.iter_modules(api.__path__):
        router = getattr(importlib.import_module(f"{api.__name__}.{found.name}"), "router", None)
        for route in getattr(router, "routes", ()):
            assert isinstance(route, APIRoute)
            if route.include_in_schema:
                for method in sorted(route.methods):
                    yield method, api.router.prefix + route.path, route


def test_every_tag_says_what_its_operations_are_for() -> None:
    tags = {str(t) for _method, _path, route in every_operation() for t in route.tags}
    described = {t["name"]: t["description"] for t in api.TAGS}
    assert tags == set(described) and all(d.strip() for d in described.values())


def test_every_operation_says_what_it_does() -> None:
    wordless = [f"{method} {path}" for method, path, route in every_operation()
                if not (route.description or "").strip()]
    assert wordless == [], "give each endpoint a docstring: what it does, who may"


@pytest.mark.slow  # the app built and its OpenAPI document made: 2.7 s (measured 2026-12-07)
def test_the_reference_has_every_operation_with_its_answers() -> None:
    shown = page("http")
    operations = list(every_operation())
    assert len(operations) > 40
    for method, path, route in operations:
        heading = f"### `{method} {path}`\n"
        assert heading in shown, heading
        section = shown.split(heading, 1)[1].split("\n### ", 1)[0]
        words = " ".join(route.description.split()).replace("<", "&lt;")
        assert words[:40] in " ".join(section.split()), heading
        assert f"**{route.status_code or 200}**" in section, heading
        at = shown.index(heading)
        tag = shown[shown.rindex("\n## ", 0, at):].split("\n", 2)[1]
        assert tag == f"## {(route.tags or ['other'])[0]}", heading
    assert "`POST /api/v1/projects/{code}/approvals`" in shown
