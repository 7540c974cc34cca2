"""Signing in is an Engine method like every other: the server never reaches around the Engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import workflow
from workflow import Engine
from workflow.errors import Unauthenticated

SERVER = Path(workflow.__file__).resolve().parent / "server"
SIGN_IN = {"identify_token", "identify_proxy", "identify_session", "sign_in", "open_session", "close_session"}


def test_the_server_signs_people_in_through_engine_methods() -> None:
    """No ``signin.<function>(engine.store, ...)`` in the server: it calls ``engine.<function>(...)``."""
    around = []
    for path in sorted(SERVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SIGN_IN
                    and any(isinstance(a, ast.Attribute) and a.attr == "store" for a in node.args)):
                around.append(f"{path.relative_to(SERVER.parent)}:{node.lineno}")
    assert not around, around


@pytest.mark.slow  # argon2id sign-ins: 0.9 s on SQLite (measured 2026-12-07)
def test_a_password_sign_in_opens_a_session_that_identifies_until_it_is_closed(db_url: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        engine.add_user("mem", actor="ana")
        engine.set_password("mem", "a long enough password", actor="ana")
        signed_in = engine.sign_in("Mem", "a long enough password", address="10.0.0.1")
        assert signed_in.identity.person == "mem" and signed_in.identity.auth == "password"
        session_id, csrf = engine.open_session(signed_in.identity)
        identity, same_csrf = engine.identify_session(session_id)
        assert (identity.person, identity.auth, same_csrf) == ("mem", "password", csrf)
        engine.close_session(session_id)
        with pytest.raises(Unauthenticated):
            engine.identify_session(session_id)
        with pytest.raises(Unauthenticated, match="wrong"):
            engine.sign_in("mem", "not the password", address="10.0.0.1")


def test_a_token_and_a_proxy_login_identify_through_the_engine(db_url: str) -> None:
    with Engine(db_url) as engine:
        engine.init(admin="ana")
        engine.add_user("ana", actor="ana")
        _info, secret = engine.create_token(actor="ana", name="ci")
        assert engine.identify_token(secret).person == "ana"
        assert engine.identify_proxy(" ANA ").person == "ana"
        with pytest.raises(Unauthenticated):
            engine.identify_proxy("nobody")
