"""The Assign form picks from the people who have an account (issue 21, item 6): a select when they
are few, a field suggesting their names when many; a name without an account is refused on the
page with the close names (POST, 303, GET with the alert)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from support.browser import Site, press

pytestmark = pytest.mark.slow  # Chromium against a real `phasegate serve`

CODE = "PICK-1"


def assign_form(site: Site, login: str) -> object:
    with site.engine() as engine:
        engine.create_project(CODE, template="team-based", actor="root")
    page = site.open(login, javascript=False)
    page.goto(f"/projects/{CODE}")
    return page


def test_assign_picks_a_person_from_a_select_of_the_accounts(site: Site) -> None:
    page = assign_form(site, "root")
    form = page.get_by_role("form", name="Assign someone to a role")
    person = form.get_by_role("combobox", name="Person")
    expect(person.locator("option")).to_have_text(["ana (Ana)", "ben (Ben)", "cy (Cy)", "dee (Dee)", "root (Root)"])
    form.get_by_role("combobox", name="Role").select_option(label="Team")
    person.select_option(label="ben (Ben)")
    answer = press(form.get_by_role("button", name="Assign"))
    assert answer is not None and answer.status == 303
    team = page.get_by_role("region", name="Team")
    expect(team.get_by_role("row", name=re.compile("^Team"))).to_contain_text("ben")
    with site.engine() as engine:
        assert engine.status(CODE).team["team"] == ["ben"]


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_among_many_people_a_typo_is_refused_on_the_page_with_did_you_mean(site: Site, javascript: bool
                                                                           ) -> None:
    with site.engine() as engine:
        for n in range(40):
            engine.add_user(f"extra{n:02d}", actor="root")
        engine.create_project(CODE, template="team-based", actor="root")
    page = site.open("root", javascript=javascript)
    page.goto(f"/projects/{CODE}")
    form = page.get_by_role("form", name="Assign someone to a role")
    person = form.get_by_role("combobox", name="Person")  # a field with a list of suggestions
    suggestions = page.locator(f"datalist#{person.get_attribute('list')} option")
    expect(suggestions).to_have_count(45)
    form.get_by_role("combobox", name="Role").select_option(label="Team")
    person.fill("bne")
    answer = press(form.get_by_role("button", name="Assign"))
    assert answer is not None and answer.status == 303
    expect(page).to_have_url(re.compile(rf"/projects/{CODE}$"))
    expect(page.get_by_role("alert")).to_contain_text("no account 'bne'; did you mean ben?")
    with site.engine() as engine:
        assert engine.status(CODE).team.get("team", []) == []
