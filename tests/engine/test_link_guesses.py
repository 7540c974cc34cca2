"""Guessing at client links is slowed per client address (issue 24): links that cannot be used are
counted like failed sign-ins, under a key of their own, so an address that keeps asking for links
that do not exist waits, doubling, while every other address (and every sign-in) is untouched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support.schedules import moved_clock

from workflow import Engine
from workflow.engine.people import guesses, signin
from workflow.errors import Throttled

FREE = signin.FREE_FAILURES


@pytest.fixture(autouse=True)
def stopped_clock() -> Iterator[None]:
    """The clock stands still, so a wait never runs out while the test runs."""
    with moved_clock(datetime.now(UTC).replace(microsecond=0)):
        yield


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as engine:
        engine.init(admin="root")
        yield engine


def test_an_address_that_misses_too_many_links_waits_and_others_do_not(engine: Engine) -> None:
    for _ in range(FREE):
        engine.link_guesses_waiting("203.0.113.7")
        engine.link_guess_missed("203.0.113.7")
    engine.link_guess_missed("203.0.113.7")  # the one past the free misses: counted, then it waits
    with pytest.raises(Throttled) as refused:
        engine.link_guesses_waiting("203.0.113.7")
    assert refused.value.retry_after >= 1 and "links that cannot be used" in str(refused.value)
    with pytest.raises(Throttled):
        engine.link_guess_missed("203.0.113.7")
    engine.link_guesses_waiting("203.0.113.8")  # another address: untouched
    engine.link_guess_missed("203.0.113.8")


def test_ipv6_neighbours_share_one_budget_and_sign_ins_keep_theirs(engine: Engine) -> None:
    for n in range(FREE + 1):
        engine.link_guess_missed(f"2001:db8::{n + 1}")
    with pytest.raises(Throttled):
        engine.link_guesses_waiting("2001:db8::ffff")  # the same /64
    assert guesses.key_of("2001:db8::1") != signin.address_key("2001:db8::1")  # sign-ins count apart
