"""/audit: who changed what, newest first, in plain words; paged, filtered by area.

/audit              everything
/audit tasks        tasks added, done, edited, snoozed, deleted (by anyone)
/audit ai           the AI's cards and every change made through an approval
/audit settings | backups | sends | contractors | calendar | documents
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands import callbacks
from bot.commands.callbacks import Callback
from bot.commands.render import when
from bot.commands.reply import Button, Reply, esc
from bot.commands.router import Router
from bot.db.proposals import AuditEntry
from bot.errors import UserInputError
from bot.services import audit as a

if TYPE_CHECKING:
    from bot.app import Services

PAGE_SIZE = 15
MAX_DETAIL = 160  # characters of an entry's detail shown (a page stays far under 4,096)
EVERYTHING = "-"  # the area argument of a page button without a filter

WHO = {
    a.OWNER: "you",
    a.AI: "AI, approved by you",
    "assistant": "AI",
    "parser": "assistant (no AI)",
    a.SCHEDULER: "scheduler",
    a.SYSTEM: "microdesk",
}
TASK_WORDS = {
    "added": "added a task",
    "marked done": "marked a task done",
    "edited": "edited a task",
    "snoozed": "snoozed a task",
    "deleted": "deleted a task",
}
CARD_WORDS = {
    "proposed": "proposed card #{id}",
    "approved": "approved card #{id}",
    "executed": "carried out card #{id}",
    "done": "card #{id} done",
    "rejected": "rejected card #{id}",
    "expired": "card #{id} expired unanswered",
    "failed": "card #{id} failed",
    "unknown": "card #{id}: outcome unknown",
    "withdrawn": "withdrew card #{id}",
    "edit started": "started editing card #{id}",
}
KINDS = {
    "create_task": "a new task",
    "change_task": "a change to a task",
    "complete_task": "a task marked done",
    "draft_reply": "a reply",
}


class AuditCommands:
    def __init__(self, services: Services) -> None:
        self.s = services

    def register(self, router: Router) -> None:
        router.command("audit", "who changed what: /audit tasks, /audit ai, …", self.audit)
        router.on_callback("au", self.press_page)

    async def audit(self, args: str) -> list[Reply]:
        """The newest entries, of one area when named."""
        area = args.strip().lower() or None
        if area is not None and area not in a.AREAS:
            names = ", ".join(sorted(set(a.AREAS)))
            raise UserInputError(f"I can show /audit alone, or one of: {names}.")
        return [self._page(area, None)]

    async def press_page(self, cb: Callback) -> list[Reply]:
        area = None if cb.args[0] == EVERYTHING else cb.args[0]
        if area is not None and area not in a.AREAS:
            raise callbacks.BadCallback()
        return [self._page(area, cb.int_arg(1))]

    def _page(self, area: str | None, before: int | None) -> Reply:
        page = self.s.audit.page(area, before, PAGE_SIZE)
        title = "Recent actions" + (f" · {area}" if area else "")
        if not page.entries:
            empty = "Nothing recorded yet." if before is None else "Nothing older recorded."
            return Reply(f"<b>{esc(title)}</b>\n{empty}")
        lines = [f"<b>{esc(title)}</b>", *(self.line(e) for e in page.entries)]
        buttons: tuple[tuple[Button, ...], ...] = ()
        if page.more:
            data = callbacks.encode("au", area or EVERYTHING, page.entries[-1].id)
            buttons = ((Button("More ▸", data),),)
        return Reply("\n".join(lines), buttons=buttons, edit=before is not None)

    def line(self, entry: AuditEntry) -> str:
        """'Thu 3 Dec 14:05 · you · added a task: #3 File VAT return · due 2027-01-31'."""
        stamp = when(entry.at, True, self.s.prefs.tz, self.s.clock.now())
        text = f"{stamp} · {_who(entry.actor)} · {_what(entry)}"
        detail = "" if _detail_in_what(entry) else entry.detail
        if detail:
            cut = detail[:MAX_DETAIL] + ("…" if len(detail) > MAX_DETAIL else "")
            text += f": {cut}"
        return esc(text)


def _who(actor: str) -> str:
    if actor.startswith("contractor:"):
        return f"{actor.removeprefix('contractor:')} (contractor)"
    return WHO.get(actor, actor)


def _what(entry: AuditEntry) -> str:
    if entry.area == a.TASKS:
        return TASK_WORDS.get(entry.action, entry.action)
    if entry.area == a.SETTINGS:
        return "changed a setting"
    if entry.area == a.PROPOSALS and entry.proposal_id is not None:
        words = CARD_WORDS.get(entry.action, entry.action + " card #{id}").format(
            id=entry.proposal_id
        )
        if entry.detail in KINDS:
            words += f" ({KINDS[entry.detail]})"
        return words
    return entry.action


def _detail_in_what(entry: AuditEntry) -> bool:
    """A card's kind as the detail (proposed, approved) is already said in words."""
    return entry.area == a.PROPOSALS and entry.detail in KINDS
