"""The API's models and the web forms take their longest values from workflow/domain/inputs.py."""

from __future__ import annotations

import re

import pytest

from workflow.domain import inputs
from workflow.server.api.people import PersonIn
from workflow.server.web.render import FOLDER, environment


def test_the_web_forms_and_the_api_take_the_same_most() -> None:
    assert environment().globals["most"] == {"code": inputs.CODE_MAX, "person": inputs.PERSON_MAX,
                                             "line": inputs.LINE_MAX, "text": inputs.TEXT_MAX}
    fields = PersonIn.model_fields
    assert [m.max_length for m in fields["login"].metadata if hasattr(m, "max_length")] == [inputs.PERSON_MAX]
    assert [m.max_length for m in fields["name"].metadata if hasattr(m, "max_length")] == [inputs.LINE_MAX]


@pytest.mark.parametrize("template", ["audit.html", "board.html", "people.html", "tokens.html"])
def test_these_forms_write_no_length_of_their_own(template: str) -> None:
    text = (FOLDER / "templates" / template).read_text(encoding="utf-8")
    literal = [n for n in re.findall(r'maxlength="(\d+)"', text) if n != "320"]  # e-mail: RFC 5321's 320
    assert literal == []
