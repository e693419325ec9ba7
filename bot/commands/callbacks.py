"""Callback data for inline buttons, encoded and checked in one place.

Format: ``action:arg1:arg2`` with a registered action and its exact argument count; the whole
string fits Telegram's 64-byte limit, checked when encoding. Anything else decodes to an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UserInputError

MAX_BYTES = 64
MAX_ID = 2**63 - 1  # a forged id past SQL's 64-bit integers is refused here, not in the driver

# action -> number of arguments
ACTIONS: dict[str, int] = {
    "td": 2,  # task done: id, due stamp (a stale button cannot roll a repeat twice)
    "ts": 1,  # task snooze: show choices
    "tz": 2,  # task snooze by a preset: id, preset
    "tx": 1,  # task delete: confirm
    "ty": 1,  # task delete: confirmed
    "tn": 1,  # task delete: cancelled
    "tp": 2,  # task list page: filter ('' for all open tasks), offset of its first task
    "pa": 1,  # proposal approve
    "pe": 1,  # proposal edit
    "pr": 1,  # proposal reject
    "ca": 1,  # client reply approve: sent into the client chat (bot.commands.clients)
    "kd": 2,  # a contractor's Done on their own task: id, due stamp (bot.commands.team_desk)
    "ks": 1,  # a contractor's Snooze: show the choices within the owner's limit
    "kz": 2,  # a contractor's snooze by a preset: id, preset
    "kf": 1,  # the owner fetches the file a contractor sent with a note: team event id
    "dq": 2,  # date question answered: question stamp, index of the reading (last: no date)
    "zs": 1,  # time zone chosen from the first-start list: the zone's name
    "dp": 1,  # /docs: the document list from this offset
    "au": 2,  # audit log page: area ('-' for all), entries older than this id
}


class BadCallback(UserInputError):
    """Callback data that is not ours, or no longer valid."""

    def __init__(self) -> None:
        super().__init__("That button is no longer valid; send the command again.")


@dataclass(frozen=True)
class Callback:
    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int = 0) -> int:
        """Argument `index` as a row id: ASCII digits only, within the database's integers."""
        arg = self.args[index] if index < len(self.args) else ""
        if not (arg.isascii() and arg.isdigit()) or not 0 < int(arg) <= MAX_ID:
            raise BadCallback()
        return int(arg)


def encode(action: str, *args: object) -> str:
    if ACTIONS.get(action) != len(args):
        raise ValueError(f"callback {action!r} takes {ACTIONS.get(action)} arguments")
    parts = [action, *(str(a) for a in args)]
    if any(":" in p for p in parts):
        raise ValueError("callback arguments may not contain ':'")
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Callback:
    if not data or len(data.encode()) > MAX_BYTES:
        raise BadCallback()
    action, *args = data.split(":")
    if ACTIONS.get(action) != len(args):
        raise BadCallback()
    return Callback(action, tuple(args))
