"""Who may sign for whom: delegations (someone away, another acting on their behalf) and the separation
of duties across gates (``distinct_from``), as pure functions the engine, the blockers and the
project check (``phasegate project check``) all ask."""
