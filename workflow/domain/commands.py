"""The project commands, each declared once: from here come the Engine's method, the HTTP endpoint,
the :class:`~workflow.client.RemoteEngine` method, the CLI's words and the web page's button.

A command is one method of :class:`ProjectCommands` under :func:`command`:

* its Python signature is the Python API (``Engine.reopen_task(code, role, *, actor, reason, ...)``),
  and its parameters, their types and their limits (``Annotated[..., Arg(...)]``) are what the
  HTTP body, the form fields and the CLI take;
* ``method`` and ``path`` are its HTTP endpoint (product.md's table; ``{name}`` in the path is a
  path parameter, the other parameters are the JSON body's);
* ``rule`` names the function of :mod:`workflow.domain.rules` that decides whether a person may
  run it now (the engine asks it under the project's lock, the page asks it to draw the button:
  :func:`allowed_moves`);
* ``cli`` its words on the command line, ``web`` its button.

``Engine`` and ``RemoteEngine`` both subclass :class:`ProjectCommands` and say how a command runs
(``_command``): the Engine calls the body registered for it (``@implements`` in
``workflow/engine/``), the client sends the request. Adding a command: declare it here, write its
body in the engine, test it (docs/inside/architecture.md, "Adding a project command").

Alembic builds its CLI from ``alembic/command.py``'s functions the same way (``CommandLine._generate_args``).
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple, Protocol, TypeVar

from workflow.domain import inputs, limits
from workflow.domain.audit.events import Event
from workflow.domain.deliverables import DIGESTS_MAX, digests
from workflow.domain.identity import Identity

if typing.TYPE_CHECKING:
    from workflow.domain.rules import Context

KEY_MAX = 64  # a role's or a phase's key (the template's keys are shorter: domain/templates/schema)
DATE_MAX = 10  # YYYY-MM-DD
TEXT_MAX = int(limits.TEXT.default)


@dataclass(frozen=True)
class Arg:
    """What a parameter is on the wire and in a form: its length limit, the words that ask for it when
    it is missing (``what``), its form field's label (None: not typed on the page), its format."""

    max_length: int
    what: str
    label: str | None = None
    format: str | None = None
    checked: Callable[[Any], Any] | None = None  # the Engine's check of a given value (None: taken as given)

    def check(self, value: Any) -> Any:
        return value if self.checked is None else self.checked(value)


def _text(what: str, *, required: bool = False) -> Callable[[Any], Any]:
    return lambda value: inputs.text(value, what, required=required)


Role = Annotated[str, Arg(KEY_MAX, "the role")]
Person = Annotated[str, Arg(KEY_MAX, "the person's login name", checked=inputs.person)]
Phase = Annotated[str, Arg(KEY_MAX, "the phase")]
Day = Annotated[str, Arg(DATE_MAX, "the date", "Due on", format="YYYY-MM-DD")]
Reason = Annotated[str, Arg(TEXT_MAX, "a reason", "Reason", checked=_text("the reason", required=True))]
# withdrawing asks for no reason on the page
MaybeReason = Annotated[str | None, Arg(TEXT_MAX, "a reason", checked=_text("the reason"))]
Comment = Annotated[str | None, Arg(TEXT_MAX, "a comment", "Comment", checked=_text("the comment"))]
Note = Annotated[str | None, Arg(TEXT_MAX, "a note", "Note", checked=_text("the note"))]
# The deliverables an approval was given on (sign what you saw): KEY=SHA256 pairs, or a mapping.
Seen = Annotated[str | dict[str, str] | None, Arg(DIGESTS_MAX, "the deliverables' digests",
                                                  format="KEY=SHA256 KEY=SHA256", checked=digests)]
# Whom a delegate acts for, where several delegations to them cover the role (workflow/domain/duties).
OnBehalf = Annotated[str | None, Arg(KEY_MAX, "the person you act for", checked=lambda v: (
    None if v is None else inputs.person(v, "the person you act for")))]
# An invitation (issue 24): the address the link goes to (checked by the engine: one plain address), the
# signer's name, how long the link lasts ("14d"), the invitation's id.
Email = Annotated[str, Arg(200, "the e-mail address", "E-mail", format="buyer@acme.example")]
Name = Annotated[str | None, Arg(200, "the signer's name", "Name", checked=_text("the name"))]
Expires = Annotated[str | None, Arg(8, "how long the link lasts", "Expires in", format="14d")]
Invitation = Annotated[str, Arg(32, "the invitation's id")]
Actor = str | Identity | None  # who acts (the Engine needs it; a client never sends it: its token acts)

RUN = ("actor", "request_id", "expected_seq")  # how a command runs: every command takes them


