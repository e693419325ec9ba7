"""What the bot sends on its own, and when.

tick.py         the scheduler tick: its order, the outbox recovery after a start, the jobs
loop.py         the supervised loops both adapters run (tick; drafting replies to clients)
reminders.py    which reminder rungs and which briefing are due, each queued once
outbox.py       queued, claimed, sent once, settled
keys.py         the outbox keys that name each message once
send_errors.py  how a send can end (refused, rate-limited, unknown)
"""
