"""The built-in templates' client variants (issue 24): ``large-agency-client``, ``digital-agency-client``,
``team-based-client``. Each is its built-in with one more role, ``client`` (external: an outside signer
invited by e-mail), among the approvers of the two gates agencies ask the client to sign: SOW & Estimate
and Production Review QA.

A variant is made from its built-in's text when asked for (``phasegate template publish
digital-agency-client``), never kept as a second copy of the file: a change to a built-in is its variant's
change too. It is not published with the built-ins, so a database's templates and its existing projects
stay as they were.
"""

from __future__ import annotations

import re

from workflow.errors import NotFound

SUFFIX = "-client"
CLIENT_ROLE = "  client: {title: Client, external: true, description: The client's signer (an e-mailed link)}"
CLIENT_GATES = ("sow_estimate", "production_review_qa")  # the phases whose gate the client signs
_PHASE = re.compile(r"  - key: ([a-z0-9_]+)\s*$")
_APPROVERS = re.compile(r"(\s+approvers: \[[^\]]*)\]\s*$")


def variant_keys() -> list[str]:
    from workflow.domain.templates.loader import BUILTIN_KEYS

    return [key + SUFFIX for key in BUILTIN_KEYS]


def client_variant(text: str, base: str) -> str:
    """The text of built-in ``base`` (``text``) with the client role and its two gates."""
    lines, out, phase, in_roles, added = text.splitlines(), [], None, False, 0
    out.append(f"# Generated from the built-in {base} by workflow/domain/templates/variants.py: the client "
               f"approves {' and '.join(CLIENT_GATES)}.")
    for line in lines:
        if line.startswith("key: "):
            line = f"key: {base}{SUFFIX}"
        elif line.startswith("title: "):
            line = f"{line.rstrip()} (the client signs)"
        elif line.startswith("roles:"):
            in_roles = True
        elif in_roles and not line.startswith("  "):
            out.append(CLIENT_ROLE)
            in_roles = False
        elif (found := _PHASE.match(line)) is not None:
            phase = found.group(1)
        elif phase in CLIENT_GATES and (approvers := _APPROVERS.match(line)) is not None:
            line = f"{approvers.group(1)}, client]"
            added += 1
        out.append(line)
    if added != len(CLIENT_GATES):  # a built-in whose shape this does not know: said, never half made
        raise ValueError(f"the built-in {base} has not the gates {', '.join(CLIENT_GATES)}")
    return "\n".join(out) + "\n"


def variant_source(key: str) -> str:
    """The text of the client variant ``key`` (NotFound: not one)."""
    from workflow.domain.templates.loader import builtin_paths

    base = key[: -len(SUFFIX)] if key.endswith(SUFFIX) else ""
    path = builtin_paths().get(base)
    if path is None:
        raise NotFound(f"there is no built-in client variant {key!r} (variants: {', '.join(variant_keys())})")
    return client_variant(path.read_text(encoding="utf-8"), base)
