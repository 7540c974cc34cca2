"""The record: events and their hash chains (events), replaying them (a project's: replay; the
system chain's: system_replay), the first difference between a replay and the stored rows
(state_check), and checkpoints."""
