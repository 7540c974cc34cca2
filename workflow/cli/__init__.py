"""The ``phasegate`` command line (click): the group and its commands in :mod:`workflow.cli.app`."""

from workflow.cli.app import cli, main, run

__all__ = ["cli", "main", "run"]
