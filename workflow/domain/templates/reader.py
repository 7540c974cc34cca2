"""Read a template's bytes into YAML nodes, defensively, every scalar a string.

A template comes from a user's file, so reading it is staged, each stage
refusing with a located sentence instead of a traceback:

1. size: more than ``MAX_BYTES`` is refused before anything is decoded;
2. text: strict UTF-8 (a leading BOM is dropped), no control characters (nor bidi
   controls), and none written as escapes in a quoted value either (``"\\e[31m"``);
3. YAML: a safe loader subclass that refuses tags, anchors and aliases (so a
   "billion laughs" document stops at its first anchor), duplicate keys, deep
   nesting, more values in all (``MAX_NODES``) or entries in one mapping or list
   (``MAX_ENTRIES``) than a template needs (so a hostile 1 MiB costs milliseconds,
   not seconds, of CPU) and extra documents, and keeps *every* scalar a string: YAML 1.1
   would turn ``no``, ``on``, ``0755`` or ``2024-01-01`` into other types, and a
   task called "No" must stay "No".

What the nodes mean (stages 4 and 5) is :mod:`workflow.domain.templates.loader`'s
business. Nothing here imports SQLAlchemy, click or transitions:
``template validate`` must start fast.
"""

from __future__ import annotations

import re
from typing import Any, cast

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

from workflow.domain.inputs import BIDI_CONTROLS
from workflow.domain.templates import schema
from workflow.errors import DefinitionError, Problem

__all__ = ["TemplateYamlLoader", "decode_text", "in_order", "parse_yaml", "quote", "too_big"]

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


# --------------------------------------------------------------------------- stage 1 and 2: bytes, text


def too_big(source: str, size: int) -> Problem:
    """The one sentence for a template over the limit, whether a file's size or a string's bytes."""
    return Problem(
        source,
        None,
        None,
        f"the template is {size:,} bytes; at most {schema.MAX_BYTES:,} bytes (1 MiB) are accepted",
    )


def decode_text(data: Any, source: str) -> str:
    """Stages 1 and 2: the bytes within the limit, strict UTF-8, no control characters."""
    if isinstance(data, str):
        if len(data) > schema.MAX_BYTES:
            raise DefinitionError([too_big(source, len(data.encode("utf-8", "surrogatepass")))])
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
        raise DefinitionError([too_big(source, size)])
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
        self.nodes = 0  # composed so far: a template past schema.MAX_NODES is refused there

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
            raise DefinitionError(in_order(self.yaml_problems))
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
                f"tags ({quote(tag)}) are not allowed in a template; every value is plain text",
            )

    def _check_value(self, event: ScalarEvent) -> None:
        """Refuse a control character that an escape put into a value.

        The text check (stage 2) sees ``"\\e[31m"`` as six harmless characters; only the
        decoded value shows the escape character a terminal would obey.
        """
        match = _FORBIDDEN_IN_VALUES.search(event.value)
        if match is not None:
            self._problem(event.start_mark, _forbidden_in_value(match.group()))

    def _count_entry(self, entries: int, what: str) -> None:
        """Refuse the entry past ``schema.MAX_ENTRIES`` in one mapping or list, where it starts."""
        if entries >= schema.MAX_ENTRIES:
            self._problem(
                self.peek_event().start_mark,
                f"this {what} has more than {schema.MAX_ENTRIES:,} entries; a template's roles, phases, "
                "tasks or approvers number a few dozen",
            )
            raise _Stop

    def _compose(self, depth: int) -> Node:
        event = self.get_event()
        self.nodes += 1
        if self.nodes > schema.MAX_NODES:
            self._problem(
                event.start_mark,
                f"the template holds more than {schema.MAX_NODES:,} values (keys, texts, lists and "
                "mappings) by here; a template needs a few hundred",
            )
            raise _Stop
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
                self._count_entry(len(items), "list")
                items.append(self._compose(depth + 1))
            end = self.get_event()
            return SequenceNode(
                _SEQ_TAG, items, *_marks(event.start_mark, end.end_mark), flow_style=event.flow_style
            )
        if isinstance(event, MappingStartEvent):
            pairs: list[tuple[Node, Node]] = []
            seen: dict[str, Node] = {}
            while not self.check_event(MappingEndEvent):
                self._count_entry(len(pairs), "mapping")
                key = self._compose(depth + 1)
                value = self._compose(depth + 1)
                if not isinstance(key, ScalarNode):
                    self._problem(key.start_mark, "a mapping key must be plain text, not a list or mapping")
                elif key.value in seen:
                    first = seen[key.value].start_mark.line + 1
                    self._problem(
                        key.start_mark,
                        f"duplicate key {quote(key.value)} (first at line {first}); "
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


def in_order(problems: list[Problem]) -> list[Problem]:
    """Problems by position, at most ``MAX_PROBLEMS`` of them and a line saying how many more."""
    ordered = sorted(problems, key=lambda p: (p.line or 0, p.column or 0))
    if len(ordered) > schema.MAX_PROBLEMS:
        more = len(ordered) - schema.MAX_PROBLEMS
        ordered = ordered[: schema.MAX_PROBLEMS]
        ordered.append(Problem(ordered[0].source, None, None, f"... and {more} more problems not shown"))
    return ordered


def quote(value: str) -> str:
    """Quote a user's value for a sentence: plain when printable and short, escaped otherwise."""
    if len(value) > 60:
        value = value[:57] + "..."
    if value.isprintable() and "'" not in value:
        return f"'{value}'"
    return repr(value)

