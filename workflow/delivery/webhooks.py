"""The webhook channel: signed JSON (or Slack) bodies over one pool of keep-alive connections.

The pool is httpcore's, the transport httpx is built on (same project, already installed
with it), used directly: on a two-CPU machine httpx's own request and response objects cost
more than the whole rest of a delivery, and cap it near 1,000 a second (benchmarks/
bench_notify.py). Up to ``concurrency`` connections stay open and a worker's thread pool
sends that many requests at once. A 2xx answer is delivered; any other status, a timeout or
a network error is a failure to try again. Redirects are not followed: a signed body goes
where it was sent.

What a receiver can do to the sender is bounded (the exposure review, issue 19):

- **Where it connects** (OWASP's SSRF Prevention Cheat Sheet): httpcore's network backend is
  :class:`GuardedBackend`, which resolves the host once, refuses the connection when any of
  its addresses is internal (:mod:`workflow.domain.notify.addresses`; ``allow`` lets networks
  through) and connects to the very address it checked: a name that resolves to a public
  address when the webhook is added and to 127.0.0.1 now (DNS rebinding) is refused without
  a connection. The Host header and the TLS server name stay the URL's host.
- **How long**: one deadline for the whole delivery (connect, send, the answer), enforced on
  every read and write of the socket (:class:`DeadlineStream`): a receiver trickling a byte a
  second is cut off at the deadline, not after a timeout per read.
- **How much is read**: at most ``limits.WEBHOOK_ANSWER_BYTES`` of the answer's body; past
  that the connection is closed instead of being read to its end.
- **What is kept**: a status code and phasegate's sentence, never the answer's text (an
  internal service's reply must not reach an admin's or an auditor's screen).
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
from httpcore import NetworkStream

from workflow.delivery import messages
from workflow.delivery.leases import Claimed, Outcome
from workflow.domain import limits
from workflow.domain.notify import addresses
from workflow.domain.notify.addresses import Address, Network

DEADLINE_SECONDS = float(limits.WEBHOOK_DEADLINE.default)
ANSWER_BYTES = int(limits.WEBHOOK_ANSWER_BYTES.default)
CONNECT_SECONDS = 5.0  # of the deadline, at most this long for one address to accept the connection
FAILURES = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
            httpcore.UnsupportedProtocol, httpcore.ProxyError, OSError)

_now = time.monotonic
_current = threading.local()  # this thread's delivery deadline (a monotonic time), while it sends


class Refused(httpcore.ConnectError):
    """The address the host resolved to is not one webhooks may reach: nothing was connected."""


class DeadlinePassed(httpcore.TimeoutException):
    """The delivery's overall deadline passed (connect, send and answer together)."""


def resolve(host: str, port: int) -> list[tuple[Address, tuple[Any, ...]]]:
    """Every (address, socket address) ``host`` resolves to, in the resolver's order. One look-up a
    connection: what is checked is what is connected to."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(ipaddress.ip_address(str(info[4][0]).partition("%")[0]), info[4]) for info in found]


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """The calling thread's sends must end within ``seconds`` (nested: the earlier deadline holds)."""
    before = getattr(_current, "at", None)
    at = _now() + seconds
    _current.at = at if before is None else min(at, before)
    try:
        yield _current.at
    finally:
        _current.at = before


@contextlib.contextmanager
def _mapped(timed_out: type[Exception], failed: type[Exception]) -> Iterator[None]:
    """The socket's errors as httpcore's (what its connections expect from a stream)."""
    try:
        yield
    except TimeoutError as exc:
        raise timed_out(str(exc) or "timed out") from exc
    except OSError as exc:
        raise failed(_reason(exc)) from exc


def _readable(sock: socket.socket) -> bool:
    """An idle keep-alive socket with something to read was closed by its receiver (or is talking out of
    turn): httpcore drops it instead of sending on it."""
    if sock.fileno() < 0:
        return True
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0))


