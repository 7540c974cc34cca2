"""What a notification says: the webhook's JSON body and signature, the Slack text, the e-mail.

The webhook body is the event as the audit trail holds it (chain, seq, hash, action, actor,
auth, at, phase, data), the kind of notification, the people asked to act and a link to
the project's page; it is serialised once, signed (HMAC-SHA256 of those exact bytes with the
webhook's secret, as GitHub and Stripe sign theirs) and sent as it was signed.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from email.message import EmailMessage
from typing import Any

from workflow.delivery.leases import Claimed
from workflow.domain.audit.events import SYSTEM_CHAIN
from workflow.domain.identity import is_external

SECRET_KINDS = ("invite", "code")  # e-mails that carry a secret (outbox.payload): to an outside signer
DEFAULT_BASE_URL = "http://127.0.0.1:8765"

# kind -> (the e-mail subject's words, the sentence of the body); {code} and {phase} filled in
WORDS = {
    "task": ("a task is yours", "A task of phase {phase} of project {code} is yours to do."),
    "sign": ("your signature is needed", "The gate of phase {phase} of project {code} waits for your "
             "signature."),
    "ready": ("ready to advance", "Every task and signature of phase {phase} of project {code} is in: "
              "it can advance."),
    "rejected": ("sent back", "Project {code} was sent back to phase {phase}: there is work for you again."),
    "remind": ("reminder", "Project {code} still waits for you in phase {phase}."),
    "escalate": ("escalated", "Project {code} has waited too long in phase {phase}: it is escalated to you."),
    "overdue": ("overdue", "Phase {phase} of project {code} is past its due date."),
    "changed": ("changed after you signed", "The {deliverable} of project {code} changed after you signed: "
                "please look again (phase {phase})."),
}


def project_link(base_url: str, code: str | None) -> str | None:
    return None if code is None else f"{base_url.rstrip('/')}/projects/{code}"


def event_of(row: Claimed) -> dict[str, Any]:
    e = row.event
    return {"chain": e.chain, "seq": e.seq, "hash": e.hash, "action": e.action, "actor": e.actor,
            "auth": e.auth, "at": e.at, "phase": e.phase, "data": e.data}


def summary(row: Claimed) -> str:
    code = row.event.project or SYSTEM_CHAIN
    sentence = WORDS.get(row.kind, (row.kind, "{code}: {phase}"))[1]
    deliverable = row.event.data.get("title") or "deliverable"
    return sentence.format(code=code, phase=row.event.phase or "-", deliverable=deliverable)


def webhook_body(row: Claimed, base_url: str) -> bytes:
    """The exact bytes sent (and signed): JSON, or Slack's ``{"text": …}`` for a ``slack`` webhook."""
    link = project_link(base_url, row.event.project)
    if row.hook is not None and row.hook.format == "slack":
        who = ", ".join(row.people)
        text = f"{summary(row)} ({who})" + (f" <{link}|{row.event.project}>" if link else "")
        doc: dict[str, Any] = {"text": text}
    else:
        doc = {"delivery": row.id, "kind": row.kind, "people": list(row.people),
               "project": row.event.project, "link": link, "event": event_of(row)}
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Phasegate-Signature`` header's value."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def headers(row: Claimed, secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Phasegate-Signature": signature(secret, body),
        "X-Phasegate-Event": f"{row.event.chain}/{row.event.seq}",
        "X-Phasegate-Delivery": str(row.id),  # the same on every retry: receivers de-duplicate on it
        "User-Agent": "phasegate-webhook/1",
    }


def _line(text: str) -> str:
    """One header line: no CR or LF from a name a user chose."""
    return " ".join(text.split())


def email(row: Claimed, sender: str, base_url: str) -> EmailMessage:
    """A plain-text e-mail with an HTML alternative, both linking to the project's page (an outside
    signer's: to the link they were sent; an invitation's or a code's: :func:`signer_email`)."""
    if row.kind in SECRET_KINDS:
        return signer_email(row, sender, base_url)
    code = row.event.project or SYSTEM_CHAIN
    link = project_link(base_url, row.event.project) or base_url
    anchor = f'<a href="{html.escape(link, quote=True)}">Open project {html.escape(code)}</a>'
    if row.people and is_external(row.people[0]):  # an outside signer has no account: their link it is
        link = "the link in your invitation e-mail (ask the project's lead for a new one)"
        anchor = html.escape(f"Open {link}.")
    words = WORDS.get(row.kind, (row.kind, ""))[0]
    said = summary(row)
    msg = EmailMessage()
    msg["Subject"] = _line(f"[phasegate] {code}: {words}")
    msg["From"] = sender
    msg["To"] = row.target
    msg["X-Phasegate-Event"] = f"{row.event.chain}/{row.event.seq}"
    msg["X-Phasegate-Delivery"] = str(row.id)
    by = f"{row.event.actor} ({row.event.action}, {row.event.at})"
    msg.set_content(f"{said}\n\nOpen the project: {link}\n\nRecorded as event {row.event.seq} of "
                    f"{code} by {by}.\n")
    msg.add_alternative(
        f"<!doctype html><html><body><p>{html.escape(said)}</p>"
        f"<p>{anchor}</p><p><small>Recorded as event {row.event.seq} of {html.escape(code)} by "
        f"{html.escape(by)}.</small></p></body></html>\n", subtype="html")
    return msg


def signer_email(row: Claimed, sender: str, base_url: str) -> EmailMessage:
    """An invitation's e-mail (its link, ``{base_url}/link/{secret}``) or a code's (the six digits), to
    the invited address alone: the secret is the row's payload, gone once the row is delivered."""
    d = row.event.data
    project = row.event.project or SYSTEM_CHAIN
    gate = d.get("role_title") or "signer"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.target
    msg["X-Phasegate-Event"] = f"{row.event.chain}/{row.event.seq}"
    msg["X-Phasegate-Delivery"] = str(row.id)
    if row.kind == "invite":
        link = f"{base_url.rstrip('/')}/link/{row.payload or ''}"
        msg["Subject"] = _line(f"[phasegate] {project}: your signature as {gate} is asked")
        said = (f"{row.event.actor} asks you to review and sign project {project} as {gate}. Open this link "
                f"(it is yours alone, until {d.get('expires_at')}; do not forward it):")
        msg.set_content(f"{said}\n\n{link}\n\nBefore your decision counts, phasegate e-mails a one-time "
                        f"code to this address.\n")
        msg.add_alternative(
            f"<!doctype html><html><body><p>{html.escape(said)}</p>"
            f'<p><a href="{html.escape(link, quote=True)}">Open project {html.escape(project)}</a></p>'
            f"<p><small>Before your decision counts, phasegate e-mails a one-time code to this address."
            f"</small></p></body></html>\n", subtype="html")
        return msg
    msg["Subject"] = _line(f"[phasegate] {project}: your one-time code")
    said = (f"Your code for project {project} is {row.payload or '(no longer valid)'}. It lasts 10 minutes. "
            f"If you did not ask for it, someone has your link: tell the project's lead.")
    msg.set_content(said + "\n")
    return msg
