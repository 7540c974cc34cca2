"""Slowing password guessing down without locking real people out (issue 19, item 2).

OWASP's "Blocking Brute Force Attacks" and device cookies: failures are counted per account
and per client address, the real address (``X-Forwarded-For`` only from a ``--trusted-proxy``,
its right-most address that is not itself a trusted proxy); a browser someone signed in with
before carries a signed device cookie for that login, and signs in on its own failure budget
while the account is being guessed at from anywhere else.

In process, the client address is set on the transport; ``10.0.0.1`` is the trusted proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.apiclients import api, error_of

from workflow import Engine
from workflow.domain import credentials
from workflow.engine.people import signin

pytestmark = pytest.mark.slow  # password sign-ins (argon2id) and rounds of failed guesses: 3.0 s a test (measured 2026-12-07)

PASSWORD = "correct horse battery"
PROXY = ("10.0.0.1", 50000)
BUDGET = signin.FREE_FAILURES + 1  # failures before the next attempt under the same key must wait


@pytest.fixture(autouse=True)
def stopped_clock() -> Iterator[None]:
    """The clock stands still: a wait the throttle imposes never runs out while a slow machine runs
    the test (the answers asserted are the rule's, not the machine's speed)."""
    from datetime import UTC, datetime

    from support.schedules import moved_clock

    with moved_clock(datetime.now(UTC).replace(microsecond=0)):
        yield


@pytest.fixture
def url(db_url: str) -> str:
    """ana, bob and mem with passwords; root is the admin."""
    with Engine(db_url) as engine:
        engine.init(admin="root")
        for person in ("ana", "bob", "mem"):
            engine.add_user(person, actor="root")
            engine.set_password(person, PASSWORD, actor="root")
    return db_url


@pytest.fixture
def proxied(url: str) -> Iterator[TestClient]:
    """The app behind a reverse proxy at 10.0.0.1, which every request comes through."""
    with api(url, client=PROXY, trusted_proxies=("10.0.0.1/32",)) as client:
        yield client


def sign_in(client: TestClient, login: str, password: str = PASSWORD, *, forwarded: str | None = None,
            keep: bool = False) -> Any:
    """One sign-in's answer; the client keeps its cookies (its device cookie) only with ``keep``."""
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    if not keep:
        client.cookies.clear()
    return client.post("/api/v1/me/session", json={"login": login, "password": password}, headers=headers)


def test_made_up_names_guessed_through_the_proxy_do_not_lock_out_the_people_behind_it(
    proxied: TestClient,
) -> None:
    """The red team's first reproduction: guesses at made-up names from one client behind the
    proxy, then ana, bob and mem sign in (right passwords) from their own machines."""
    for n in range(BUDGET + 3):
        assert sign_in(proxied, f"made-up-{n}", "a guess", forwarded="203.0.113.66").status_code in (401, 429)
    for n, person in enumerate(("ana", "bob", "mem")):
        assert sign_in(proxied, person, forwarded=f"198.51.100.{n + 1}").status_code == 200, person


def test_the_guesser_behind_the_proxy_is_still_slowed_whatever_it_puts_in_the_header(
    proxied: TestClient,
) -> None:
    """The proxy appends the address it saw; what the client wrote to the left of it is not trusted."""
    for n in range(BUDGET):
        spoofed = f"192.0.2.{n}, 203.0.113.66"  # the guesser's own X-Forwarded-For, then the proxy's addition
        assert sign_in(proxied, f"made-up-{n}", "a guess", forwarded=spoofed).status_code == 401
    throttled = sign_in(proxied, "ana", forwarded="198.51.100.7, 203.0.113.66")
    assert throttled.status_code == 429 and error_of(throttled)["kind"] == "throttled"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert sign_in(proxied, "ana", forwarded="203.0.113.67").status_code == 200, "another address is not slowed"


def test_the_right_most_address_that_is_not_a_trusted_proxy_is_the_client(url: str) -> None:
    """Two proxies in a row (10.0.0.0/24): the first one's own address in the header is skipped."""
    with api(url, client=PROXY, trusted_proxies=("10.0.0.0/24",)) as client:
        for n in range(BUDGET):
            chain = f"192.0.2.{n}, 203.0.113.66, 10.0.0.2"
            assert sign_in(client, f"made-up-{n}", "a guess", forwarded=chain).status_code == 401
        assert sign_in(client, "ana", forwarded="203.0.113.66, 10.0.0.2").status_code == 429
        assert sign_in(client, "ana", forwarded="203.0.113.67, 10.0.0.2").status_code == 200


