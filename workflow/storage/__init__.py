"""Persistence: tables, migrations, connections and transactions, the write path, streaming reads.

The domain (``workflow/domain/``) never imports from here; the engine does.
"""
