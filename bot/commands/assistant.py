"""Plain text from the owner: an edit in progress, a request (→ a card), or a question.

Forwarded client messages get a drafted reply as a card. /usage shows the AI token budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.knowledge import KnowledgeCommands
from bot.commands.proposals import ProposalCommands
from bot.commands.reply import Reply, esc
from bot.commands.tasks.handlers import date_question
from bot.services.proposals import payloads as p
from bot.services.tasks.service import DateChoiceNeeded

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router
    from bot.services.proposals.ai_turn import AITurn

NO_DRAFTING = "AI drafting is off, so I can't draft a reply; set OPENAI_BASE_URL to turn it on."


class AssistantCommands:
    def __init__(
        self, services: Services, cards: ProposalCommands, knowledge: KnowledgeCommands
    ) -> None:
        self.s = services
        self.cards = cards
        self.knowledge = knowledge
        self.links = services.links

    def register(self, router: Router) -> None:
        router.on_text(self.text)
        router.on_forward(self.forwarded)
        router.command("usage", "AI tokens used this month, against the budget", self.usage)

    async def text(self, text: str) -> list[Reply]:
        """The owner's words: new content for a card being edited, a request, or a question."""
        if self.s.proposals.editing() is not None:
            return [self.cards.card(self.s.proposals.apply_edit(text))]
        if self.s.ai is not None:
            return self.render(await self.s.ai.turn(text))
        return await self._without_ai(text)

    async def _without_ai(self, text: str) -> list[Reply]:
        rules = self.s.rule_assistant
        replies: list[Reply] = []
        notice = rules.notice_once()
        if notice:
            replies.append(Reply(f"<i>{esc(notice)}</i>"))
        request = rules.wants_task(text)
        if request is not None:
            try:
                replies.append(self.cards.card(rules.propose_task(request)))
            except DateChoiceNeeded as ask:  # the date reads two ways: the owner picks
                replies.append(date_question(self.s, ask))
        else:  # a question: the documents answer
            replies += await self.knowledge.answer(text)
        return replies

    def render(self, turn: AITurn) -> list[Reply]:
        replies: list[Reply] = []
        if turn.answer:
            text = esc(turn.answer)
            if turn.sources:
                text += "\n\n<i>Sources: " + esc("; ".join(turn.sources)) + "</i>"
            text += "".join("\n" + esc(note) for note in self.links.notes(turn.answer))
            replies.append(Reply(text))
        replies += [self.cards.card(row) for row in turn.proposals]
        return replies or [Reply("I have nothing to add to that.")]

    async def forwarded(self, sender: str, text: str) -> list[Reply]:
        """A client's message forwarded by the owner: a drafted reply, as a card."""
        if not text.strip():
            return [Reply("That forwarded message has no text I can answer.")]
        if self.s.ai is None:
            return [Reply(NO_DRAFTING)]
        draft = await self.s.ai.draft_reply(sender, text)
        payload = p.ReplyDraft(
            text=draft.text, recipient=sender, incoming=text[:2000], sources=draft.sources
        )
        return [self.cards.card(self.s.proposals.propose(payload, "forward"))]

    async def usage(self, args: str) -> list[Reply]:
        """Tokens used this month against LLM_MONTHLY_TOKEN_BUDGET."""
        report = self.s.usage.report(self.s.clock.now())
        state = "on" if self.s.ai is not None else "off"
        share = 100 * report.used / report.budget if report.budget else 100.0
        return [
            Reply(
                f"AI is {state}. This month: <b>{report.used:,}</b> of {report.budget:,} tokens "
                f"({share:.0f} %) in {report.calls} calls; {report.remaining:,} left."
            )
        ]
