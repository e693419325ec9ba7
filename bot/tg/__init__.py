"""The Telegram adapter: python-telegram-bot Application, access guard, rendering."""
