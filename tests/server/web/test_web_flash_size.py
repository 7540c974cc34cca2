"""A refusal carried across a form's redirect fits in its cookie (issue 21): browsers drop a cookie
past about 4 KB without a word, and the person would see no refusal at all. A long sentence with many
blockers, in a script JSON escapes six bytes a letter, is cut to fit with an ellipsis, never lost."""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path

from support.apiclients import api

from workflow import Engine
from workflow.server.web import flash

PASSWORD = "correct horse battery"
# Ten roles whose titles are long and Cyrillic (JSON writes each letter as six bytes: \u0420…)
ROLES = {f"r{n}": f"Руководитель направления качества и сопровождения проекта номер {n}" for n in range(10)}
TEMPLATE = "\n".join([
    "key: long-titles",
    "title: Long titles",
    "roles:",
    "  lead: {title: Lead}",
    *(f"  {key}: {{title: {title}}}" for key, title in ROLES.items()),
    "lead: lead",
    "phases:",
    "  - key: first",
    "    title: First",
    "    tasks:",
    *(f"      {key}: Проверить все материалы проекта и подписать акт приёмки {key}" for key in ROLES),
    "    gate:",
    "      title: First sign-off",
    f"      approvers: [{', '.join(ROLES)}]",
    "      required: all",
    "  - key: second",
    "    title: Second",
    "    tasks:",
    "      lead: Close",
    "",
])


def test_a_refusal_with_many_long_blockers_fits_its_cookie_and_is_shown(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/f.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
        engine.add_user("ana", actor="ana")
        engine.set_password("ana", PASSWORD, actor="ana")
        engine.publish_template(TEMPLATE, actor="ana")
        engine.create_project("L-1", template="long-titles", actor="ana")
        engine.assign("L-1", "lead", "ana", actor="ana")
    with api(url) as client:
        csrf = client.post("/api/v1/me/session", json={"login": "ana", "password": PASSWORD}).json()["csrf"]
        refused = client.post("/projects/L-1/do", data={"csrf": csrf, "action": "advance", "seq": "2",
                                                         "request_id": "r-1"})
        assert refused.status_code == 303, refused.text[:300]
        cookie = SimpleCookie(refused.headers["set-cookie"])[flash.COOKIE]
        assert len(f"{flash.COOKIE}={cookie.value}") < 4000, len(cookie.value)
        page = client.get("/projects/L-1").text
        alert = page[page.index('role="alert"'):]
        alert = alert[:alert.index("</div>")]
        assert "L-1" in alert and "<li>" in alert  # the sentence and blockers, as many as fit
        assert "…" in alert  # what was cut says so


def test_a_notice_or_error_of_any_length_is_cut_never_dropped() -> None:
    said = {"error": "я" * 5000, "blockers": ["ж" * 300] * 12, "notice": None, "draft": {"reason": "щ" * 300}}
    value = flash.encode(said, key="k" * 43)
    assert len(f"{flash.COOKIE}={value}".encode()) < flash.COOKIE_BYTES
    kept = flash.decode(value, key="k" * 43)
    assert kept is not None and kept.error and kept.error.startswith("я") and kept.error.endswith("…")
    assert kept.blockers and kept.blockers[-1].startswith("… and ")  # how many were left out
    notice = flash.decode(flash.encode({"notice": "ok " * 3000}, key="k"), key="k")
    assert notice is not None and notice.notice and notice.notice.endswith("…")
