"""Error kinds are declared once, on the error classes (workflow/errors.py); the API's description of
its answers is derived from them."""

from __future__ import annotations

from support.docs_reference import page

from workflow import errors
from workflow.server.api.common import ERRORS, GONE, MOVED_ON, THROTTLED
from workflow.server.errors import _KINDS as FRAMEWORK_KINDS


def test_every_kind_an_error_class_names_is_documented_under_its_status() -> None:
    documented = {**ERRORS, **MOVED_ON, **THROTTLED, **GONE}
    for kind, cls in errors.KINDS.items():
        assert cls.http_status in documented, kind
        assert kind in documented[cls.http_status]["description"], kind


def test_a_status_lists_the_kinds_of_every_class_answered_with_it() -> None:
    assert errors.kinds_answered_with(409) == ["refused", "conflict", "audit_broken", "unsignable"]
    assert errors.kinds_answered_with(400) == ["bad_input"]  # BadRequest: a 400 of the bad_input kind
    assert errors.kinds_answered_with(418) == []


def test_the_frameworks_own_refusals_carry_kinds_the_classes_declare() -> None:
    assert set(FRAMEWORK_KINDS.values()) <= set(errors.ALL_KINDS)


def test_the_docs_error_reference_is_the_declared_error_classes() -> None:
    """docs/reference/errors.md shows `errors.markdown_table()`, generated when the site is built (the
    README no longer carries the table); tests/docs/test_reference_errors.py checks each row."""
    assert errors.markdown_table() in page("errors")
