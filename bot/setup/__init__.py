"""`microdesk setup`: the guided first run in the terminal.

envfile     reading and writing `.env` without losing what is there (mode 0600)
pairing     the 6-digit, single-use, 10-minute pairing code
telegram    the token checked with getMe; the owner paired by the code sent to the bot
models      local AI servers found on their usual ports, their models, a test answer
system      the time zone and country this machine suggests
wizard      the questions, one step at a time
"""
