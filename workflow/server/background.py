"""The server's own clock: ``phasegate tick`` in a thread, every ``tick_seconds``.

Every worker of every host may run it: tick gives each notice once whatever the number of
ticks (workflow/engine/ticking.py), so no leader is elected. A failing tick is logged and
tried again at the next turn; the thread stops with the app.
"""

from __future__ import annotations

import json
import sys
import threading

from workflow.engine import Engine


class Ticker:
    def __init__(self, engine: Engine, seconds: float) -> None:
        self.engine, self.seconds = engine, seconds
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="phasegate-tick", daemon=True)

    def start(self) -> Ticker:
        if self.seconds > 0:
            self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=30)

    def _run(self) -> None:
        while not self.stopping.wait(self.seconds):
            try:
                report = self.engine.tick()
            except Exception as exc:  # a database hiccup: logged, tried again next turn
                print(json.dumps({"tick": "failed", "error": str(exc)[:500]}), file=sys.stderr, flush=True)
                continue
            if report.events:
                print(json.dumps({"tick": report.at, **report.counts()}), file=sys.stderr, flush=True)
