"""The one description of a process template's shape, shipped in the package.

The loader walks a template with this table: which keys each level allows,
which are required, and what kind of value each holds. Keeping the shape as
data (rather than spread over ``if`` statements) lets a test prove that the
schema and the loader agree, and lets docs or ``template validate`` print the
allowed keys from the same source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflow.domain import limits
from workflow.domain.vocabulary import STATUS_STATES

#: Input larger than this is refused before it is decoded or parsed.
MAX_BYTES = 1_048_576
#: Collections nested deeper than this are refused; a valid template needs 5.
MAX_DEPTH = 10
#: Refusals stop being collected after this many; the rest would only repeat.
MAX_PROBLEMS = 100
#: Values (keys, texts, lists, mappings) in one template, and entries in one mapping or list: a
#: hostile template is refused at the one past the bound instead of costing seconds of CPU.
MAX_NODES = int(limits.TEMPLATE_VALUES.default)
MAX_ENTRIES = int(limits.TEMPLATE_ENTRIES.default)

MAX_KEY_LENGTH = 64
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000

TEMPLATE_KEY = re.compile(r"[a-z0-9-]+")
ROLE_KEY = re.compile(r"[a-z0-9_]+")
PHASE_KEY = re.compile(r"[a-z0-9_]+")
SPAN = re.compile(r"[1-9][0-9]{0,2}[dh]")  # working days or hours, as workflow/domain/schedule.py reads it


@dataclass(frozen=True)
class Field:
    """One key of a mapping: the kind of value it holds, and whether it must be there.

    ``default`` is what an absent optional field means; ``None`` when there is
    nothing to fill in (an absent description stays ``None``).
    """

    kind: str
    required: bool = False
    default: object = None


#: Kinds of value, with the words used in refusals. Every kind here has a converter in the loader.
KINDS: dict[str, str] = {
    "template_key": f"a key of lowercase letters a-z, digits and '-' (at most {MAX_KEY_LENGTH} characters)",
    "role_key": f"a key of lowercase letters a-z, digits and '_' (at most {MAX_KEY_LENGTH} characters)",
    "phase_key": f"a key of lowercase letters a-z, digits and '_' (at most {MAX_KEY_LENGTH} characters)",
    "title": f"one line of text (at most {MAX_TITLE_LENGTH} characters)",
    "description": f"text (at most {MAX_DESCRIPTION_LENGTH} characters)",
    "roles": "a non-empty mapping of role key to {title: ...}",
    "role_ref": "the key of a declared role",
    "phases": "a non-empty list of phases",
    "tasks": "a mapping of role key to that role's task text",
    "gate": "a mapping with title and approvers",
    "role_refs": "a non-empty list of declared role keys",
    "required": "all, any or a whole number of approver roles",
    "boolean": "true or false",
    "phase_ref": "the key of this phase or an earlier one",
    "span": "a number of working days or hours, such as 5d or 4h (1 to 999)",
    "escalate_to": "lead, admin or the key of a declared role",
    "deliverables": "a list of deliverables, each a mapping with key and title",
    "deliverable_key": f"a key of lowercase letters a-z, digits and '_' (at most {MAX_KEY_LENGTH} "
                       "characters)",
    "by_roles": "a non-empty list of declared role keys",
    "carry_over": "a list of what may change while approvals carry over: note, name",
    "duty_refs": "a list of what this gate's signers must not have done: a phase key or PHASE.gate (its "
                 "gate's signers), or PHASE.task.ROLE (who did that task)",
}

#: What a new version of a deliverable may change while the approvals of the previous one still count.
CARRY_OVER = ("note", "name")

#: Allowed keys per level, in the order a template usually writes them.
#: "template" is the document itself; "role" is one value under ``roles``;
#: "phase" is one item of ``phases``; "gate" is a phase's ``gate``; "deliverable" one item of a phase's
#: ``deliverables``.
LEVELS: dict[str, dict[str, Field]] = {
    "template": {
        "key": Field("template_key", required=True),
        "title": Field("title", required=True),
        "description": Field("description"),
        "roles": Field("roles", required=True),
        "lead": Field("role_ref", required=True),
        "phases": Field("phases", required=True),
    },
    "role": {
        "title": Field("title", required=True),
        "description": Field("description"),
        "external": Field("boolean", default=False),  # an outside signer (issue 24): invited, never the lead
    },
    "phase": {
        "key": Field("phase_key", required=True),
        "title": Field("title", required=True),
        "description": Field("description"),
        "tasks": Field("tasks"),
        "gate": Field("gate"),
        "duration": Field("span"),
        "deliverables": Field("deliverables"),
    },
    "deliverable": {
        "key": Field("deliverable_key", required=True),
        "title": Field("title", required=True),
        "by": Field("by_roles"),  # absent: the roles with a task in the phase, and the lead
        "required": Field("boolean", default=True),
        "carry_over": Field("carry_over", default=()),
        "description": Field("description"),
    },
    "gate": {
        "title": Field("title", required=True),
        "approvers": Field("role_refs", required=True),
        "required": Field("required", default="all"),
        "distinct_people": Field("boolean", default=True),
        "on_reject": Field("phase_ref"),  # absent: the gate's own phase (filled by the loader)
        "description": Field("description"),
        "remind_after": Field("span"),
        "escalate_after": Field("span"),
        "escalate_to": Field("escalate_to"),  # absent with escalate_after: the lead
        "distinct_from": Field("duty_refs", default=()),  # separation of duties (templates/duties.py)
        "delegable": Field("boolean", default=True),  # false: nobody signs it on someone's behalf
    },
}


def allowed_keys(level: str) -> tuple[str, ...]:
    """The keys a mapping at ``level`` may hold, in schema order."""
    return tuple(LEVELS[level])



# The compiled machine's own states (workflow.domain.templates.machine): a phase may not take their names.
RESERVED_PHASE_KEYS = STATUS_STATES
