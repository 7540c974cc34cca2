"""The server's own clock (``phasegate tick`` in a thread, every ``tick_seconds``) and its delivery
worker (``phasegate notify run`` in a thread).

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


class Deliverer:
    """The outbox's worker in a thread: every worker process of every host may run one (the leases
    keep them from sending a notification twice at once). Set up by the environment as
    ``notify run`` is (PHASEGATE_SMTP_URL, PHASEGATE_MAIL_FROM, PHASEGATE_BASE_URL)."""

    def __init__(self, engine: Engine, enabled: bool, idle: float = 1.0) -> None:
        self.engine, self.enabled, self.idle = engine, enabled, idle
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="phasegate-deliver", daemon=True)

    def start(self) -> Deliverer:
        if self.enabled:
            self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=30)

    def _run(self) -> None:
        from workflow.delivery.worker import Worker

        try:
            worker = Worker.from_env(self.engine.store)
        except Exception as exc:  # a malformed PHASEGATE_SMTP_URL: said once, the server goes on
            print(json.dumps({"deliver": "not started", "error": str(exc)[:500]}), file=sys.stderr,
                  flush=True)
            return
        with worker:
            noted = False
            while not self.stopping.is_set():
                try:
                    if not noted:  # the first round drains, and says why e-mails wait if they do
                        noted = True
                        for note in worker.drain().notes:
                            print(json.dumps({"deliver": "note", "note": note}), file=sys.stderr, flush=True)
                    worker.run(self.stopping, idle=self.idle)
                except Exception as exc:  # a database hiccup: logged, tried again after a pause
                    print(json.dumps({"deliver": "failed", "error": str(exc)[:500]}), file=sys.stderr,
                          flush=True)
                    self.stopping.wait(5)
