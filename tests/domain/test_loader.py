"""The template loader: built-ins load as written; bad input is refused with file:line and a sentence."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from workflow.domain.templates import schema
from workflow.domain.templates.definition import Definition
from workflow.domain.templates.loader import TemplateYamlLoader, builtin_paths, load_definition, load_file
from workflow.errors import DefinitionError, Problem

BUILTINS = ("large-agency", "digital-agency", "team-based")

# A small valid template; the bad inputs below are written out in full so their line numbers can be read off.
VALID = """\
key: tiny
title: Tiny
roles:
  lead_role: {title: Lead}
  team: {title: Team}
lead: lead_role
phases:
  - key: build
    title: Build
    tasks:
      lead_role: Plan it
      team: Build it
  - key: qa
    title: QA
    tasks:
      team: Test it
    gate:
      title: QA sign-off
      approvers: [lead_role, team]
      on_reject: build
"""


def problems_of(text: str | bytes, source: str = "t.yaml") -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load_definition(text, source)
    assert caught.value.problems, "a DefinitionError must carry at least one problem"
    return caught.value.problems


def only_problem(text: str | bytes) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def doc(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --------------------------------------------------------------------------- the built-ins


@pytest.mark.parametrize(
    ("key", "phases", "roles"),
    [("large-agency", 7, 3), ("digital-agency", 7, 3), ("team-based", 6, 2)],
)
def test_builtin_templates_load_with_their_phases_and_roles(key: str, phases: int, roles: int) -> None:
    definition = load_file(builtin_paths()[key])
    assert definition.key == key
    assert len(definition.phases) == phases
    assert len(definition.roles) == roles
    assert definition.lead == "integrated_producer"
    assert definition.role_keys[0] == "integrated_producer"


def test_builtin_paths_point_into_the_package() -> None:
    import workflow

    paths = builtin_paths()
    assert sorted(paths) == sorted(BUILTINS)
    for key, path in paths.items():
        assert path.parent == Path(workflow.__file__).parent / "definitions"
        assert path.name == f"{key}.yaml"
        assert path.is_file()


def test_builtin_role_keys_are_the_ones_scripts_depend_on() -> None:
    keys = {k: load_file(p).role_keys for k, p in builtin_paths().items()}
    assert keys == {
        "large-agency": ("integrated_producer", "head_of_technology", "project_manager"),
        "digital-agency": ("integrated_producer", "tech_creative_leads", "scrum_master"),
        "team-based": ("integrated_producer", "team"),
    }


@pytest.mark.parametrize("key", BUILTINS)
def test_builtin_task_texts_and_gates_are_exactly_those_in_the_file(key: str) -> None:
    """Compares the loaded Definition with a plain PyYAML reading of the same file."""
    path = builtin_paths()[key]
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    definition = load_file(path)
    assert definition.title == raw["title"]
    assert definition.description == raw.get("description")
    assert [(r.key, r.title) for r in definition.roles] == [(k, v["title"]) for k, v in raw["roles"].items()]
    role_order = list(raw["roles"])
    for phase, raw_phase in zip(definition.phases, raw["phases"], strict=True):
        assert phase.key == raw_phase["key"]
        assert phase.title == raw_phase["title"]
        expected_tasks = sorted(raw_phase.get("tasks", {}).items(), key=lambda kv: role_order.index(kv[0]))
        assert phase.tasks == tuple(expected_tasks)
        raw_gate = raw_phase.get("gate")
        if raw_gate is None:
            assert phase.gate is None
        else:
            assert phase.gate is not None
            assert phase.gate.title == raw_gate["title"]
            assert phase.gate.approvers == tuple(raw_gate["approvers"])
            assert phase.gate.required == raw_gate.get("required", "all")
            assert phase.gate.distinct_people is raw_gate.get("distinct_people", True)
            assert phase.gate.on_reject == raw_gate.get("on_reject", phase.key)


def test_digital_agency_scrum_master_has_no_task_at_client_kickoff() -> None:
    definition = load_file(builtin_paths()["digital-agency"])
    kickoff = definition.phase("client_kickoff")
    assert kickoff is not None
    assert kickoff.task_of("scrum_master") is None
    assert kickoff.task_roles == ("integrated_producer", "tech_creative_leads")


def test_large_agency_task_texts_verbatim() -> None:
    definition = load_file(builtin_paths()["large-agency"])
    sow = definition.phase("sow_estimate")
    assert sow is not None
    assert sow.tasks == (
        ("integrated_producer", "SOW Creation"),
        ("head_of_technology", "SOW & Estimate Review"),
        ("project_manager", "Estimate Creation"),
    )
    assert sow.gate is not None
    assert sow.gate.approvers == ("integrated_producer", "head_of_technology")


def test_qa_gates_send_the_project_back_to_execution() -> None:
    for path in builtin_paths().values():
        qa = load_file(path).phase("production_review_qa")
        assert qa is not None and qa.gate is not None
        assert qa.gate.on_reject == "execution"
        assert qa.gate.required == "all"
        assert qa.gate.distinct_people is True


def test_gate_defaults_are_filled_when_absent() -> None:
    definition = load_definition(VALID)
    gate = definition.phases[1].gate
    assert gate is not None
    assert gate.required == "all"
    assert gate.distinct_people is True
    assert gate.on_reject == "build"
    no_on_reject = load_definition(VALID.replace("      on_reject: build\n", ""))
    assert no_on_reject.phases[1].gate is not None
    assert no_on_reject.phases[1].gate.on_reject == "qa"


def test_tasks_are_ordered_by_the_templates_role_order() -> None:
    text = VALID.replace(
        "      lead_role: Plan it\n      team: Build it\n", "      team: Build it\n      lead_role: Plan it\n"
    )
    assert load_definition(text).phases[0].tasks == (("lead_role", "Plan it"), ("team", "Build it"))


def test_required_and_distinct_people_are_converted_from_text() -> None:
    text = VALID.replace("      on_reject: build\n", "      required: 1\n      distinct_people: false\n")
    gate = load_definition(text).phases[1].gate
    assert gate is not None
    assert gate.required == 1
    assert gate.distinct_people is False
    text_any = VALID.replace("      on_reject: build\n", "      required: any\n")
    gate_any = load_definition(text_any).phases[1].gate
    assert gate_any is not None and gate_any.required == "any"


def test_bytes_with_a_utf8_bom_load() -> None:
    assert load_definition(b"\xef\xbb\xbf" + VALID.encode()).key == "tiny"


def test_load_file_names_the_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("key: [unclosed\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert caught.value.problems[0].source == str(path)
    assert str(path) + ":1:" in str(caught.value)


def test_a_missing_file_is_a_definition_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_file(tmp_path / "nope.yaml")
    assert "cannot read the file" in caught.value.problems[0].message


def test_loader_does_not_import_the_heavy_libraries() -> None:
    """``template validate`` must start fast: the loader imports neither SQLAlchemy, click nor transitions."""
    code = (
        "import sys, workflow.domain.templates.loader\n"
        "heavy = [m for m in ('sqlalchemy', 'click', 'transitions') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_pure_python_yaml_fallback_gives_the_same_answers() -> None:
    """Without libyaml the loader subclasses yaml.SafeLoader; built-ins load and refusals keep their lines."""
    code = textwrap.dedent(
        """
        import yaml
        del yaml.CSafeLoader
        from workflow.errors import DefinitionError
        from workflow.domain.templates.loader import TemplateYamlLoader, builtin_paths, load_definition, load_file
        assert TemplateYamlLoader.__mro__[1] is yaml.SafeLoader
        for path in builtin_paths().values():
            load_file(path)
        for text, line in [("a: &x 1\\nb: *x\\n", 1), ("k: 1\\n---\\nk: 2\\n", 2), ("a: 1\\na: 2\\n", 2)]:
            try:
                load_definition(text)
            except DefinitionError as exc:
                assert exc.problems[0].line == line, exc
            else:
                raise AssertionError(text)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- strings stay strings


