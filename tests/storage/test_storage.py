"""The database layer: schema migrations, connection set-up, and refusing bad databases untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from workflow.errors import DatabaseProblem
from workflow.storage import tables
from workflow.storage.connections import read_transaction, write_transaction
from workflow.storage.database import default_url, open_database, shown_url, utcnow
from workflow.storage.failures import is_retryable, translate_error
from workflow.storage.migrate import (
    HEAD_REVISION,
    KNOWN_REVISIONS,
    alembic_config,
    current_revision,
    downgrade,
    ensure_schema,
    upgrade,
)

REPO = Path(__file__).resolve().parents[2]
OUR_TABLES = set(tables.metadata.tables)


def _table_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _version_rows(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )


# --- migrations -----------------------------------------------------------------------------


def test_first_use_creates_every_table_at_head(db_engine: Engine) -> None:
    assert ensure_schema(db_engine) is True
    assert _table_names(db_engine) == OUR_TABLES | {"alembic_version"}
    assert _version_rows(db_engine) == [HEAD_REVISION]


def test_ensure_schema_at_head_changes_nothing(db_engine: Engine) -> None:
    ensure_schema(db_engine)
    assert ensure_schema(db_engine) is False
    assert _version_rows(db_engine) == [HEAD_REVISION]


def test_schema_goes_down_to_base_and_back_up_to_head(db_engine: Engine) -> None:
    upgrade(db_engine)
    downgrade(db_engine, "base")
    assert _table_names(db_engine) - {"alembic_version"} == set()
    assert current_revision(db_engine) is None

    assert ensure_schema(db_engine) is True
    assert _table_names(db_engine) == OUR_TABLES | {"alembic_version"}
    assert current_revision(db_engine) == HEAD_REVISION


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    """A change to workflow/storage/tables.py without a migration fails here (alembic check)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    ensure_schema(db_engine)
    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, tables.metadata)
    assert differences == []


def test_known_revisions_match_the_migration_scripts() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [HEAD_REVISION]
    oldest_first = tuple(reversed([s.revision for s in scripts.walk_revisions()]))
    assert oldest_first == KNOWN_REVISIONS


@pytest.mark.slow
def test_ensure_schema_at_head_does_not_import_alembic_or_the_orm(db_url: str) -> None:
    engine = open_database(db_url)
    ensure_schema(engine)
    engine.dispose()
    result = _run_python(
        """
        import sys
        from workflow.storage.database import open_database
        from workflow.storage.migrate import ensure_schema
        engine = open_database(sys.argv[1])
        assert ensure_schema(engine) is False
        engine.dispose()
        assert "alembic" not in sys.modules, "alembic imported"
        assert "sqlalchemy.orm" not in sys.modules, "sqlalchemy.orm imported"
        """,
        db_url,
    )
    assert result.returncode == 0, result.stderr


def test_migrations_ship_inside_the_package() -> None:
    from workflow.storage.migrate import migrations_dir

    folder = migrations_dir()
    assert folder.parent.name == "workflow"
    assert (folder / "env.py").is_file()
    assert (folder / "versions" / "0001_initial.py").is_file()
    for revision in KNOWN_REVISIONS:
        assert list((folder / "versions").glob(f"{revision}_*.py")), f"no script for revision {revision}"


# --- refusing databases that are not ours, untouched ----------------------------------------


def test_a_newer_schema_is_refused_and_left_untouched(db_url: str, tmp_path: Path) -> None:
    engine = open_database(db_url)
    ensure_schema(engine)
    with write_transaction(engine) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    before = _files(tmp_path)

    engine = open_database(db_url)
    with pytest.raises(DatabaseProblem) as caught:
        ensure_schema(engine)
    engine.dispose()

    assert str(caught.value) == (
        "this database was upgraded by a newer phasegate (schema revision 9999); "
        "install a newer phasegate to use it."
    )
    assert _files(tmp_path) == before
    engine = open_database(db_url)
    assert _version_rows(engine) == ["9999"]
    assert _table_names(engine) == OUR_TABLES | {"alembic_version"}


