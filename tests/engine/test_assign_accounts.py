"""Issue 21 item 6: where the database has accounts, a role goes only to a person who has one (a typo
such as ``bne`` for ``ben`` is refused with the close names); without any account, any name, as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow import Engine
from workflow.errors import NotFound


def _project(engine: Engine) -> None:
    engine.init(admin="ana")
    engine.create_project("P-1", template="team-based", actor="ana")


def test_an_unknown_login_is_refused_not_found_with_the_close_logins(tmp_path: Path) -> None:
    with Engine(f"sqlite:///{tmp_path}/a.db") as engine:
        _project(engine)
        for login in ("ana", "ben", "cy"):
            engine.add_user(login, actor="ana")
        with pytest.raises(NotFound) as refused:
            engine.assign("P-1", "team", "bne", actor="ana")
        assert str(refused.value) == "no account 'bne'; did you mean ben?"
        assert (refused.value.exit_code, refused.value.http_status) == (3, 404)
        with pytest.raises(NotFound) as far:
            engine.assign("P-1", "team", "zzzz", actor="ana")
        assert str(far.value) == "no account 'zzzz'"  # nothing close: no suggestion
        assert engine.status("P-1").team.get("team", []) == []  # nothing was assigned
        engine.assign("P-1", "team", "ben", actor="ana")
        assert engine.status("P-1").team["team"] == ["ben"]


def test_a_disabled_account_still_exists_for_an_assignment(tmp_path: Path) -> None:
    with Engine(f"sqlite:///{tmp_path}/d.db") as engine:
        _project(engine)
        engine.add_user("ana", actor="ana")
        engine.add_user("ben", actor="ana")
        engine.disable_user("ben", actor="ana")
        engine.assign("P-1", "team", "ben", actor="ana")
        assert engine.assignable(most=10) == [("ana", None)]  # a picker offers the active ones


def test_a_database_without_accounts_assigns_any_name_as_before(tmp_path: Path) -> None:
    with Engine(f"sqlite:///{tmp_path}/n.db") as engine:
        _project(engine)
        engine.assign("P-1", "team", "bne", actor="ana")
        assert engine.status("P-1").team["team"] == ["bne"]
        assert engine.assignable(most=10) == []
