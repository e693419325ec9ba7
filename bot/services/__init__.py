"""The business logic, one package per concept; no Telegram, no HTML, no terminal here.

    tasks/       tasks and deadlines: the task service, dates and repeats, briefing, export
    proposals/   every AI action is a proposal until approved (approval.py), its payloads, the
                 AI turn, the rule assistant, the link check
    clients/     Telegram Business clients: records and threads, drafts, approved replies, leaks
    knowledge/   the owner's documents: ingest, indexes, search with sources
    backup/      the weekly and on-demand backup, the archive format, restore
    delivery/    what the bot sends on its own: the tick (tick.py), its loops, reminders and the
                 briefing when due (reminders.py), drafting, the outbox and its keys
    audit.py     the audit log: every change and who made it, recorded with one call
    inbox.py     each Telegram update stored first and handled once, across crashes
    prefs.py     the business's time zone and briefing time
    usage.py     the AI token budget's ledger

Everything is built once, in bot.app.
"""
