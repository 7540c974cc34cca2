"""Read a process template (YAML) into a frozen :class:`~workflow.domain.definition.Definition`.

A template comes from a user's file, so reading it is defensive and staged,
each stage refusing with a located sentence instead of a traceback:

1. size: more than ``MAX_BYTES`` is refused before anything is decoded;
2. text: strict UTF-8 (a leading BOM is dropped), no control characters (nor bidi
   controls), and none written as escapes in a quoted value either (``"\\e[31m"``);
3. YAML: a safe loader subclass that refuses tags, anchors and aliases (so a
   "billion laughs" document stops at its first anchor), duplicate keys, deep
   nesting and extra documents, and keeps *every* scalar a string: YAML 1.1
   would turn ``no``, ``on``, ``0755`` or ``2024-01-01`` into other types, and a
   task called "No" must stay "No";
4. shape: the table in :mod:`workflow.domain.schema` (allowed keys, required keys,
   kinds of value), converting the few typed fields (``required``,
   ``distinct_people``) from their text;
5. meaning: declared roles, phase order, approver counts.

Problems within the shape and meaning stages are all collected and raised at
once, sorted by position. Nothing here imports SQLAlchemy, click or
transitions: ``template validate`` must start fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import yaml
from yaml.error import Mark
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workflow.domain import schema
from workflow.domain.definition import Definition, Gate, Phase, Role
from workflow.domain.inputs import BIDI_CONTROLS
from workflow.errors import DefinitionError, Problem

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["TemplateYamlLoader", "builtin_paths", "load_definition", "load_file", "parse_yaml"]

BUILTIN_KEYS = ("large-agency", "digital-agency", "team-based")

_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"

# C0 controls except tab/LF/CR, DEL, C1 controls, the non-characters YAML refuses, the
# three "line breaks" editors do not show as such (they would shift every line number after them),
# and the bidi controls (they reorder what a reviewer sees: "Trojan Source").
_BIDI = "".join(sorted(BIDI_CONTROLS))
_FORBIDDEN_CHARS = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff{_BIDI}]")
# The same in a scalar's decoded value, where YAML escapes ("\e", "\x07", "\0", "\u202e") can
# put any of them, plus CR (YAML turns every line break into LF, so only an escape writes one)
# and unpaired surrogates ("\ud800"; the Python parser lets them through).
_FORBIDDEN_IN_VALUES = re.compile(
    f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff{_BIDI}]"
)
_NUMBER = re.compile(r"[+-]?[0-9]{1,9}")


def builtin_paths() -> dict[str, Path]:
    """The built-in templates shipped inside the package, by template key."""
    from pathlib import Path  # pathlib costs ~10 ms of import; only this function needs it

    folder = Path(__file__).parent.parent / "definitions"
    return {key: folder / f"{key}.yaml" for key in BUILTIN_KEYS}


def load_file(path: str | os.PathLike[str]) -> Definition:
    """Load a template file; the problems name ``path`` as given."""
    source = os.fspath(path)
    try:
        size = os.stat(path).st_size
        if size > schema.MAX_BYTES:
            raise DefinitionError([_too_big(source, size)])
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
    text = _decode(data, source)
    root = parse_yaml(text, source)
    return _Builder(source).build(root)


# --------------------------------------------------------------------------- stage 1 and 2: bytes, text


def _too_big(source: str, size: int) -> Problem:
    return Problem(
        source,
        None,
        None,
        f"the template is {size:,} bytes; at most {schema.MAX_BYTES:,} bytes (1 MiB) are accepted",
    )


def _decode(data: Any, source: str) -> str:
    if isinstance(data, str):
        if len(data) > schema.MAX_BYTES:
            raise DefinitionError([_too_big(source, len(data.encode("utf-8", "surrogatepass")))])
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            line, column = _text_position(data, exc.start)
            message = "the text contains an unpaired surrogate character, which is not valid Unicode"
            raise DefinitionError([Problem(source, line, column, message)]) from None
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data[: schema.MAX_BYTES + 1])
    else:
        message = f"a template must be given as text or bytes, not {type(data).__name__}"
        raise DefinitionError([Problem(source, None, None, message)])
    if len(raw) > schema.MAX_BYTES:
        size = len(data) if isinstance(data, bytes | bytearray | memoryview) else len(raw)
        raise DefinitionError([_too_big(source, size)])
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = (
            f"the file is not valid UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded (save it as UTF-8)"
        )
        raise DefinitionError([Problem(source, line, column, message)]) from None
    problems = []
    for match in _FORBIDDEN_CHARS.finditer(text):
        line, column = _text_position(text, match.start())
        char = match.group()
        problems.append(
            Problem(source, line, column, f"control character U+{ord(char):04X} is not allowed in a template")
        )
        if len(problems) >= 10:
            break
    if problems:
        raise DefinitionError(problems)
    return text


def _text_position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


# --------------------------------------------------------------------------- stage 3: YAML

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Stop(Exception):
    """Composition cannot usefully go on (nesting too deep, too many problems)."""


class TemplateYamlLoader(_Base):
    """A safe loader (libyaml when available) that composes only plain data, every scalar a string.

    It overrides composition, the one place that sees anchors, aliases and
    tags before anything is built: an alias is never followed, so exponential
    documents cost what their text costs. Problems are collected and raised as
    one :class:`DefinitionError`; ``yaml.load(text, Loader=TemplateYamlLoader)``
    therefore gives dicts, lists and strings or raises that error.
    """

    def __init__(self, stream: str, source: str = "<string>") -> None:
        super().__init__(stream)
        self.source = source
        self.text = stream
        self.line_count = stream.count("\n") + (0 if stream.endswith("\n") else 1)
        self.yaml_problems: list[Problem] = []

    # -- problems

    def _problem(self, mark: Any, message: str) -> None:
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        self.yaml_problems.append(Problem(self.source, line, column, message))
        if len(self.yaml_problems) >= schema.MAX_PROBLEMS:
            raise _Stop

    # -- composition

    def get_single_node(self) -> Node | None:
        node: Node | None = None
        try:
            self.get_event()  # stream start
            if self.check_event(StreamEndEvent):
                self._problem(None, "the template is empty: there is no YAML document in it")
            else:
                self.get_event()  # document start
                node = self._compose(1)
                self.get_event()  # document end
                if not self.check_event(StreamEndEvent):
                    extra = self.get_event()
                    self._problem(
                        extra.start_mark,
                        "a second YAML document starts here; a template file holds exactly one document",
                    )
        except _Stop:
            pass
        except yaml.MarkedYAMLError as exc:
            self._syntax_problem(exc)
        except yaml.YAMLError as exc:
            self.yaml_problems.append(Problem(self.source, None, None, f"this is not valid YAML: {exc}"))
        except RecursionError:
            self.yaml_problems.append(
                Problem(self.source, None, None, "the YAML is nested too deeply to read")
            )
        except MemoryError:
            self.yaml_problems.append(Problem(self.source, None, None, "the YAML is too large to read"))
        if self.yaml_problems:
            raise DefinitionError(_ordered(self.yaml_problems))
        return node

    def _syntax_problem(self, exc: yaml.MarkedYAMLError) -> None:
        mark, context = exc.problem_mark, exc.context
        if exc.problem and "nesting depth" in exc.problem:
            # libyaml's own limit (its scanner runs ahead of composition on flow collections).
            self._problem(mark, _too_deep())
            return
        if context and exc.context_mark is not None:
            context += f" that starts at line {exc.context_mark.line + 1}"
            if mark is None or mark.line >= self.line_count:
                # The parser ran off the end of the file: the unclosed thing is where it starts.
                mark = exc.context_mark
        if mark is None:
            mark = exc.context_mark
        parts = [p for p in (context, exc.problem) if p]
        detail = ", ".join(parts) if parts else "it cannot be parsed"
        if mark is not None and self.text[mark.index : mark.index + 1] == "\t":
            detail += " (a tab; YAML is indented with spaces only)"
        # The parser's "<stream end>"/"<document end>" are jargon; say what a person sees.
        detail = detail.replace("'<stream end>'", "the end of the file")
        self._problem(mark, f"this is not valid YAML: {detail}")

    def _check_properties(self, event: Any) -> None:
        if event.anchor is not None:
            self._problem(
                event.start_mark,
                f"anchors ('&{event.anchor}') are not allowed in a template; write each value out",
            )
        if event.tag is not None:
            tag = event.tag.replace("tag:yaml.org,2002:", "!!", 1)
            self._problem(
                event.start_mark,
                f"tags ({_q(tag)}) are not allowed in a template; every value is plain text",
            )

    def _check_value(self, event: ScalarEvent) -> None:
        """Refuse a control character that an escape put into a value.

        The text check (stage 2) sees ``"\\e[31m"`` as six harmless characters; only the
        decoded value shows the escape character a terminal would obey.
        """
        match = _FORBIDDEN_IN_VALUES.search(event.value)
        if match is not None:
            self._problem(event.start_mark, _forbidden_in_value(match.group()))

    def _compose(self, depth: int) -> Node:
        event = self.get_event()
        if isinstance(event, AliasEvent):
            self._problem(
                event.start_mark,
                f"aliases ('*{event.anchor}') are not allowed in a template; write each value out",
            )
            return ScalarNode(_STR_TAG, "", *_marks(event.start_mark, event.end_mark))
        self._check_properties(event)
        if isinstance(event, ScalarEvent):
            self._check_value(event)
            start, end_mark = _marks(event.start_mark, event.end_mark)
            return ScalarNode(_STR_TAG, event.value, start, end_mark, style=event.style)
        if depth > schema.MAX_DEPTH:
            self._problem(event.start_mark, _too_deep())
            raise _Stop
        if isinstance(event, SequenceStartEvent):
            items: list[Node] = []
            while not self.check_event(SequenceEndEvent):
                items.append(self._compose(depth + 1))
            end = self.get_event()
            return SequenceNode(
                _SEQ_TAG, items, *_marks(event.start_mark, end.end_mark), flow_style=event.flow_style
            )
        if isinstance(event, MappingStartEvent):
            pairs: list[tuple[Node, Node]] = []
            seen: dict[str, Node] = {}
            while not self.check_event(MappingEndEvent):
                key = self._compose(depth + 1)
                value = self._compose(depth + 1)
                if not isinstance(key, ScalarNode):
                    self._problem(key.start_mark, "a mapping key must be plain text, not a list or mapping")
                elif key.value in seen:
                    first = seen[key.value].start_mark.line + 1
                    self._problem(
                        key.start_mark,
                        f"duplicate key {_q(key.value)} (first at line {first}); "
                        "each key may appear only once in a mapping",
                    )
                else:
                    seen[key.value] = key
                pairs.append((key, value))
            end = self.get_event()
            return MappingNode(
                _MAP_TAG, pairs, *_marks(event.start_mark, end.end_mark), flow_style=event.flow_style
            )
        # Anything else (a stray document or stream event) means the parser lost its way.
        self._problem(event.start_mark, "this is not valid YAML here")
        raise _Stop


def _forbidden_in_value(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        what = f"an unpaired surrogate ({code}), which is not valid Unicode"
    elif char in BIDI_CONTROLS:
        what = f"the bidirectional control character {code}"
    else:
        what = f"control character {code}"
    return (
        f"this value contains {what}, written as an escape (such as \\e, \\x07 or \\u202e); "
        "control characters are not allowed in a template"
    )


def _marks(start: object, end: object) -> tuple[Mark | None, Mark | None]:
    """The parser's marks as the node types declare them (the C parser's Mark is another class)."""
    return cast("Mark | None", start), cast("Mark | None", end)


def _too_deep() -> str:
    return (
        f"lists and mappings are nested more than {schema.MAX_DEPTH} levels deep here; "
        "a template needs at most 5"
    )


def parse_yaml(text: str, source: str = "<string>") -> Node | None:
    """Compose ``text`` into YAML nodes (all scalars strings), or raise :class:`DefinitionError`."""
    try:
        loader = TemplateYamlLoader(text, source)
    except (yaml.YAMLError, ValueError, TypeError, MemoryError) as exc:
        raise DefinitionError([Problem(source, None, None, f"this is not valid YAML: {exc}")]) from None
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _ordered(problems: list[Problem]) -> list[Problem]:
    ordered = sorted(problems, key=lambda p: (p.line or 0, p.column or 0))
    if len(ordered) > schema.MAX_PROBLEMS:
        more = len(ordered) - schema.MAX_PROBLEMS
        ordered = ordered[: schema.MAX_PROBLEMS]
        ordered.append(Problem(ordered[0].source, None, None, f"... and {more} more problems not shown"))
    return ordered


# --------------------------------------------------------------------------- stage 4 and 5: shape, meaning


def _q(value: str) -> str:
    """Quote a user's value for a sentence: plain when printable and short, escaped otherwise."""
    if len(value) > 60:
        value = value[:57] + "..."
    if value.isprintable() and "'" not in value:
        return f"'{value}'"
    return repr(value)


