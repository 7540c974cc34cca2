"""The e-mail channel: stdlib smtplib, configured by ``PHASEGATE_SMTP_URL`` and ``PHASEGATE_MAIL_FROM``.

``smtp://host:port`` (plain; ``?starttls=1`` upgrades the connection), ``smtps://host:port``
(TLS from the start), with ``user:password@`` for AUTH (percent-encoded). Without both
variables e-mail rows are not claimed at all: they stay pending, and the worker says why.
One SMTP connection carries a whole batch.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from workflow import settings
from workflow.delivery import messages
from workflow.delivery.leases import Claimed, Outcome
from workflow.errors import UsageError

SMTP_URL_ENV = settings.SMTP_URL
MAIL_FROM_ENV = settings.MAIL_FROM
TIMEOUT_SECONDS = 20.0
# A refusal of one message (its recipient, its sender, its data, an address the server cannot take
# without SMTPUTF8): that row fails, the connection goes on.
REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused,
           smtplib.SMTPNotSupportedError)
NOT_SET_UP = (f"e-mail is not set up: set {SMTP_URL_ENV} (smtp://host:port, smtps://…, ?starttls=1, "
              f"user:password@ for AUTH) and {MAIL_FROM_ENV}; the e-mails wait until then")


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int
    sender: str
    tls: bool = False  # smtps://
    starttls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str, sender: str) -> MailConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise UsageError(f"{SMTP_URL_ENV} must look like smtp://host:port or smtps://host:port")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise UsageError(f"{SMTP_URL_ENV} has a port that is not a number") from None
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes")
        if "@" not in sender:
            raise UsageError(f"{MAIL_FROM_ENV} must be an e-mail address")
        if parts.username and parts.scheme != "smtps" and not starttls:
            raise UsageError(f"{SMTP_URL_ENV} names a user but no TLS: the password would cross the network "
                             "in clear; use smtps:// or add ?starttls=1")
        return cls(parts.hostname, port, sender, parts.scheme == "smtps", starttls,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password is not None else None)

    @classmethod
    def from_settings(cls, found: settings.Environment) -> MailConfig | None:
        """The configuration the settings give (None: not set up, see :data:`NOT_SET_UP`)."""
        url, sender = found.smtp_url, found.mail_from
        if not url or not sender:
            return None
        return cls.from_url(url, sender)


class MailSender:
    def __init__(self, config: MailConfig, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.config, self.base_url, self.timeout = config, base_url, timeout

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        smtp: smtplib.SMTP
        if c.tls:
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=self.timeout)
            if c.starttls:
                smtp.starttls(context=ssl.create_default_context())
        if c.user is not None:
            smtp.login(c.user, c.password or "")
        return smtp

    def send_all(self, rows: Sequence[Claimed], start_by: float | None = None) -> list[Outcome]:
        """Every row over one connection; a refused recipient fails its row, a lost connection the rest.
        A message not started by ``start_by`` (``time.monotonic()``) is not sent: it goes back unsent."""
        out = [Outcome(r, f"{r.people[0]}'s account is disabled", permanent=True) for r in rows if r.disabled]
        rows = [r for r in rows if not r.disabled]
        if not rows:
            return out
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            where = f"SMTP {self.config.host}:{self.config.port}"
            return out + [Outcome(r, f"{where}: {_said(exc)}") for r in rows]
        try:
            for i, row in enumerate(rows):
                if start_by is not None and time.monotonic() >= start_by:
                    out += [Outcome(r, sent=False) for r in rows[i:]]
                    break
                try:
                    smtp.send_message(messages.email(row, self.config.sender, self.base_url))
                    out.append(Outcome(row))
                except REFUSED as exc:
                    out.append(Outcome(row, f"SMTP refused: {_said(exc)}"))
                except (OSError, smtplib.SMTPException) as exc:
                    out += [Outcome(r, f"SMTP: {_said(exc)}") for r in rows[i:]]
                    break
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return out


def _said(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
