"""The ``phasegate`` command line (click): the group in :mod:`workflow.cli.app`, the commands in one
module per area (``admin``, ``templates``, ``projects``, ``work``, ``audit``, ``people``,
``notify``)."""

from workflow.cli import (  # noqa: F401  (they register them)
    admin,
    audit,
    notify,
    people,
    projects,
    schedule,
    serve,
    templates,
    work,
)
from workflow.cli.app import accept_json_after_the_command, cli, main, run
from workflow.cli.files import commands as _files  # noqa: F401  (deliverable, audit prove)
from workflow.cli.links import commands as _links  # noqa: F401  (invite)

accept_json_after_the_command(cli)

__all__ = ["cli", "main", "run"]
