"""Insights (issue 25): from per-project facts to figures, pure (no I/O)."""
