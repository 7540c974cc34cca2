"""Outside signers (issue 24): the client signs through an e-mailed link, with an e-mailed code.

=================================  ===================================================================
``engine/links/invite.py``         ``invite`` and ``revoke_invite`` (project commands), ``invitations``
``engine/links/signing.py``        what a link shows, its one-time code, its decision, its files
``engine/links/status.py``         the external signers named in ``status`` and their reminders
=================================  ===================================================================

An invitation puts its signer, ``client:ADDRESS``, in the external role's team (so four-eyes, voiding,
reminders and the gate's evaluation count them like anyone), with a link whose secret (32 random bytes)
is stored only as its sha256. The link's decision runs the ordinary approve/reject/task-done command as
``Identity("client:ADDRESS", auth="email-link")``, after the code e-mailed to ADDRESS was typed.
"""
