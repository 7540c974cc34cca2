"""Human and JSON output for the command line: one escape function, plain aligned text.

Everything the CLI prints passes through :func:`safe` (human text),
:func:`json_text` (JSON) or :class:`TerminalSafeWriter` (a stream, such as an
export to stdout), so no terminal escape sequence, bidi override or other
invisible character a person typed can reach a terminal, however it got into the
database. Files the CLI writes stay exact. Standard library only: the CLI imports
this on every command that prints, and start-up time matters (the event wording
it shares with the web, workflow/domain/wording.py, is standard library too).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO

from workflow.domain.wording import describe

TICK = "✓"
OPEN = "·"


def _escaped(text: str, escape: Callable[[int], str]) -> str:
    """``text`` with each non-printable character replaced by ``escape`` of its code point."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else escape(ord(ch)) for ch in text)


def _python_escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _json_escape(code: int) -> str:
    if code >= 0x10000:  # JSON escapes astral characters as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def safe(text: str) -> str:
    """``text`` with every non-printable character shown as ``\\xNN`` or ``\\uNNNN``."""
    return _escaped(text, _python_escape)


def safe_lines(text: str) -> list[str]:
    """``text`` split into lines, each made :func:`safe` (newlines stay line breaks)."""
    return [safe(line) for line in text.split("\n")]