def test_a_database_holding_other_tables_is_refused_and_left_untouched(db_url: str, tmp_path: Path) -> None:
    engine = open_database(db_url)
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    before = _files(tmp_path)

    engine = open_database(db_url)
    with pytest.raises(
        DatabaseProblem, match=r"is not a phasegate database: it holds other tables \(invoices\)"
    ):
        ensure_schema(engine)
    engine.dispose()

    assert _files(tmp_path) == before
    assert _table_names(open_database(db_url)) == {"invoices"}


def test_a_text_file_is_refused_as_sqlite_database_and_left_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"shopping list\n- milk\n")

    with pytest.raises(DatabaseProblem) as caught:
        ensure_schema(open_database(f"sqlite:///{path}"))

    assert str(caught.value) == f"{path} is not a phasegate database (file is not a database)."
    assert _files(tmp_path) == {"notes.db": b"shopping list\n- milk\n"}


def test_a_sqlite_path_in_a_missing_folder_is_refused_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "phasegate.db"
    with pytest.raises(DatabaseProblem, match=r"the folder .* does not exist"):
        ensure_schema(open_database(f"sqlite:///{path}"))
    assert not path.parent.exists()


def test_an_unreachable_server_is_a_sentence_and_quick() -> None:
    started = time.monotonic()
    with pytest.raises(DatabaseProblem) as caught:
        ensure_schema(open_database("postgresql+psycopg://postgres@127.0.0.1:1/x"))
    assert time.monotonic() - started < 5
    assert str(caught.value) == "cannot connect to the database at 127.0.0.1:1: connection refused."


@pytest.mark.parametrize(
    "url",
    [
        "nonsense://",
        "mysql://user@localhost/db",
        "not a url",
        "sqlite+nodriver:///x.db",
        "postgresql+nodriver://postgres@127.0.0.1/x",
    ],
)
def test_a_bad_url_is_refused_with_a_sentence(url: str) -> None:
    with pytest.raises(DatabaseProblem) as caught:
        open_database(url)
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message


# --- a URL's password is never shown (issue 16 #8) ---------------------------------------------

SECRET = "s3cret"
# url -> the parts of its password that must not appear
BAD_URLS = {
    "postgresql+psycopg://u:s3cret@host:notaport/db": ["s3cret"],  # does not parse
    "postgresql+psycopg://u:s3cr@t:x/y@host:notaport/db": ["s3cr", "t:x", "x/y"],  # unencoded "@", ":", "/"
    "nosuchdb://u:s3cret@host/db": ["s3cret"],  # unknown kind of database
    "postgresql+nodriver://u:s3cret@host/db": ["s3cret"],  # unknown driver
    "mysql://u:s3cret@host/db": ["s3cret"],  # a driver that is not installed
    "nosuchdb://u@host/db?password=s3cret": ["s3cret"],  # in the query string
    "nosuchdb://u@host/db?sslpassword=s3cret": ["s3cret"],
}
REFUSED_URLS = {
    "postgresql+psycopg://u:s3cret@127.0.0.1:1/db": ["s3cret"],
    "postgresql+psycopg://u:pa@ss@127.0.0.1:1/db": ["pa@", "ss@"],  # the tail of an unencoded "@" is the host
}


def assert_hidden(text: str, parts: list[str]) -> None:
    for part in parts:
        assert part not in text, f"{part!r} shown in {text!r}"


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_url_that_cannot_be_used_is_refused_without_showing_its_password(url: str) -> None:
    with pytest.raises(DatabaseProblem) as caught:
        open_database(url)
    assert_hidden(str(caught.value), BAD_URLS[url])
    assert "***" in str(caught.value)


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_a_failed_connection_is_a_sentence_without_the_password(url: str) -> None:
    with pytest.raises(DatabaseProblem) as caught:
        ensure_schema(open_database(url))
    assert_hidden(str(caught.value), REFUSED_URLS[url])
    assert str(caught.value).startswith("cannot connect to the database at ")


