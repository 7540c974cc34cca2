"""A worker remembers the tokens it verified (PostgreSQL) and forgets them the moment a credential
changes: a revoked token or a disabled account is refused on the next check, whoever changed it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from workflow import Engine
from workflow.domain.identity import Identity
from workflow.engine.people import signin
from workflow.errors import Unauthenticated
from workflow.storage.store import Store

pytestmark = pytest.mark.slow  # tokens made on both backends; the PostgreSQL pass listens


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with Engine(db_url) as e:
        e.init(admin="root")
        e.add_user("ann", actor="root")
        yield e


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A counter of the token checks that read the database."""
    taken = [0]
    verify = signin.verify_token

    def counted(store: Store, secret: str) -> tuple[Identity, str | None]:
        taken[0] += 1
        return verify(store, secret)

    monkeypatch.setattr(signin, "verify_token", counted)
    return taken


def remembers(engine: Engine) -> bool:
    return engine.store.dialect.name == "postgresql"


def test_a_token_checked_again_is_not_read_again_on_postgresql(engine: Engine, reads: list[int]) -> None:
    _info, secret = engine.create_token(actor="ann", name="t")
    assert engine.identify_token(secret).person == "ann"
    taken, taken[0] = reads, 0
    for _ in range(5):
        assert engine.identify_token(secret).person == "ann"
    assert taken[0] == (0 if remembers(engine) else 5)


def test_a_revoked_token_is_refused_on_the_next_check(engine: Engine) -> None:
    info, secret = engine.create_token(actor="ann", name="t")
    engine.identify_token(secret)
    engine.revoke_token(info.id, actor="ann")
    with pytest.raises(Unauthenticated, match="revoked"):
        engine.identify_token(secret)


def test_a_disabled_accounts_token_is_refused_on_the_next_check(engine: Engine) -> None:
    _info, secret = engine.create_token(actor="ann", name="t")
    engine.identify_token(secret)
    engine.disable_user("ann", actor="root")
    with pytest.raises(Unauthenticated, match="disabled"):
        engine.identify_token(secret)


def test_a_password_change_forgets_every_token(engine: Engine, reads: list[int]) -> None:
    _info, secret = engine.create_token(actor="ann", name="t")
    engine.identify_token(secret)
    engine.identify_token(secret)
    engine.set_password("ann", "correct horse battery", actor="root")
    engine.identify_token(secret)
    assert reads[0] == (2 if remembers(engine) else 3)  # the first check, and the one after the change


def test_a_change_made_by_another_worker_is_heard_before_the_next_check(db_url: str, engine: Engine) -> None:
    info, secret = engine.create_token(actor="ann", name="t")
    engine.identify_token(secret)
    with Engine(db_url) as other:  # another worker, another process or another host: its own Engine
        _own, own_secret = other.create_token(actor="ann", name="own")
        other.identify_token(own_secret)  # a worker that has checked a token listens
        other.revoke_token(info.id, actor="root")
    with pytest.raises(Unauthenticated, match="revoked"):
        engine.identify_token(secret)


def test_an_expired_token_is_refused_though_it_was_remembered(engine: Engine) -> None:
    _info, secret = engine.create_token(actor="ann", name="t", expires_in="1s")
    engine.identify_token(secret)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the expiry is to the second: until it passes, it is good
        try:
            engine.identify_token(secret)
        except Unauthenticated as exc:
            assert "expired" in str(exc)
            return
        time.sleep(0.1)
    pytest.fail("the token was still taken 5 s after it expired")


def test_a_worker_that_lost_its_listening_connection_reads_every_check(engine: Engine, reads: list[int]) -> None:
    _info, secret = engine.create_token(actor="ann", name="t")
    engine.identify_token(secret)
    known = engine.known_tokens
    if known.listener is not None:
        known.listener.pgconn.finish()  # the connection is gone (a restart, a network cut)
    known.retry_at = time.monotonic() + 60  # and cannot be made again yet
    reads[0] = 0
    engine.identify_token(secret)
    engine.identify_token(secret)
    assert reads[0] == 2
    assert not known.known
