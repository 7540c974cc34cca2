""":class:`RemoteEngine`: the Engine's methods that the CLI calls, each one request of the HTTP API.

The same arguments, the same result types (rebuilt from their ``to_dict()`` shape, see
:mod:`workflow.client.decode`) and the same exceptions (rebuilt from the error body), so
every click command runs unchanged over either (style.md, "One interface, two
transports"). What is checked here is only what shapes the request: a project code, a
login name or a time that goes into a URL is checked with the Engine's own
:mod:`workflow.domain.inputs` rules first, so a bad one gets the Engine's sentence.
The audit trail's methods are in :mod:`workflow.client.audit`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from workflow.client import paging
from workflow.client.audit import RemoteAudit
from workflow.client.decode import from_dict, many, one
from workflow.client.files import RemoteFiles
from workflow.client.transport import Transport, ascii_header, path
from workflow.domain import inputs
from workflow.domain.audit.events import Event, event_from_dict
from workflow.domain.commands import COMMANDS, ProjectCommands
from workflow.domain.duties.delegations import Delegation
from workflow.domain.duties.delegations import from_dict as delegation_from_dict
from workflow.domain.links.view import Invitation
from workflow.domain.results import (
    Notice,
    NotifySettings,
    OutboxEntry,
    Person,
    ProjectStatus,
    ProjectSummary,
    TemplateInfo,
    TickReport,
    TokenInfo,
    WebhookInfo,
)
from workflow.errors import UsageError

if TYPE_CHECKING:
    from workflow.domain.insights.report import Insights
    from workflow.domain.staffing.gates import StaffingCheck
    from workflow.domain.templates.definition import Definition

YAML = "application/x-yaml"
Unused = object  # actor= / reader=: accepted for the Engine's signatures, never sent (see RemoteEngine)


class RemoteEngine(RemoteAudit, RemoteFiles, ProjectCommands):
    """phasegate's Engine on a server: ``RemoteEngine(url=..., token=...)`` or ``RemoteEngine(client)``.

    On the server identity comes only from authentication (product.md): the token is who
    acts and who reads. ``actor=`` and ``reader=`` are accepted so that code written for
    :class:`~workflow.engine.Engine` runs unchanged, and are never sent: nothing a client
    says makes the server take it for someone else.
    """

    def __init__(
        self, client: httpx.Client | None = None, *, url: str | None = None, token: str | None = None
    ) -> None:
        self.http = Transport(client, url=url, token=token)
        self.url = self.http.where
        self._templates: dict[tuple[str, int], tuple[TemplateInfo, Definition, str]] = {}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _event(self, method: str, url: str, *, body: Any = None, request_id: str | None = None,
               expected_seq: int | None = None) -> Event:
        """A write: its event. ``request_id`` is the Idempotency-Key, ``expected_seq`` the If-Match."""
        headers = {}
        if request_id is not None:
            headers["Idempotency-Key"] = ascii_header(request_id, "the request id")
        if expected_seq is not None:
            headers["If-Match"] = f'"{int(expected_seq)}"'
        return self.http.call(method, url, json=body, headers=headers, read=event_from_dict)

    # -- set-up, grants, templates --------------------------------------------------------------------

    def init(self, admin: str) -> dict[str, Any]:
        raise UsageError("init sets up a database: run `phasegate --db URL init --admin PERSON` where the "
                         "database is, not through --server")

    def grant(self, person: str, privilege: str, *, actor: Unused = None) -> Event:
        return self._event("POST", path("grants"), body={"person": person, "privilege": privilege})

    def revoke(self, person: str, privilege: str, *, actor: Unused = None) -> Event:
        return self._event("DELETE", path("grants", inputs.person(person), privilege))

    def grants(self, *, reader: Unused = None) -> dict[str, list[str]]:
        return self.http.call("GET", path("grants"), read=_grants)

    def templates(self) -> list[TemplateInfo]:
        return self.http.call("GET", path("templates"), read=many(TemplateInfo))

    def template(self, key: str, version: int | None = None) -> tuple[TemplateInfo, Definition, str]:
        """(info, definition, exact source): the definition is loaded from the source the server keeps."""
        version = inputs.count(version, "the template version", most=inputs.VERSION_MAX)
        if version is not None and (key, version) in self._templates:
            return self._templates[key, version]
        from workflow.domain.templates.loader import load_definition

        info, source = self.http.call("GET", path("templates", key), params={"version": version},
                                      read=lambda doc: (from_dict(TemplateInfo, doc), str(doc["source"])))
        found = (info, load_definition(source, source=f"template {info.key} v{info.version}"), source)
        self._templates[info.key, info.version] = found
        return found

    def publish_template(self, source: str | bytes | Path, *, actor: Unused = None,
                         name: str | None = None) -> tuple[TemplateInfo, bool]:
        """Checked here first, so that every problem names the file as the Engine's do; then sent."""
        from workflow.domain.templates.loader import load_definition, load_file

        if isinstance(source, Path):
            load_file(source)
            data = source.read_bytes()
        else:
            data = source if isinstance(source, bytes) else source.encode("utf-8")
            load_definition(data, source=name or "<template>")
        return self.http.call("POST", path("templates"), content=data, headers={"Content-Type": YAML},
                              read=lambda doc: (from_dict(TemplateInfo, doc), bool(doc["published"])))

    # -- accounts and tokens ----------------------------------------------------------------------------

    def add_user(self, person: str, *, actor: Unused = None, name: str | None = None,
                 email: str | None = None) -> Event:
        return self._event("POST", path("people"), body={"login": person, "name": name, "email": email})

    def users(self, *, reader: Unused = None) -> list[Person]:
        return self.http.call("GET", path("people"), read=many(Person))

    def _change_person(self, person: str, change: dict[str, Any]) -> Event:
        url = path("people", inputs.person(person))
        # The last event is the one asked for (a disable's comes after its tokens' revocations).
        return self.http.call("PATCH", url, json=change, read=lambda events: event_from_dict(events[-1]))

    def disable_user(self, person: str, *, actor: Unused = None) -> Event:
        return self._change_person(person, {"active": False})

    def enable_user(self, person: str, *, actor: Unused = None) -> Event:
        return self._change_person(person, {"active": True})

    def set_password(self, person: str, password: str, *, actor: Unused = None,
                     current: str | None = None) -> Event:
        change = {"password": password}
        if current is not None:
            change["current_password"] = current
        return self._change_person(person, change)

    def change_account(self, person: str, *, actor: Unused = None, active: bool | None = None,
                       password: str | None = None, current: str | None = None) -> list[Event]:
        change = {"active": active, "password": password, "current_password": current}
        url = path("people", inputs.person(person))
        return self.http.call("PATCH", url, json={k: v for k, v in change.items() if v is not None},
                              read=lambda events: [event_from_dict(e) for e in events])

    def whoami(self) -> str:
        """The login name the token belongs to (``GET /me``)."""
        return self.http.call("GET", path("me"), read=lambda doc: str(doc["person"]))

    def create_token(self, *, actor: Unused = None, name: str | None = None,
                     expires_in: str | None = None) -> tuple[TokenInfo, str]:
        return self.http.call("POST", path("me", "tokens"), json={"name": name, "expires_in": expires_in},
                              read=lambda doc: (from_dict(TokenInfo, doc), str(doc["token"])))

    def tokens(self, *, reader: Unused = None) -> list[TokenInfo]:
        return self.http.call("GET", path("me", "tokens"), read=many(TokenInfo))

    def revoke_token(self, token_id: str, *, actor: Unused = None) -> Event:
        return self._event("DELETE", path("me", "tokens", token_id))

    def delegate(self, person: str, to: str, starts_on: str, until: str, *, actor: Unused = None,
                 roles: list[str] | tuple[str, ...] | str | None = None, project: str | None = None,
                 reason: str | None = None) -> Delegation:
        wanted = roles.split(",") if isinstance(roles, str) else None if roles is None else list(roles)
        body = {"person": person, "to": to, "from": starts_on, "until": until, "roles": wanted,
                "project": project, "reason": reason}
        return self.http.call("POST", path("delegations"), json=body, read=delegation_from_dict)

    def delegations(self, *, reader: Unused = None, person: str | None = None,
                    current: bool = False) -> list[Delegation]:
        return self.http.call("GET", path("delegations"), params={"person": person, "current": current},
                              read=lambda docs: [delegation_from_dict(d) for d in docs])

    def end_delegation(self, ident: str, *, actor: Unused = None) -> Event:
        return self._event("DELETE", path("delegations", ident))

    # -- notifications ----------------------------------------------------------------------------------

    def add_webhook(self, url: str, *, actor: Unused = None, events: str | list[str] = "all",
                    format: str = "json", secret: str | None = None,
                    allow: Unused = None) -> tuple[WebhookInfo, str | None]:
        """``allow`` is the server's own (its PHASEGATE_WEBHOOK_ALLOW): a client cannot widen it."""
        body = {"url": url, "events": events, "format": format, "secret": secret}
        return self.http.call("POST", path("webhooks"), json=body,
                              read=lambda doc: (from_dict(WebhookInfo, doc), doc.get("secret")))

    def webhooks(self, *, reader: Unused = None) -> list[WebhookInfo]:
        return self.http.call("GET", path("webhooks"), read=many(WebhookInfo))

    def remove_webhook(self, webhook_id: str, *, actor: Unused = None) -> Event:
        return self._event("DELETE", path("webhooks", webhook_id))

    def notifications(self, person: str | None = None, *, reader: Unused = None) -> NotifySettings:
        found = self.http.call("GET", path("me", "notifications"), read=one(NotifySettings))
        if person is not None and person != found.person:
            raise UsageError("over --server a person reads and chooses their own notification e-mails "
                             f"(you are {found.person}); an admin chooses for another person with --db")
        return found

    def set_notifications(self, person: str, email: str | list[str], *, actor: Unused = None) -> Event:
        self.notifications(inputs.person(person))  # refused here if PERSON is not the token's
        return self._event("PUT", path("me", "notifications"), body={"email": email})

    def outbox(self, *, reader: Unused = None, failed: bool = False, limit: int = 50) -> list[OutboxEntry]:
        return self.http.call("GET", path("notifications"), params={"failed": failed, "limit": limit},
                              read=many(OutboxEntry))

    def retry_notification(self, entry_id: int, *, actor: Unused = None) -> Event:
        return self._event("POST", path("notifications", int(entry_id), "retry"))

    # -- projects: creating one; the project commands are ProjectCommands', sent by _command ----------

    def _project(self, code: str, *rest: str) -> str:
        return path("projects", inputs.project_code(code), *rest)

    def create_project(self, code: str, *, template: str, actor: Unused = None, name: str | None = None,
                       client: str | None = None, version: int | None = None,
                       request_id: str | None = None, calendar: str | None = None,
                       starts_on: str | None = None,
                       team: Mapping[str, Sequence[str]] | None = None) -> Event:
        body: dict[str, Any] = {"code": code, "template": template, "name": name, "client": client,
                                 "version": version, "calendar": calendar, "starts_on": starts_on}
        if team:
            body["team"] = {role: list(people) for role, people in team.items()}
        return self._event("POST", path("projects"), body=body, request_id=request_id)

    def _command(self, name: str, given: dict[str, Any]) -> Event:
        """A project command (declared in :mod:`workflow.domain.commands`) as its request: the path's
        values (a code or a login name checked first, for the Engine's sentence), the rest the body."""
        cmd = COMMANDS[name]
        values = {"code": inputs.project_code(given["code"])}
        for p in cmd.path_params():
            values[p.name] = inputs.person(given[p.name]) if p.name == "person" else given[p.name]
        parts = cmd.path.split("/")[1:]
        url = path(*(values[part[1:-1]] if part.startswith("{") else part for part in parts))
        # a mapping (approve's deliverables: {KEY: sha256}) goes as the text its field takes, KEY=VALUE …
        body = {p.key: " ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
                for p in cmd.body_params() for value in (given[p.name],)} or None
        return self._event(cmd.method, url, body=body, request_id=given["request_id"],
                           expected_seq=given["expected_seq"])

    def tick(self, *, now: str | None = None) -> TickReport:
        """The server's tick now; or (``now``) a try-out at that moment: the server writes nothing."""
        if now is None:
            return self.http.call("POST", path("tick"), read=_tick_report)
        return self.http.call("GET", path("tick"), params={"now": now}, read=_tick_report)

    def calendar(self, person: str, *, reader: Unused = None, base_url: str = "") -> str:
        params = {"person": inputs.person(person)}
        with self.http.stream("GET", path("me", "calendar.ics"), params=params) as r:
            r.read()
            return r.text

    # -- reading ----------------------------------------------------------------------------------------

    def status(self, code: str, *, reader: Unused = None, at: str | None = None,
               actor: Unused = None) -> ProjectStatus:
        """The project now, or (``at``) as it stood then; the time is read as the Engine reads it."""
        moment = None if at is None else inputs.normalize_time(at)
        return self.http.call("GET", self._project(code), params={"at": moment}, read=one(ProjectStatus))

    def insights(self, *, viewer: Unused = None, template: str | None = None, version: int | None = None,
                 client: str | None = None, since: str | None = None, until: str | None = None) -> Insights:
        """The figures across the projects the token's owner may read (``GET /api/v1/insights``)."""
        from workflow.domain.insights.report import Insights as Figures

        params = {"template": template, "version": version, "client": client, "since": since, "until": until}
        return self.http.call("GET", path("insights"), params=params, read=one(Figures))

    def iter_projects(self, *, reader: Unused = None, status: str | None = None, template: str | None = None,
                      phase: str | None = None, after: str | None = None,
                      limit: int | None = None, overdue: bool | None = None,
                      sort: str = "code") -> Iterator[ProjectSummary]:
        """The board, a page a request; the first one now, so a refusal comes before anything prints."""
        wanted = inputs.count(limit, "the number of projects (--limit)")
        filters = {"status": status, "template": template, "phase": phase,
                   "overdue": "true" if overdue else None, "sort": sort}

        def page(cursor: str | None, size: int, _first: bool) -> tuple[list[ProjectSummary], str | None]:
            params = {**filters, "after": cursor, "limit": size}
            return self.http.call("GET", path("projects"), params=params,
                                  read=lambda doc: (many(ProjectSummary)(doc["projects"]), doc["next"]))

        return paging.follow(page, None if after is None else inputs.project_code(after), wanted)

    def check_project(self, code: str, *, reader: Unused = None) -> StaffingCheck:
        """Can every remaining gate be signed by the team (``GET /projects/{code}/check``)?"""
        from workflow.domain.staffing.gates import check_from_dict

        return self.http.call("GET", self._project(code, "check"), read=check_from_dict)

    def list_projects(self, **filters: Any) -> list[ProjectSummary]:
        return list(self.iter_projects(**filters))

    def iter_history(self, code: str, *, reader: Unused = None, since: str | None = None,
                     until: str | None = None, actor: str | None = None, action: str | None = None,
                     phase: str | None = None, last: int | None = None, after: int | None = None,
                     limit: int | None = None) -> Iterator[Event]:
        """The events, oldest first, a page a request (``actor``: only that person's events)."""
        url = self._project(code, "history")
        last = inputs.count(last, "the number of newest events (--last)")
        wanted = inputs.count(limit, "the number of events (--limit)")
        if last is not None:
            wanted = last if wanted is None else min(wanted, last)
        filters = {"since": _time(since), "until": _time(until), "actor": actor, "action": action,
                   "phase": phase}

        def page(cursor: int | None, size: int, first: bool) -> tuple[list[Event], int | None]:
            # ``last`` places the first page; the later ones run forward from it, as the Engine's do
            params = {**filters, "after_seq": cursor, "limit": size, "last": last if first else None}
            return self.http.call("GET", url, params=params,
                                  read=lambda doc: ([event_from_dict(e) for e in doc["events"]], doc["next"]))

        return paging.follow(page, after, wanted)

    def history(self, code: str, **filters: Any) -> list[Event]:
        return list(self.iter_history(code, **filters))

    def invitations(self, code: str, *, reader: Any = None) -> list[Invitation]:
        """The project's invitations of outside signers (issue 24), oldest first."""
        return self.http.call("GET", self._project(code, "invitations"),
                              read=lambda doc: many(Invitation)(doc["invitations"]))


def _grants(held: dict[str, Any]) -> dict[str, list[str]]:
    return {str(privilege): [str(p) for p in people] for privilege, people in held.items()}


def _time(value: str | None) -> str | None:
    return None if value is None else inputs.normalize_time(value)


def _tick_report(doc: Any) -> TickReport:
    would = [Notice(n["project"], n["phase"], n["round"], n["kind"], tuple(n["people"]),
                    tuple(n.get("waiting_on", ()))) for n in doc.get("would", ())]
    return TickReport(doc["at"], doc["projects"], [event_from_dict(e) for e in doc["events"]],
                      dry_run=bool(doc.get("dry_run")), would=would)