def test_a_refused_login_on_postgresql_does_not_show_the_password(pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(username="no_such_role", password=SECRET)
    with pytest.raises(DatabaseProblem) as caught:
        ensure_schema(open_database(url.render_as_string(hide_password=False)))
    assert SECRET not in str(caught.value) and "no_such_role" in str(caught.value)


@pytest.mark.parametrize(
    "driver_says",
    [
        'connection to "postgresql://u:s3cret@db/x" failed',
        "invalid connection option: password=s3cret",
        "bad value 's3cret' for option",
        "password 's3cret' has expired",
    ],
)
@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:s3cret@db/x",
        "postgresql+psycopg://u:s3cret@db:bad/x",  # does not parse
        "postgresql+psycopg://db/x?password=s3cret",
    ],
)
def test_translate_error_scrubs_the_password_from_what_the_driver_says(driver_says: str, url: str) -> None:
    from sqlalchemy.exc import OperationalError

    problem = translate_error(OperationalError("connect", {}, Exception(driver_says)), url)
    assert SECRET not in str(problem)
    if "://" in driver_says or "password=" in driver_says:  # URL-shaped: hidden even without the URL
        assert SECRET not in str(translate_error(OperationalError("connect", {}, Exception(driver_says))))


def test_a_short_password_does_not_garble_the_sentence() -> None:
    from sqlalchemy.exc import OperationalError

    problem = translate_error(OperationalError("connect", {}, Exception("connection refused")),
                              "postgresql+psycopg://u:e@db/x")
    assert str(problem) == "cannot connect to the database at db:5432: connection refused."


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:s3cret@db/x", "postgresql+psycopg://u:***@db/x"),
        ("postgresql+psycopg://u@db/x?password=s3cret", "postgresql+psycopg://u@db/x?password=***"),
        ("postgresql+psycopg://u:s3cret@db:notaport/x", "postgresql+psycopg://u:***@db:notaport/x"),
        ("postgresql+psycopg://u:pa@ss@db/x", "postgresql+psycopg://u:***@db/x"),
        ("sqlite:///folder/a@b:c.db", "sqlite:///folder/a%40b%3Ac.db"),  # no password: SQLAlchemy's quoting
    ],
)
def test_shown_url_is_the_url_without_its_password(url: str, shown: str) -> None:
    assert shown_url(url) == shown


