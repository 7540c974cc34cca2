"""Helpers the tests share, imported as ``support.<module>`` (``tests/`` is on the path: pyproject's pytest ``pythonpath``).

- ``apiclients``: in-process HTTP clients of the app, an error body's fields, a dump that must stay unchanged.
- ``browser``: Chromium through Playwright against a real ``phasegate serve``, and the browser tests' fixtures.
- ``cli_runs``: the CLI run on the database or through a server (the ``transport`` fixture's two ways).
- ``invariants``: what every database must satisfy (replay equals state, chains verify, history obeys the rules).
- ``killing``, ``workload``: the kill -9 loop and the worker processes it kills (also ``benchmarks/killloop.py``).
- ``rawclient``: raw sockets for the server's body, timeout and memory bounds.
- ``receivers``: real webhook (HTTP) and e-mail (SMTP) receivers on loopback.
- ``schedules``: the tests' own movable clock and a project on a schedule.
- ``serverload``, ``servers``: a real ``phasegate serve`` on a free port, and clients that load it.
- ``tampering``: editing the database with SQL as an attacker would.
"""
