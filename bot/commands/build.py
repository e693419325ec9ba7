"""Wire every feature's commands into one Router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands.assistant import AssistantCommands
from bot.commands.backup import BackupCommands
from bot.commands.clients import ClientCommands
from bot.commands.general import GeneralCommands
from bot.commands.knowledge import KnowledgeCommands
from bot.commands.proposals import ProposalCommands
from bot.commands.router import Router
from bot.commands.tasks.briefing import BriefingCommands
from bot.commands.tasks.export import ExportCommands
from bot.commands.tasks.handlers import TaskCommands

if TYPE_CHECKING:
    from bot.app import Services


@dataclass
class Conversation:
    router: Router
    briefing: BriefingCommands
    knowledge: KnowledgeCommands
    clients: ClientCommands  # its draft_due runs as a background job of the Telegram adapter


def build_conversation(services: Services) -> Conversation:
    router = Router()
    general = GeneralCommands(services, router)
    general.register(router)
    TaskCommands(services).register(router)
    briefing = BriefingCommands(services)
    briefing.register(router)
    BackupCommands(services).register(router)
    ExportCommands(services).register(router)
    cards = ProposalCommands(services)
    cards.register(router)
    knowledge = KnowledgeCommands(services)
    knowledge.register(router)
    AssistantCommands(services, cards, knowledge).register(router)
    clients = ClientCommands(services, cards)
    clients.register(router)
    briefing.jobs.append(clients.ask_unknown)
    return Conversation(router, briefing, knowledge, clients)
