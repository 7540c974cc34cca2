"""Delivering the outbox: the notifications each event wrote in its own transaction, sent at least once.

======================  ==========================================================
``delivery/leases.py``   claiming due rows under a lease, settling what was sent
``delivery/backoff.py``  how long a failed notification waits before its next try
``delivery/messages.py`` a notification's webhook body, Slack text and e-mail
``delivery/webhooks.py`` the webhook channel: keep-alive connections to checked addresses only, one
                         deadline a delivery, a few KiB of an answer read and none of it kept
``delivery/mail.py``     the e-mail channel: ``PHASEGATE_SMTP_URL`` and smtplib
``delivery/worker.py``   the loop: claim, send side by side (a slow receiver holds only its rows), settle
======================  ==========================================================

A command only inserts outbox rows (``workflow/storage/outbox.py``); this package is the
other half, run by ``phasegate notify run`` and by a thread of ``phasegate serve``. It reads
and writes the store below the engine (no project state is touched: delivery is not on the
record, only a retry an admin asks for is).
"""
