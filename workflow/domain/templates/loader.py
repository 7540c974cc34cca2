"""Read a process template (YAML) into a frozen :class:`~workflow.domain.templates.definition.Definition`.

Reading is staged, each stage refusing with a located sentence instead of a
traceback. Stages 1-3 (size, text, safe YAML that keeps every scalar a string)
are :mod:`workflow.domain.templates.reader`; this module walks the nodes it composes:

4. shape: the table in :mod:`workflow.domain.templates.schema` (allowed keys, required keys,
   kinds of value), converting the few typed fields (``required``,
   ``distinct_people``) from their text; :mod:`workflow.domain.templates.shape` checks
   each mapping and its plain values, the builder here its structures (roles,
   phases, tasks, gates);
5. meaning: declared roles, phase order, approver counts.

Problems within the shape and meaning stages are all collected and raised at
once, sorted by position. Nothing here imports SQLAlchemy, click or
transitions: ``template validate`` must start fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workflow.domain.templates import deliverables as _deliverables
from workflow.domain.templates import duties as _duties
from workflow.domain.templates import schema
from workflow.domain.templates.definition import Definition, Gate, Phase, Role
from workflow.domain.templates.reader import (
    TemplateYamlLoader,
    decode_text,
    in_order,
    parse_yaml,
    quote,
    too_big,
)
from workflow.domain.templates.shape import INVALID, ShapeChecker, is_empty, kind_of
from workflow.errors import DefinitionError, Problem

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["TemplateYamlLoader", "builtin_paths", "load_definition", "load_file", "parse_yaml"]

BUILTIN_KEYS = ("large-agency", "digital-agency", "team-based")


def builtin_paths() -> dict[str, Path]:
    """The built-in templates shipped inside the package, by template key."""
    from pathlib import Path  # pathlib costs ~10 ms of import; only this function needs it

    folder = Path(__file__).parents[2] / "definitions"
    return {key: folder / f"{key}.yaml" for key in BUILTIN_KEYS}


def load_file(path: str | os.PathLike[str]) -> Definition:
    """Load a template file; the problems name ``path`` as given."""
    source = os.fspath(path)
    try:
        size = os.stat(path).st_size
        if size > schema.MAX_BYTES:
            raise DefinitionError([too_big(source, size)])
        with open(path, "rb") as handle:
            # Read at most one byte past the limit: stat can lie (pipes, /proc), reading must not.
            data = handle.read(schema.MAX_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = "the path contains a NUL byte" if isinstance(exc, ValueError) else exc.strerror or str(exc)
        if len(source) > 300:  # a path no file can have (ENAMETOOLONG): don't echo 100k characters back
            source = f"{source[:150]}…{source[-100:]} ({len(source)} characters)"
        raise DefinitionError([Problem(source, None, None, f"cannot read the file: {reason}")]) from None
    return load_definition(data, source)


def load_definition(data: str | bytes, source: str = "<string>") -> Definition:
    """Parse, check and build a template; raise :class:`DefinitionError` listing every problem."""
    text = decode_text(data, source)
    root = parse_yaml(text, source)
    return _Builder(source).build(root)


class _Builder(ShapeChecker):
    """Walks the composed nodes by :data:`~workflow.domain.templates.schema.LEVELS`, collecting problems."""

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.lead_node: Node | None = None
        self.role_keys: list[str] = []  # every key written under roles, valid or not
        self.phase_keys: list[str] = []  # every phase key written, valid or not
        # References checked once every role and phase is known: (value, node, sentence start, ...).
        self.role_refs: list[tuple[str, Node, str]] = []
        self.phase_refs: list[tuple[str, Node, str, int, str]] = []
        self.duty_refs: list[tuple[str, Node, str, str]] = []  # (PHASE.gate, node, what, own phase)
        self.converters.update({
            "roles": lambda k, v, what: self.roles(k, v),
            "role_ref": self.role_ref,
            "phases": lambda k, v, what: self.phases(k, v),
            "tasks": self.tasks,
            "gate": self.gate,
            "role_refs": self.role_refs_list,
            "phase_ref": self.phase_ref,
            "span": self.span,
            "escalate_to": self.escalate_to,
            "deliverables": lambda k, v, what: _deliverables.read(self, k, v, what),
            "deliverable_key": lambda k, v, what: self.key(v, what, schema.PHASE_KEY, "deliverable_key"),
            "by_roles": lambda k, v, what: _deliverables.by_roles(self, k, v, what),
            "carry_over": lambda k, v, what: _deliverables.carry_over(self, k, v, what),
            "duty_refs": lambda k, v, what: _duties.read(self, k, v, what),
        })
        # Set while converting one phase: its label, position and key.
        self.phase_label = ""
        self.phase_index = 0
        self.phase_key = ""

    # -- converters of references

    def role_ref(self, key: Node, node: Node, what: str) -> Any:
        if isinstance(key, ScalarNode) and key.value == "lead":
            self.lead_node = node  # an external role cannot lead (checked once the roles are known)
        if not isinstance(node, ScalarNode):
            self.add(node, f"{what} must be {schema.KINDS['role_ref']}, not {kind_of(node)}")
            return INVALID
        self.role_refs.append((node.value, node, f"{what} {quote(node.value)}"))
        return node.value

    def phase_ref(self, key: Node, node: Node, what: str) -> Any:
        if not isinstance(node, ScalarNode) or not node.value:
            self.add(node if not is_empty(node) else key, f"{what} must be {schema.KINDS['phase_ref']}")
            return INVALID
        self.phase_refs.append((node.value, node, what, self.phase_index, self.phase_label))
        return node.value

    def span(self, key: Node, node: Node, what: str) -> Any:
        if isinstance(node, ScalarNode) and schema.SPAN.fullmatch(node.value):
            return node.value
        given = quote(node.value) if isinstance(node, ScalarNode) else kind_of(node)
        self.add(node if not is_empty(node) else key, f"{what} must be {schema.KINDS['span']}, not {given}")
        return INVALID

    def escalate_to(self, key: Node, node: Node, what: str) -> Any:
        if isinstance(node, ScalarNode) and node.value in ("lead", "admin"):
            return node.value
        if not isinstance(node, ScalarNode) or not node.value:
            self.add(node if not is_empty(node) else key, f"{what} must be {schema.KINDS['escalate_to']}")
            return INVALID
        return self.role_ref(key, node, what)

    # -- converters of structures

    def _filled(self, key: Node, node: Node, name: str, one: str, shape: type[Node]) -> bool:
        """Whether ``node`` (the template's ``name``: roles, phases) is a non-empty ``shape``; if not, why."""
        if is_empty(node) or (isinstance(node, shape) and not node.value):
            self.add(key, f"the template's '{name}' is empty; a template needs at least one {one}")
            return False
        if not isinstance(node, shape):
            self.add(node, f"'{name}' must be {schema.KINDS[name]}, not {kind_of(node)}")
            return False
        return True

    def roles(self, key: Node, node: Node) -> Any:
        if not self._filled(key, node, "roles", "role", MappingNode):
            return INVALID
        roles: list[Role] = []
        ok = True
        for role_key, body in node.value:
            name = role_key.value if isinstance(role_key, ScalarNode) else ""
            self.role_keys.append(name)
            valid_key = self.key(role_key, "role key", schema.ROLE_KEY, "role_key")
            values = self.fields(body, "role", f"role {quote(name)}", key_node=role_key)
            if valid_key is INVALID or values is None or INVALID in values.values():
                ok = False
                continue
            roles.append(Role(key=valid_key, title=values["title"], description=values["description"],
                              external=values["external"]))
        return tuple(roles) if ok else INVALID

    def phases(self, key: Node, node: Node) -> Any:
        if not self._filled(key, node, "phases", "phase", SequenceNode):
            return INVALID
        first_line: dict[str, int] = {}
        built: list[Any] = []
        for index, item in enumerate(node.value):
            built.append(self.phase(index, item, first_line))
        if any(p is INVALID for p in built):
            return INVALID
        return tuple(built)

    def phase(self, index: int, node: Node, first_line: dict[str, int]) -> Any:
        label = f"phase #{index + 1}"
        phase_key = ""
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.value == "key" and isinstance(v, ScalarNode):
                    phase_key = v.value
                    if v.value and schema.PHASE_KEY.fullmatch(v.value):
                        label = f"phase {quote(v.value)}"
                        if v.value in schema.RESERVED_PHASE_KEYS:
                            self.add(
                                v,
                                f"phase key {quote(v.value)} is reserved for a project's status "
                                f"({', '.join(schema.RESERVED_PHASE_KEYS)}); choose another key",
                            )
                        if v.value in first_line:
                            self.add(
                                v,
                                f"phase key {quote(v.value)} is used twice (first at line "
                                f"{first_line[v.value]}); each phase needs its own key",
                            )
                        else:
                            first_line[v.value] = v.start_mark.line + 1
                    break
        self.phase_keys.append(phase_key)
        self.phase_label, self.phase_index, self.phase_key = label, index, phase_key
        values = self.fields(node, "phase", label)
        if values is None:
            return INVALID
        tasks, gate = values["tasks"], values["gate"]
        if tasks is None:
            tasks = {}
        if tasks == {} and gate is None:
            self.add(node, f"{label} has neither tasks nor a gate; give it at least one of them")
        if INVALID in (values["key"], values["title"], values["description"], tasks, gate,
                       values["duration"], values["deliverables"]):
            return INVALID
        return {
            "key": values["key"],
            "title": values["title"],
            "description": values["description"],
            "tasks": tasks,
            "gate": gate,
            "duration": values["duration"],
            "deliverables": values["deliverables"] or (),
        }

    def tasks(self, key: Node, node: Node, what: str) -> Any:
        if is_empty(node):
            return {}
        if not isinstance(node, MappingNode):
            self.add(
                node, f"{self.phase_label} 'tasks' must be {schema.KINDS['tasks']}, not {kind_of(node)}"
            )
            return INVALID
        tasks: dict[str, str] = {}
        ok = True
        for role_key, text_node in node.value:
            if not isinstance(role_key, ScalarNode):
                ok = False
                continue
            role = role_key.value
            self.role_refs.append((role, role_key, f"{self.phase_label} has a task for {quote(role)}, which"))
            task_of = f"{self.phase_label} task of {quote(role)}"
            text = self.text(role_key, text_node, task_of, schema.MAX_TITLE_LENGTH, True)
            if text is INVALID:
                ok = False
            else:
                tasks[role] = text
        return tasks if ok else INVALID

    def role_refs_list(self, key: Node, node: Node, what: str) -> Any:
        if not isinstance(node, SequenceNode) or not node.value:
            at = key if is_empty(node) else node
            self.add(at, f"{what} must be {schema.KINDS['role_refs']}, not {kind_of(node)}")
            return INVALID
        approvers: dict[str, None] = {}  # in order; a dict so the check for a repeat is not a scan
        ok = True
        for item in node.value:
            if not isinstance(item, ScalarNode) or not item.value:
                self.add(item, f"{what} must list role keys, not {kind_of(item)}")
                ok = False
                continue
            if item.value in approvers:
                self.add(item, f"{self.phase_label} gate lists approver {quote(item.value)} twice")
                ok = False
                continue
            approvers[item.value] = None
            self.role_refs.append((item.value, item, f"{self.phase_label} gate approver {quote(item.value)}"))
        return tuple(approvers) if ok else INVALID

    def gate(self, key: Node, node: Node, what: str) -> Any:
        if is_empty(node):
            self.add(
                key, f"{self.phase_label} has an empty 'gate'; give it a title and approvers or remove it"
            )
            return INVALID
        values = self.fields(node, "gate", f"{self.phase_label} gate")
        if values is None:
            return INVALID
        approvers, required = values["approvers"], values["required"]
        if isinstance(required, int) and not isinstance(required, bool):
            node_of_required = next(
                v for k, v in node.value if isinstance(k, ScalarNode) and k.value == "required"
            )
            if required < 1:
                self.add(
                    node_of_required,
                    f"{self.phase_label} gate required is {required}; it must be at least 1 (or all, or any)",
                )
                required = INVALID
            elif approvers is not INVALID and required > len(approvers):
                self.add(
                    node_of_required,
                    f"{self.phase_label} gate requires {required} approver roles but lists only "
                    f"{len(approvers)} approver{'s' if len(approvers) != 1 else ''}",
                )
                required = INVALID
        self._check_timers(node, values)
        if INVALID in values.values() or required is INVALID:
            return INVALID
        return Gate(
            title=values["title"],
            approvers=approvers,
            required=required,
            distinct_people=values["distinct_people"],
            on_reject=values["on_reject"] or self.phase_key,
            description=values["description"],
            remind_after=values["remind_after"],
            escalate_after=values["escalate_after"],
            escalate_to=values["escalate_to"] or ("lead" if values["escalate_after"] else None),
            distinct_from=values["distinct_from"],
            delegable=values["delegable"],
        )

    def _check_timers(self, node: Node, values: dict[str, Any]) -> None:
        """An escalation comes after the reminder, and names whom only when there is one."""
        def node_of(name: str) -> Node:
            return next(v for k, v in node.value if isinstance(k, ScalarNode) and k.value == name)

        remind, escalate = values["remind_after"], values["escalate_after"]
        label = f"{self.phase_label} gate"
        if values["escalate_to"] not in (None, INVALID) and escalate is None:
            self.add(node_of("escalate_to"), f"{label} escalate_to needs escalate_after (when to escalate)")
        if (isinstance(remind, str) and isinstance(escalate, str) and remind[-1] == escalate[-1]
                and int(escalate[:-1]) <= int(remind[:-1])):
            self.add(node_of("escalate_after"),
                     f"{label} escalate_after {escalate} must come after remind_after {remind}")

    # -- the whole document

    def build(self, root: Node | None) -> Definition:
        values = None
        if root is None:
            self.add(None, "the template is empty")
        else:
            values = self.fields(root, "template", "the template")
        if values is not None:
            self.check_references()
            if values["phases"] is not INVALID:
                _duties.check(self, list(values["phases"]))
        if self.problems or values is None:
            raise DefinitionError(in_order(self.problems))
        roles: tuple[Role, ...] = values["roles"]
        lead = next((r for r in roles if r.key == values["lead"]), None)
        if lead is not None and lead.external:
            self.add(self.lead_node, f"the lead role {quote(lead.key)} is external: an outside signer "
                     "(external: true) can approve and do tasks, but cannot lead a project")
            raise DefinitionError(in_order(self.problems))
        order = {role.key: i for i, role in enumerate(roles)}
        phases = []
        for p in values["phases"]:
            tasks = tuple(sorted(p["tasks"].items(), key=lambda item: order[item[0]]))
            phases.append(Phase(
                key=p["key"],
                title=p["title"],
                tasks=tasks,
                gate=p["gate"],
                description=p["description"],
                duration=p["duration"],
                deliverables=_deliverables.finish(p["deliverables"], tuple(r for r, _ in tasks),
                                                  values["lead"]),
            ))
        return Definition(
            key=values["key"],
            title=values["title"],
            roles=roles,
            lead=values["lead"],
            phases=tuple(phases),
            description=values["description"],
        )

    def check_references(self) -> None:
        declared = [k for k in self.role_keys if k]
        if declared:  # with no usable roles, 'roles' itself was reported; naming every reference adds noise
            known = set(declared)
            listing = ", ".join(declared)
            for value, node, start in self.role_refs:
                if value not in known:
                    self.add(node, f"{start} is not a declared role (declared: {listing})")
        position: dict[str, int] = {}
        for index, key in enumerate(self.phase_keys):
            position.setdefault(key, index)
        listing = ", ".join(k for k in self.phase_keys if k)
        for value, node, what, index, label in self.phase_refs:
            if value not in position:
                self.add(node, f"{what} {quote(value)} is not a phase of this template (phases: {listing})")
            elif position[value] > index:
                self.add(
                    node,
                    f"{what} {quote(value)} lies after {label}; a rejected gate can only send the project "
                    "back to its own phase or an earlier one",
                )
