"""``phasegate template …``: list, show, validate, publish, diagram."""

from __future__ import annotations

import os

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.cli.output import emit, emit_json, emit_lines, emit_listing
from workflow.cli.params import VERSION, FilePath, complete_templates
from workflow.errors import DefinitionError


@cli.group()
def template() -> None:
    """Process templates: list, show, validate, publish, diagram."""


@template.command("list")
@pass_session
def template_list(s: Session) -> None:
    """The latest version of every published template."""
    emit_listing(s.json, s.engine.templates(), ["KEY", "VERSION", "TITLE"],
                 lambda i: [i.key, f"v{i.version}", i.title])


@template.command("show")
@click.argument("key", shell_complete=complete_templates)
@VERSION
@pass_session
def template_show(s: Session, key: str, version: int | None) -> None:
    """Roles, phases, tasks and gates of a published template."""
    from workflow.cli.render import definition_lines
    from workflow.domain.templates.document import template_document

    info, definition, _source = s.engine.template(key, version)
    if s.json:
        emit_json(template_document(info, definition))
    else:
        emit_lines(definition_lines(info, definition))


@template.command("validate")
@click.argument("file", type=FilePath(dir_okay=False))
@pass_session
def template_validate(s: Session, file: str) -> None:
    """Check a template file and print every problem (exit 2 when there is one)."""
    from workflow.cli.render import json_text, summary
    from workflow.domain.templates.loader import load_file

    try:
        definition = load_file(file)
    except DefinitionError as exc:
        if not s.json:
            raise
        # The problems once, in the answer on stdout; stderr's error document only says where they are.
        answer = exc.to_dict()
        emit_json({"valid": False, "problems": answer.pop("problems")})
        count = len(exc.problems)
        answer["message"] = f"{count} problem{'s' if count != 1 else ''} in the template (listed on stdout)"
        click.echo(json_text({"error": answer}), err=True)
        raise click.exceptions.Exit(exc.exit_code) from None
    if s.json:
        gates = sum(1 for p in definition.phases if p.gate is not None)
        emit_json({"valid": True, "key": definition.key, "title": definition.title,
                   "roles": len(definition.roles), "phases": len(definition.phases), "gates": gates})
    else:
        emit(f"{summary(definition)} — valid")


@template.command("check")
@click.argument("file", type=FilePath(dir_okay=False))
@click.option("--team", "team_file", required=True, type=FilePath(dir_okay=False), metavar="FILE",
              help="The staffing plan: a YAML mapping of role key to a list of login names.")
@pass_session
def template_check(s: Session, file: str, team_file: str) -> None:
    """Can every gate of the template FILE be signed by the team in --team, before any project exists?
    Each gate: can pass, or why not and the smallest change that fixes it (exit 7 when one cannot)."""
    from workflow.cli.output import emit_check
    from workflow.domain.staffing.gates import Staffing, check_gates
    from workflow.domain.staffing.plan import read_team_file
    from workflow.domain.templates.loader import load_file

    definition = load_file(file)
    team = read_team_file(team_file, definition)
    emit_check(check_gates(definition, Staffing(team)), s.json)


@template.command("publish")
@click.argument("file", type=FilePath(dir_okay=False))
@pass_session
def template_publish(s: Session, file: str) -> None:
    """Publish FILE as a new version of its template (identical text publishes nothing). FILE may be
    a built-in's client variant instead (digital-agency-client, large-agency-client, team-based-client:
    the built-in with an external client approving SOW & Estimate and Production Review QA)."""
    from pathlib import Path

    from workflow.domain.templates.variants import SUFFIX, variant_source

    if file.endswith(SUFFIX) and not os.path.exists(file):
        info, published = s.engine.publish_template(variant_source(file), actor=s.actor, name=file)
    else:
        info, published = s.engine.publish_template(Path(file), actor=s.actor)
    if s.json:
        emit_json({**info.to_dict(), "published": published})
    elif published:
        emit(f"published {info.key} v{info.version}")
    else:
        emit(f"{info.key} v{info.version} unchanged: identical text publishes nothing")


@template.command("diagram")
@click.argument("source", metavar="KEY|FILE", shell_complete=complete_templates)
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True,
              help="mermaid: a Mermaid state diagram; dot: Graphviz DOT source (render it with `dot`).")
@click.option("--no-lead-moves", "lead_moves", is_flag=True, flag_value=False, default=True,
              help="Leave out hold, resume and cancel: only the phases, advances and rejections.")
@VERSION
@pass_session
def template_diagram(s: Session, source: str, fmt: str, lead_moves: bool, version: int | None) -> None:
    """The compiled state machine of a template (or of a template file) as a diagram."""
    from workflow.domain.templates.diagram import render
    from workflow.domain.templates.machine import compile_machine

    if os.path.isfile(source):
        from workflow.domain.templates.loader import load_file

        definition = load_file(source)
    else:
        _info, definition, _source = s.engine.template(source, version)
    text = render(definition, compile_machine(definition), fmt, lead_moves=lead_moves)
    if s.json:
        emit_json({"template": definition.key, "format": fmt, "diagram": text})
    else:
        emit(text.rstrip("\n"))
