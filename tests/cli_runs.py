"""Running `phasegate` in-process through click's CliRunner, shared by the CLI test files."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import CliRunner, Result

from workflow.cli import cli

Run = Callable[..., Result]


def cli_runner(url: str) -> Run:
    """`phasegate --db URL --as <actor> [--json] ARGS…`; ``actor`` defaults to ana."""
    runner = CliRunner()

    def invoke(*args: str, actor: str = "ana", as_json: bool = False) -> Result:
        head = ["--db", url, "--as", actor] + (["--json"] if as_json else [])
        return runner.invoke(cli, [*head, *args], prog_name="phasegate")

    return invoke


def must_succeed(run: Run) -> Run:
    """Like ``run`` but the command must exit 0."""

    def invoke(*args: str, **kwargs: object) -> Result:
        result = run(*args, **kwargs)
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result

    return invoke