def test_x_forwarded_for_from_anywhere_but_a_trusted_proxy_is_ignored(url: str) -> None:
    with api(url, client=("192.0.2.9", 50000), trusted_proxies=("10.0.0.1/32",)) as client:
        for n in range(BUDGET):
            assert sign_in(client, f"made-up-{n}", "a guess", forwarded=f"198.51.100.{n}").status_code == 401
        assert sign_in(client, "ana", forwarded="198.51.100.200").status_code == 429


def test_guesses_at_one_account_are_slowed_from_every_address_for_a_browser_that_never_signed_in(
    proxied: TestClient,
) -> None:
    for n in range(BUDGET):
        assert sign_in(proxied, "ana", "a guess", forwarded=f"203.0.113.{n}").status_code == 401
    throttled = sign_in(proxied, "ana", forwarded="198.51.100.1")
    assert throttled.status_code == 429 and "set-cookie" not in throttled.headers


def test_the_victims_own_browser_keeps_signing_in_while_the_account_is_guessed_at(
    proxied: TestClient, url: str
) -> None:
    """The red team's second reproduction: guesses at ana's name from anywhere, while ana, on the
    browser she signed in with before, signs in again and again (18 times)."""
    with api(url, client=PROXY, trusted_proxies=("10.0.0.1/32",)) as browser:
        assert sign_in(browser, "ana", forwarded="198.51.100.1", keep=True).status_code == 200
        answers = []
        for n in range(18):
            sign_in(proxied, "ana", "a guess", forwarded=f"203.0.113.{n}")
            answers.append(sign_in(browser, "ana", forwarded="198.51.100.1", keep=True).status_code)
        assert answers == [200] * 18
        assert sign_in(proxied, "ana", forwarded="198.51.100.1").status_code == 429, (
            "a browser that never signed in as ana is still slowed"
        )


def test_a_device_cookie_counts_for_the_login_it_was_given_for_only(proxied: TestClient, url: str) -> None:
    with api(url, client=PROXY, trusted_proxies=("10.0.0.1/32",)) as browser:
        assert sign_in(browser, "ana", forwarded="198.51.100.1", keep=True).status_code == 200
        for n in range(BUDGET):
            sign_in(proxied, "bob", "a guess", forwarded=f"203.0.113.{n}")
        assert sign_in(browser, "bob", forwarded="198.51.100.1", keep=True).status_code == 429


def test_a_tampered_device_cookie_is_refused_as_if_there_were_none(proxied: TestClient, url: str) -> None:
    with api(url, client=PROXY, trusted_proxies=("10.0.0.1/32",)) as browser:
        assert sign_in(browser, "ana", forwarded="198.51.100.1", keep=True).status_code == 200
        (name, value), = [(c.name, c.value) for c in browser.cookies.jar if c.name.startswith(signin.DEVICE_COOKIE)]
        for n in range(BUDGET):
            sign_in(proxied, "ana", "a guess", forwarded=f"203.0.113.{n}")
        for tampered in (value[:-2] + ("AA" if not value.endswith("AA") else "BB"),  # the signature
                         value.replace(value.split(".")[0], "0" * len(value.split(".")[0]), 1),  # the nonce
                         "", "garbage"):
            browser.cookies.clear()
            browser.cookies.set(name, tampered)
            assert sign_in(browser, "ana", forwarded="198.51.100.1", keep=True).status_code == 429, tampered
        browser.cookies.clear()
        browser.cookies.set(name, value)
        assert sign_in(browser, "ana", forwarded="198.51.100.1", keep=True).status_code == 200


