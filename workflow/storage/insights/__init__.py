"""Insights (issue 25): the summary tables, kept in each event's transaction, and read in sums."""