@pytest.mark.parametrize(
    "text", ["no", "on", "yes", "off", "0755", "1_000", "1e3", "null", "~", "2024-01-01", "0x1F"]
)
def test_yaml_11_lookalikes_stay_the_text_that_was_written(text: str) -> None:
    """YAML 1.1 would turn these into booleans, numbers, None or dates; a task text keeps its characters."""
    definition = load_definition(VALID.replace("Test it", text))
    assert definition.phases[1].tasks == (("team", text),)
    titled = load_definition(VALID.replace("title: Tiny", f"title: {text}"))
    assert titled.title == text


def test_yaml_loader_subclass_gives_only_strings() -> None:
    data = yaml.load("a: no\nb: [0755, on, ~]\nc: 2024-01-01\n", Loader=TemplateYamlLoader)
    assert data == {"a": "no", "b": ["0755", "on", "~"], "c": "2024-01-01"}


# --------------------------------------------------------------------------- shape


def test_unknown_top_level_key_is_refused_with_the_allowed_keys() -> None:
    problem = only_problem(VALID + "version: 2\n")
    assert problem.line == 21
    assert problem.column == 1
    assert "unknown key 'version'" in problem.message
    assert "allowed: key, title, description, roles, lead, phases" in problem.message


def test_unknown_key_in_a_gate_suggests_the_close_one() -> None:
    missing, problem = problems_of(VALID.replace("      approvers:", "      approver:"))
    assert missing.line == 18
    assert "phase 'qa' gate is missing 'approvers'" in missing.message
    assert problem.line == 19
    assert "phase 'qa' gate has an unknown key 'approver'" in problem.message
    assert "did you mean 'approvers'?" in problem.message


