"""Tasks and deadlines: the task service, dates and repeats read from the owner's words, the
daily briefing, calendar and CSV export."""
