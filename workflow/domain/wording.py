"""An event in words: the short line that history shows for it (the CLI's columns, the web's table).

Plain text, one line whatever a note held; the caller escapes it for its medium.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any


def describe(action: str, data: dict[str, Any]) -> str:
    """A short sentence-fragment of an event's data for one history line."""
    role = data.get("role_title") or data.get("role") or ""
    text = ""
    if action == "create":
        tpl = data.get("template") or {}
        text = f"on {tpl.get('key')} v{tpl.get('version')}"
        if data.get("name"):
            text += f": {data['name']}"
    elif action in ("assign", "unassign"):
        text = f"{data.get('person')} {'as' if action == 'assign' else 'no longer'} {role}"
    elif action in ("withdraw", "task.reopen"):
        voided = data.get("voided") or {}
        rows = voided.get("approvals") or voided.get("tasks") or []
        what = [f"{v.get('role')} by {v.get('person')}" for v in rows]
        text = f"voids {', '.join(what)}" + (f" — {data['reason']}" if data.get("reason") else "")
    elif action == "deliverable.add":
        shown = data.get("name") if data.get("kind") != "link" else (data.get("label") or data.get("url"))
        text = f"{data.get('title')} v{data.get('version')}: {shown}"
        if data.get("sha256"):
            text += f" (sha256 {str(data['sha256'])[:12]})"
        voided = (data.get("voided") or {}).get("approvals") or []
        if voided:
            text += "; voids " + ", ".join(f"{v.get('role')} by {v.get('person')}" for v in voided)
    elif action == "task.done":
        text = f"{role}: '{data.get('task')}'"
        if data.get("note"):
            text += f" — {data['note']}"
    elif action == "approve":
        text = f"'{data.get('gate')}' as {role}"
        if data.get("comment"):
            text += f" — {data['comment']}"
    elif action == "reject":
        text = f"'{data.get('gate')}' as {role} → {data.get('to_phase')} round {data.get('to_round')}: " \
               f"{data.get('reason')}"
    elif action == "advance":
        text = "→ completed" if data.get("to_phase") is None else \
            f"→ {data.get('to_phase')} round {data.get('to_round')}"
    elif action in ("hold", "cancel"):
        text = str(data.get("reason") or "")
    elif action == "due":
        text = f"{data.get('for_phase_title')} due {data.get('due_on')}"
        if data.get("previous"):
            text += f" (was {data['previous']})"
        text += f": {data.get('reason')}"
    elif action == "remind":
        text = f"reminded {', '.join(data.get('people') or [])} to sign '{data.get('gate')}'"
    elif action == "escalate":
        text = (f"'{data.get('gate')}' escalated to {', '.join(data.get('people') or [])}; waiting on "
                f"{', '.join(data.get('waiting_on') or []) or 'nobody who can sign'}")
    elif action == "overdue":
        text = f"due {data.get('due_on')} passed; told {', '.join(data.get('people') or [])}"
    elif action in ("grant", "revoke"):
        text = f"{data.get('person')} {data.get('privilege')}"
    return " ".join(text.split())  # one line, whatever the note held


def count(n: int, noun: str) -> str:
    """``1 chain``, ``53 events``: a number and its noun, the plural only when it is not one."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def all_chains(n: int) -> str:
    """The chains a checkpoint holds, as a verify result names them: "the one chain", "all 3 chains"."""
    return "the one chain" if n == 1 else f"all {n} chains"


# A checkpoint's signature as ``audit verify`` found it (AuditReport.checkpoint_signature), in words.
SIGNATURE_WORDS = {
    "checked": "signature checked",
    "not checked": "signed, but the signature was not checked: set PHASEGATE_CHECKPOINT_KEY to check it",
    "none": "not signed",
}


def signature_words(state: str | None) -> str:
    return SIGNATURE_WORDS.get(state or "none", state or "not signed")



def no_account(person: str, logins: Sequence[str]) -> str:
    """Why ``person`` cannot be assigned: "no account 'bne'; did you mean ben?" (the close logins,
    if any is close)."""
    close = difflib.get_close_matches(person, logins, n=3, cutoff=0.6)
    text = f"no account '{person}'"
    if close:
        names = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
        text += f"; did you mean {names}?"
    return text