class TerminalSafeWriter:
    """A text stream for output that may reach a terminal: what is written goes through :func:`safe`.

    Line breaks stay line breaks (so CSV keeps its rows, and a quoted multi-line cell
    its lines); every other non-printable character, a CR or tab included, is written
    as ``\\xNN``/``\\uNNNN`` text. :func:`safe` works character by character, so how a
    writer splits its output into ``write`` calls does not change the result.
    ``TerminalSafeWriter(sys.stdout)`` is what an export to stdout writes to; an export
    to a file writes to the file itself and stays exact.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str, /) -> int:
        if text.isprintable():
            self._stream.write(text)
        else:
            self._stream.write("\n".join(safe(part) for part in text.split("\n")))
        return len(text)

    def writelines(self, lines: Iterable[str], /) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()


def json_text(value: Any) -> str:
    """One JSON document on one line; non-printable characters as ``\\uNNNN`` escapes (still valid JSON)."""
    return _escaped(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str), _json_escape)


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def columns(rows: Sequence[Sequence[str]], header: Sequence[str] | None = None,
            indent: str = "") -> list[str]:
    """Rows as left-aligned columns two spaces apart (the last column is not padded)."""
    table = [list(header)] if header else []
    table += [list(r) for r in rows]
    if not table:
        return []
    widths = [max(len(r[i]) for r in table if i < len(r)) for i in range(max(len(r) for r in table))]
    lines = []
    for row in table:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def streamed_columns(rows: Iterable[Sequence[str]], header: Sequence[str] | None = None,
                     sample: int = 200) -> Iterator[str]:
    """:func:`columns` for rows that stream: widths from the first ``sample`` rows (and the
    header), so the first lines are out at once; a later, wider cell just pushes its row."""
    it = iter(rows)
    head = list(itertools.islice(it, sample))
    if not head:
        return
    lines = columns(head, header=header)
    yield from lines
    widths = _widths(head, header)
    for row in it:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 and i < len(widths) else cell
                 for i, cell in enumerate(row)]
        yield "  ".join(cells).rstrip()


def _widths(rows: Sequence[Sequence[str]], header: Sequence[str] | None) -> list[int]:
    table = [list(header)] if header else []
    table += [list(r) for r in rows]
    return [max(len(r[i]) for r in table if i < len(r)) for i in range(max(len(r) for r in table))]


def when(at: str | None) -> str:
    """A stored UTC time (``2026-11-28T14:30:00.123456Z``) shortened to the second."""
    if not at:
        return ""
    return at[:19].replace("T", " ") + "Z" if len(at) >= 19 else at


# -- templates ------------------------------------------------------------------------------------


def rule_of(required: str | int, approvers: Sequence[str], distinct_people: bool) -> str:
    """'all of 3', 'any of 2', '2 of 3', with ', four-eyes' when one person counts for one role."""
    n = len(approvers)
    rule = f"{required} of {n}"
    return rule + (", four-eyes" if distinct_people and n > 1 else "")


def definition_lines(info: Any, definition: Any) -> list[str]:
    lines = [f"{info.key} v{info.version}: {info.title}", f"sha256 {info.sha256}",
             f"published {when(info.published_at)} by {info.published_by}", "", "Roles:"]
    for role in definition.roles:
        lead = "  (lead)" if role.key == definition.lead else ""
        lines.append(f"  {role.key:<22} {role.title}{lead}")
    lines += ["", "Phases:"]
    for i, phase in enumerate(definition.phases, 1):
        lines.append(f"  {i}. {phase.title} ({phase.key})")
        lines += columns([[definition.role_title(r), t] for r, t in phase.tasks], indent="       ")
        gate = phase.gate
        if gate is not None:
            signers = ", ".join(definition.role_title(r) for r in gate.approvers)
            back_to = definition.phase(gate.on_reject)
            back = "" if gate.on_reject == phase.key else (
                f"; a rejection goes back to {back_to.title if back_to else gate.on_reject}")
            rule = rule_of(gate.required, gate.approvers, gate.distinct_people)
            lines.append(f"     gate: {gate.title} — signed by {signers} ({rule}){back}")
    return lines


def summary(definition: Any) -> str:
    """'large-agency: 3 roles, 7 phases, 4 gates'."""
    gates = sum(1 for p in definition.phases if p.gate is not None)

    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return (f"{definition.key}: {n(len(definition.roles), 'role')}, {n(len(definition.phases), 'phase')}, "
            f"{n(gates, 'gate')}")


# -- projects -------------------------------------------------------------------------------------


def board_lines(projects: Iterable[Any]) -> Iterator[str]:
    """The board, a line a project, streamed (the first lines before the last project is read)."""
    empty = True
    for line in streamed_columns((_board_row(p) for p in projects),
                                 header=["CODE", "TEMPLATE", "PHASE", "STATUS", "DUE", "WAITING ON"]):
        empty = False
        yield line
    if empty:
        yield "no projects"


BOARD_PEOPLE = 3  # the WAITING ON column names this many people, then "+N more"
KIND_WORDS = {"task": "task", "approval": "sign-off", "resume": "to resume"}


def waiting_people(p: Any) -> str:
    """The board's WAITING ON: who the project waits on and for what, person by person ("waiting for
    ben (task, sign-off), cy (sign-off)"; on hold: "waiting for ana (to resume)"), never a sentence
    cut mid-word; a project that waits on nobody: its one short blocker (completed, cancelled)."""
    owed: dict[str, list[str]] = {}
    for w in p.waiting:
        for person in w["people"] or [f"nobody as {w['role_title']}"]:
            kinds = owed.setdefault(person, [])
            word = KIND_WORDS.get(w["kind"], w["kind"])
            if word not in kinds:
                kinds.append(word)
    if not owed and p.status == "active" and p.can_advance and p.lead_people:
        owed = {person: ["to advance"] for person in p.lead_people}
    if not owed:
        return shorten(p.waiting_on[0], 60) if p.waiting_on else ""
    named = [f"{person} ({', '.join(kinds)})" for person, kinds in owed.items()]
    more = f" +{len(named) - BOARD_PEOPLE} more" if len(named) > BOARD_PEOPLE else ""
    return "waiting for " + ", ".join(named[:BOARD_PEOPLE]) + more


def _board_row(p: Any) -> list[str]:
    waiting = waiting_people(p)
    return [p.code, f"{p.template} v{p.template_version}", f"{p.phase_title} (round {p.round})", p.status,
            due_text(p.due, p.overdue, p.due_in_days, short=True), waiting]


def due_text(due: str | None, overdue: bool, days: int | None, *, short: bool = False) -> str:
    """``2026-12-24 (3 working days left)``, ``2026-12-04 (overdue by 2 working days)``, or ``""``."""
    if due is None:
        return ""
    if days is None:
        return due
    if overdue:
        return f"{due} overdue" if short else f"{due} (overdue by {max(-days, 0)} working days)"
    left = "due today" if days == 0 else f"{days} working day{'s' if days != 1 else ''} left"
    return f"{due}" if short else f"{due} ({left})"


def status_lines(st: Any, role_titles: dict[str, str] | None = None) -> list[str]:
    titles = dict(role_titles or {})
    titles.update({t.role: t.role_title for t in st.tasks})
    if st.gate is not None:
        titles.update({a.role: a.role_title for a in st.gate.approvals})

    def title(role: str) -> str:
        return titles.get(role, role)

    head = st.code
    if st.name:
        head += f" — {st.name}"
    if st.client:
        head += f" (client: {st.client})"
    lines = [
        head,
        f"template {st.template} v{st.template_version} · phase {st.phase_number}/{st.phase_count} "
        f"{st.phase_title} · round {st.round} · {st.status}",
        "",
        "Tasks:",
    ]
    if st.tasks:
        lines += columns(
            [[title(t.role), t.task, TICK if t.done else OPEN,
              (f"{t.by} {when(t.at)}" + (f" — {t.note}" if t.note else "")) if t.done else ""]
             for t in st.tasks],
            indent="  ",
        )
    else:
        lines.append("  (no tasks in this phase)")
    can_sign = {w["role"]: w["people"] for w in st.waiting if w["kind"] == "approval"}
    lines += gate_lines(st.gate, st.team, title, can_sign if st.status == "active" else None)
    if st.deliverables:
        lines += ["", "Deliverables:"]
        lines += columns([[d["title"], "required" if d["required"] else "optional",
                           _version_text(d["current"])] for d in st.deliverables], indent="  ")
    if st.hold:
        lines += ["", f"On hold since {when(st.hold['at'])} by {st.hold['by']}: {st.hold['reason']}"]
    if st.last_rejection:
        r = st.last_rejection
        lines += ["", f"Last rejection: {when(r['at'])} by {r['by']} as {r['role_title']} in "
                      f"{r['phase_title']} round {r['round']}: {r['reason']}"]
    if st.status not in ("completed", "cancelled"):
        lines += ["", "Blockers:"]
        lines += [f"  - {b}" for b in st.blockers] or ["  none"]
    if st.due is not None or any(row["due"] for row in st.schedule):
        lines += ["", "Schedule" + (f" (calendar {st.calendar})" if st.calendar else "") + ":"]
        lines += columns([[row["title"], row["state"], row["duration"] or "",
                           due_text(st.due, st.overdue, st.due_in_days) if row["state"] == "current"
                           else row["due"] or ""] for row in st.schedule], indent="  ")
    lines += ["", "Team:"]
    team = [[title(role) + (" (lead)" if role == st.lead else ""), ", ".join(people) or "nobody yet"]
            for role, people in st.team.items()]
    lines += columns(team, indent="  ")
    lines += ["", f"can advance: {'yes' if st.can_advance else 'no'}"]
    return lines


def _version_text(current: dict[str, Any] | None) -> str:
    if current is None:
        return "missing"
    where = f"sha256 {current['sha256'][:12]}" if current["sha256"] else str(current["url"])
    return f"v{current['version']} {current['name'] or ''} {where}"


def gate_lines(gate: Any, team: dict[str, list[str]], title: Any,
               can_sign: dict[str, list[str]] | None = None) -> list[str]:
    """The gate's rule, who signed and, per missing role, who can sign it now (``can_sign``: the status'
    answer, the same as its blockers; None: the role's holders) — a holder who already signed for
    another role is named as such, not as someone the gate waits on."""
    if gate is None:
        return ["", "Gate: none (the tasks alone open this phase)"]
    state = "satisfied" if gate.satisfied else "not satisfied"
    lines = ["", f"Gate: {gate.title} — {rule_of(gate.required, gate.approvers, gate.distinct_people)}"
                 f" — {state}"]
    if gate.approvals:
        lines.append("  signed by:")
        lines += columns([[a.role_title, a.person, when(a.at), a.comment or ""] for a in gate.approvals],
                         indent="    ")
    else:
        lines.append("  signed by: nobody yet")
    if gate.missing:
        lines.append("  missing:")
        signed_as = {a.person: a.role_title for a in gate.approvals} if gate.distinct_people else {}
        rows = []
        for r in gate.missing:
            eligible = None if can_sign is None else can_sign.get(r, [])
            rows.append([title(r), _can_sign(team.get(r, []), eligible, signed_as)])
        lines += columns(rows, indent="    ")
    return lines


def _can_sign(holders: list[str], eligible: list[str] | None, signed_as: dict[str, str]) -> str:
    if not holders:
        return "nobody holds this role yet"
    if eligible is None:
        return ", ".join(holders)
    barred = [f"{p} cannot: signed as {signed_as[p]}" for p in holders
              if p not in eligible and p in signed_as]
    if not eligible:
        return "nobody can sign now" + (f" ({'; '.join(barred)})" if barred else "")
    return ", ".join(eligible) + (f" ({'; '.join(barred)})" if barred else "")


# -- events ---------------------------------------------------------------------------------------


def history_lines(events: Iterable[Any]) -> Iterator[str]:
    """The history, a line an event, streamed."""
    rows = ([str(e.seq), when(e.at), e.actor, e.action, e.phase or "",
             shorten(describe(e.action, e.data), 100)] for e in events)
    empty = True
    for line in streamed_columns(rows):
        empty = False
        yield line
    if empty:
        yield "no events"
