"""The record: events and their hash chains, replaying them (a project's, the system chain's), the
first difference between a replay and the stored rows, and checkpoints."""
