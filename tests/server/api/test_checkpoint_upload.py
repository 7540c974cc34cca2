"""The endpoints `phasegate --server` needed: verify against an uploaded checkpoint, and the bounds it meets.

``POST /audit/verify`` takes a checkpoint file's text as its body (the file stays with
the auditor; the server checks its digest, its signature when it has the key, and then
its chains); ``POST /audit/checkpoint`` takes ``jobs`` as ``audit checkpoint --jobs``
does; ``history?last=`` goes as far as ``history --last``; a new token's answer has
every field ``token create --json`` prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.servers import people

from workflow import Engine
from workflow.server.api import audit as audit_api
from workflow.server.app import create_app
from workflow.server.settings import Settings

pytestmark = pytest.mark.slow  # a fresh server database, signed checkpoints and large uploads per test: 0.8 s a test (measured 2026-12-07)


@pytest.fixture
def api(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with Engine(db_url) as engine:
        tokens = people(engine, {"olga": ("auditor",), "ben": ()})
        engine.create_project("A-1", template="team-based", actor="root")
        engine.assign("A-1", "integrated_producer", "ben", actor="root")
    with TestClient(create_app(Settings(db=db_url, access_log=False))) as client:
        yield client, tokens


def as_(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


def checkpoint_text(client: TestClient, token: str) -> str:
    made = client.post("/api/v1/audit/checkpoint", params={"jobs": 1}, headers=as_(token))
    assert made.status_code == 200, made.text
    return made.text


def test_verify_holds_the_chains_to_an_uploaded_checkpoint(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    text = checkpoint_text(client, tokens["olga"])
    verified = client.post("/api/v1/audit/verify", content=text, headers=as_(tokens["olga"]))
    assert verified.status_code == 200, verified.text
    report: dict[str, Any] = verified.json()
    assert report["ok"] is True and report["checkpoint_chains"] == 2 and report["checkpoint_signature"] == "none"
    one = client.post("/api/v1/audit/verify", params={"project": "A-1", "jobs": 1}, content=text,
                      headers=as_(tokens["olga"]))
    assert one.json()["chains_checked"] == 1


@pytest.mark.parametrize("body, status, kind, words", [
    ("not json at all", 422, "bad_input", "is not a phasegate checkpoint"),
    ('{"format": "phasegate-checkpoint", "version": 1, "created_at": "2020-01-01T00:00:00.000000Z", '
     '"chains": [], "digest": "sha256:' + "0" * 64 + '"}', 409, "audit_broken", "digest does not match"),
    (b"\xff\xfe", 422, "bad_input", "not UTF-8"),
])
def test_a_body_that_is_no_intact_checkpoint_is_refused_with_a_sentence(
    api: tuple[TestClient, dict[str, str]], body: str | bytes, status: int, kind: str, words: str
) -> None:
    client, tokens = api
    answer = client.post("/api/v1/audit/verify", content=body, headers=as_(tokens["olga"]))
    assert answer.status_code == status
    assert answer.json()["error"]["kind"] == kind and words in answer.json()["error"]["message"]


def test_a_checkpoint_bigger_than_any_checkpoint_is_refused_before_it_is_read_whole(
    api: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, tokens = api
    monkeypatch.setattr(audit_api, "CHECKPOINT_MAX_BYTES", 100)
    answer = client.post("/api/v1/audit/verify", content="x" * 101, headers=as_(tokens["olga"]))
    assert answer.status_code == 422 and "larger than a checkpoint can be" in answer.json()["error"]["message"]


def test_only_admins_and_auditors_verify_and_jobs_are_bounded(api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    text = checkpoint_text(client, tokens["olga"])
    assert client.post("/api/v1/audit/verify", content=text, headers=as_(tokens["ben"])).status_code == 403
    assert client.post("/api/v1/audit/verify", content=text).status_code == 401
    assert client.post("/api/v1/audit/checkpoint", headers=as_(tokens["ben"])).status_code == 403
    assert client.post("/api/v1/audit/checkpoint", params={"jobs": 0}, headers=as_(tokens["olga"])).status_code == 422


def test_history_last_goes_as_far_as_the_cli_option_and_a_new_token_has_every_field(
    api: tuple[TestClient, dict[str, str]]
) -> None:
    client, tokens = api
    newest = client.get("/api/v1/projects/A-1/history", params={"last": 5000}, headers=as_(tokens["ben"]))
    assert newest.status_code == 200 and [e["seq"] for e in newest.json()["events"]] == [1, 2]
    made = client.post("/api/v1/me/tokens", json={"name": "laptop"}, headers=as_(tokens["ben"]))
    assert made.status_code == 201
    assert made.json()["last_used_at"] is None and made.json()["revoked_at"] is None


def test_the_checkpoint_is_signed_with_the_servers_key_and_checked_with_it(
    api: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, tokens = api
    unsigned = checkpoint_text(client, tokens["olga"])
    monkeypatch.setenv("PHASEGATE_CHECKPOINT_KEY", "the server's secret")
    signed = checkpoint_text(client, tokens["olga"])
    assert '"signature"' in signed and '"signature"' not in unsigned
    ok = client.post("/api/v1/audit/verify", content=signed, headers=as_(tokens["olga"]))
    assert ok.json()["checkpoint_signature"] == "checked"
    refused = client.post("/api/v1/audit/verify", content=unsigned, headers=as_(tokens["olga"]))
    assert refused.status_code == 409 and "a signed checkpoint is required" in refused.json()["error"]["message"]
