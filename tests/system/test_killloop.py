"""kill -9 at random moments of writing commands: nothing acknowledged is lost, nothing is torn.

A scaled-down run of the loop in tests/support/killing.py (40 kills per backend); the full-size
run (>= 200 kills per backend) is ``python benchmarks/killloop.py --kills 200``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.killing import run_kill_loop

pytestmark = pytest.mark.slow  # kill -9 loops: ~25 s

KILLS = 40


def test_kill_minus_nine_at_random_moments_loses_no_acknowledged_command_and_tears_nothing(
        db_url: str, tmp_path: Path) -> None:
    result = run_kill_loop(db_url, tmp_path, kills=KILLS, workers=3, seed=11)
    assert result.kills == KILLS and result.checks == KILLS
    assert result.acked > KILLS, "the workers were writing between the kills"
    print(f"\n{db_url.split(':')[0]}: {result.line()}")
