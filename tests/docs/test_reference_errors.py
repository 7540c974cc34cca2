"""The errors reference: every error class says when it is raised (its docstring), and the generated
page gives each one's exit code, HTTP status and kind, and every kind an error body can carry."""

from __future__ import annotations

from support.docs_reference import page

from workflow import errors


def test_every_error_class_says_when_it_is_raised() -> None:
    classes = errors.every_error_class()
    assert len(classes) > 10
    for cls in classes:
        assert (cls.__doc__ or "").strip(), f"{cls.__name__}: a docstring saying when it is raised"


def test_the_reference_gives_every_class_its_exit_code_status_and_kind() -> None:
    shown = page("errors")
    assert errors.markdown_table() in shown
    for cls in errors.every_error_class():
        assert f"| `{cls.__name__}` | {cls.exit_code} | {cls.http_status} | `{cls.kind}` |" in shown
    for kind in errors.ALL_KINDS:
        assert f"`{kind}`" in shown
