"""The webhook channel: signed JSON (or Slack) bodies over one keep-alive httpx client.

The client keeps up to ``concurrency`` connections open and a worker's thread pool sends
that many requests at once. A 2xx answer is delivered; any other status, a timeout or a
network error is a failure to try again (the receiver's answer, shortened, is kept as the
row's ``last_error``). Redirects are not followed: a signed body goes where it was sent.
"""

from __future__ import annotations

import httpx

from workflow.delivery import messages
from workflow.delivery.leases import Claimed, Outcome

TIMEOUT_SECONDS = 10.0


class WebhookSender:
    def __init__(self, base_url: str, *, concurrency: int = 16, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), limits=limits,
                                   follow_redirects=False, trust_env=False)

    def send(self, row: Claimed) -> Outcome:
        hook = row.hook
        if hook is None or not hook.active:
            return Outcome(row, f"webhook {row.target} was removed", permanent=True)
        body = messages.webhook_body(row, self.base_url)
        try:
            signed = messages.headers(row, hook.secret, body)
            response = self.client.post(hook.url, content=body, headers=signed)
        except httpx.HTTPError as exc:
            return Outcome(row, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if 200 <= response.status_code < 300:
            return Outcome(row)
        answer = " ".join(response.text[:200].split())
        return Outcome(row, f"HTTP {response.status_code}" + (f": {answer}" if answer else ""))

    def close(self) -> None:
        self.client.close()
