"""Contractors: invites, revocation, their own view of their tasks, and the owner's news of it.

service     TeamService: invite / accept / revoke, a contractor's tasks, done, snooze, note
sweep       what the bot sends contractors on its own: assignment notices, reminders on the
            ladder in their own zone, the opt-in daily list (queued in the outbox, once)
carry       a restore keeps revocations and used invites of the live database
"""
