"""The docs' references, generated from the code when the site is built (never copied by hand).

A reference page holds a marker such as ``<!-- generated: cli -->``; :func:`on_page_markdown` (an
mkdocs hook: ``hooks: [docs/hooks.py]`` in mkdocs.yml) replaces it with :func:`generate`'s markdown:

* ``cli``: every command of the click app and each of its arguments and options, walked from the group
  itself (:func:`cli_reference`). Not mkdocs-click: it lists a group's ``commands`` and never asks
  ``list_commands``, so it would miss every project command, which the groups build from the command
  table (workflow/cli/declared.py) when first asked for them;
* ``http``: every operation of the server's own OpenAPI document, by tag (the app is built, not run);
* ``settings``: every environment variable (``workflow.settings.markdown_table``);
* ``errors``: every error class, its exit code, HTTP status and kind (``workflow.errors.markdown_table``);
* ``events``: every event action and its ``data`` fields (``workflow.domain.audit.actions``);
* ``limits``: every limit, its default and the setting that changes it (``workflow.domain.limits``),
  for the operations guide's page on limits.

Without mkdocs: ``python docs/hooks.py cli`` prints one; the tests call :func:`generate`.
Only the installed package is imported, and only when a page asks for its reference.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

MARKER = re.compile(r"<!-- generated: ([a-z]+) -->")


# -- markdown helpers ---------------------------------------------------------------------------------


def text(value: str) -> str:
    """Prose for markdown: ``<`` outside code spans escaped, so nothing becomes HTML."""
    parts = re.split(r"(`[^`]*`)", value)
    return "".join(p if p.startswith("`") else p.replace("<", "&lt;") for p in parts)


def cell(value: str) -> str:
    """One table cell: one line, its pipes escaped."""
    return text(" ".join(value.split())).replace("|", "\\|")


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def code(value: object) -> str:
    shown = str(value)
    return f"``{shown}``" if "`" in shown else f"`{shown}`"


# -- the CLI ------------------------------------------------------------------------------------------


def commands() -> Iterator[tuple[Any, Any]]:
    """Every (click command, its context) of ``phasegate``, the group first, depth first, by name;
    hidden commands left out."""
    import click

    from workflow.cli import cli

    def walk(command: click.Command, ctx: click.Context) -> Iterator[tuple[click.Command, click.Context]]:
        yield command, ctx
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    yield from walk(sub, click.Context(sub, info_name=name, parent=ctx))

    yield from walk(cli, click.Context(cli, info_name="phasegate"))


def _help(command: Any) -> str:
    """A command's help as paragraphs (click's ``\\b`` no-rewrap marks dropped)."""
    lines = [line for line in inspect.cleandoc(command.help or "").splitlines() if line.strip() != "\b"]
    return text("\n".join(lines).strip())


def _default(option: Any) -> str:
    if isinstance(option.show_default, str):
        return option.show_default
    import click.core

    default = option.default
    unset = default is getattr(click.core, "UNSET", None)  # click 8.3+: no default given
    if unset or callable(default) or default in (None, ()) or (option.is_flag and default is False):
        return "—"
    return code(default)


def _kind(option: Any) -> str:
    import click

    if option.is_flag:
        return "flag"
    if isinstance(option.type, click.Choice):
        return " \\| ".join(code(c) for c in option.type.choices)
    if isinstance(option.type, click.IntRange | click.FloatRange):
        kind = option.metavar or ("INTEGER" if isinstance(option.type, click.IntRange) else "NUMBER")
        low, high = option.type.min, option.type.max
        bounds = f"{low}–{high}" if None not in (low, high) else f"≥ {low}" if high is None else f"≤ {high}"
        return f"{kind}, {bounds}"
    return option.metavar or option.type.name.upper()


def _option_row(option: Any) -> tuple[str, ...]:
    names = ", ".join(code(o) for o in [*option.opts, *option.secondary_opts])
    if option.multiple:
        names += " (repeatable)"
    help_text = option.help or ""
    if option.required:
        help_text = "Required. " + help_text
    if option.envvar and str(option.envvar) not in help_text:
        help_text += f" Environment: {code(option.envvar)}."
    return names, _kind(option), _default(option), help_text


def cli_reference() -> str:
    import click

    out = []
    for command, ctx in commands():
        depth = len(ctx.command_path.split())
        out.append(f"{'#' * min(depth + 1, 4)} `{ctx.command_path}`\n")
        out.append(_help(command) + "\n")
        out.append(f"```text\n{command.get_usage(ctx)}\n```\n")
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        if arguments:
            out.append("Arguments: " + ", ".join(
                code(p.human_readable_name) + ("" if p.required else " (optional)")
                + (" …" if p.nargs == -1 else "") for p in arguments) + ".\n")
        options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
        if options:
            rows = [_option_row(o) for o in options]
            out.append(table(("option", "value", "default", "what it does"), rows))
        if isinstance(command, click.Group):
            subs = command.list_commands(ctx)
            out.append("Commands: " + ", ".join(f"`{ctx.command_path} {s}`" for s in subs) + ".\n")
    return "\n".join(out)


# -- the HTTP API -------------------------------------------------------------------------------------

METHODS = ("get", "put", "post", "patch", "delete")


def openapi() -> dict[str, Any]:
    """The server's OpenAPI document, from the app as ``phasegate serve`` builds it (never started)."""
    from workflow.server.app import create_app
    from workflow.server.settings import Settings

    document: dict[str, Any] = create_app(Settings(db="sqlite://", webhook_allow=())).openapi()
    return document


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (METHOD, path, operation) of ``document``, in its order."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def _schema(schema: dict[str, Any]) -> str:
    if "$ref" in schema:  # a link to the schema's section (mkdocs' toc slug of its heading)
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        return " or ".join(_schema(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_schema(schema.get('items', {}))}"
    return str(schema.get("type", "any"))


def _body(content: dict[str, Any]) -> str:
    return ", ".join(f"{code(kind)} {_schema(media.get('schema', {}))}" for kind, media in content.items())


def _operation(method: str, path: str, op: dict[str, Any]) -> str:
    summary, description = text(op.get("summary", "")), text(op.get("description", ""))
    out = [f"### `{method} {path}`\n", f"**{summary}.** {description}\n"]
    parameters = op.get("parameters", [])
    if parameters:
        out.append(table(("parameter", "in", "type", "required", "meaning"), [
            (code(p["name"]), p["in"], _schema(p.get("schema", {})), "yes" if p.get("required") else "no",
             p.get("description") or p.get("schema", {}).get("description", ""))
            for p in parameters]))
    body = op.get("requestBody")
    if body:
        out.append(f"Body{'' if body.get('required') else ' (optional)'}: {_body(body['content'])}.\n")
    answers = op.get("responses", {})
    fine = [s for s in answers if s.startswith(("2", "3"))]
    failed = [s for s in answers if s not in fine]
    lines = [f"- **{s}** {text(answers[s].get('description', ''))}"
             + (f" — {_body(answers[s]['content'])}" if answers[s].get("content") else "") for s in fine]
    if failed:
        lines.append(f"- errors ([error body](errors.md)): {', '.join(sorted(failed))}")
    out.append("Answers:\n\n" + "\n".join(lines) + "\n")
    return "\n".join(out)


def http_reference() -> str:
    document = openapi()
    tags: dict[str, list[str]] = {}
    for method, path, op in operations(document):
        tags.setdefault((op.get("tags") or ["other"])[0], []).append(_operation(method, path, op))
    described = {t["name"]: t.get("description", "") for t in document.get("tags", [])}
    out = [f"OpenAPI {document['openapi']}, API version {document['info']['version']}: "
           f"{sum(len(ops) for ops in tags.values())} operations.\n"]
    for tag, ops in tags.items():
        out.append(f"## {tag}\n")
        if described.get(tag):
            out.append(text(described[tag]) + "\n")
        out.extend(ops)
    out.append("## Schemas\n\nThe bodies named above, field by field.\n")
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        out.append(_component(name, schema))
    return "\n".join(out)


def _component(name: str, schema: dict[str, Any]) -> str:
    out = [f"### {name}\n"]
    if schema.get("description"):
        out.append(text(schema["description"]) + "\n")
    required = set(schema.get("required", ()))
    fields = schema.get("properties", {})
    if fields:
        out.append(table(("field", "type", "required", "meaning"), [
            (code(field), _schema(about), "yes" if field in required else "no", about.get("description", ""))
            for field, about in fields.items()]))
    elif "enum" in schema:
        out.append("One of " + ", ".join(code(v) for v in schema["enum"]) + ".\n")
    return "\n".join(out)


# -- settings, errors, events -------------------------------------------------------------------------


def settings_reference() -> str:
    from workflow import settings

    return settings.markdown_table()


def errors_reference() -> str:
    from workflow import errors

    kinds = ", ".join(code(k) for k in errors.ALL_KINDS)
    return (errors.markdown_table() + f"\nEvery kind an error body can carry: {kinds} "
            f"({code(errors.INTERNAL)}: a failure of phasegate itself, HTTP 500, never raised on purpose).\n")


def limits_reference() -> str:
    from workflow.domain import limits

    return limits.markdown_table()


def events_reference() -> str:
    from workflow.domain.audit.actions import ACTIONS, PROJECT_FIELDS, SYSTEM_FIELDS, chain_of

    out = []
    for chain, common, title in (("project", PROJECT_FIELDS, "A project's chain"),
                                 ("system", SYSTEM_FIELDS, "The system chain")):
        out.append(f"## {title}\n")
        out.append("Every event of this chain may hold these `data` fields besides its own:\n")
        out.append(table(("field", "meaning"), [(code(k), v) for k, v in common.items()]))
        for action, described in ACTIONS.items():
            if chain_of(action) != chain:
                continue
            out.append(f"### `{action}`\n")
            out.append(text(described.meaning) + "\n")
            if described.data:
                out.append(table(("field", "meaning"), [(code(k), v) for k, v in described.data.items()]))
    return "\n".join(out)


GENERATORS: dict[str, Callable[[], str]] = {
    "cli": cli_reference,
    "http": http_reference,
    "settings": settings_reference,
    "errors": errors_reference,
    "events": events_reference,
    "limits": limits_reference,
}


def generate(name: str) -> str:
    """The markdown for ``<!-- generated: name -->``."""
    if name not in GENERATORS:
        raise KeyError(f"no generated reference {name!r}; there are: {', '.join(GENERATORS)}")
    return GENERATORS[name]()


def render(markdown: str) -> str:
    """``markdown`` with each marker replaced by its reference."""
    return MARKER.sub(lambda m: generate(m.group(1)), markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs' hook: a page's markdown, its markers replaced."""
    return render(markdown)


if __name__ == "__main__":
    for name in sys.argv[1:] or list(GENERATORS):
        print(generate(name))
