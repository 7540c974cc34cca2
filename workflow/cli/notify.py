"""``phasegate notify …``, ``webhook …`` and ``user notify``: delivering the outbox, where it goes,
which e-mails a person gets."""

from __future__ import annotations

import sys
from typing import Any

import click

from workflow import settings
from workflow.cli.app import Session, cli, pass_session
from workflow.cli.output import emit, emit_json, emit_listing, emit_made_with_secret
from workflow.cli.people import user
from workflow.errors import UsageError


@cli.group()
def notify() -> None:
    """The notifications commands write to the outbox: deliver them, list them, send one again."""


@notify.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (for cron).")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 10_000),
              help="Notifications claimed at a time.")
@click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Webhook requests in flight at once to one receiver; a quarter more (at least one) are "
              "kept for the other receivers, so a slow one holds only its own notifications.")
@click.option("--lease", "lease_seconds", default=None, type=click.FloatRange(0.1, 86400),
              metavar="SECONDS", help="How long a claimed notification is this worker's before another may "
              "take it (a worker that died is taken over after this); more than twice --deadline; default: "
              "the larger of 60 and three deadlines.")
@click.option("--deadline", default=None, type=click.FloatRange(0.1, 3600), metavar="SECONDS",
              help="How long one webhook delivery may take, all told: connecting, sending and reading the "
              "answer (a receiver still answering then has failed that try); default: the webhook deadline "
              "of phasegate's limits (WEBHOOK_DEADLINE).")
@click.option("--max-attempts", default=8, show_default=True, type=click.IntRange(1, 100),
              help="Tries before a notification is dead.")
@click.option("--idle", default=1.0, show_default=True, type=click.FloatRange(0.01, 3600), metavar="SECONDS",
              help="How long to wait when nothing is due.")
@pass_session
def notify_run(s: Session, once: bool, batch: int, concurrency: int, lease_seconds: float | None,
               deadline: float | None, max_attempts: int, idle: float) -> None:
    """Deliver the outbox (webhooks; e-mail when PHASEGATE_SMTP_URL and PHASEGATE_MAIL_FROM are set)
    until interrupted. Any number may run at once, on any hosts: each notification is sent at least once,
    and not by two workers while one holds it. Webhooks go only to public addresses unless
    PHASEGATE_WEBHOOK_ALLOW lists internal networks (comma-separated CIDRs, e.g. 10.0.0.0/8)."""
    if s.server is not None:
        raise UsageError("notify run delivers from a database (--db); the server delivers by itself "
                         "(`phasegate serve`, unless --no-deliver)")
    import threading

    from workflow.delivery.worker import Worker

    timing: dict[str, Any] = {} if deadline is None else {"deadline": deadline}
    with Worker.from_env(s.database.store, batch=batch, concurrency=concurrency, lease_seconds=lease_seconds,
                         max_attempts=max_attempts, **timing) as worker:
        if once:
            report = worker.drain()
            if s.json:
                emit_json(report.to_dict())
            else:
                emit(f"{report.delivered} delivered, {report.retry} to retry, {report.dead} dead")
            for note in report.notes:
                emit(note, err=True)
            return
        for note in worker.drain().notes:
            emit(note, err=True)
        stopping = threading.Event()
        try:
            worker.run(stopping, idle=idle)
        except KeyboardInterrupt:
            stopping.set()


@notify.command("list")
@click.option("--failed", is_flag=True, help="Only the dead ones and those failing and waiting to retry.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000),
              help="At most this many notifications, the newest first.")
@pass_session
def notify_list(s: Session, failed: bool, limit: int) -> None:
    """The newest notifications and how their delivery stands (admins and auditors)."""
    from workflow.cli.render import when

    emit_listing(s.json, s.engine.outbox(reader=s.actor, failed=failed, limit=limit),
                 ["ID", "EVENT", "KIND", "CHANNEL", "TO", "STATUS", "TRIES", "WHEN", "LAST ERROR"],
                 lambda e: [str(e.id), f"{e.chain}#{e.seq}", e.kind, e.channel, e.target, e.status,
                            str(e.attempts), when(e.delivered_at) if e.status == "delivered"
                            else when(e.next_attempt_at) if e.status == "pending" else "",
                            (e.last_error or "")[:60]],
                 "no notifications" + (" failed" if failed else ""))


