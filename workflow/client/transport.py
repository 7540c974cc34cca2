"""The HTTP side of :class:`~workflow.client.RemoteEngine`: one keep-alive connection, the token, errors.

Every answer that is not a success becomes the exception the Engine would have raised
(:func:`workflow.errors.error_from_dict` reads the ``{"error": {...}}`` body back); a
server that cannot be reached, or that answers with something other than phasegate's
API (a proxy's error page), is :class:`~workflow.errors.ServerUnavailable`, never an
httpx traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from workflow.domain.inputs import shown
from workflow.errors import NotFound, ServerUnavailable, Unauthenticated, UsageError, error_from_dict

API = "/api/v1"
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# Verifying, checkpointing, reporting and exporting a large database takes minutes: a long
# wait for the first byte (or, in an export, between chunks) is not a dead server.
LONG_TIMEOUT = httpx.Timeout(3600.0, connect=10.0)
USER_AGENT = "phasegate-cli"
T = TypeVar("T")


def _as_is(doc: Any) -> Any:
    return doc


def base_url(url: str) -> str:
    """The server's root from what a person gives ``--server`` (a trailing ``/`` or ``/api/v1`` is fine)."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"--server needs an http:// or https:// URL, not {shown(url)}")
    root = str(parsed.copy_with(query=None, fragment=None)).rstrip("/")
    return root.removesuffix(API).rstrip("/")


def path(*segments: str | int) -> str:
    """``/api/v1/a/b``, each segment percent-encoded whole.

    '/' and '.' are encoded too, so no name can become another path (``..``, or
    ``x/report`` reaching another endpoint): a name with a '/' or an empty one names
    nothing phasegate has, and is refused as not found before anything is sent.
    """
    parts = []
    for segment in segments:
        text = str(segment)
        if not text or "/" in text:
            raise NotFound(f"there is no {shown(text)}: no name phasegate gives is empty or has a '/'")
        parts.append("/" + quote(text, safe="").replace(".", "%2E"))
    return API + "".join(parts)


def ascii_header(value: str, what: str) -> str:
    """HTTP header values are ASCII text: refuse anything else with a sentence."""
    if not value.isascii() or not value.isprintable():
        raise UsageError(f"{what} {shown(value)} cannot be sent to a server: use printable ASCII text")
    return value


class Transport:
    """An ``httpx.Client`` (given, or opened on ``url``) and the bearer token every request carries.

    A given client (a test's Starlette ``TestClient``, or a script's own configured client)
    is used as it is, its timeouts included, and left open by :meth:`close`; one opened
    here is closed.
    """

    def __init__(
        self, client: httpx.Client | None = None, *, url: str | None = None, token: str | None = None
    ) -> None:
        self._owned = client is None
        if client is None:
            if not url:
                raise UsageError("give the server's URL (--server URL or PHASEGATE_SERVER)")
            client = httpx.Client(base_url=base_url(url), timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})
        self.client = client
        self.where = str(client.base_url).rstrip("/")
        self._auth: dict[str, str] = {}
        if token is not None:
            secret = token.strip()
            if not secret or not secret.isascii() or not secret.isprintable() or " " in secret:
                raise Unauthenticated("PHASEGATE_TOKEN is not a phasegate API token")
            self._auth["Authorization"] = f"Bearer {secret}"

    def close(self) -> None:
        if self._owned:
            self.client.close()

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        read: Callable[[Any], T] = _as_is,
    ) -> T:
        """One request: ``read`` of its JSON answer (None for 204), or the error the server described.

        An answer ``read`` cannot make sense of (a missing key, a value of the wrong type) is
        not phasegate's API answering: :class:`ServerUnavailable`, not a traceback.
        """
        try:
            response = self.client.request(
                method,
                url,
                params=_params(params),
                json=json,
                content=content,
                headers={**self._auth, **(headers or {})},
                timeout=self._timeout(timeout),
            )
        except httpx.TransportError as exc:
            raise self.unreachable(exc) from None
        self.raise_for(response)
        try:
            return read(None if response.status_code == 204 or not response.content else response.json())
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            raise self.not_the_api(response) from None

    @contextlib.contextmanager
    def stream(
        self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
        content: Iterable[bytes] | None = None, headers: Mapping[str, str] | None = None,
    ) -> Iterator[httpx.Response]:
        """A streamed answer (to a body streamed from ``content``), its status checked before the
        caller reads a byte of it."""
        try:
            with self.client.stream(
                method, url, params=_params(params), content=content,
                headers={**self._auth, **(headers or {})}, timeout=self._timeout(LONG_TIMEOUT)
            ) as response:
                if not response.is_success:
                    response.read()
                    self.raise_for(response)
                yield response
        except httpx.TransportError as exc:
            raise self.unreachable(exc) from None

    def _timeout(self, wanted: httpx.Timeout | None) -> Any:
        """``wanted`` on a client opened here; a given client keeps the timeouts it was configured with."""
        return wanted if self._owned and wanted is not None else httpx.USE_CLIENT_DEFAULT

    def raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            error = None
        if not isinstance(error, dict):
            raise self.not_the_api(response)
        try:
            retry_after = int(response.headers.get("Retry-After", "0"))
        except ValueError:
            retry_after = 0
        raise error_from_dict(error, retry_after=retry_after)

    def unreachable(self, exc: httpx.TransportError) -> ServerUnavailable:
        if isinstance(exc, httpx.TimeoutException):
            return ServerUnavailable(
                f"the server at {self.where} did not answer in time ({type(exc).__name__})"
            )
        reason = str(exc) or type(exc).__name__
        return ServerUnavailable(f"cannot reach the server at {self.where}: {reason}")

    def not_the_api(self, response: httpx.Response) -> ServerUnavailable:
        return ServerUnavailable(
            f"the server at {self.where} answered {response.status_code} {response.reason_phrase} "
            "without phasegate's API answer: is --server the URL of `phasegate serve`?"
        )


def _params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the unset ones (None), booleans as FastAPI reads them."""
    if params is None:
        return None
    return {
        k: ("true" if v else "false") if isinstance(v, bool) else v
        for k, v in params.items()
        if v is not None
    }
