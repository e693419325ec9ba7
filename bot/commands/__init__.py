"""The assistant's conversation, independent of the chat transport.

Telegram (bot.tg) and the terminal (bot.console) both hand the owner's commands, texts and
button presses to :class:`bot.commands.router.Router` and render the :class:`Reply` objects it
returns, so both speak the same commands with the same confirmations.
"""
