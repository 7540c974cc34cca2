"""Persistence: SQLAlchemy Core tables, database connections and schema migrations.

The domain (definition, machine, gates) never imports from here; the Engine does.
"""