@pytest.mark.parametrize("url", [*BAD_URLS, *REFUSED_URLS])
def test_the_cli_never_prints_a_urls_password(url: str) -> None:
    from click.testing import CliRunner

    from workflow.cli import cli

    result = CliRunner().invoke(cli, ["--db", url, "--as", "ana", "project", "list"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Error: " in result.stderr
    assert_hidden(result.stdout + result.stderr, {**BAD_URLS, **REFUSED_URLS}[url])


def test_postgres_urls_are_driven_by_psycopg() -> None:
    for url in ("postgres://u@h/db", "postgresql://u@h/db"):
        engine = open_database(url)
        assert engine.url.drivername == "postgresql+psycopg"
        engine.dispose()


# --- where the database lives and how connections behave ------------------------------------


def test_default_database_is_a_file_in_the_user_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    folder = Path(platformdirs.user_data_dir("phasegate"))
    assert default_url() == f"sqlite:///{folder / 'phasegate.db'}"
    assert not folder.exists()
    engine = open_database()
    assert engine.url.database == str(folder / "phasegate.db")
    assert folder.is_dir()


def test_phasegate_db_environment_variable_chooses_the_database(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHASEGATE_DB", sqlite_url)
    assert open_database().url.render_as_string(hide_password=False) == sqlite_url


def test_sqlite_runs_with_wal_full_sync_foreign_keys_and_busy_timeout(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    with read_transaction(engine) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000  # PHASEGATE_LOCK_WAIT


def test_sqlite_write_transactions_take_the_write_lock_at_begin(sqlite_url: str) -> None:
    """BEGIN IMMEDIATE: a writer holds the lock from its first statement; a reader does not."""
    import sqlite3

    engine = open_database(sqlite_url)
    ensure_schema(engine)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    try:
        with read_transaction(engine) as conn:
            conn.execute(text("SELECT 1"))
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        with write_transaction(engine) as conn:
            conn.execute(text("SELECT 1"))
            with pytest.raises(sqlite3.OperationalError, match="database is locked") as caught:
                other.execute("BEGIN IMMEDIATE")
            assert is_retryable(caught.value)
    finally:
        other.close()


def test_write_transaction_commits_on_success_and_rolls_back_on_error(db_engine: Engine) -> None:
    ensure_schema(db_engine)
    row = {"person": "ana", "privilege": "admin", "granted_at": utcnow(), "granted_by": "ana"}
    with write_transaction(db_engine) as conn:
        conn.execute(tables.grants.insert(), row)
    with pytest.raises(RuntimeError), write_transaction(db_engine) as conn:
        conn.execute(tables.grants.insert(), {**row, "privilege": "auditor"})
        raise RuntimeError("boom")
    with read_transaction(db_engine) as conn:
        assert conn.execute(tables.grants.select()).all() == [tuple(row.values())]


def _event(seq: int, prev_hash: str) -> dict[str, object]:
    return {
        "chain": "ACME-1", "seq": seq, "at": utcnow(), "actor": "ana", "action": "create",
        "phase": None, "data": "{}", "prev_hash": prev_hash, "hash": f"{seq:064d}",
    }  # fmt: skip


def test_a_lost_race_on_a_chain_head_is_retryable_and_other_conflicts_are_not(db_engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    ensure_schema(db_engine)
    with write_transaction(db_engine) as conn:
        conn.execute(tables.events.insert(), _event(1, "0" * 64))
    for clash in (_event(1, "a" * 64), _event(2, "0" * 64)):  # same seq / same prev_hash
        with pytest.raises(IntegrityError) as caught, write_transaction(db_engine) as conn:
            conn.execute(tables.events.insert(), clash)
        assert is_retryable(caught.value)

    grant = {"person": "ana", "privilege": "admin", "granted_at": utcnow(), "granted_by": "ana"}
    with write_transaction(db_engine) as conn:
        conn.execute(tables.grants.insert(), grant)
    with pytest.raises(IntegrityError) as caught, write_transaction(db_engine) as conn:
        conn.execute(tables.grants.insert(), grant)
    assert not is_retryable(caught.value)


@pytest.mark.slow
def test_a_lock_held_elsewhere_is_retryable_on_postgresql(pg_url: str) -> None:
    from sqlalchemy.exc import OperationalError

    engine = open_database(pg_url)
    ensure_schema(engine)
    grant = {"person": "ana", "privilege": "admin", "granted_at": utcnow(), "granted_by": "ana"}
    with write_transaction(engine) as conn:
        conn.execute(tables.grants.insert(), grant)
    with write_transaction(engine) as holder:
        holder.execute(text("SELECT * FROM grants FOR UPDATE"))
        with pytest.raises(OperationalError) as caught, write_transaction(engine) as waiter:
            waiter.execute(text("SELECT * FROM grants FOR UPDATE NOWAIT"))
    assert is_retryable(caught.value)
    assert not is_retryable(RuntimeError("database is fine"))


def test_translate_error_names_the_file_that_is_not_a_database(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy.exc import DatabaseError

    exc = DatabaseError("SELECT 1", {}, sqlite3.DatabaseError("file is not a database"))
    problem = translate_error(exc, f"sqlite:///{tmp_path}/x.db")
    assert str(problem) == f"{tmp_path}/x.db is not a phasegate database (file is not a database)."


def test_utcnow_is_fixed_width_iso_8601_utc() -> None:
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", utcnow())


# --- concurrent first use ---------------------------------------------------------------------

_FIRST_USE = """
    import sys
    from workflow.storage.database import open_database
    from workflow.storage.migrate import ensure_schema
    engine = open_database(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    print(ensure_schema(engine), flush=True)
    engine.dispose()
"""


@pytest.mark.slow
def test_processes_starting_together_on_an_empty_database_migrate_it_once(db_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-W", "error", "-c", textwrap.dedent(_FIRST_USE), db_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for _ in range(4)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            results.append(out.strip())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    assert sorted(results) == ["False", "False", "False", "True"]
    engine = open_database(db_url)
    assert _version_rows(engine) == [HEAD_REVISION]
    assert _table_names(engine) == OUR_TABLES | {"alembic_version"}


def test_upgrading_to_0003_compiles_the_templates_published_before_it(db_engine: Engine) -> None:
    """Rows published under 0002 get their compiled definition filled in by the migration."""
    import json

    from workflow.domain.templates.loader import builtin_paths, load_file

    upgrade(db_engine, "0002")
    source = builtin_paths()["team-based"].read_text(encoding="utf-8")
    with db_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO templates (key, version, title, source, sha256, published_at, published_by)"
                 " VALUES ('team-based', 1, 'T', :s, :h, '2026-01-01T00:00:00.000000Z', 'ana')"),
            {"s": source, "h": "0" * 64},
        )
    upgrade(db_engine, "head")
    with db_engine.connect() as conn:
        compiled = conn.execute(text("SELECT compiled FROM templates")).scalar_one()
    from workflow.domain.templates.definition import definition_from_dict

    assert definition_from_dict(json.loads(compiled)) == load_file(builtin_paths()["team-based"])


def test_a_commands_writes_combine_into_one_statement_that_runs_them_all(pg_url: str) -> None:
    """PostgreSQL sends a command's writes as one statement: every part runs, in one transaction."""
    from workflow.storage.statements import combined

    db_engine = open_database(pg_url)

    assert combined([("UPDATE a SET n = %s", (1,))]) == ("UPDATE a SET n = %s", (1,))
    with db_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE a (n int)")
        conn.exec_driver_sql("CREATE TEMP TABLE b (n int, s text)")
        conn.exec_driver_sql("INSERT INTO a VALUES (0)")
        sql, params = combined([
            ("INSERT INTO b VALUES (%s, %s)", (1, "one")),
            ("INSERT INTO b VALUES (%s, %s)", (2, "two")),
            ("UPDATE a SET n = n + %s", (5,)),
        ])
        assert sql.startswith("WITH w1 AS (INSERT") and params == (1, "one", 2, "two", 5)
        conn.exec_driver_sql(sql, params)
        assert conn.exec_driver_sql("SELECT n FROM a").scalar() == 5
        assert conn.exec_driver_sql("SELECT n, s FROM b ORDER BY n").all() == [(1, "one"), (2, "two")]
    db_engine.dispose()


@pytest.mark.slow
def test_a_write_blocked_by_another_sqlite_writer_gives_up_in_seconds_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to wait ~5 minutes (10 retries of a 30 s busy timeout) and say "the data changed"."""
    import sqlite3
    import time

    from workflow import Engine
    from workflow.errors import Conflict

    monkeypatch.setenv("PHASEGATE_LOCK_WAIT", "1")
    url = f"sqlite:///{tmp_path}/locked.db"
    with Engine(url) as engine:
        engine.init(admin="ana")
        blocker = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer, holding the lock
        try:
            started = time.monotonic()
            with pytest.raises(Conflict, match=r"the database is locked by another writer \(waited 1 s\)"):
                engine.create_project("L-1", template="team-based", actor="ana")
            assert time.monotonic() - started < 5
        finally:
            blocker.rollback()
            blocker.close()
        engine.create_project("L-1", template="team-based", actor="ana")  # and works once it is free


def test_a_crash_while_publishing_the_built_ins_leaves_no_half_set_up_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The migration and the built-in templates are one transaction: a crash between them used to
    leave a schema without templates until `init` ran again."""
    from workflow import Engine
    from workflow.engine import templates

    url = f"sqlite:///{tmp_path}/first.db"

    def crash(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # a process killed between migrating and publishing

    monkeypatch.setattr(templates, "publish", crash)
    with pytest.raises(KeyboardInterrupt):
        Engine(url)
    monkeypatch.undo()
    with Engine(url) as engine:  # the next command finds an empty database and does both
        assert {t.key for t in engine.templates()} == {"large-agency", "digital-agency", "team-based"}