def test_unknown_key_in_a_role_is_refused() -> None:
    problem = only_problem(VALID.replace("team: {title: Team}", "team: {title: Team, colour: red}"))
    assert problem.line == 5
    assert "role 'team' has an unknown key 'colour' (allowed: title, description, external)" in problem.message


def test_unknown_key_in_a_phase_is_refused() -> None:
    problem = only_problem(VALID.replace("    title: Build\n", "    title: Build\n    owner: team\n"))
    assert problem.line == 10
    assert "phase 'build' has an unknown key 'owner'" in problem.message


def test_missing_required_key_is_named() -> None:
    problem = only_problem(VALID.replace("lead: lead_role\n", ""))
    assert problem.line == 1
    assert "is missing 'lead'" in problem.message


def test_a_list_where_a_mapping_belongs_is_refused() -> None:
    problem = only_problem(VALID.replace("    tasks:\n      team: Test it\n", "    tasks: [team]\n"))
    assert problem.line == 15
    assert "phase 'qa' 'tasks' must be a mapping" in problem.message
    assert "not a list" in problem.message


def test_empty_title_is_reported_as_empty() -> None:
    problem = only_problem(VALID.replace("title: Tiny", "title:"))
    assert problem.line == 2
    assert "empty 'title'" in problem.message


def test_invalid_template_key_is_refused() -> None:
    problem = only_problem(VALID.replace("key: tiny", "key: Tiny Template"))
    assert problem.line == 1
    assert "'Tiny Template' is not valid" in problem.message


def test_a_title_over_200_characters_is_refused() -> None:
    problem = only_problem(VALID.replace("title: Build", "title: " + "x" * 201))
    assert problem.line == 9
    assert "201 characters long" in problem.message


def test_a_non_boolean_distinct_people_is_refused() -> None:
    problem = only_problem(VALID.replace("      on_reject: build\n", "      distinct_people: yes\n"))
    assert problem.line == 20
    assert "distinct_people must be true or false" in problem.message


# --------------------------------------------------------------------------- meaning


def test_task_for_an_undeclared_role_is_refused() -> None:
    problem = only_problem(VALID.replace("      team: Test it\n", "      ceo: Test it\n"))
    assert problem.line == 16
    assert problem.message == (
        "phase 'qa' has a task for 'ceo', which is not a declared role (declared: lead_role, team)"
    )


