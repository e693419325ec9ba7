"""Two-way sync of deadlines with the owner's CalDAV calendar, and the read-only `.ics` feed.

server.py   the CalDAV server (blocking, the `caldav` library): find or create the calendar,
            list what changed (sync-token, else ETags), read, write and delete one event
events.py   a task as calendar resources (the export's events, one resource per UID; a to-do)
sync.py     one sync round: back from the calendar first, then out to it
push.py     the round's way out: write what changed here, delete what is gone, sweep
records.py  what a round reports (Round) and the calendar links as plain values
runner.py   the round in a worker thread, every CALDAV_POLL, never holding the tick
feed.py     the secret feed token: read, rotate, and the `.ics` it serves
restored.py after a restore, the sync state dropped so the restored tasks win in the calendar
"""
