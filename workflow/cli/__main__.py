"""``python -m workflow.cli``: the same as the ``phasegate`` console script."""

from workflow.cli.app import run

run()