def test_undeclared_approver_is_refused() -> None:
    problem = only_problem(VALID.replace("[lead_role, team]", "[lead_role, ceo]"))
    assert (problem.line, problem.column) == (19, 30)
    assert (
        problem.message == "phase 'qa' gate approver 'ceo' is not a declared role (declared: lead_role, team)"
    )


def test_duplicate_approvers_are_refused() -> None:
    problem = only_problem(VALID.replace("[lead_role, team]", "[team, team]"))
    assert problem.line == 19
    assert "lists approver 'team' twice" in problem.message


def test_required_larger_than_the_approvers_list_is_refused() -> None:
    problem = only_problem(VALID.replace("      on_reject: build\n", "      required: 3\n"))
    assert problem.line == 20
    assert "requires 3 approver roles but lists only 2 approvers" in problem.message


@pytest.mark.parametrize("value", ["0", "-1"])
def test_required_below_one_is_refused(value: str) -> None:
    problem = only_problem(VALID.replace("      on_reject: build\n", f"      required: {value}\n"))
    assert problem.line == 20
    assert "must be at least 1" in problem.message


def test_required_that_is_not_all_any_or_a_number_is_refused() -> None:
    problem = only_problem(VALID.replace("      on_reject: build\n", "      required: most\n"))
    assert problem.line == 20
    assert "must be all, any or a whole number" in problem.message


def test_on_reject_naming_an_unknown_phase_is_refused() -> None:
    problem = only_problem(VALID.replace("on_reject: build", "on_reject: nowhere"))
    assert problem.line == 20
    assert "on_reject 'nowhere' is not a phase of this template (phases: build, qa)" in problem.message


def test_on_reject_naming_a_later_phase_is_refused() -> None:
    text = doc(
        """
        key: tiny
        title: Tiny
        roles:
          team: {title: Team}
        lead: team
        phases:
          - key: build
            title: Build
            gate:
              title: Build sign-off
              approvers: [team]
              on_reject: qa
          - key: qa
            title: QA
            tasks: {team: Test it}
        """
    )
    problem = only_problem(text)
    assert problem.line == 12
    assert "on_reject 'qa' lies after phase 'build'" in problem.message


def test_duplicate_role_keys_are_refused_at_the_second() -> None:
    problem = only_problem(
        VALID.replace("  team: {title: Team}\n", "  team: {title: Team}\n  team: {title: Crew}\n")
    )
    assert (problem.line, problem.column) == (6, 3)
    assert "duplicate key 'team' (first at line 5)" in problem.message


def test_duplicate_phase_keys_are_refused_at_the_second() -> None:
    problem = only_problem(VALID.replace("  - key: qa\n", "  - key: build\n"))
    assert (problem.line, problem.column) == (13, 10)
    assert "phase key 'build' is used twice (first at line 8)" in problem.message


def test_duplicate_yaml_keys_are_refused_with_the_line_of_the_second() -> None:
    problem = only_problem(VALID.replace("    title: QA\n", "    title: QA\n    title: Quality\n"))
    assert problem.line == 15
    assert "duplicate key 'title' (first at line 14)" in problem.message


def test_an_empty_phase_list_is_refused() -> None:
    text = VALID.split("phases:")[0] + "phases: []\n"
    problem = only_problem(text)
    assert problem.line == 7
    assert "'phases' is empty" in problem.message


def test_a_template_without_roles_is_refused() -> None:
    text = VALID.replace("  lead_role: {title: Lead}\n  team: {title: Team}\n", "").replace(
        "roles:", "roles: {}"
    )
    problems = problems_of(text)
    assert problems[0].line == 3
    assert "'roles' is empty; a template needs at least one role" in problems[0].message


def test_a_lead_that_is_not_a_role_is_refused() -> None:
    problem = only_problem(VALID.replace("lead: lead_role", "lead: boss"))
    assert problem.line == 6
    assert "lead 'boss' is not a declared role (declared: lead_role, team)" in problem.message


