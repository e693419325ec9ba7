"""Wire every feature's commands into one Router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands.briefing import BriefingCommands
from bot.commands.general import GeneralCommands
from bot.commands.reply import Reply
from bot.commands.router import Router
from bot.commands.tasks import TaskCommands

if TYPE_CHECKING:
    from bot.app import Services


@dataclass
class Conversation:
    router: Router
    briefing: BriefingCommands


async def _plain_text(text: str) -> list[Reply]:
    return [Reply("I keep tasks for now: try /add Call the accountant friday, or /help.")]


def build_conversation(services: Services) -> Conversation:
    router = Router()
    general = GeneralCommands(services, router)
    general.register(router)
    TaskCommands(services).register(router)
    briefing = BriefingCommands(services)
    briefing.register(router)
    router.on_text(_plain_text)
    return Conversation(router, briefing)