def _kind_of(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"the text {_q(node.value)}" if node.value else "nothing"


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and not node.value.strip()


class _Invalid:
    """Marks a value already refused (and reported), so later checks do not pile on."""


INVALID: Any = _Invalid()


class _Builder:
    """Walks the composed nodes by :data:`workflow.domain.schema.LEVELS`, collecting every problem."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.role_keys: list[str] = []  # every key written under roles, valid or not
        self.phase_keys: list[str] = []  # every phase key written, valid or not
        # References checked once every role and phase is known: (value, node, sentence start, ...).
        self.role_refs: list[tuple[str, Node, str]] = []
        self.phase_refs: list[tuple[str, Node, str, int, str]] = []
        self.converters: dict[str, Callable[[Node, Node, str], Any]] = {
            "template_key": lambda k, v, what: self.key(v, what, schema.TEMPLATE_KEY, "template_key"),
            "role_key": lambda k, v, what: self.key(v, what, schema.ROLE_KEY, "role_key"),
            "phase_key": lambda k, v, what: self.key(v, what, schema.PHASE_KEY, "phase_key"),
            "title": lambda k, v, what: self.text(k, v, what, schema.MAX_TITLE_LENGTH, single_line=True),
            "description": lambda k, v, what: self.description(v, what),
            "roles": lambda k, v, what: self.roles(k, v),
            "role_ref": self.role_ref,
            "phases": lambda k, v, what: self.phases(k, v),
            "tasks": self.tasks,
            "gate": self.gate,
            "role_refs": self.role_refs_list,
            "required": self.required,
            "boolean": self.boolean,
            "phase_ref": self.phase_ref,
        }
        # Set while converting one phase: its label, position and key.
        self.phase_label = ""
        self.phase_index = 0
        self.phase_key = ""

    # -- reporting

    def add(self, node: Node | None, message: str) -> None:
        mark = node.start_mark if node is not None else None
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        self.problems.append(Problem(self.source, line, column, message))

    # -- the generic walk

    def fields(
        self, node: Node, level: str, where: str, key_node: Node | None = None
    ) -> dict[str, Any] | None:
        """Check a mapping against the schema level; convert each known field by its kind.

        Returns field name -> converted value (defaults filled, ``INVALID`` for
        refused values), or None when ``node`` is not a mapping at all.
        """
        spec = schema.LEVELS[level]
        if not isinstance(node, MappingNode):
            at = key_node if key_node is not None and _is_empty(node) else node
            self.add(at, f"{where} must be a mapping with the keys {', '.join(spec)}, not {_kind_of(node)}")
            return None
        found: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else ""
            if name in spec:
                found[name] = (key, value)
            else:
                self.add(key, self.unknown_key_message(where, name, level))
        result: dict[str, Any] = {}
        for name, field in spec.items():
            if name in found:
                key, value = found[name]
                if field.required and _is_empty(value) and field.kind not in ("roles", "phases"):
                    self.add(key, f"{where} has an empty '{name}'; it needs {schema.KINDS[field.kind]}")
                    result[name] = INVALID
                else:
                    result[name] = self.converters[field.kind](key, value, f"{where} {name}")
            elif field.required:
                self.add(node, f"{where} is missing '{name}' ({schema.KINDS[field.kind]})")
                result[name] = INVALID
            else:
                result[name] = field.default
        return result

    def unknown_key_message(self, where: str, name: str, level: str) -> str:
        allowed = schema.allowed_keys(level)
        message = f"{where} has an unknown key {_q(name)} (allowed: {', '.join(allowed)})"
        import difflib  # only on this unhappy path

        close = difflib.get_close_matches(name, allowed, n=1)
        if close:
            message += f"; did you mean '{close[0]}'?"
        return message

    # -- converters of plain values

    def key(self, node: Node, what: str, pattern: re.Pattern[str], kind: str) -> Any:
        if not isinstance(node, ScalarNode):
            self.add(node, f"{what} must be {schema.KINDS[kind]}, not {_kind_of(node)}")
            return INVALID
        value = node.value
        if len(value) > schema.MAX_KEY_LENGTH or not pattern.fullmatch(value):
            self.add(node, f"{what} {_q(value)} is not valid: it must be {schema.KINDS[kind]}")
            return INVALID
        return value

    def text(self, key: Node | None, node: Node, what: str, limit: int, single_line: bool) -> Any:
        if not isinstance(node, ScalarNode):
            self.add(node, f"{what} must be text, not {_kind_of(node)}")
            return INVALID
        value = node.value
        if not value.strip():
            self.add(key if key is not None else node, f"{what} is empty")
            return INVALID
        if len(value) > limit:
            self.add(node, f"{what} is {len(value):,} characters long; at most {limit} are allowed")
            return INVALID
        if single_line and any(ch in value for ch in "\t\n\r"):
            self.add(node, f"{what} must be one line of text, without tabs or line breaks")
            return INVALID
        return value

    def description(self, node: Node, what: str) -> Any:
        if _is_empty(node):
            return None  # an optional text left empty is simply absent
        return self.text(None, node, what, schema.MAX_DESCRIPTION_LENGTH, single_line=False)

    def role_ref(self, key: Node, node: Node, what: str) -> Any:
        if not isinstance(node, ScalarNode):
            self.add(node, f"{what} must be {schema.KINDS['role_ref']}, not {_kind_of(node)}")
            return INVALID
        self.role_refs.append((node.value, node, f"{what} {_q(node.value)}"))
        return node.value

    def phase_ref(self, key: Node, node: Node, what: str) -> Any:
        if not isinstance(node, ScalarNode) or not node.value:
            self.add(node if not _is_empty(node) else key, f"{what} must be {schema.KINDS['phase_ref']}")
            return INVALID
        self.phase_refs.append((node.value, node, what, self.phase_index, self.phase_label))
        return node.value

    def boolean(self, key: Node, node: Node, what: str) -> Any:
        if isinstance(node, ScalarNode) and node.value in ("true", "false"):
            return node.value == "true"
        at = key if _is_empty(node) else node
        self.add(at, f"{what} must be true or false, not {_kind_of(node)}")
        return INVALID

    def required(self, key: Node, node: Node, what: str) -> Any:
        if isinstance(node, ScalarNode):
            if node.value in ("all", "any"):
                return node.value
            if _NUMBER.fullmatch(node.value):
                return int(node.value)  # the range is checked against the approvers in gate()
        at = key if _is_empty(node) else node
        self.add(at, f"{what} must be all, any or a whole number of approver roles, not {_kind_of(node)}")
        return INVALID

    # -- converters of structures

    def roles(self, key: Node, node: Node) -> Any:
        if _is_empty(node) or (isinstance(node, MappingNode) and not node.value):
            self.add(key, "the template's 'roles' is empty; a template needs at least one role")
            return INVALID
        if not isinstance(node, MappingNode):
            self.add(node, f"'roles' must be {schema.KINDS['roles']}, not {_kind_of(node)}")
            return INVALID
        roles: list[Role] = []
        ok = True
        for role_key, body in node.value:
            name = role_key.value if isinstance(role_key, ScalarNode) else ""
            self.role_keys.append(name)
            valid_key = self.key(role_key, "role key", schema.ROLE_KEY, "role_key")
            values = self.fields(body, "role", f"role {_q(name)}", key_node=role_key)
            if valid_key is INVALID or values is None or INVALID in values.values():
                ok = False
                continue
            roles.append(Role(key=valid_key, title=values["title"], description=values["description"]))
        return tuple(roles) if ok else INVALID

    def phases(self, key: Node, node: Node) -> Any:
        if _is_empty(node) or (isinstance(node, SequenceNode) and not node.value):
            self.add(key, "the template's 'phases' is empty; a template needs at least one phase")
            return INVALID
        if not isinstance(node, SequenceNode):
            self.add(node, f"'phases' must be {schema.KINDS['phases']}, not {_kind_of(node)}")
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
                        label = f"phase {_q(v.value)}"
                        if v.value in schema.RESERVED_PHASE_KEYS:
                            self.add(
                                v,
                                f"phase key {_q(v.value)} is reserved for a project's status "
                                f"({', '.join(schema.RESERVED_PHASE_KEYS)}); choose another key",
                            )
                        if v.value in first_line:
                            self.add(
                                v,
                                f"phase key {_q(v.value)} is used twice (first at line "
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
        if INVALID in (values["key"], values["title"], values["description"], tasks, gate):
            return INVALID
        return {
            "key": values["key"],
            "title": values["title"],
            "description": values["description"],
            "tasks": tasks,
            "gate": gate,
        }

    def tasks(self, key: Node, node: Node, what: str) -> Any:
        if _is_empty(node):
            return {}
        if not isinstance(node, MappingNode):
            self.add(
                node, f"{self.phase_label} 'tasks' must be {schema.KINDS['tasks']}, not {_kind_of(node)}"
            )
            return INVALID
        tasks: dict[str, str] = {}
        ok = True
        for role_key, text_node in node.value:
            if not isinstance(role_key, ScalarNode):
                ok = False
                continue
            role = role_key.value
            self.role_refs.append((role, role_key, f"{self.phase_label} has a task for {_q(role)}, which"))
            text = self.text(
                role_key, text_node, f"{self.phase_label} task of {_q(role)}", schema.MAX_TITLE_LENGTH, True
            )
            if text is INVALID:
                ok = False
            else:
                tasks[role] = text
        return tasks if ok else INVALID

    def role_refs_list(self, key: Node, node: Node, what: str) -> Any:
        if not isinstance(node, SequenceNode) or not node.value:
            at = key if _is_empty(node) else node
            self.add(at, f"{what} must be {schema.KINDS['role_refs']}, not {_kind_of(node)}")
            return INVALID
        approvers: list[str] = []
        ok = True
        for item in node.value:
            if not isinstance(item, ScalarNode) or not item.value:
                self.add(item, f"{what} must list role keys, not {_kind_of(item)}")
                ok = False
                continue
            if item.value in approvers:
                self.add(item, f"{self.phase_label} gate lists approver {_q(item.value)} twice")
                ok = False
                continue
            approvers.append(item.value)
            self.role_refs.append((item.value, item, f"{self.phase_label} gate approver {_q(item.value)}"))
        return tuple(approvers) if ok else INVALID

    def gate(self, key: Node, node: Node, what: str) -> Any:
        if _is_empty(node):
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
        if INVALID in values.values() or required is INVALID:
            return INVALID
        return Gate(
            title=values["title"],
            approvers=approvers,
            required=required,
            distinct_people=values["distinct_people"],
            on_reject=values["on_reject"] or self.phase_key,
            description=values["description"],
        )

    # -- the whole document

    def build(self, root: Node | None) -> Definition:
        values = None
        if root is None:
            self.add(None, "the template is empty")
        else:
            values = self.fields(root, "template", "the template")
        if values is not None:
            self.check_references()
        if self.problems or values is None:
            raise DefinitionError(_ordered(self.problems))
        roles: tuple[Role, ...] = values["roles"]
        order = {role.key: i for i, role in enumerate(roles)}
        phases = tuple(
            Phase(
                key=p["key"],
                title=p["title"],
                tasks=tuple(sorted(p["tasks"].items(), key=lambda item: order[item[0]])),
                gate=p["gate"],
                description=p["description"],
            )
            for p in values["phases"]
        )
        return Definition(
            key=values["key"],
            title=values["title"],
            roles=roles,
            lead=values["lead"],
            phases=phases,
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
                self.add(node, f"{what} {_q(value)} is not a phase of this template (phases: {listing})")
            elif position[value] > index:
                self.add(
                    node,
                    f"{what} {_q(value)} lies after {label}; a rejected gate can only send the project "
                    "back to its own phase or an earlier one",
                )
