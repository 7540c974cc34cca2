"""The ``phasegate`` command line lives in :mod:`workflow.cli` (inside the package, so the wheel ships it).

This file is a thin entry point for running from a checkout: ``python cli.py --help``.
"""

from workflow.cli import run

if __name__ == "__main__":
    run()
