"""How long a failed notification waits: exponential, capped, with jitter.

``BASE × 2^(attempts-1)`` seconds (30 s, 1 min, 2 min, … ), at most ``CAP``, each drawn
between half and all of that ("equal jitter"), so receivers that came back are not hit
by every worker at the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Callable

BASE_SECONDS = 30.0
CAP_SECONDS = 3600.0
MAX_ATTEMPTS = 8  # a notification tried this often without success is dead (kept, with its last error)


def retry_delay(attempts: int, *, base: float = BASE_SECONDS, cap: float = CAP_SECONDS,
                draw: Callable[[], float] = random.random) -> float:
    """Seconds until the next try after ``attempts`` failed tries (``attempts`` >= 1)."""
    full = min(cap, base * 2 ** max(0, attempts - 1))
    return full * (0.5 + 0.5 * draw())
