"""External roles in templates (issue 24): an outside signer's role may approve gates and own tasks,
never lead; its flag is compiled and stored, and a stored definition from before loads without it; the
built-ins' client variants add the client to exactly the SOW & Estimate and Production Review QA gates."""

from __future__ import annotations

import json

import pytest

from workflow.domain.templates.definition import definition_from_dict, definition_to_dict
from workflow.domain.templates.loader import BUILTIN_KEYS, builtin_paths, load_definition, load_file
from workflow.domain.templates.variants import CLIENT_GATES, variant_keys, variant_source
from workflow.errors import DefinitionError, NotFound

TEMPLATE = """\
key: with-client
title: With a client
roles:
  producer: {title: Producer}
  client: {title: Client, external: true}
lead: producer
phases:
  - key: sow
    title: SOW
    tasks:
      client: Provide assets
    gate: {title: SOW approval, approvers: [producer, client]}
"""


def test_an_external_role_may_approve_and_own_tasks() -> None:
    definition = load_definition(TEMPLATE, "t.yaml")
    assert definition.is_external("client") and not definition.is_external("producer")
    assert definition.phases[0].gate is not None and "client" in definition.phases[0].gate.approvers
    assert definition.phases[0].task_of("client") == "Provide assets"


def test_an_external_role_cannot_lead_and_the_refusal_names_the_line() -> None:
    with pytest.raises(DefinitionError) as refused:
        load_definition(TEMPLATE.replace("lead: producer", "lead: client"), "t.yaml")
    (problem,) = refused.value.problems
    assert (problem.source, problem.line) == ("t.yaml", 6)
    assert "the lead role 'client' is external" in problem.message


def test_external_must_be_true_or_false() -> None:
    with pytest.raises(DefinitionError, match="external"):
        load_definition(TEMPLATE.replace("external: true", "external: maybe"), "t.yaml")


def test_the_compiled_definition_keeps_the_flag_and_one_from_before_loads_without_it() -> None:
    definition = load_definition(TEMPLATE, "t.yaml")
    compiled = definition_to_dict(definition)
    assert compiled["roles"] == [["producer", "Producer", None], ["client", "Client", None, True]]
    assert definition_from_dict(json.loads(json.dumps(compiled))) == definition
    old = {**compiled, "roles": [["producer", "Producer", None], ["client", "Client", None]]}
    assert not definition_from_dict(old).is_external("client")
    for key in BUILTIN_KEYS:  # the built-ins compile exactly as before (three items a role)
        assert all(len(r) == 3 for r in definition_to_dict(load_file(builtin_paths()[key]))["roles"])


@pytest.mark.parametrize("key", variant_keys())
def test_a_client_variant_is_its_built_in_with_the_client_on_two_gates(key: str) -> None:
    base = load_file(builtin_paths()[key.removesuffix("-client")])
    variant = load_definition(variant_source(key), key)
    assert variant.key == key and variant.is_external("client") and variant.lead == base.lead
    assert [r.key for r in variant.roles] == [*(r.key for r in base.roles), "client"]
    for mine, theirs in zip(variant.phases, base.phases, strict=True):
        assert (mine.key, mine.tasks, mine.deliverables) == (theirs.key, theirs.tasks, theirs.deliverables)
        if theirs.gate is None:
            assert mine.gate is None
            continue
        assert mine.gate is not None
        added = ("client",) if mine.key in CLIENT_GATES else ()
        assert mine.gate.approvers == (*theirs.gate.approvers, *added)


def test_an_unknown_variant_is_not_found() -> None:
    with pytest.raises(NotFound, match="variants: large-agency-client"):
        variant_source("nope-client")