@dataclass(frozen=True)
class Param:
    """One parameter of a command, from its declaration's signature."""

    name: str
    positional: bool  # in the Python signature (``code`` aside)
    required: bool
    arg: Arg
    where: str  # "path" or "body"
    key: str  # its name in the JSON body (or the path)


@dataclass(frozen=True)
class Web:
    """The command's button on the project page: the form's action, the button's text, the form's
    accessible name (``{role}``, ``{person}``: the titles and names it is drawn for), its look."""

    action: str
    label: str
    form: str
    look: str = ""
    place: str = "lead"  # where the page draws it: one of PLACES
    confirm: bool = False  # for good: the form asks the person to type the project's code first

    @property
    def each(self) -> str:
        """Drawn once for the "project", for each "role", or for each "member" of the team."""
        return PLACES[self.place]


# Where a button goes on the project page -> what it is drawn for there.
PLACES = {
    "task:open": "role",  # beside a task not done yet
    "task:done": "role",  # beside a task done
    "gate:unsigned": "role",  # beside an approver role not signed yet
    "gate:signed": "role",  # beside a signed approval
    "gate": "role",  # under the gate, one for each of its approver roles
    "lead": "project",  # the lead's moves
    "schedule": "project",  # the due dates' form (its phase picked in it: the current one or one to come)
    "team": "role",  # the staffing form (its role picked in it)
    "team:member": "member",  # beside each member of the team
}


@dataclass(frozen=True)
class Command:
    """One project command as every transport sees it."""

    name: str  # the Engine's method
    action: str  # the event's action; the request fingerprint's and the metrics' name
    method: str
    path: str
    cli: tuple[str, ...]
    who: str  # who may, in words (product.md's table)
    rule: str  # the function of workflow.domain.rules that says whether a person may, now
    doc: str
    web: Web | None = None
    keys: dict[str, str] = field(default_factory=dict)  # parameter -> its JSON body key, where they differ
    then: tuple[str, ...] = ()  # commands its answer links to (OpenAPI links)
    params: tuple[Param, ...] = ()

    def body_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.where == "body")

    def path_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.where == "path")

    def check(self) -> Callable[..., Any]:
        """The rule (loaded on first use: a ``--server`` client never imports the rules' machinery)."""
        found = _RULES.get(self.rule)
        if found is None:
            found = _RULES[self.rule] = getattr(importlib.import_module("workflow.domain.rules"), self.rule)
        return found


_RULES: dict[str, Callable[..., Any]] = {}


COMMANDS: dict[str, Command] = {}
F = TypeVar("F", bound=Callable[..., Event])


