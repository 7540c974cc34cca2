"""A staffing plan before any project exists: ``team.yaml``, role -> the people who will hold it.

    integrated_producer: [ana]
    tech_creative_leads: [ivy, ben]
    scrum_master: [ivy]

Read with the templates' safe YAML reader (no tags, no aliases, bounded size and depth, every scalar
a string); every problem is reported at once with file:line, as a template's are: a role the template
does not declare, a name that is not a login name, a person listed twice for one role. A role left out
is held by nobody.
"""

from __future__ import annotations

import os

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workflow.domain import inputs
from workflow.domain.templates import schema
from workflow.domain.templates.definition import Definition
from workflow.domain.templates.reader import decode_text, parse_yaml, too_big
from workflow.errors import DefinitionError, Problem, UsageError


def read_team_file(path: str | os.PathLike[str], definition: Definition) -> dict[str, tuple[str, ...]]:
    source = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(schema.MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        reason = "the path contains a NUL byte" if isinstance(exc, ValueError) else exc.strerror or str(exc)
        message = f"cannot read the file: {reason}"
        raise DefinitionError([Problem(source[:300], None, None, message)]) from None
    if len(data) > schema.MAX_BYTES:
        raise DefinitionError([too_big(source, len(data))])
    return read_team(data, definition, source)


def read_team(data: str | bytes, definition: Definition,
              source: str = "<team>") -> dict[str, tuple[str, ...]]:
    """The plan as role -> people, or :class:`DefinitionError` listing every problem."""
    root = parse_yaml(decode_text(data, source), source)
    problems: list[Problem] = []

    def problem(node: Node, message: str) -> None:
        problems.append(Problem(source, node.start_mark.line + 1, node.start_mark.column + 1, message))

    team: dict[str, tuple[str, ...]] = {}
    if not isinstance(root, MappingNode):
        message = "a team file is a mapping of role key to a list of login names (role: [ana, ben])"
        if root is None:
            raise DefinitionError([Problem(source, None, None, message)])
        mark = root.start_mark
        raise DefinitionError([Problem(source, mark.line + 1, mark.column + 1, message)])
    for key, value in root.value:
        role = str(key.value)
        if definition.role(role) is None:
            problem(key, f"the template {definition.key} has no role {inputs.shown(role)} "
                         f"(its roles: {', '.join(definition.role_keys)})")
            continue
        items = value.value if isinstance(value, SequenceNode) else [value] if isinstance(value, ScalarNode) \
            and value.value else []
        if not isinstance(value, (SequenceNode, ScalarNode)):
            problem(value, f"{role}: a list of login names, such as [ana, ben]")
            continue
        people: list[str] = []
        for item in items:
            if not isinstance(item, ScalarNode):
                problem(item, f"{role}: each person is a login name")
                continue
            try:
                person = inputs.person(str(item.value), "the name")
            except UsageError as exc:
                problem(item, str(exc))
                continue
            if person in people:
                problem(item, f"{person} is listed twice for {role}")
                continue
            people.append(person)
        team[role] = tuple(people)
    if problems:
        raise DefinitionError(problems)
    return team
