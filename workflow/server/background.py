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
from collections.abc import Sequence

from workflow.domain.notify.addresses import Network
from workflow.engine import Engine


def log(**fields: object) -> None:
    """One JSON line on stderr, as the access log writes them."""
    print(json.dumps(fields), file=sys.stderr, flush=True)


class Background:
    """A daemon thread started with the app and stopped with it (joined for up to 30 s)."""

    name = "phasegate-background"

    def __init__(self, engine: Engine, enabled: bool) -> None:
        self.engine, self.enabled = engine, enabled
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> Background:
        if self.enabled:
            self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=30)

    def _run(self) -> None:
        raise NotImplementedError


class Ticker(Background):
    name = "phasegate-tick"

    def __init__(self, engine: Engine, seconds: float) -> None:
        super().__init__(engine, seconds > 0)
        self.seconds = seconds

    def _run(self) -> None:
        while not self.stopping.wait(self.seconds):
            try:
                report = self.engine.tick()
            except Exception as exc:  # a database hiccup: logged, tried again next turn
                log(tick="failed", error=str(exc)[:500])
                continue
            if report.events:
                log(tick=report.at, **report.counts())


class Deliverer(Background):
    """The outbox's worker in a thread: every worker process of every host may run one (the leases
    keep them from sending a notification twice at once). Set up by the environment as
    ``notify run`` is (PHASEGATE_SMTP_URL, PHASEGATE_MAIL_FROM, PHASEGATE_BASE_URL); the internal
    networks webhooks may reach are the server's settings' (PHASEGATE_WEBHOOK_ALLOW)."""

    name = "phasegate-deliver"

    def __init__(self, engine: Engine, enabled: bool, idle: float = 1.0,
                 allow: Sequence[Network] = ()) -> None:
        super().__init__(engine, enabled)
        self.idle, self.allow = idle, tuple(allow)

    def _run(self) -> None:
        from workflow.delivery.worker import Worker

        try:
            worker = Worker.from_env(self.engine.store, allow=self.allow)
        except Exception as exc:  # a malformed PHASEGATE_SMTP_URL: said once, the server goes on
            log(deliver="not started", error=str(exc)[:500])
            return
        with worker:
            noted = False
            while not self.stopping.is_set():
                try:
                    if not noted:  # the first round drains, and says why e-mails wait if they do
                        noted = True
                        for note in worker.drain().notes:
                            log(deliver="note", note=note)
                    worker.run(self.stopping, idle=self.idle)
                except Exception as exc:  # a database hiccup: logged, tried again after a pause
                    log(deliver="failed", error=str(exc)[:500])
                    self.stopping.wait(5)
