"""Working time: calendars, working days and due dates (workdays), and a project's clock: what each
event moves and what a tick owes (clock)."""