def _left(timeout: float | None) -> float | None:
    """The time an operation may take: its own timeout, cut to what is left of the deadline."""
    at = getattr(_current, "at", None)
    if at is None:
        return timeout
    left = at - _now()
    if left <= 0:
        raise DeadlinePassed("the delivery's deadline passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(NetworkStream):
    """A socket whose every read and write ends by the sending thread's deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            self._sock.settimeout(_left(timeout))
            return self._sock.recv(min(max_bytes, ANSWER_BYTES))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            while buffer:
                self._sock.settimeout(_left(timeout))
                sent = self._sock.send(buffer)
                buffer = buffer[sent:]

    def close(self) -> None:
        self._sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> NetworkStream:
        with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
            try:
                self._sock.settimeout(_left(timeout))
                wrapped = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
            except BaseException:
                self._sock.close()
                raise
        return DeadlineStream(wrapped)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # type: ignore[attr-defined]  # as httpcore's own stream answers it
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's connections, made only to addresses webhooks may reach (see the module's docstring)."""

    def __init__(self, allow: Iterable[Network] = ()) -> None:
        self.allow = tuple(allow)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> NetworkStream:
        try:
            found = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve ({_reason(exc)})") from None
        for address, _where in found:
            refused = addresses.refusal(address, self.allow, host)
            if refused:
                raise Refused(refused)
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address, where in found:
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(_left(min(timeout or CONNECT_SECONDS, CONNECT_SECONDS)))
                sock.connect(where)
                return DeadlineStream(sock)
            except TimeoutError:
                sock.close()
                failure = httpcore.ConnectTimeout(f"{address} did not accept the connection in time")
            except OSError as exc:
                sock.close()
                failure = httpcore.ConnectError(f"{address}: {_reason(exc)}")
            except BaseException:
                sock.close()
                raise
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> NetworkStream:
        raise httpcore.UnsupportedProtocol("webhooks are posted over TCP")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class WebhookSender:
    def __init__(self, base_url: str, *, concurrency: int = 16, deadline: float = DEADLINE_SECONDS,
                 allow: Sequence[Network] = (), ssl_context: ssl.SSLContext | None = None) -> None:
        """``allow``: the internal networks webhooks may reach (``PHASEGATE_WEBHOOK_ALLOW``);
        ``ssl_context``: whom to trust for https (default: the system's CAs; tests give their own)."""
        self.base_url, self.deadline = base_url, deadline
        self.pool = httpcore.ConnectionPool(
            max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=60.0,
            network_backend=GuardedBackend(allow), ssl_context=ssl_context)
        self.timeouts = {"connect": min(deadline, CONNECT_SECONDS), "read": deadline, "write": deadline,
                         "pool": deadline}

    def send(self, row: Claimed) -> Outcome:
        hook = row.hook
        if hook is None or not hook.active:
            return Outcome(row, f"webhook {row.target} was removed", permanent=True)
        body = messages.webhook_body(row, self.base_url)
        # The URL's own host and port (httpcore would drop an IPv6 literal's brackets).
        signed = [("Host", urlsplit(hook.url).netloc.rpartition("@")[2]),
                  *messages.headers(row, hook.secret, body).items()]
        with deadline(self.deadline) as at:
            try:
                with self.pool.stream("POST", hook.url, content=body, headers=signed,
                                      extensions={"timeout": self.timeouts}) as response:
                    status = response.status
                    _read_some(response, ANSWER_BYTES)
            except Refused as exc:
                return Outcome(row, str(exc))
            except FAILURES as exc:
                if isinstance(exc, httpcore.TimeoutException) and _now() >= at:
                    return Outcome(row, f"no answer within the delivery's deadline ({self.deadline:g} s for "
                                        f"connecting, sending and reading the answer)")
                return Outcome(row, _failure(exc))
        if 200 <= status < 300:
            return Outcome(row)
        said = f"the receiver answered HTTP {status}"
        if 300 <= status < 400:
            said += " (a redirect: phasegate follows none)"
        return Outcome(row, said)

    def close(self) -> None:
        self.pool.close()


def _read_some(response: httpcore.Response, most: int) -> None:
    """Read the answer's body up to ``most`` bytes: all of a short one (its connection is kept), and
    no further into a long one (closing the response then closes its connection)."""
    got = 0
    for chunk in response.iter_stream():
        got += len(chunk)
        if got >= most:
            break


def _failure(exc: BaseException) -> str:
    """phasegate's sentence for a failed send: the error's name (httpx's names for httpcore's errors:
    ConnectError, ReadTimeout, …) and, where it comes from this host (the OS, the TLS library),
    its text; never what the receiver sent (a malformed answer's bytes are in h11's messages)."""
    name = type(exc).__name__
    if isinstance(exc, httpcore.ProtocolError):
        return f"{name}: the receiver's answer was not valid HTTP/1.1"
    if isinstance(exc, httpcore.UnsupportedProtocol):
        return f"{name}: the URL is not http:// or https://"
    if isinstance(exc, httpcore.TimeoutException):
        return f"{name}: the receiver did not answer in time"
    text = _reason(exc)
    return f"{name}: {text}" if text else name


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
