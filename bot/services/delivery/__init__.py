"""What the bot sends on its own: reminders and the briefing queued when due, the outbox that
sends them once, how a send can end."""
