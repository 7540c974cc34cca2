"""The longest values a person may type are declared once (workflow/domain/inputs.py) and used by the
checks (tests/server/test_form_lengths.py: by the API's models and the web forms too)."""

from __future__ import annotations

import pytest

from workflow.domain import inputs, limits
from workflow.errors import UsageError


def test_a_code_and_a_login_name_are_refused_one_character_past_their_most() -> None:
    assert inputs.project_code("A" * inputs.CODE_MAX) == "A" * inputs.CODE_MAX
    assert inputs.person("a" * inputs.PERSON_MAX) == "a" * inputs.PERSON_MAX
    with pytest.raises(UsageError):
        inputs.project_code("A" * (inputs.CODE_MAX + 1))
    with pytest.raises(UsageError):
        inputs.person("a" * (inputs.PERSON_MAX + 1))


def test_free_text_is_the_declared_limit() -> None:
    assert limits.TEXT.default == inputs.TEXT_MAX
