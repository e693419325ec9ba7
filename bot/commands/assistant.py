"""Plain text from the owner: an edit in progress, a request (→ a card), or a question."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.proposals import ProposalCommands
from bot.commands.reply import Reply, esc

if TYPE_CHECKING:
    from bot.app import Services
    from bot.commands.router import Router

NO_ANSWER = (
    "I can add tasks from requests like “remind me to renew the licence on Jan 31”; "
    "send /help for everything else."
)


class AssistantCommands:
    def __init__(self, services: Services, cards: ProposalCommands) -> None:
        self.s = services
        self.cards = cards

    def register(self, router: Router) -> None:
        router.on_text(self.text)

    async def text(self, text: str) -> list[Reply]:
        """The owner's words: new content for a card being edited, a request, or a question."""
        if self.s.proposals.editing() is not None:
            return [self.cards.card(self.s.proposals.apply_edit(text))]
        rules = self.s.rule_assistant
        replies: list[Reply] = []
        notice = rules.notice_once() if not self.s.settings.llm_enabled else None
        if notice:
            replies.append(Reply(f"<i>{esc(notice)}</i>"))
        request = rules.wants_task(text)
        if request is not None:
            replies.append(self.cards.card(rules.propose_task(request)))
        else:
            replies.append(Reply(NO_ANSWER))
        return replies
