"""Issue 21 item 6 over HTTP: ``PUT /projects/{code}/team/{role}/{person}`` for a login without an account
is answered 404 with the sentence that names the close logins, and changes nothing."""

from __future__ import annotations

from pathlib import Path

from support.apiclients import api, bearer, error_of, unchanged_dump
from support.servers import people

from workflow import Engine


def test_assigning_a_login_without_an_account_is_404_with_did_you_mean(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/h.db"
    with Engine(url) as engine:
        tokens = people(engine, {"ben": ()}, admin="ana")
        engine.create_project("P-1", template="team-based", actor="ana")
        before = unchanged_dump(engine)
        with api(url) as client:
            typo = client.put("/api/v1/projects/P-1/team/team/bne", headers=bearer(tokens["ana"]))
            assert typo.status_code == 404, typo.text
            assert error_of(typo) == {"kind": "not_found", "message": "no account 'bne'; did you mean ben?"}
            assert unchanged_dump(engine) == before
            done = client.put("/api/v1/projects/P-1/team/team/ben", headers=bearer(tokens["ana"]))
            assert done.status_code == 200, done.text