def command(method: str, path: str, *, action: str, cli: str, who: str, rule: str, web: Web | None = None,
            keys: dict[str, str] | None = None, then: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Declare the method below it a project command (its parameters are read from its signature)."""

    def declare(fn: F) -> F:
        name = fn.__name__
        if name in COMMANDS:
            raise ValueError(f"the command {name!r} is declared twice")
        hints = typing.get_type_hints(fn, include_extras=True)
        params = []
        for p in list(inspect.signature(fn).parameters.values())[2:]:  # self, code
            if p.name in RUN:
                continue
            meta = [m for m in getattr(hints[p.name], "__metadata__", ()) if isinstance(m, Arg)]
            if not meta:
                raise TypeError(f"{name}: the parameter {p.name} needs an Annotated[..., Arg(...)] type")
            where = "path" if "{" + p.name + "}" in path else "body"
            params.append(Param(p.name, p.kind is p.POSITIONAL_OR_KEYWORD, p.default is p.empty, meta[0],
                                where, (keys or {}).get(p.name, p.name)))
        COMMANDS[name] = Command(name, action, method, path, tuple(cli.split()), who, rule,
                                 inspect.getdoc(fn) or "", web, dict(keys or {}), then, tuple(params))
        return fn

    return declare


class ProjectCommands(Protocol):
    """The project commands' Python API, shared by the Engine and its HTTP client (both subclass it).

    Each method gives its arguments, as declared, to ``_command``: the Engine runs the command's
    body there, the client sends its request.
    """

    def _command(self, name: str, given: dict[str, Any]) -> Event:
        """Run the command ``name`` with the arguments of its call (``code``, its parameters,
        ``actor``, ``request_id``, ``expected_seq``): the declaration's ``locals()`` at its first
        line, read by name (``self`` is among them and read by nobody; copying the rest into a
        dict of their own cost every command a comprehension)."""
        raise NotImplementedError  # pragma: no cover (Engine and RemoteEngine say how)

    # -- staffing -------------------------------------------------------------------------------------

    @command("PUT", "/projects/{code}/team/{role}/{person}", action="assign", cli="project assign",
             who="admins or the project's lead", rule="may_assign",
             web=Web("assign", "Assign", "Assign someone to a role", place="team"),
             then=("unassign", "complete_task"))
    def assign(self, code: str, role: Role, person: Person, *, actor: Actor = None,
               request_id: str | None = None, expected_seq: int | None = None) -> Event:
        """Give PERSON the ROLE on project CODE, while it is open."""
        return self._command("assign", locals())

    @command("DELETE", "/projects/{code}/team/{role}/{person}", action="unassign", cli="project unassign",
             who="admins or the project's lead", rule="may_unassign",
             web=Web("unassign", "Unassign", "Unassign {person} as {role}", "quiet", "team:member"))
    def unassign(self, code: str, role: Role, person: Person, *, actor: Actor = None,
                 request_id: str | None = None, expected_seq: int | None = None) -> Event:
        """Take ROLE on project CODE from PERSON; their approval of the current round goes with it."""
        return self._command("unassign", locals())

    # -- the work -------------------------------------------------------------------------------------

    @command("POST", "/projects/{code}/tasks/{role}/done", action="task.done", cli="task done",
             who="a holder of ROLE", rule="may_complete_task",
             web=Web("done", "Mark done", "Mark the {role} task done", "primary", "task:open"))
    def complete_task(self, code: str, role: Role, *, actor: Actor = None, note: Note = None,
                      on_behalf_of: OnBehalf = None, request_id: str | None = None,
                      expected_seq: int | None = None) -> Event:
        """Mark ROLE's task in the current phase of CODE done (a delegate: for the holder who delegated
        it; ON_BEHALF_OF names them where several did)."""
        return self._command("complete_task", locals())

    @command("POST", "/projects/{code}/tasks/{role}/reopen", action="task.reopen", cli="task reopen",
             who="a holder of ROLE, or the lead", rule="may_reopen_task",
             web=Web("reopen", "Reopen", "Reopen the {role} task", place="task:done"))
    def reopen_task(self, code: str, role: Role, *, actor: Actor = None, reason: Reason,
                    request_id: str | None = None, expected_seq: int | None = None) -> Event:
        """Mark ROLE's task of the current round not done again."""
        return self._command("reopen_task", locals())

    @command("POST", "/projects/{code}/approvals", action="approve", cli="approve", who="a holder of ROLE",
             rule="may_approve", web=Web("approve", "Approve", "Approve as {role}", "primary",
                                         "gate:unsigned"))
    def approve(self, code: str, role: Role, *, actor: Actor = None, comment: Comment = None,
                deliverables: Seen = None, on_behalf_of: OnBehalf = None, request_id: str | None = None,
                expected_seq: int | None = None) -> Event:
        """Approve the current phase's gate as ROLE (with the digests of the deliverables you saw:
        refused if they are no longer the current ones; a delegate: for the approver who delegated it,
        ON_BEHALF_OF naming them where several did)."""
        return self._command("approve", locals())

    @command("DELETE", "/projects/{code}/approvals/{role}", action="withdraw", cli="withdraw",
             who="the person who approved as ROLE", rule="may_withdraw",
             web=Web("withdraw", "Withdraw", "Withdraw the {role} sign-off", place="gate:signed"))
    def withdraw(self, code: str, role: Role, *, actor: Actor = None, reason: MaybeReason = None,
                 request_id: str | None = None, expected_seq: int | None = None) -> Event:
        """Take back your approval of the current phase's gate as ROLE, before the gate is passed."""
        return self._command("withdraw", locals())

    @command("POST", "/projects/{code}/rejections", action="reject", cli="reject", who="a holder of ROLE",
             rule="may_reject", web=Web("reject", "Reject", "Reject as {role}", "danger", "gate"))
    def reject(self, code: str, role: Role, *, actor: Actor = None, reason: Reason,
               request_id: str | None = None, expected_seq: int | None = None) -> Event:
        """Reject the current phase's gate as ROLE: the project goes back and starts a new round."""
        return self._command("reject", locals())

    # -- the lead's moves -----------------------------------------------------------------------------

    @command("POST", "/projects/{code}/advance", action="advance", cli="advance", who="the lead role",
             rule="may_advance", web=Web("advance", "Advance", "Advance the project", "primary"))
    def advance(self, code: str, *, actor: Actor = None, request_id: str | None = None,
                expected_seq: int | None = None) -> Event:
        """Move CODE to its next phase, its tasks done and its gate signed."""
        return self._command("advance", locals())

    @command("POST", "/projects/{code}/hold", action="hold", cli="hold", who="the lead role",
             rule="may_hold", web=Web("hold", "Hold", "Hold the project"))
    def hold(self, code: str, *, actor: Actor = None, reason: Reason, request_id: str | None = None,
             expected_seq: int | None = None) -> Event:
        """Put CODE on hold; the reason is recorded and shown while it waits."""
        return self._command("hold", locals())

    @command("POST", "/projects/{code}/resume", action="resume", cli="resume", who="the lead role",
             rule="may_resume", web=Web("resume", "Resume", "Resume the project", "primary"))
    def resume(self, code: str, *, actor: Actor = None, request_id: str | None = None,
               expected_seq: int | None = None) -> Event:
        """Resume a held project where it stopped."""
        return self._command("resume", locals())

    @command("POST", "/projects/{code}/cancel", action="cancel", cli="cancel", who="the lead role",
             rule="may_cancel", web=Web("cancel", "Cancel project", "Cancel the project", "danger",
                                        confirm=True))
    def cancel(self, code: str, *, actor: Actor = None, reason: Reason, request_id: str | None = None,
               expected_seq: int | None = None) -> Event:
        """Cancel CODE for good."""
        return self._command("cancel", locals())

    @command("PUT", "/projects/{code}/due/{phase}", action="due", cli="project due", who="the lead role",
             rule="may_set_due", keys={"day": "date"},
             web=Web("due", "Set due date", "Set or move a due date", place="schedule"))
    def set_due(self, code: str, phase: Phase, day: Day, *, actor: Actor = None, reason: Reason,
                request_id: str | None = None, expected_seq: int | None = None) -> Event:
        """Set or move the due date of PHASE of project CODE, the current phase or one to come, to DATE:
        YYYY-MM-DD."""
        return self._command("set_due", locals())


    # -- outside signers (issue 24: workflow/engine/links/) ---------------------------------------------

    @command("POST", "/projects/{code}/invitations", action="invite", cli="invite new",
             who="admins or the project's lead", rule="may_invite")
    def invite(self, code: str, role: Role, *, email: Email, name: Name = None, expires: Expires = None,
               actor: Actor = None, request_id: str | None = None, expected_seq: int | None = None) -> Event:
        """Invite the outside signer at EMAIL to the external ROLE of CODE: a link, e-mailed, that lasts 14
        days (--expires, at most 90d); inviting the same address to the role again revokes its old link."""
        return self._command("invite", locals())

    @command("DELETE", "/projects/{code}/invitations/{invitation}", action="invite.revoke",
             cli="invite revoke", who="admins or the project's lead", rule="may_revoke_invite")
    def revoke_invite(self, code: str, invitation: Invitation, *, actor: Actor = None,
                      request_id: str | None = None, expected_seq: int | None = None) -> Event:
        """Revoke invitation INVITATION of CODE: its link is dead and its signer leaves the role (their
        approval of the current round goes with it)."""
        return self._command("revoke_invite", locals())