def test_a_phase_with_neither_tasks_nor_gate_is_refused() -> None:
    problem = only_problem(VALID.replace("    tasks:\n      lead_role: Plan it\n      team: Build it\n", ""))
    assert problem.line == 8
    assert "phase 'build' has neither tasks nor a gate" in problem.message


def test_a_task_text_with_a_line_break_is_refused() -> None:
    problem = only_problem(VALID.replace("team: Test it", 'team: "Test\\nit"'))
    assert problem.line == 16
    assert "one line of text" in problem.message


def test_many_problems_are_reported_at_once_in_file_order() -> None:
    text = (
        VALID.replace("lead: lead_role", "lead: boss")
        .replace("      team: Test it\n", "      ceo: Test it\n")
        .replace("on_reject: build", "on_reject: nowhere")
        + "extra: 1\n"
    )
    problems = problems_of(text)
    assert [p.line for p in problems] == [6, 16, 20, 21]
    assert "lead 'boss'" in problems[0].message
    assert "task for 'ceo'" in problems[1].message
    assert "on_reject 'nowhere'" in problems[2].message
    assert "unknown key 'extra'" in problems[3].message
    assert str(DefinitionError(problems)).startswith("4 problems in the template:\n  t.yaml:6:")


# --------------------------------------------------------------------------- not a template at all


def test_text_that_is_not_yaml_is_refused_with_its_line() -> None:
    problem = only_problem("key: [unclosed")
    assert problem.line == 1
    assert "not valid YAML" in problem.message
    assert "flow sequence" in problem.message


def test_a_yaml_list_instead_of_a_mapping_is_refused() -> None:
    problem = only_problem("- a\n- b\n")
    assert problem.line == 1
    assert "the template must be a mapping" in problem.message


def test_an_empty_file_is_refused() -> None:
    assert "empty" in only_problem("").message
    assert "empty" in only_problem("# only a comment\n").message


@pytest.mark.parametrize("tagged", ["!!python/object/apply:os.system ['echo hi']", "!foo bar", "!!str plain"])
def test_any_tag_is_refused(tagged: str) -> None:
    problem = only_problem(VALID.replace("title: Tiny", f"title: {tagged}"))
    assert problem.line == 2
    assert "tags (" in problem.message
    assert "are not allowed" in problem.message


def test_anchors_and_aliases_are_refused() -> None:
    text = VALID.replace("title: Build", "title: &t Build").replace("title: QA\n", "title: *t\n")
    problems = problems_of(text)
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [(9, "anchors"), (14, "aliases")]


def test_billion_laughs_is_refused_at_the_first_anchor_in_bounded_time() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    bomb = "\n".join(lines) + "\n"
    start = time.perf_counter()
    problems = problems_of(bomb)
    assert time.perf_counter() - start < 1.0
    assert (problems[0].line, problems[0].column) == (1, 5)
    assert "anchors ('&a0') are not allowed" in problems[0].message
    assert len(problems) <= schema.MAX_PROBLEMS + 1


def test_a_second_document_is_refused() -> None:
    problem = only_problem(VALID + "---\nkey: other\n")
    assert problem.line == 21
    assert "second YAML document" in problem.message


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    problem = only_problem("key:\n  a: " + "[" * 20 + "]" * 20 + "\n")
    assert problem.line == 2
    assert f"nested more than {schema.MAX_DEPTH} levels" in problem.message


def test_deep_nesting_of_a_megabyte_is_refused_quickly() -> None:
    start = time.perf_counter()
    problem = only_problem("[" * 1_000_000)
    assert time.perf_counter() - start < 1.0
    assert problem.line == 1
    assert "nested more than" in problem.message


def test_invalid_utf8_is_refused_with_the_line_of_the_bad_byte() -> None:
    data = VALID.encode().replace(b"Test it", b"Test \xff it")
    problem = only_problem(data)
    assert (problem.line, problem.column) == (16, 18)
    assert "not valid UTF-8" in problem.message


