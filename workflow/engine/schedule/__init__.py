"""Schedules: due dates the lead sets (due), the clock's turn (tick) and a person's iCalendar feed (feed)."""
