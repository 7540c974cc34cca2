"""The vocabulary and the rules: templates, machines, gates, permissions, project state, events.

Nothing here imports SQLAlchemy or click (``tests/design/test_design_guards.py`` checks it):
the engine reads and writes through ``workflow/storage/``, people reach it through
``workflow/cli/``.
"""