def test_a_nul_byte_is_refused() -> None:
    problem = only_problem(VALID.encode().replace(b"Plan it", b"Plan\x00it"))
    assert (problem.line, problem.column) == (11, 22)
    assert "U+0000" in problem.message


def test_other_control_characters_are_refused() -> None:
    problem = only_problem(VALID.replace("Plan it", "Plan\x1bit"))
    assert problem.line == 11
    assert "U+001B" in problem.message


@pytest.mark.parametrize(
    ("escape", "code"),
    [
        ("\\e[31mRED", "U+001B"),
        ("P\\u202e", "U+202E"),
        ("\\x07", "U+0007"),
        ("\\0", "U+0000"),
        ("\\r", "U+000D"),
        ("\\N", "U+0085"),
        ("\\L", "U+2028"),
        ("\\x9b31m", "U+009B"),
        ("\\uFFFE", "U+FFFE"),
        ("a\\u202ab", "U+202A"),
        ("\\u2066x\\u2069", "U+2066"),
        ("\\U0000001b", "U+001B"),
    ],
)
def test_control_characters_written_as_yaml_escapes_are_refused_with_their_line(
    escape: str, code: str
) -> None:
    """The raw text holds only a backslash and letters; the decoded value holds the control character."""
    problem = only_problem(VALID.replace("title: Tiny", f'title: "{escape}"'))
    assert (problem.line, problem.column) == (2, 8)
    assert code in problem.message and "escape" in problem.message


@pytest.mark.parametrize(
    ("written", "escaped"),
    [
        ("  team: Build it", '  team: "Build \\e[2J it"'),  # a task
        ("      title: QA sign-off", '      title: "QA \\a sign-off"'),  # a gate title
        ("  team: {title: Team}", '  "te\\x1bam": {title: Team}'),  # a key
        ("approvers: [lead_role, team]", 'approvers: [lead_role, "team\\0"]'),  # a list item
    ],
)
def test_an_escape_is_refused_in_every_value_and_key(written: str, escaped: str) -> None:
    problems = problems_of(VALID.replace(written, escaped))
    line = VALID.splitlines().index(next(x for x in VALID.splitlines() if written in x)) + 1
    assert any(p.line == line and "written as an escape" in p.message for p in problems), problems


def test_an_escape_that_is_not_a_control_character_is_kept() -> None:
    loaded = load_definition(VALID.replace("title: Tiny", 'title: "Caf\\u00e9 \\u2713 \\"quoted\\""'))
    assert loaded.title == 'Café ✓ "quoted"'


def test_a_multi_line_description_keeps_its_line_breaks_and_tabs() -> None:
    loaded = load_definition(VALID.replace("title: Tiny", 'title: Tiny\ndescription: "one\\n\\ttwo"'))
    assert loaded.description == "one\n\ttwo"


@pytest.mark.parametrize("char", ["\u202a", "\u202e", "\u2066", "\u2069"])
def test_bidi_controls_typed_into_the_file_are_refused(char: str) -> None:
    """Bidi overrides reorder what a reviewer sees ("Trojan Source"), in values and in comments."""
    for text in (VALID.replace("Plan it", f"Plan{char}it"), VALID + f"# a comment {char}\n"):
        problem = only_problem(text)
        assert f"U+{ord(char):04X}" in problem.message


