"""Deliverables in the domain (issue 23): the template keys and their refusals with the line, the
compiled form with and without them, the media types read from the bytes, and the digests an
approval is sent with."""

from __future__ import annotations

import pytest
from support.deliverables import SIGNED_SOW, pdf, xlsx

from workflow.domain.deliverables import digests, sniff
from workflow.domain.templates.definition import definition_from_dict, definition_to_dict
from workflow.domain.templates.loader import builtin_paths, load_definition, load_file
from workflow.errors import DefinitionError, UsageError


def test_the_issues_example_loads_with_by_defaulting_to_the_task_roles_and_the_lead() -> None:
    definition = load_definition(SIGNED_SOW)
    sow = definition.phases[0]
    assert [(d.key, d.by, d.required, d.carry_over) for d in sow.deliverables] == [
        ("sow_doc", ("integrated_producer",), True, ()),
        ("estimate", ("project_manager",), True, ("note", "name")),
        ("moodboard", ("integrated_producer", "team"), False, ()),
    ]
    defaulted = load_definition(SIGNED_SOW.replace(", by: [integrated_producer, team], required: false", ""))
    moodboard = defaulted.phases[0].deliverable("moodboard")
    assert moodboard is not None
    assert moodboard.by == ("integrated_producer", "project_manager")  # the tasks' roles; the lead among them
    assert moodboard.required is True  # the default


def test_the_compiled_form_carries_deliverables_and_an_older_one_without_them_loads() -> None:
    definition = load_definition(SIGNED_SOW)
    assert definition_from_dict(definition_to_dict(definition)) == definition
    old = definition_to_dict(load_file(builtin_paths()["team-based"]))
    for phase in old["phases"]:
        phase.pop("deliverables", None)  # as migration 0003 stored it, before issue 23
    assert all(p.deliverables == () for p in definition_from_dict(old).phases)


def test_the_built_ins_declare_their_documents() -> None:
    for key in ("large-agency", "digital-agency", "team-based"):
        definition = load_file(builtin_paths()[key])
        keys = {d.key for p in definition.phases for d in p.deliverables}
        assert keys == {"sow_doc", "estimate", "technical_audit", "qa_report"}, key
        assert not any(d.required for p in definition.phases for d in p.deliverables)


@pytest.mark.parametrize(("line", "message"), [
    ("      - {key: a, title: A, by: [nobody]}", "deliverable 'a' by 'nobody' is not a declared role"),
    ("      - {key: a, title: A, by: [team, team]}", "by lists 'team' twice"),
    ("      - {key: a, title: A, required: maybe}", "required must be true or false"),
    ("      - {key: a, title: A, carry_over: [bytes]}", "carry_over may name note and name only"),
    ("      - {key: A!, title: A}", "key 'A!' is not valid"),
    ("      - {key: a}", "is missing 'title'"),
    ("      - {key: a, title: A, owner: x}", "unknown key 'owner'"),
])
def test_each_bad_deliverable_is_refused_at_its_line(line: str, message: str) -> None:
    text = SIGNED_SOW.replace("      - {key: moodboard, title: Mood board, by: [integrated_producer, team], "
                              "required: false}", line)
    with pytest.raises(DefinitionError) as refused:
        load_definition(text, "t.yaml")
    problems = [p for p in refused.value.problems if message in p.message]
    assert problems, refused.value.problems
    assert problems[0].line == 18  # the moodboard's line


def test_a_key_declared_twice_in_a_phase_is_refused() -> None:
    text = SIGNED_SOW.replace("key: moodboard", "key: estimate")
    with pytest.raises(DefinitionError, match="declares the deliverable 'estimate' twice"):
        load_definition(text)


SNIFFED = [
    (pdf(), "application/pdf"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 20, "image/jpeg"),
    (b"GIF89a" + b"\0" * 20, "image/gif"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
    (xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"PK\x03\x04" + b"\0" * 26 + b"word/document.xml", "application/vnd.openxmlformats-officedocument"
                                                         ".wordprocessingml.document"),
    (b"PK\x03\x04" + b"\0" * 26 + b"other.txt", "application/zip"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
    (b"  <!DOCTYPE html><script>alert(1)</script>", "text/html"),
    ("a plain estimate, 12 000 €".encode(), "text/plain"),
    (b"\x00\x01\x02binary", "application/octet-stream"),
]


# Named by the media type: the PDF and the workbook are random bytes, and a test's name must be the same
# in every process that collects it (pytest-xdist's workers compare their lists).
@pytest.mark.parametrize(("head", "media"), SNIFFED, ids=[media for _, media in SNIFFED])
def test_the_media_type_is_read_from_the_bytes(head: bytes, media: str) -> None:
    assert sniff(head) == media


def test_digests_read_from_text_or_a_mapping() -> None:
    a, b = "a" * 64, "B" * 64
    assert digests(f"estimate={a} sow_doc={b}") == {"estimate": a, "sow_doc": b.lower()}
    assert digests(f"estimate={a},sow_doc={b}") == digests({"estimate": a, "sow_doc": b})
    assert digests(None) is None and digests("") is None
    for bad in ("estimate", f"Estimate={a}", "estimate=abc", {"estimate": 3}):
        with pytest.raises(UsageError):
            digests(bad)
