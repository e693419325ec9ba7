"""/add, /tasks and its pages, /done, /snooze, /edit, /delete, /briefing, /export."""
