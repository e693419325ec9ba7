"""The composition root: every client and service is built here, from Settings, once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db.engine import make_engine, migrate, relaxed_engine, session_factory
from bot.llm.prompts import Prompts, load_prompts
from bot.llm.usage import UsageLedger
from bot.services.backup.service import BackupService
from bot.services.clients.drafts import ReplyDrafter
from bot.services.clients.replies import ReplyDelivery
from bot.services.clients.service import ClientService
from bot.services.delivery.outbox import OutboxService
from bot.services.delivery.reminders import SchedulerService
from bot.services.inbox import Inbox
from bot.services.knowledge.service import KnowledgeService
from bot.services.prefs import Preferences
from bot.services.proposals.approval import ProposalService
from bot.services.proposals.rule_assistant import RuleAssistant
from bot.services.tasks.briefing import BriefingService
from bot.services.tasks.service import TaskService

if TYPE_CHECKING:
    from bot.llm.client import LLMClient
    from bot.services.proposals.ai_turn import AIAssistant


@dataclass
class Services:
    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    prefs: Preferences
    tasks: TaskService
    briefing: BriefingService
    scheduler: SchedulerService
    proposals: ProposalService
    rule_assistant: RuleAssistant
    usage: UsageLedger
    inbox: Inbox
    knowledge: KnowledgeService
    backups: BackupService
    clients: ClientService
    drafts: ReplyDrafter
    replies: ReplyDelivery
    outbox: OutboxService
    llm: LLMClient | None = None
    ai: AIAssistant | None = None

    def close(self) -> None:
        self.knowledge.close()
        self.inbox.close()
        self.engine.dispose()

    async def aclose(self) -> None:
        """Close network clients (the LLM endpoint's connection pool)."""
        if self.llm is not None:
            await self.llm.aclose()


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Open (and migrate) the database and build the services over it."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    prefs = Preferences(sessions, settings)
    tasks = TaskService(sessions, clock, prefs)
    proposals = ProposalService(sessions, clock, tasks)
    clients = ClientService(sessions, clock, prefs, settings.OWNER_TELEGRAM_ID)
    drafts = ReplyDrafter(sessions, clock, clients, proposals)
    services = Services(
        settings=settings,
        clock=clock,
        engine=engine,
        sessions=sessions,
        prefs=prefs,
        tasks=tasks,
        briefing=BriefingService(sessions, clock, prefs, tasks),
        scheduler=SchedulerService(sessions, clock, prefs),
        proposals=proposals,
        rule_assistant=RuleAssistant(tasks, proposals, prefs),
        usage=UsageLedger(sessions, clock, settings.LLM_MONTHLY_TOKEN_BUDGET),
        inbox=Inbox(engine, relaxed_engine(engine), clock),
        knowledge=build_knowledge(settings, sessions, clock),
        backups=BackupService(settings, clock, sessions, prefs),
        clients=clients,
        drafts=drafts,
        replies=ReplyDelivery(proposals, clients, drafts),
        outbox=OutboxService(sessions, clock),
    )
    prompts = load_prompts()  # a broken prompt file fails the start, not the first message
    if settings.llm_enabled:
        from bot.llm.client import LLMClient  # imports openai: only when AI is on

        attach_ai(services, LLMClient(settings, sessions, clock), prompts)
    return services


def attach_ai(services: Services, llm: LLMClient, prompts: Prompts | None = None) -> None:
    """Turn the AI features on with this client (tests pass one with short time-outs)."""
    # the structured-output models: only when AI is on
    from bot.services.proposals.ai_turn import AIAssistant

    services.llm = llm
    services.ai = AIAssistant(
        llm,
        prompts or load_prompts(),
        services.tasks,
        services.proposals,
        services.prefs,
        services.clock,
        search=services.knowledge.asearch,
    )


def build_knowledge(
    settings: Settings, sessions: sessionmaker[Session], clock: Clock
) -> KnowledgeService:
    """The documents' index: embedder and vectors load lazily, on the first use."""
    from bot.retrieval.embedding import default_embedder
    from bot.retrieval.index import open_index

    embedder = default_embedder(prepared=settings.DATA_DIR / "models")
    index = open_index(settings.DATA_DIR, embedder.name, settings.CHROMA_HOST, settings.CHROMA_PORT)
    return KnowledgeService(
        sessions, index, embedder, knowledge_dir=settings.KNOWLEDGE_DIR, clock=clock,
        prepared=settings.DATA_DIR / "models",
    )  # fmt: skip
