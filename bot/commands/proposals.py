"""Proposal cards (Approve / Edit / Reject), /pending and /audit."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypeGuard

from bot.commands import callbacks
from bot.commands.callbacks import Callback
from bot.commands.render import when
from bot.commands.reply import Button, Reply, bold, esc
from bot.db.proposals import Proposal
from bot.services.proposals import payloads as p
from bot.services.tasks import dates

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

ORIGINS = {
    "assistant": "suggested by the AI",
    "parser": "read from your message",
    "forward": "drafted for a forwarded message",
    "business": "drafted for a client",
}


class ProposalCommands:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.links = services.links

    def register(self, router: Router) -> None:
        router.command("pending", "AI proposals waiting for your decision", self.pending)
        router.on_callback("pa", self.press_approve)
        router.on_callback("pe", self.press_edit)
        router.on_callback("pr", self.press_reject)

    # --- cards -------------------------------------------------------------------------------

    def card(self, row: Proposal) -> Reply:
        """Exactly what Approve will do, with the three buttons."""
        payload = p.load(row.payload)
        head = f"<b>Proposal #{row.id}</b> · {ORIGINS.get(row.origin, esc(row.origin))}"
        expires = when(row.expires_at, True, self.s.prefs.tz, self.s.clock.now())
        foot = f"<i>Nothing happens until you tap Approve. Expires {expires}.</i>"
        approve = "ca" if _to_client(payload) else "pa"
        buttons = (
            Button("✅ Approve", callbacks.encode(approve, row.id)),
            Button("✏️ Edit", callbacks.encode("pe", row.id)),
            Button("✖️ Reject", callbacks.encode("pr", row.id)),
        )
        notes = self.s.clients.notes(payload) if _to_client(payload) else []
        notes += self.links.notes(_written(payload))
        lines = [head, self.describe(payload), *(esc(n) for n in notes), "", foot]
        return Reply("\n".join(lines), buttons=(buttons,))

    def describe(self, payload: p.Payload) -> str:
        if isinstance(payload, p.NewTask):
            return "📝 New task: " + self._task_text(
                payload.title, payload.due_at, payload.has_time, payload.rule, payload.assignee
            )
        if isinstance(payload, p.ChangeTask):
            parts = [f"✏️ Change task #{payload.task_id} {bold(payload.was_title)}:"]
            if payload.title:
                parts.append(f"title → {bold(payload.title)}")
            if payload.due_at:
                parts.append("due → " + self._when(payload.due_at, payload.has_time))
            return " ".join(parts)
        if isinstance(payload, p.FinishTask):
            due = self._when(payload.due_at, False) if payload.due_at else "no date"
            return f"✓ Mark task #{payload.task_id} {bold(payload.title)} (due {due}) as done"
        if isinstance(payload, p.ContractorMessage):
            return (
                f"💬 Message to your contractor {bold('@' + payload.name)}\n"
                f"<blockquote>{esc(payload.text)}</blockquote>"
            )
        return self._reply_text(payload)

    def _reply_text(self, payload: p.ReplyDraft) -> str:
        lines = [f"✉️ Reply to {bold(payload.recipient)}"]
        if payload.incoming:
            lines.append(f"Their message: <i>{esc(payload.incoming[:600])}</i>")
        lines.append(f"<blockquote>{esc(payload.text)}</blockquote>")
        if payload.sources:
            lines.append("Sources: " + esc("; ".join(payload.sources)))
        return "\n".join(lines)

    def _task_text(
        self,
        title: str,
        due_at: datetime | None,
        has_time: bool,
        rule: str | None,
        assignee: str | None,
    ) -> str:
        parts = [bold(title)]
        if due_at is not None:
            parts.append("— due " + self._when(due_at, has_time))
        if rule:
            parts.append("· " + esc(dates.describe_rule(rule)))
        if assignee:
            parts.append("· for @" + esc(assignee))
        return " ".join(parts)

    def _when(self, at: datetime, has_time: bool) -> str:
        return when(at, has_time, self.s.prefs.tz, self.s.clock.now())

    # --- commands and buttons ----------------------------------------------------------------

    async def pending(self, args: str) -> list[Reply]:
        """Every proposal still waiting, each as its card."""
        rows = self.s.proposals.pending()
        if not rows:
            return [Reply("No proposals waiting for you.")]
        return [self.card(row) for row in rows]

    async def press_approve(self, cb: Callback) -> list[Reply]:
        outcome = self.s.proposals.approve(cb.int_arg())
        row, payload = outcome.proposal, p.load(outcome.proposal.payload)
        mark = "✅ Approved" if outcome.ok else "⚠️ Approved, but it could not be done"
        text = (
            f"{mark} · proposal #{row.id}\n{self.describe(payload)}\n<i>{esc(outcome.message)}</i>"
        )
        replies = [Reply(text, edit=True, toast=outcome.message[:190])]
        if outcome.ok and isinstance(payload, p.ReplyDraft):
            replies.append(Reply(esc(payload.text)))  # the final text alone, to copy
        return replies

    async def press_edit(self, cb: Callback) -> list[Reply]:
        row = self.s.proposals.start_edit(cb.int_arg())
        hint = (
            "Send the new reply text as your next message."
            if row.kind in ("draft_reply", "message_contractor")
            else "Send the task as your next message, e.g. “Renew licence friday 3pm”."
        )
        return [Reply(f"✏️ Editing proposal #{row.id}. {hint}", toast="Send the new text")]

    async def press_reject(self, cb: Callback) -> list[Reply]:
        row = self.s.proposals.reject(cb.int_arg())
        text = f"✖️ Rejected · proposal #{row.id}\n{self.describe(p.load(row.payload))}"
        return [Reply(text, edit=True, toast="Rejected; nothing was done")]


def _written(payload: p.Payload) -> str:
    """The text of a proposal that came from the model (or a client), not from stored data."""
    if isinstance(payload, p.ReplyDraft | p.ContractorMessage):
        return payload.text
    if isinstance(payload, p.NewTask | p.ChangeTask):
        return payload.title or ""
    return ""


def _to_client(payload: p.Payload) -> TypeGuard[p.ReplyDraft]:
    """A reply that Approve sends into a client's chat (Telegram Business)."""
    return isinstance(payload, p.ReplyDraft) and payload.client_id is not None
