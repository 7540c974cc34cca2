"""Checking a template costs bounded work: a hostile one is refused early with a located sentence, and
the server runs only a few checks at once (beyond them, 503 busy with Retry-After).

The CPU figures (a 1 MiB hostile template: 75 s of CPU before the bounds, milliseconds after) are in
the commit that added them; these tests assert the refusal, not the time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import yaml
from support.apiclients import api, bearer, error_of
from support.servers import people

from workflow import Engine
from workflow.domain import limits
from workflow.domain.templates import schema
from workflow.domain.templates.loader import builtin_paths, load_definition
from workflow.domain.templates.reader import parse_yaml
from workflow.errors import DefinitionError

HEAD = "key: hostile\ntitle: Hostile\nroles:\n  a: {title: A}\nlead: a\nphases:\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as refused:
        load_definition(text.encode(), "hostile.yaml")
    return [str(p) for p in refused.value.problems]


def test_a_gate_listing_100k_approvers_is_refused_at_the_entry_past_the_bound() -> None:
    """(This one cost 75 s of CPU: each approver was looked for in a list of the ones before it.)"""
    text = HEAD + "  - key: p\n    title: P\n    gate:\n      title: G\n      approvers: [" + ", ".join(
        f"r{i}" for i in range(100_000)) + "]\n"
    problems = problems_of(text)
    assert len(problems) == 1, problems[:3]
    assert problems[0].startswith("hostile.yaml:11:")
    assert f"more than {schema.MAX_ENTRIES:,} entries" in problems[0]


@pytest.mark.slow
def test_a_mapping_of_100k_keys_is_refused_at_the_key_past_the_bound() -> None:
    text = "".join(f"k{i}: v\n" for i in range(100_000))
    problems = problems_of(text)
    assert len(problems) == 1, problems[:3]
    assert problems[0].startswith(f"hostile.yaml:{schema.MAX_ENTRIES + 1}:")
    assert f"more than {schema.MAX_ENTRIES:,} entries" in problems[0]


def test_a_template_of_more_values_than_the_bound_is_refused_where_it_passes_it() -> None:
    """Wide nowhere, but many: phases of a few tasks each, past the bound on values in all."""
    tasks = ", ".join(f"{role}: T" for role in "abcdefghijkl")  # 32 values a phase
    phase = "  - key: p{i}\n    title: P\n    tasks: {{" + tasks + "}}\n"
    text = HEAD + "".join(phase.format(i=i) for i in range(schema.MAX_NODES // 30))
    problems = problems_of(text)
    assert len(problems) == 1, problems[:3]
    assert f"more than {schema.MAX_NODES:,} values" in problems[0]
    assert problems[0].startswith("hostile.yaml:")


def count(node: yaml.Node) -> tuple[int, int]:
    """(values in all, the most entries in one mapping or list) under ``node``."""
    if isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
        width = len(node.value)
    elif isinstance(node, yaml.SequenceNode):
        children, width = list(node.value), len(node.value)
    else:
        return 1, 0
    counted = [count(child) for child in children]
    return 1 + sum(c[0] for c in counted), max([width, *(c[1] for c in counted)])


@pytest.mark.parametrize("key", sorted(builtin_paths()))
def test_the_builtin_templates_are_far_inside_the_bounds(key: str) -> None:
    root = parse_yaml(builtin_paths()[key].read_text(), key)
    assert root is not None
    values, widest = count(root)
    assert values * 20 < schema.MAX_NODES and widest * 20 < schema.MAX_ENTRIES, (values, widest)


@pytest.fixture
def token(db_url: str) -> str:
    with Engine(db_url) as engine:
        return people(engine, {"ana": ()})["ana"]


@contextlib.contextmanager
def all_slots_taken() -> Iterator[None]:
    """Every template check this process allows, held as if in flight."""
    from workflow.server import checks

    held = 0
    try:
        while checks.TEMPLATE_CHECKS.semaphore.acquire(blocking=False):
            held += 1
        assert held == limits.TEMPLATE_CHECKS.default
        yield
    finally:
        for _ in range(held):
            checks.TEMPLATE_CHECKS.semaphore.release()


@pytest.mark.slow
def test_template_checks_beyond_the_bound_are_answered_503_busy(db_url: str, token: str) -> None:
    from workflow.server import checks

    valid = builtin_paths()["team-based"].read_bytes()
    with api(db_url) as client:
        with all_slots_taken():
            refused = client.post("/api/v1/templates/validate", content=valid,
                                  headers={**bearer(token), "Content-Type": "application/x-yaml"})
            publish = client.post("/api/v1/templates", content=valid,
                                  headers={**bearer(token), "Content-Type": "application/x-yaml"})
        checked = client.post("/api/v1/templates/validate", content=valid,
                              headers={**bearer(token), "Content-Type": "application/x-yaml"})
    assert refused.status_code == 503 and publish.status_code == 503
    assert error_of(refused)["kind"] == "busy"
    assert refused.headers["retry-after"] == str(checks.TEMPLATE_CHECKS.retry_after)
    assert checked.status_code == 200 and checked.json()["valid"] is True


@pytest.mark.slow
def test_a_web_template_check_beyond_the_bound_is_answered_503(db_url: str, token: str) -> None:
    with Engine(db_url) as engine:
        engine.set_password("ana", "correct horse battery", actor="root")
    with api(db_url) as client:
        csrf = client.post("/api/v1/me/session",
                           json={"login": "ana", "password": "correct horse battery"}).json()["csrf"]
        with all_slots_taken():
            refused = client.post("/templates/check", data={"csrf": csrf, "yaml": "key: x\n"},
                                  headers={"Accept": "text/html"})
    assert refused.status_code == 503
    assert "try again" in refused.text