def test_a_stolen_device_cookie_has_its_own_small_failure_budget(url: str) -> None:
    with api(url, client=PROXY, trusted_proxies=("10.0.0.1/32",)) as browser:
        assert sign_in(browser, "ana", forwarded="198.51.100.1", keep=True).status_code == 200
        answers = [sign_in(browser, "ana", "a guess", forwarded=f"203.0.113.{n}", keep=True).status_code
                   for n in range(BUDGET + 3)]
        assert answers[:BUDGET] == [401] * BUDGET and set(answers[BUDGET:]) == {429}
        throttled = sign_in(browser, "ana", forwarded="198.51.100.1", keep=True)
        assert throttled.status_code == 429, "even the right password waits on a cookie that guessed"


def test_the_device_cookie_is_httponly_and_strict(proxied: TestClient) -> None:
    signed_in = sign_in(proxied, "ana", forwarded="198.51.100.1")
    device = [h for h in signed_in.headers.get_list("set-cookie") if h.startswith(signin.DEVICE_COOKIE)]
    assert len(device) == 1
    attributes = device[0].lower()
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "ana" not in device[0].split("=", 1)[0], "the cookie's name does not say whose it is"


def test_a_made_up_name_and_a_real_one_cost_the_same_argon2_work_and_get_the_same_answer(
    proxied: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    hasher = credentials._hasher()
    real_verify = type(hasher).verify

    def counting(self: Any, stored: str, password: str) -> Any:
        checks.append(password)
        return real_verify(self, stored, password)

    monkeypatch.setattr(type(hasher), "verify", counting)
    wrong = sign_in(proxied, "ana", "a guess", forwarded="203.0.113.1")
    unknown = sign_in(proxied, "nobody-here", "a guess", forwarded="203.0.113.2")
    assert wrong.json() == unknown.json() and wrong.status_code == unknown.status_code == 401
    assert checks == ["a guess", "a guess"]


def test_failures_with_a_made_up_name_from_many_addresses_do_not_slow_a_real_account(
    proxied: TestClient,
) -> None:
    for n in range(BUDGET * 2):
        sign_in(proxied, "anna", "a guess", forwarded=f"203.0.113.{n}")
    assert sign_in(proxied, "ana", forwarded="198.51.100.1").status_code == 200


def test_the_web_sign_in_form_gives_and_honours_the_device_cookie(proxied: TestClient, url: str) -> None:
    with api(url, client=PROXY, trusted_proxies=("10.0.0.1/32",)) as browser:
        form = {"login": "ana", "password": PASSWORD, "next": "/"}
        first = browser.post("/signin", data=form, headers={"X-Forwarded-For": "198.51.100.1"})
        assert first.status_code == 303 and any(c.name.startswith(signin.DEVICE_COOKIE) for c in browser.cookies.jar)
        for n in range(BUDGET + 2):
            sign_in(proxied, "ana", "a guess", forwarded=f"203.0.113.{n}")
        again = browser.post("/signin", data=form, headers={"X-Forwarded-For": "198.51.100.1"})
        assert again.status_code == 303, "ana's browser signs her in while her account is guessed at"
        browser.cookies.clear()
        refused = browser.post("/signin", data=form, headers={"X-Forwarded-For": "198.51.100.1"})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_posts_without_a_login_or_a_password_are_no_guesses_and_count_for_nothing(proxied: TestClient) -> None:
    """A stray POST to the sign-in form (a misconfigured webhook, a crawler) slows nobody down."""
    for n in range(BUDGET * 2):
        proxied.post("/signin", data={}, headers={"X-Forwarded-For": "203.0.113.9"})
        proxied.post("/signin", json={"anything": n}, headers={"X-Forwarded-For": "203.0.113.9"})
        assert sign_in(proxied, "ana", "", forwarded="203.0.113.9").status_code == 401
    assert sign_in(proxied, "ana", forwarded="203.0.113.9").status_code == 200


@pytest.mark.parametrize("login", ["ana\x00", "\x00", "Not A Login Name!", "ä" * 200],
                         ids=["nul-after", "nul", "spaces", "long"])
def test_a_name_that_cannot_be_one_is_refused_and_counted_like_any_other(proxied: TestClient, login: str) -> None:
    """(PostgreSQL refuses a NUL in text: the count is kept under a digest of such a name.)"""
    answers = [sign_in(proxied, login, "a guess", forwarded=f"203.0.113.{n}").status_code for n in range(BUDGET + 1)]
    assert answers == [401] * BUDGET + [429]
