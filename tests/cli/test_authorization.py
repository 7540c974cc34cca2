"""Who may do what: every kind of person against every command, through the command line.

Only the pairs the contract allows succeed (product.md's "who" column: admins create
projects, grant and publish; admins and the lead assign; holders of a role do its task and
sign its gate; the lead moves the project; the team, admins and auditors read a project;
admins and auditors verify and export; auditors change nothing; people with no role and
no grant cannot read a project). Every refused attempt exits 4 and changes nothing: a
dump of every table is the same before and after.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.invariants import dump

from workflow import Engine
from workflow.cli import cli
from workflow.domain.commands import COMMANDS
from workflow.domain.templates.loader import builtin_paths
from workflow.domain.templates.variants import variant_source

# The people: the admin, an auditor, the lead (Integrated Producer), the holder of the role the
# commands name (Head of Technology), a team member without it (Project Manager), an outsider.
PEOPLE = {
    "admin": "root",
    "auditor": "aud",
    "lead": "lee",
    "holder": "hol",
    "member": "mem",
    "outsider": "out",
}
TEAM = {"integrated_producer": "lee", "head_of_technology": "hol", "project_manager": "mem"}
EVERYONE = set(PEOPLE)
READERS = {"admin", "auditor", "lead", "holder", "member"}

# command -> (arguments, who may run it)
MATRIX: dict[str, tuple[list[str], set[str]]] = {
    "project create": (["project", "create", "NEW-1", "--template", "team-based"], {"admin"}),
    "project assign": (["project", "assign", "T", "project_manager", "newbie"], {"admin", "lead"}),
    "project unassign": (["project", "unassign", "T", "project_manager", "mem"], {"admin", "lead"}),
    "project status": (["project", "status", "T"], READERS),
    "project list": (["project", "list"], EVERYONE),
    "task done": (["task", "done", "T", "head_of_technology", "--note", "n"], {"holder"}),
    "task reopen": (["task", "reopen", "A", "head_of_technology", "--reason", "r"], {"holder", "lead"}),
    "approve": (["approve", "A", "head_of_technology", "--comment", "c"], {"holder"}),
    "reject": (["reject", "A", "head_of_technology", "--reason", "r"], {"holder"}),
    "withdraw": (["withdraw", "V", "head_of_technology"], {"holder"}),
    "advance": (["advance", "V"], {"lead"}),
    "hold": (["hold", "H", "--reason", "r"], {"lead"}),
    "resume": (["resume", "R"], {"lead"}),
    "cancel": (["cancel", "H", "--reason", "r"], {"lead"}),
    "history": (["history", "T"], READERS),
    "project due": (["project", "due", "T", "client_kickoff", "2027-01-15", "--reason", "r"], {"lead"}),
    "template publish": (["template", "publish", "{template}"], {"admin"}),
    "grant": (["grant", "newbie", "auditor"], {"admin"}),
    "revoke": (["revoke", "aud", "auditor"], {"admin"}),
    "audit verify": (["audit", "verify"], {"admin", "auditor"}),
    "audit verify one": (["audit", "verify", "T"], {"admin", "auditor"}),
    "audit export": (["audit", "export"], {"admin", "auditor"}),
    # outside signers (issue 24): K is on large-agency-client, its client invited once
    "invite new": (["invite", "K", "client", "--email", "b@acme.example"], {"admin", "lead"}),
    "invite revoke": (["invite", "revoke", "K", "{invitation}"], {"admin", "lead"}),
}




def test_every_project_command_of_the_table_has_its_row() -> None:
    """A new project command (workflow/domain/commands.py) fails here until the matrix says who may run it."""
    assert sorted({" ".join(cmd.cli) for cmd in COMMANDS.values()} - set(MATRIX)) == []


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Projects staffed alike, each in the state its command needs: T (tasks open), A (the
    Head of Technology's approval missing), V (ready to advance), H (active), R (on hold)."""
    path = tmp_path_factory.mktemp("authz") / "base.db"
    with Engine(f"sqlite:///{path}") as engine:
        engine.init(admin="root")
        engine.grant("aud", "auditor", actor="root")
        for code in ("T", "A", "V", "H", "R"):
            engine.create_project(code, template="large-agency", actor="root")
            for role, person in TEAM.items():
                engine.assign(code, role, person, actor="root")
        for code in ("A", "V"):
            for role, person in TEAM.items():
                engine.complete_task(code, role, actor=person)
            engine.approve(code, "integrated_producer", actor="lee")
            engine.approve(code, "project_manager", actor="mem")
        engine.approve("V", "head_of_technology", actor="hol")
        engine.hold("R", actor="lee", reason="client away")
        engine.publish_template(variant_source("large-agency-client"), actor="root")
        engine.create_project("K", template="large-agency-client", actor="root")
        for role, person in TEAM.items():
            engine.assign("K", role, person, actor="root")
        engine.invite("K", "client", email="buyer@acme.example", actor="root")
    yield path


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("command", list(MATRIX))
def test_only_the_allowed_people_run_each_command_and_a_refusal_changes_nothing(
    base_db: Path, tmp_path: Path, command: str, person: str
) -> None:
    db = tmp_path / "phasegate.db"
    shutil.copy(base_db, db)
    url = f"sqlite:///{db}"
    template = tmp_path / "team-based.yaml"
    template.write_text(
        builtin_paths()["team-based"]
        .read_text(encoding="utf-8")
        .replace("title: Integrated Project Management - Team Based", "title: Team Based, revised"),
        encoding="utf-8",
    )
    args, allowed = MATRIX[command]
    args = [a.replace("{template}", str(template)) for a in args]
    with Engine(url) as engine:
        before = dump(engine)
        args = [a.replace("{invitation}", engine.invitations("K")[0].id) for a in args]
    result = CliRunner().invoke(cli, ["--db", url, "--as", PEOPLE[person], *args], prog_name="phasegate")
    assert "Traceback" not in result.output
    with Engine(url) as engine:
        after = dump(engine)
    if person in allowed:
        assert result.exit_code == 0, f"{person} may run {command}: {result.output}"
    else:
        assert result.exit_code == 4, (
            f"{person} may not run {command}: exit {result.exit_code}, {result.output}"
        )
        assert result.output.startswith("Error: ") and PEOPLE[person] in result.output
        assert after == before, f"a refused {command} by {person} changed nothing"
    readonly = command in (
        "project status",
        "project list",
        "history",
        "audit verify",
        "audit verify one",
        "audit export",
    )
    if readonly or person == "auditor":
        assert after == before, "reading and auditing change nothing"


@pytest.mark.slow
def test_an_outsider_lists_no_projects_and_a_member_only_their_own(base_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "phasegate.db"
    shutil.copy(base_db, db)
    with Engine(f"sqlite:///{db}") as engine:
        engine.create_project("OTHER", template="team-based", actor="root")
        assert engine.list_projects(reader="out") == []
        assert [p.code for p in engine.list_projects(reader="mem")] == ["A", "H", "K", "R", "T", "V"]
        assert len(engine.list_projects(reader="aud")) == 7
