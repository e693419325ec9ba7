"""The scheduler tick: what the bot sends on its own, in one order, every tick.

    1. expire proposals past their 24 hours
    2. recover the outbox, on the first tick after a start only: a send interrupted by a stop
       or a crash is marked unknown (re-sent once, marked) before anything new goes out
    3. queue the reminder rungs that are due, then the day's briefing (bot.services.delivery
       .reminders), each in the transaction that records it
    4. send the outbox (each row claimed, sent once, settled)
    5. the weekly backup, in a worker thread (the owner hears only of a failure)
    6. the registered jobs, in the order they were added (each returns how many messages it
       queued): clients' interrupted replies today; calendar and folder sync go here too
    7. send the outbox again if steps 5 and 6 queued anything

The words come from a :class:`Wording` that the conversation layer implements (bot.commands
.outgoing), and messages leave through a :data:`Send` the adapter gives; nothing here knows
Telegram or HTML. :func:`bot.services.delivery.loop.every` runs the tick in both adapters.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from bot.services.backup.service import BackupService
from bot.services.delivery import keys
from bot.services.delivery.outbox import Buttons, Claimed, NotWanted, OutboxService
from bot.services.delivery.reminders import DueReminder, SchedulerService
from bot.services.proposals.approval import ProposalService

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[int]]  # scheduled work; how many messages it queued


@dataclass(frozen=True)
class Message:
    """One message as the outbox keeps it; `again` marks the single re-send after an unknown
    outcome."""

    text: str
    buttons: Buttons = ()
    again: bool = False


Send = Callable[[Message], Awaitable[int | None]]  # Telegram's message id (None: the terminal)


class Wording(Protocol):
    """The words of the scheduled messages (implemented in the conversation layer)."""

    def reminder(self, due: DueReminder) -> Message: ...

    def briefing(self, *, late: bool) -> Message: ...

    def backup_failed(self, text: str) -> Message: ...


class Tick:
    def __init__(
        self,
        proposals: ProposalService,
        outbox: OutboxService,
        scheduler: SchedulerService,
        backups: BackupService,
    ) -> None:
        self.proposals = proposals
        self.outbox = outbox
        self.scheduler = scheduler
        self.backups = backups
        self.recovered = False  # step 2 ran in this process

    async def run(self, wording: Wording, send: Send, jobs: list[Job]) -> int:
        """One tick, in the order above; how many messages went out."""
        self.proposals.expire_due()
        if not self.recovered:
            self.outbox.recover()
            self.recovered = True
        for due in self.scheduler.due_reminders():
            message = wording.reminder(due)
            self.scheduler.queue_reminder(due, message.text, message.buttons)
        briefing = self.scheduler.due_briefing()
        if briefing is not None:
            message = wording.briefing(late=briefing.late)
            self.scheduler.queue_briefing(briefing, message.text, message.buttons)
        send_row = partial(self._send_row, send)
        sent = await self.outbox.drain(send_row)
        queued = await self._weekly_backup(wording)
        for job in jobs:
            queued += await job()
        if queued:
            sent += await self.outbox.drain(send_row)
        return sent

    async def _weekly_backup(self, wording: Wording) -> int:
        """The weekly backup when due; a failure is queued once per ISO week (across restarts).
        How many messages it queued."""
        failure = await self.backups.weekly_if_due()
        if failure is None:
            return 0
        notice = wording.backup_failed(failure.text)
        return int(self.outbox.put(keys.backup_failed(failure.week, notice.text)))

    async def _send_row(self, send: Send, item: Claimed) -> int | None:
        """One outbox row; a card goes out only while its proposal still waits for the owner
        (one decided or expired meanwhile is dropped: its buttons could do nothing more)."""
        proposal_id = keys.card_proposal(item)
        if proposal_id is not None and not self.proposals.waiting(proposal_id):
            raise NotWanted(f"proposal #{proposal_id} no longer waits for a decision")
        return await send(Message(item.text, item.buttons, again=item.again))
