"""A client that speaks HTTP/1.1 on a bare socket, for what httpx will not do on purpose: send a body
slower than the server wants it, headers a byte at a time, a Content-Length it never honours, and read
the answer while still sending. Also the server process's memory and open files, from /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MIB = 1024 * 1024


@dataclass
class Answer:
    """What came back on the socket: the status line's code, the headers and the body as far as read."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    raw: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


def parse(raw: bytes) -> Answer:
    """The first answer in ``raw`` (a Content-Length body is cut to its length)."""
    answer = Answer(raw=raw)
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return answer
    lines = head.decode("latin-1").split("\r\n")
    answer.status = int(lines[0].split()[1])
    for line in lines[1:]:
        name, _, value = line.partition(":")
        answer.headers[name.strip().lower()] = value.strip()
    length = answer.headers.get("content-length")
    answer.body = rest[: int(length)] if length is not None else rest
    return answer


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def connect(url: str, timeout: float = 10) -> socket.socket:
    return socket.create_connection(address(url), timeout=timeout)


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Reader(threading.Thread):
    """Reads the socket until an answer is whole or the server closes it (or ``seconds`` pass), while the
    test sends; ``closed_at`` is when the server closed it (None when it did not)."""

    def __init__(self, sock: socket.socket, seconds: float = 60) -> None:
        super().__init__(daemon=True)
        self.sock, self.seconds = sock, seconds
        self.data = bytearray()
        self.closed_at: float | None = None
        self.first_byte_at: float | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # reset by the server after its answer
                self.closed_at = time.monotonic()
                return
            if not chunk:
                self.closed_at = time.monotonic()
                return
            if self.first_byte_at is None:
                self.first_byte_at = time.monotonic()
            self.data += chunk
            if self.whole():
                return

    def whole(self) -> bool:
        """An answer with its whole body (by its Content-Length) is in."""
        answer = self.answer()
        length = answer.headers.get("content-length")
        return answer.status is not None and length is not None and len(answer.body) >= int(length)

    def answer(self) -> Answer:
        return parse(bytes(self.data))


def send_all(sock: socket.socket, chunks: Iterable[bytes], reader: Reader) -> int:
    """Send until done, or until the server answered or shut the door; the bytes that went."""
    sent = 0
    for chunk in chunks:
        if reader.data or not reader.is_alive():
            break
        try:
            sock.sendall(chunk)
        except OSError:  # the server closed the connection after answering
            break
        sent += len(chunk)
    return sent


def filler(total: int, size: int = 256 * 1024, byte: bytes = b"a") -> Iterator[bytes]:
    block = byte * size
    while total > 0:
        yield block[: min(size, total)]
        total -= size


def chunked(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``Transfer-Encoding: chunked`` framing: no length given up front."""
    for chunk in chunks:
        yield b"%x\r\n%s\r\n" % (len(chunk), chunk)
    yield b"0\r\n\r\n"


def exchange(url: str, method: str, path: str, headers: dict[str, str], body: Iterable[bytes] = (),
             seconds: float = 60) -> tuple[Answer, int]:
    """One request on a fresh connection, its body sent while the answer is read: (answer, bytes sent)."""
    with contextlib.closing(connect(url)) as sock:
        sock.settimeout(1)
        reader = Reader(sock, seconds)
        reader.start()
        sock.sendall(head(method, path, headers))
        sent = send_all(sock, body, reader)
        reader.join(seconds)
        return reader.answer(), sent


# -- the server process, from /proc --------------------------------------------------------------------


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def reset_peak(pid: int) -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux: ``echo 5 > clear_refs``)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def open_files_under(pid: int, folder: str) -> list[str]:
    """The files the process holds open under ``folder`` (a spooled upload shows as one, deleted)."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith(folder):
                found.append(target)
    return found
