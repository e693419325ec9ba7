"""Clients over Telegram Business: records and threads, drafted replies, sending approved
replies, the leak guard."""