# -- what a person may do now -----------------------------------------------------------------------


class Move(NamedTuple):
    """A command a person may run now on a project, for a role (and a person) where it takes them."""

    command: str
    role: str | None = None
    person: str | None = None


def candidates(ctx: Context) -> Iterator[tuple[Command, Move]]:
    """Every move the page could draw on this project: each web command for each role of the template
    (for each member of the team, where it names a person), or once for the project."""
    roles = ctx.definition.role_keys
    for cmd in COMMANDS.values():
        if cmd.web is None:
            continue
        if cmd.web.each == "member":
            for role in roles:
                for person in ctx.state.team.get(role, ()):
                    yield cmd, Move(cmd.name, role, person)
        elif cmd.web.each == "role":
            for role in roles:
                yield cmd, Move(cmd.name, role)
        else:
            yield cmd, Move(cmd.name)


def allowed_moves(ctx: Context) -> frozenset[Move]:
    """The moves ``ctx.actor`` may make now: those whose rule, the one the engine asks under its lock,
    does not refuse them. (A move naming a person who already holds the role, as an assignment, is
    refused by the command's body with the person in hand; the page offers the form.)"""
    from workflow.domain import rules
    from workflow.errors import PhasegateError

    try:
        rules.require_party(ctx)
    except PhasegateError:
        return frozenset()
    allowed = set()
    for cmd, move in candidates(ctx):
        subject = {k: v for k, v in (("role", move.role), ("person", move.person)) if v is not None}
        try:
            cmd.check()(ctx, **subject)
        except PhasegateError:
            continue
        allowed.add(move)
    return frozenset(allowed)