def test_the_pure_python_parser_refuses_an_escaped_surrogate_too() -> None:
    code = textwrap.dedent(
        """
        import yaml
        del yaml.CSafeLoader
        from workflow.errors import DefinitionError
        from workflow.domain.templates.loader import load_definition
        text = 'key: t\\ntitle: "x\\\\ud800"\\n'
        try:
            load_definition(text)
        except DefinitionError as exc:
            assert exc.problems[0].line == 2, exc
        else:
            raise AssertionError("accepted")
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_40_megabyte_input_is_refused_in_bounded_time() -> None:
    huge = b"key: " + b"x" * 40_000_000
    start = time.perf_counter()
    problem = only_problem(huge)
    assert time.perf_counter() - start < 1.0
    assert "1,048,576 bytes" in problem.message


def test_a_40_megabyte_string_is_refused_in_bounded_time() -> None:
    huge = "key: " + "x" * 40_000_000
    start = time.perf_counter()
    problem = only_problem(huge)
    assert time.perf_counter() - start < 1.0
    assert "1 MiB" in problem.message


def test_a_40_megabyte_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(40_000_000)  # sparse: the refusal must come from the size alone
    start = time.perf_counter()
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert time.perf_counter() - start < 1.0
    assert "40,000,000 bytes" in caught.value.problems[0].message


def test_input_of_the_wrong_type_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError):
        load_definition(42)  # type: ignore[arg-type]


def test_the_loaded_definition_is_a_definition() -> None:
    assert isinstance(load_definition(VALID), Definition)


# --------------------------------------------------------------------------- the schema and the loader agree

SAMPLES = {
    "template_key": "sample-template",
    "role_key": "team",
    "phase_key": "build",
    "title": "A title",
    "description": "Some words.\nOn two lines.",
    "roles": {"team": {"title": "Team"}},
    "role_ref": "team",
    "phases": [{"key": "build", "title": "Build", "tasks": {"team": "Build it"}}],
    "tasks": {"team": "Build it"},
    "gate": {"title": "Sign-off", "approvers": ["team"]},
    "role_refs": ["team"],
    "required": "1",
    "boolean": "false",
    "phase_ref": "build",
    "span": "2d",
    "escalate_to": "lead",
    "deliverables": [{"key": "brief", "title": "Brief"}],
    "deliverable_key": "brief",
    "by_roles": ["team"],
    "carry_over": ["note", "name"],
    "duty_refs": ["build.task.team"],  # the one earlier work a one-phase template can name
}
# A key that only means something beside another (whom to escalate to needs when).
COMPANIONS = {"escalate_to": {"escalate_after": "4d"}}


def minimal_document() -> dict:
    def required_only(level: str) -> dict:
        return {name: SAMPLES[f.kind] for name, f in schema.LEVELS[level].items() if f.required}

    document = required_only("template")
    document["roles"] = {"team": required_only("role")}
    document["phases"] = [required_only("phase") | {"tasks": {"team": "Build it"}}]
    return document


def level_of(document: dict, level: str) -> dict:
    return {
        "template": lambda: document,
        "role": lambda: document["roles"]["team"],
        "phase": lambda: document["phases"][0],
        "gate": lambda: document["phases"][0].setdefault(
            "gate", {"title": "Sign-off", "approvers": ["team"]}
        ),
        "deliverable": lambda: document["phases"][0].setdefault(
            "deliverables", [{"key": "brief", "title": "Brief"}]
        )[0],
    }[level]()


def dump(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def test_every_kind_in_the_schema_has_a_converter_in_the_loader() -> None:
    from workflow.domain.templates.loader import _Builder

    used = {f.kind for fields in schema.LEVELS.values() for f in fields.values()}
    assert used | {"role_key"} == set(schema.KINDS)  # role_key: the keys of the roles mapping
    assert set(_Builder("x").converters) == set(schema.KINDS)


def test_the_minimal_document_of_the_schema_loads() -> None:
    definition = load_definition(dump(minimal_document()))
    assert definition.key == "sample-template"
    assert definition.phases[0].tasks == (("team", "Build it"),)


@pytest.mark.parametrize(
    ("level", "name"), [(level, name) for level, fields in schema.LEVELS.items() for name in fields]
)
def test_every_key_the_schema_allows_is_accepted_by_the_loader(level: str, name: str) -> None:
    document = minimal_document()
    level_of(document, level)[name] = SAMPLES[schema.LEVELS[level][name].kind]
    level_of(document, level).update(COMPANIONS.get(name, {}))
    load_definition(dump(document))


@pytest.mark.parametrize(
    ("level", "name"),
    [(level, name) for level, fields in schema.LEVELS.items() for name, f in fields.items() if f.required],
)
def test_every_key_the_schema_requires_is_required_by_the_loader(level: str, name: str) -> None:
    document = minimal_document()
    del level_of(document, level)[name]
    messages = [p.message for p in problems_of(dump(document))]
    assert any(f"is missing '{name}'" in m for m in messages), messages


@pytest.mark.parametrize("level", list(schema.LEVELS))
def test_a_key_the_schema_does_not_allow_is_refused_at_every_level(level: str) -> None:
    document = minimal_document()
    level_of(document, level)["not_in_schema"] = "x"
    problem = only_problem(dump(document))
    assert "unknown key 'not_in_schema'" in problem.message
    assert f"(allowed: {', '.join(schema.allowed_keys(level))})" in problem.message


@pytest.mark.parametrize("key", BUILTINS)
def test_builtins_round_trip_through_the_schema(key: str) -> None:
    """A built-in, written back to YAML from its Definition with the schema's keys, loads unchanged."""
    definition = load_file(builtin_paths()[key])
    document: dict = {"key": definition.key, "title": definition.title, "description": definition.description}
    document["roles"] = {r.key: {"title": r.title} for r in definition.roles}
    document["lead"] = definition.lead
    document["phases"] = []
    for phase in definition.phases:
        item: dict = {"key": phase.key, "title": phase.title, "tasks": dict(phase.tasks)}
        if phase.gate is not None:
            item["gate"] = {
                "title": phase.gate.title,
                "approvers": list(phase.gate.approvers),
                "required": str(phase.gate.required),
                "distinct_people": "true" if phase.gate.distinct_people else "false",
                "on_reject": phase.gate.on_reject,
            }
        if phase.deliverables:
            item["deliverables"] = [{"key": d.key, "title": d.title, "by": list(d.by),
                                     "required": "true" if d.required else "false"}
                                    for d in phase.deliverables]
        document["phases"].append(item)
    for fields in (document, *document["roles"].values(), *document["phases"]):
        assert set(fields) <= set().union(*(schema.allowed_keys(level) for level in schema.LEVELS))
    assert load_definition(dump(document)) == definition


@pytest.mark.parametrize("reserved", ["on_hold", "completed", "cancelled"])
def test_a_phase_may_not_take_the_name_of_a_project_status(reserved: str) -> None:
    """The compiled machine has states named after these statuses; a phase of that name would collide."""
    text = (
        "key: t\ntitle: T\nroles:\n  lead: {title: Lead}\nlead: lead\nphases:\n"
        f"  - key: {reserved}\n    title: X\n    tasks:\n      lead: Do it\n"
    )
    with pytest.raises(DefinitionError) as caught:
        load_definition(text, source="t.yaml")
    (problem,) = caught.value.problems
    assert problem.line == 7 and "reserved" in problem.message


@pytest.mark.parametrize("key", ["large-agency", "digital-agency", "team-based"])
def test_a_compiled_definition_round_trips_through_its_stored_json(key: str) -> None:
    """The engine stores the compiled definition as JSON and reads it back instead of the YAML."""
    import json

    from workflow.domain.templates.definition import definition_from_dict, definition_to_dict

    definition = load_file(builtin_paths()[key])
    stored = json.dumps(definition_to_dict(definition))
    assert definition_from_dict(json.loads(stored)) == definition


def test_an_empty_approvers_list_is_called_empty_not_a_list() -> None:
    """Issue 12: "must be a non-empty list of declared role keys, not a list" contradicted itself."""
    text = (
        "key: t\ntitle: T\nroles:\n  a: {title: A}\nlead: a\nphases:\n  - key: p\n    title: P\n"
        "    tasks: {a: do}\n    gate:\n      title: G\n      approvers: []\n"
    )
    with pytest.raises(DefinitionError) as caught:
        load_definition(text, source="t.yaml")
    (problem,) = caught.value.problems
    assert problem.message.endswith("must be a non-empty list of declared role keys, not an empty list")
