"""Real receivers for the delivery tests: an HTTP server recording every request as it came, and
an SMTP server (aiosmtpd) recording every message, each on a free loopback port in a thread."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verified(secret: str, body: bytes, header: str) -> bool:
    """The receiver's side of a webhook's signature, as docs/run/notifications.md shows it."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each request with ``answer(request)`` (a status; default 200) after ``delay`` seconds."""

    url: str = ""
    got: list[Received] = field(default_factory=list)
    answer: Callable[[Received], int] = lambda r: 200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.got) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.got)


@contextmanager
def http_receiver(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(**options)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers answer

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-body: no request arrived (a real server drops it)
                self.close_connection = True
                return
            got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            if receiver.delay:
                time.sleep(receiver.delay)
            with receiver.lock:
                receiver.got.append(got)
                status = receiver.answer(got)
            reply = b"ok" if status < 300 else b"receiver says no"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a sender killed mid-request (the kill -9 loop): nothing to report

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)  # (from, to, message)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"


@contextmanager
def smtp_receiver() -> Iterator[Mailbox]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox(port=port)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# -- receivers that misbehave: a raw socket server answering as a test tells it to --------------------


@dataclass
class RawReceiver:
    """Every connection accepted and every request read (headers and body), each answered by
    ``answer(connection, request)``, which writes whatever it likes (or nothing) on the socket."""

    url: str = ""
    port: int = 0
    connections: int = 0
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.got) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.got)

    def deliveries(self) -> dict[str, int]:
        """X-Phasegate-Delivery -> how many times it arrived."""
        counts: dict[str, int] = {}
        for r in list(self.got):
            key = r.headers.get("x-phasegate-delivery", "")
            counts[key] = counts.get(key, 0) + 1
        return counts


def _read_request(conn: Any) -> Received | None:
    """One HTTP/1.1 request off ``conn`` (a Content-Length body), or None when the peer went away."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return Received(lines[0].split(" ")[1], headers, body[:length])


@contextmanager
def raw_receiver(answer: Callable[[Any, Received], None], *, tls: Any = None) -> Iterator[RawReceiver]:
    """A receiver on a free loopback port; ``tls``: an ``ssl.SSLContext`` to serve https with."""
    import socketserver

    receiver = RawReceiver()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn = self.request
            with receiver.lock:
                receiver.connections += 1
            try:
                if tls is not None:
                    conn = tls.wrap_socket(conn, server_side=True)
                while True:
                    got = _read_request(conn)
                    if got is None:
                        return
                    with receiver.lock:
                        receiver.got.append(got)
                    answer(conn, got)
            except OSError:
                return  # the sender hung up (what a bounded sender does to a huge or slow answer)
            finally:
                conn.close()  # the TLS socket holds the connection's descriptor once wrapped

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    receiver.url = f"{'https' if tls is not None else 'http'}://127.0.0.1:{receiver.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def huge_answer(size: int, status: int = 200) -> Callable[[Any, Received], None]:
    """An answer of ``size`` bytes, streamed 64 KiB at a time from one buffer (never built whole)."""
    chunk = b"x" * 65536

    def answer(conn: Any, _got: Received) -> None:
        conn.sendall(f"HTTP/1.1 {status} OK\r\nContent-Length: {size}\r\n\r\n".encode())
        left = size
        while left > 0:
            conn.sendall(chunk[:left] if left < len(chunk) else chunk)
            left -= len(chunk)

    return answer


def trickled_answer(seconds: float, every: float = 1.0) -> Callable[[Any, Received], None]:
    """A 200 answer sent one byte every ``every`` seconds, for at most ``seconds`` (then the connection
    is closed): a receiver that is never quite silent, never done."""
    text = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Padding: " + b"." * 10_000

    def answer(conn: Any, _got: Received) -> None:
        ends = time.monotonic() + seconds
        for byte in text:
            if time.monotonic() >= ends:
                break
            conn.sendall(bytes([byte]))
            time.sleep(every)
        conn.close()

    return answer


def said(text: bytes) -> Callable[[Any, Received], None]:
    """Exactly ``text`` as the answer, then the connection closed (a status and body, or not HTTP at all)."""

    def answer(conn: Any, _got: Received) -> None:
        conn.sendall(text)
        conn.close()

    return answer
