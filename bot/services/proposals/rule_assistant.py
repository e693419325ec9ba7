"""The owner's plain text: a question answered, or a request turned into a proposal card.

Without an LLM, "remind me to …"-style requests become task proposals through date parsing,
and everything else is treated as a question for the documents. With an LLM (see
:mod:`bot.services.proposals.ai_turn`), the model answers and proposes through a validated
structured result.
Either way nothing changes until the owner approves a card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.db.proposals import Proposal
from bot.services.prefs import Preferences
from bot.services.proposals.approval import ProposalService
from bot.services.tasks.service import TaskService

REQUEST = re.compile(
    r"^\s*(?:please\s+|pls\s+)?(?:"
    r"remind me (?:to|about|that)|remember to|don'?t (?:let me )?forget (?:to|about)|"
    r"add (?:a )?(?:task|todo|reminder)(?: to)?:?|new task:?|todo:|task:|i need to|i have to"
    r")\s+(?P<task>.+)$",
    re.IGNORECASE | re.DOTALL,
)
AI_OFF_FLAG = "ai_off_notice_shown"
AI_OFF_NOTICE = (
    "AI drafting is off (no OPENAI_BASE_URL or OPENAI_API_KEY set): I read dates myself and "
    "answer from your documents without writing new text."
)


@dataclass
class Turn:
    """What the assistant made of one message."""

    answer: str | None = None
    proposals: list[Proposal] = field(default_factory=list)
    notice: str | None = None


class RuleAssistant:
    """The assistant without an LLM: date parsing for requests, retrieval for questions."""

    def __init__(self, tasks: TaskService, proposals: ProposalService, prefs: Preferences) -> None:
        self._tasks = tasks
        self._proposals = proposals
        self._prefs = prefs

    def wants_task(self, text: str) -> str | None:
        match = REQUEST.match(text)
        return match.group("task").strip() if match else None

    def propose_task(self, text: str) -> Proposal:
        draft = self._tasks.draft(text)
        payload = self._proposals.task_from_draft(draft)
        return self._proposals.propose(payload, "parser", actor="parser")

    def notice_once(self) -> str | None:
        if self._prefs.flag(AI_OFF_FLAG):
            return None
        self._prefs.set_flag(AI_OFF_FLAG)
        return AI_OFF_NOTICE
