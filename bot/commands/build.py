"""Wire every feature's commands into one Router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands.assistant import AssistantCommands
from bot.commands.audit import AuditCommands
from bot.commands.backup import BackupCommands
from bot.commands.business import BusinessCommands
from bot.commands.calendar import CalendarCommands
from bot.commands.clients import ClientCommands
from bot.commands.general import GeneralCommands
from bot.commands.knowledge import KnowledgeCommands
from bot.commands.outgoing import Send, TickWording, sending
from bot.commands.proposals import ProposalCommands
from bot.commands.router import Router
from bot.commands.tasks.briefing import BriefingCommands
from bot.commands.tasks.export import ExportCommands
from bot.commands.tasks.handlers import TaskCommands
from bot.commands.team import TeamCommands
from bot.commands.team_desk import ContractorDesk

if TYPE_CHECKING:
    from bot.app import Services
    from bot.services.delivery.tick import Job, Tick


@dataclass
class Conversation:
    router: Router
    briefing: BriefingCommands
    knowledge: KnowledgeCommands
    clients: ClientCommands  # its draft_due runs in the drafting loop (bot.services.delivery)
    business: BusinessCommands  # Telegram Business updates, as the adapter translates them
    tick: Tick
    jobs: list[Job]  # the tick's jobs, in order (see build_conversation)
    team: TeamCommands  # the Telegram adapter connects its sender to contractors' chats
    desk: ContractorDesk  # contractors' own chats: a separate entry, never the router above

    async def run_tick(self, send: Send) -> int:
        """One scheduler tick (bot.services.delivery.tick), sending through `send`."""
        return await self.tick.run(TickWording(self.briefing), sending(send), self.jobs)


def build_conversation(services: Services) -> Conversation:
    router = Router()
    general = GeneralCommands(services, router)
    general.register(router)
    TaskCommands(services).register(router)
    briefing = BriefingCommands(services)
    briefing.register(router)
    BackupCommands(services).register(router)
    ExportCommands(services).register(router)
    calendar = CalendarCommands(services)
    calendar.register(router)
    cards = ProposalCommands(services)
    cards.register(router)
    AuditCommands(services).register(router)
    knowledge = KnowledgeCommands(services)
    knowledge.register(router)
    AssistantCommands(services, cards, knowledge).register(router)
    clients = ClientCommands(services, cards)
    clients.register(router)
    # Scheduled work: each job runs on every tick, after the outbox is sent, and returns how
    # many messages it queued (they go out in the same tick). Register new jobs here.
    jobs: list[Job] = [clients.ask_unknown]
    briefing.jobs = jobs  # the same list: `briefing.jobs.append(...)` registers too
    jobs.append(calendar.sync_due)  # two-way calendar sync, in a worker thread
    business = BusinessCommands(services)
    team = TeamCommands(services)
    team.register(router)
    jobs.append(team.send_due)  # contractors' notices, reminders, daily lists; their sends
    briefing.sections.append(team.section)
    return Conversation(
        router,
        briefing,
        knowledge,
        clients,
        business,
        services.delivery,
        jobs,
        team,
        ContractorDesk(services),
    )
