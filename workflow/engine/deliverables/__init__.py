"""Deliverables (issue 23): versions of a phase's documents, bound to the approvals that signed them.

The Engine's methods (each the function of the same name here, the store bound):

``add_deliverable(code, key, source=None, *, actor, name=None, note=None, url=None, label=None,
request_id=None, expected_seq=None) -> Event``
    Version N+1 of deliverable ``key`` of the current phase. ``source``: a path or a binary
    stream (read 1 MiB at a time, never whole in memory), or ``url`` (and ``label``) for work
    that lives elsewhere. ``name``: the file's name as shown (default: the path's base name).
    One transaction: the bytes (by sha256, stored once), the version row, the
    ``deliverable.add`` event (``key, title, version, kind, sha256, size, name, media_type,
    note, url, label, voided: {approvals: [...]}, carried_over: [...]``), the current round's
    approvals that bound this key voided (unless the template's ``carry_over`` allows it and the
    bytes are the same), and a ``changed`` notification to each voided signer. Refusals:
    ``TooLarge`` (exit 2, HTTP 413), ``UsageError`` (empty, bad url; 2/422), ``NotFound`` (a key
    no phase declares; 3/404), ``NotPermitted`` (no role in ``by``; 4/403), ``RuleRefused`` (not
    the current phase, held or closed; 1/409), ``PreconditionFailed`` (``expected_seq``; 5/412).
``may_add_deliverable(code, key, *, actor) -> Deliverable``
    The refusal ``add_deliverable`` would give, asked before any byte is read (an HTTP upload can be
    refused before its body is read); ``add_deliverable`` asks it first, and again under the lock.
``deliverables(code, *, phase=None, key=None, reader=None) -> list[DeliverableVersion]``
    Every version (of one phase, of one key), for admins, auditors and the project's team.
``open_deliverable(code, key, version=None, *, phase=None, reader=None) -> Opened``
    One version (the newest by default; ``phase`` default: the newest phase that has ``key``):
    ``Opened.version`` (a :class:`DeliverableVersion`) and ``Opened.chunks`` (an iterator of
    bytes, 1 MiB each, each read in a short read of its own); a link has no chunks.
``prove(source, *, project=None, reader=None) -> Proof``
    The sha256 of the file (streamed), every stored version with those bytes and every approval
    that bound them (project, phase, gate, round, role, person, at, seq, hash, key, version, state:
    current, passed, voided, withdrawn, rejected, unassigned; ``ended_by``: the event that ended it).
``verify_deliverables(code=None, *, reader=None) -> FilesReport``
    Every version row compared with its ``deliverable.add`` event, every stored file hashed again:
    ``ok``, ``files_checked``, ``broken`` (project, key, version, sha256, "missing"/"changed").

``approve(code, role, *, actor, comment=None, deliverables=None, ...)`` (a declared command)
records ``data.deliverables: {KEY: {version, sha256}}`` for every deliverable of the phase that has
a version; ``deliverables`` (``{KEY: sha256}``, or the text ``KEY=SHA256 KEY=SHA256``) are the
digests the signer saw: not the current set -> ``DeliverablesChanged`` (a ``PreconditionFailed``:
exit 5, HTTP 412, ``kind: precondition_failed``, the body's ``deliverables`` the current set).
A required deliverable missing refuses ``approve`` and ``advance`` (``RuleRefused`` with blockers).

``status(code).deliverables``: the current phase's, each ``{key, title, required, by, current}``
(``current``: the newest version's ``{version, sha256, kind, name, url, note}``, or None) — what a
page shows and what its Approve form sends back as the digests it showed.

Events: ``deliverable.add`` (its data above; replay applies its ``voided`` as ``withdraw``'s);
notification kind ``changed`` to each voided signer (workflow/domain/notify/asks.py).
Storage: ``workflow/storage/files/`` (spool, blobs, version rows); the rule:
``workflow.domain.rules.may_add_deliverable``; pure values: ``workflow.domain.deliverables``.
"""
