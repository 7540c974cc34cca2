"""Deliverables on the command line (``deliverable add | list | get``, ``audit prove``): commands."""