@notify.command("retry")
@click.argument("entry_id", metavar="ID", type=click.IntRange(1))
@pass_session
def notify_retry(s: Session, entry_id: int) -> None:
    """Send notification ID again now, with a fresh count of tries (admins; on the record)."""
    event = s.engine.retry_notification(entry_id, actor=s.actor)
    s.done(event, lambda: f"notification {entry_id} will be sent again now (it was {event.data['was']})")


@cli.group()
def webhook() -> None:
    """Where notifications are posted besides e-mail, signed with a secret (admins)."""


@webhook.command("add")
@click.argument("url")
@click.option("--events", default="all", show_default=True, metavar="KINDS|all",
              help="Comma-separated kinds: task, sign, ready, rejected, remind, escalate, overdue.")
@click.option("--format", "fmt", type=click.Choice(["json", "slack"]), default="json", show_default=True,
              help="slack: a Slack incoming webhook's {\"text\": …} body (still signed).")
@click.option("--secret-stdin", is_flag=True, help="Read the signing secret from the first line of stdin "
              "(default: a new random one, shown once).")
@pass_session
def webhook_add(s: Session, url: str, events: str, fmt: str, secret_stdin: bool) -> None:
    """Post the notifications of KINDS to URL, each signed (X-Phasegate-Signature: sha256=HMAC).

    URL must reach a public address: loopback, private, link-local and other internal addresses are
    refused unless PHASEGATE_WEBHOOK_ALLOW lists their network (e.g. 10.0.0.0/8,127.0.0.0/8)."""
    from workflow.domain.notify import addresses

    secret = sys.stdin.readline().rstrip("\r\n") if secret_stdin else None
    # Over --server the server's own PHASEGATE_WEBHOOK_ALLOW decides (a client cannot widen it).
    allow = () if s.server is not None else addresses.allow_list(settings.current().webhook_allow)
    info, made = s.engine.add_webhook(url, actor=s.actor, events=events, format=fmt, secret=secret,
                                      allow=allow)
    emit_made_with_secret(
        s.json, info, "secret", made,
        f"webhook {info.id} posts {', '.join(info.kinds) if info.kinds != ['*'] else 'every kind'} "
        f"to {info.url} ({info.format}; secret {info.fingerprint}…)",
        "Keep the secret now: it is not shown again. The receiver checks each body's HMAC with it.")


@webhook.command("list")
@pass_session
def webhook_list(s: Session) -> None:
    """Every webhook: id, URL, kinds, format, state, secret's fingerprint (never the secret)."""
    emit_listing(s.json, s.engine.webhooks(reader=s.actor),
                 ["ID", "URL", "EVENTS", "FORMAT", "STATE", "SECRET"],
                 lambda w: [w.id, w.url, ",".join(w.kinds) if w.kinds != ["*"] else "all", w.format,
                            "active" if w.active else "removed", w.fingerprint],
                 "no webhooks")


@webhook.command("remove")
@click.argument("webhook_id", metavar="ID")
@pass_session
def webhook_remove(s: Session, webhook_id: str) -> None:
    """Stop posting to webhook ID (its notifications still waiting are not sent)."""
    event = s.engine.remove_webhook(webhook_id, actor=s.actor)
    s.done(event, lambda: f"webhook {webhook_id} removed")


@user.command("notify")
@click.argument("person")
@click.option("--email", required=True, metavar="KINDS|all|none",
              help="Which notification e-mails PERSON gets: comma-separated kinds, all, or none.")
@pass_session
def user_notify(s: Session, person: str, email: str) -> None:
    """Choose which notification e-mails PERSON gets (the person themself, or an admin)."""
    event = s.engine.set_notifications(person, email, actor=s.actor)
    kinds = event.data["email_kinds"]
    chosen = "every kind" if kinds is None else ", ".join(kinds) or "none"
    s.done(event, lambda: f"{person} gets notification e-mails of: {chosen}")
