"""The webhook channel: signed JSON (or Slack) bodies over one pool of keep-alive connections.

The pool is httpcore's, the transport httpx is built on (same project, already installed
with it), used directly: on a two-CPU machine httpx's own request and response objects cost
more than the whole rest of a delivery, and cap it near 1,000 a second (benchmarks/
bench_notify.py). Up to ``concurrency`` connections stay open and a worker's thread pool
sends that many requests at once. A 2xx answer is delivered; any other status, a timeout or
a network error is a failure to try again (the receiver's answer, shortened, is kept as
the row's ``last_error``). Redirects are not followed: a signed body goes where it was sent.
"""

from __future__ import annotations

import httpcore

from workflow.delivery import messages
from workflow.delivery.leases import Claimed, Outcome

TIMEOUT_SECONDS = 10.0
FAILURES = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
            httpcore.UnsupportedProtocol, httpcore.ProxyError, OSError)


class WebhookSender:
    def __init__(self, base_url: str, *, concurrency: int = 16, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url
        self.pool = httpcore.ConnectionPool(max_connections=concurrency,
                                            max_keepalive_connections=concurrency, keepalive_expiry=60.0)
        self.timeouts = {"connect": min(timeout, 5.0), "read": timeout, "write": timeout, "pool": timeout}

    def send(self, row: Claimed) -> Outcome:
        hook = row.hook
        if hook is None or not hook.active:
            return Outcome(row, f"webhook {row.target} was removed", permanent=True)
        body = messages.webhook_body(row, self.base_url)
        signed = list(messages.headers(row, hook.secret, body).items())
        try:
            response = self.pool.request("POST", hook.url, content=body, headers=signed,
                                         extensions={"timeout": self.timeouts})
        except FAILURES as exc:
            return Outcome(row, f"{_name(exc)}: {exc}" if str(exc) else _name(exc))
        if 200 <= response.status < 300:
            return Outcome(row)
        answer = " ".join(response.content[:200].decode("utf-8", "replace").split())
        return Outcome(row, f"HTTP {response.status}" + (f": {answer}" if answer else ""))

    def close(self) -> None:
        self.pool.close()


def _name(exc: BaseException) -> str:
    """httpx's names for httpcore's errors (ConnectError, ReadTimeout, …), an OSError's own."""
    return type(exc).__name__
