"""The export spool's own bounds (workflow/server/spool.py): exports in flight per person and in all,
and a client that takes nothing is dropped after the stall deadline, its export stopped and its
slot given back. The real-socket tests are in test_pool.py; the stall's 60 s is shortened here by
driving the answer as an ASGI app whose ``send`` never returns (a client whose window stays shut).
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from workflow.errors import Busy
from workflow.server.spool import Abandoned, InFlight, Spool, SpoolResponse, Stalled


def test_exports_in_flight_are_bounded_per_person_and_in_all_and_given_back_once() -> None:
    in_flight = InFlight(per_person=2, in_all=3, what="audit export")
    first, _second = in_flight.take("aud"), in_flight.take("aud")
    with pytest.raises(Busy, match="aud has 2 audit exports in flight") as mine:
        in_flight.take("aud")
    assert mine.value.retry_after >= 1
    in_flight.take("olga")
    with pytest.raises(Busy, match="sending 3 audit exports"):
        in_flight.take("pat")
    first()
    first()  # given back twice counts once
    assert in_flight.count == 2
    in_flight.take("pat")


def test_a_client_that_takes_nothing_is_dropped_after_the_stall_and_its_export_stops() -> None:
    in_flight = InFlight(per_person=1, in_all=1, what="audit export")
    stopped: list[BaseException] = []

    async def run() -> None:
        spool = Spool(in_flight.take("aud"))

        def produce() -> None:  # a long export (10 s at most), as the engine's on a huge trail
            try:
                for _ in range(10_000):
                    spool.write("x" * 1000 + "\n")
                    time.sleep(0.001)
            except BaseException as exc:
                stopped.append(exc)
                spool.finish(exc)
            else:
                spool.finish()

        thread = threading.Thread(target=produce, daemon=True)
        thread.start()
        await spool.started()
        shut = asyncio.Event()  # never set: the client's window stays shut after the headers

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body":
                await shut.wait()

        async def receive() -> dict[str, object]:
            await asyncio.Event().wait()  # the client neither reads nor goes away
            return {"type": "http.disconnect"}

        answer = SpoolResponse(spool, media_type="application/x-ndjson", stall=0.2)
        with pytest.raises(Stalled):
            await answer({"type": "http", "asgi": {"spec_version": "2.3"}}, receive, send)
        await asyncio.to_thread(thread.join, 10)

    asyncio.run(run())
    assert len(stopped) == 1 and isinstance(stopped[0], Abandoned), stopped
    assert in_flight.count == 0, "the slot is given back when the export has stopped"
