"""Exporting the audit trail for auditors: JSON Lines (one event a line) or CSV (one flat row an event).

Both stream: rows are fetched in batches from a server-side cursor (PostgreSQL) or a
lazy SQLite cursor and written as they come, so an export of millions of events
holds one batch in memory. Events come chain by chain, oldest first — the order
``audit verify`` checks them in.

JSON Lines carries the fields of a history event (product.md: seq, at, actor,
action, project, data, prev_hash, hash) plus ``chain`` and ``phase``; it is ASCII
(``\\uNNNN`` escapes), so it is safe on any terminal and still valid JSON.

CSV has one column per field an auditor filters on, lifted out of ``data`` (round,
role, template, decision, comment or reason), and the whole ``data`` as JSON text
in its own column, so nothing is lost by flattening.

CSV is opened in spreadsheets, which run a cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula (OWASP "CSV injection"): an actor
named ``=HYPERLINK(...)`` or a comment ``+1`` would be executed or mangled. So by
default every *text* cell that begins with one of these is written with a leading
``'`` (the spreadsheets' own "this is text" mark), which a spreadsheet does not show.
Hashes, times, seq and versions never begin with them and stay exact; numbers are
written as numbers; the system chain's name ``@system`` (phasegate's own word, a name and not a
formula, in the ``chain`` column only) is written as it is. ``raw=True`` writes every cell
exactly as stored, for programs that read the CSV; JSON Lines is always exact (it is never opened as a sheet).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.domain.audit.events import SYSTEM_CHAIN
from workflow.errors import UsageError
from workflow.storage.tables import events as t_events

FORMATS = ("jsonl", "csv")
BATCH = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: what a spreadsheet may read as a formula
TEXT_MARK = "'"


class TextSink(Protocol):
    """Where an export goes: a text file, stdout, or a wrapper such as cli.render.TerminalSafeWriter."""

    def write(self, text: str, /) -> Any: ...

CSV_COLUMNS = (
    "chain", "project", "seq", "at", "actor", "auth", "action", "phase", "round", "role", "template_key",
    "template_version", "template_sha256", "decision", "comment_or_reason", "data", "prev_hash", "hash",
)


def _rows(conn: Connection, project: str | None) -> Iterator[Any]:
    stmt = select(t_events.c.chain, t_events.c.seq, t_events.c.at, t_events.c.actor, t_events.c.action,
                  t_events.c.phase, t_events.c.data, t_events.c.prev_hash, t_events.c.hash)
    if project is not None:
        stmt = stmt.where(t_events.c.chain == project)
    result = conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(
        stmt.order_by(t_events.c.chain, t_events.c.seq))
    try:
        while batch := result.fetchmany(BATCH):
            yield from batch
    finally:
        result.close()


def _data(text: str) -> Any:
    """The event's data; text that is no longer JSON (a tampered row) is exported as it is stored."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _jsonl(row: Any) -> str:
    chain, seq, at, actor, action, phase, data_text, prev_hash, digest = row
    data = _data(data_text)
    return json.dumps({
        "seq": seq, "at": at, "actor": actor, "auth": _auth(data), "action": action,
        "project": None if chain == SYSTEM_CHAIN else chain, "chain": chain, "phase": phase,
        "data": data, "prev_hash": prev_hash, "hash": digest,
    }) + "\n"


def _auth(data: Any) -> str:
    """How the actor was authenticated (events from before accounts existed: asserted)."""
    value = data.get("auth") if isinstance(data, dict) else None
    return value if isinstance(value, str) else "asserted"


def _csv_row(row: Any, raw: bool = False) -> list[Any]:
    chain, seq, at, actor, action, phase, data_text, prev_hash, digest = row
    data = _data(data_text)
    d: dict[str, Any] = data if isinstance(data, dict) else {}
    template: dict[str, Any] = d["template"] if isinstance(d.get("template"), dict) else {}
    comment = d.get("comment") if d.get("comment") is not None else d.get("reason")
    cells = [
        chain, "" if chain == SYSTEM_CHAIN else chain, seq, at, actor, _auth(d), action, phase or "",
        _cell(d.get("round")), _cell(d.get("role")), _cell(template.get("key")),
        _cell(template.get("version")), _cell(template.get("sha256")), _cell(d.get("decision")),
        _cell(comment), data_text, prev_hash, digest,
    ]
    if raw:
        return cells
    # The chain's name is phasegate's own: a project code (which starts with a letter or digit)
    # or exactly SYSTEM_CHAIN, kept as is; any other value there (a tampered row) is guarded.
    return [chain if chain == SYSTEM_CHAIN else _as_text(chain)] + [_as_text(cell) for cell in cells[1:]]


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _as_text(cell: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, marked as text with a leading ``'``."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return TEXT_MARK + cell
    return cell


def export_events(
    conn: Connection, out: TextSink, fmt: str = "jsonl", project: str | None = None, *, raw: bool = False
) -> int:
    """Write every event (or one project's) to ``out``; returns how many were written.

    ``raw`` (CSV only): write text cells exactly as stored, without the leading ``'`` that
    keeps a spreadsheet from running one that looks like a formula (see the module docstring).
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}: use {' or '.join(FORMATS)}")
    count = 0
    if fmt == "jsonl":
        write = out.write
        for row in _rows(conn, project):
            write(_jsonl(row))
            count += 1
        return count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in _rows(conn, project):
        writer.writerow(_csv_row(row, raw))
        count += 1
    return count
