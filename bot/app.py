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
from bot.services.audit import AuditLog
from bot.services.backup.service import BackupService
from bot.services.calendar_sync.feed import FeedService
from bot.services.clients.drafts import ReplyDrafter
from bot.services.clients.replies import ReplyDelivery
from bot.services.clients.service import ClientService
from bot.services.delivery.drafting import Drafting
from bot.services.delivery.outbox import OutboxService
from bot.services.delivery.reminders import SchedulerService
from bot.services.delivery.tick import Tick
from bot.services.inbox import Inbox
from bot.services.knowledge.service import KnowledgeService
from bot.services.knowledge.share import ShareSync
from bot.services.prefs import Preferences
from bot.services.proposals.approval import ProposalService
from bot.services.proposals.links import LinkGuard
from bot.services.proposals.rule_assistant import RuleAssistant
from bot.services.tasks.briefing import BriefingService
from bot.services.tasks.service import TaskService
from bot.services.team.service import TeamService
from bot.services.team.sweep import TeamSweep
from bot.services.usage import UsageLedger

if TYPE_CHECKING:
    from bot.llm.client import Capabilities, LLMClient, RetryPolicy, Timeouts
    from bot.llm.usage import Budget
    from bot.services.calendar_sync.runner import CalendarRunner
    from bot.services.proposals.ai_turn import AIAssistant, Search


@dataclass
class Services:
    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    audit: AuditLog  # every change, with who made it: audit.record(by, area, action, detail)
    prefs: Preferences
    tasks: TaskService
    briefing: BriefingService
    scheduler: SchedulerService
    proposals: ProposalService
    links: LinkGuard  # one for every answer, card and draft
    rule_assistant: RuleAssistant
    usage: UsageLedger
    inbox: Inbox
    knowledge: KnowledgeService
    backups: BackupService
    clients: ClientService
    drafts: ReplyDrafter
    replies: ReplyDelivery
    outbox: OutboxService
    delivery: Tick
    drafting: Drafting
    team: TeamService
    team_sweep: TeamSweep
    feed: FeedService
    calendar: CalendarRunner | None  # with CALDAV_URL
    llm: LLMClient | None = None
    ai: AIAssistant | None = None
    share: ShareSync | None = None  # KNOWLEDGE_URL, when set: polled by the tick

    def close(self) -> None:
        self.knowledge.close()
        self.inbox.close()
        self.engine.dispose()

    async def aclose(self) -> None:
        """Close network clients (the LLM endpoint's connection pool, a calendar round)."""
        if self.calendar is not None:
            await self.calendar.stop()
        if self.llm is not None:
            await self.llm.aclose()


def build_services(
    settings: Settings,
    clock: Clock | None = None,
    *,
    llm_timeouts: Timeouts | None = None,
    llm_retry: RetryPolicy | None = None,
    ai_search: Search | None = None,
    llm_capabilities: Capabilities | None = None,
) -> Services:
    """Open (and migrate) the database and build the services over it; the AI features too
    when an endpoint is set (tests pass short `llm_timeouts`, a quick `llm_retry`, may give
    the AI another `ai_search` than the documents', and may say what the model can do with
    `llm_capabilities` instead of letting the first turn probe it)."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    audit = AuditLog(sessions, clock)
    prefs = Preferences(sessions, settings, audit)
    tasks = TaskService(sessions, clock, prefs, audit)
    proposals = ProposalService(sessions, clock, tasks)
    clients = ClientService(sessions, clock, prefs, settings.OWNER_TELEGRAM_ID)
    drafts = ReplyDrafter(sessions, clock, clients, proposals)
    usage = UsageLedger(sessions, clock, settings.LLM_MONTHLY_TOKEN_BUDGET)
    knowledge = build_knowledge(settings, sessions, clock)
    scheduler = SchedulerService(sessions, clock, prefs)
    outbox = OutboxService(sessions, clock)
    backups = BackupService(settings, clock, sessions, prefs, audit)
    prompts = load_prompts()  # a broken prompt file fails the start, not the first message
    replies = ReplyDelivery(proposals, clients, drafts, audit)
    team = TeamService(sessions, clock, tasks, prefs, settings.OWNER_TELEGRAM_ID)
    llm, ai = None, None
    if settings.llm_enabled:
        llm = build_llm(settings, usage, llm_timeouts, llm_retry, llm_capabilities)
        search = ai_search or knowledge.asearch
        ai = build_ai(llm, prompts, tasks, proposals, prefs, clock, search, team)
    return Services(
        settings=settings,
        clock=clock,
        engine=engine,
        sessions=sessions,
        audit=audit,
        prefs=prefs,
        tasks=tasks,
        briefing=BriefingService(sessions, clock, prefs, tasks),
        scheduler=scheduler,
        proposals=proposals,
        links=LinkGuard(sessions),
        rule_assistant=RuleAssistant(tasks, proposals, prefs),
        usage=usage,
        inbox=Inbox(sessions, engine, relaxed_engine(engine), clock),
        knowledge=knowledge,
        backups=backups,
        clients=clients,
        drafts=drafts,
        replies=replies,
        outbox=outbox,
        delivery=Tick(proposals, outbox, scheduler, backups),
        drafting=Drafting(drafts, clients, replies, outbox, ai),
        team=team,
        team_sweep=TeamSweep(sessions, clock, prefs, outbox),
        llm=llm,
        ai=ai,
        feed=FeedService(settings, sessions, clock, prefs),
        calendar=build_calendar(settings, sessions, clock, prefs),
        share=ShareSync(settings, knowledge) if settings.KNOWLEDGE_URL else None,
    )


def build_llm(
    settings: Settings,
    usage: Budget,
    timeouts: Timeouts | None,
    retry: RetryPolicy | None,
    capabilities: Capabilities | None = None,
) -> LLMClient:
    """The model client, booking every call in the app's one usage ledger (doctor passes a
    budget that allows no completion: it only lists the models). What the endpoint + model
    accepts is learned at the first calls and remembered, unless `capabilities` says it."""
    from bot.llm.client import LLMClient, RetryPolicy, Timeouts  # imports openai: AI on only

    return LLMClient(
        settings,
        usage,
        timeouts=timeouts or Timeouts(),
        retry=retry or RetryPolicy(),
        capabilities=capabilities,
    )


def build_ai(
    llm: LLMClient,
    prompts: Prompts,
    tasks: TaskService,
    proposals: ProposalService,
    prefs: Preferences,
    clock: Clock,
    search: Search,
    team: TeamService,
) -> AIAssistant:
    # the structured-output models: only when AI is on
    from bot.services.proposals.ai_turn import AIAssistant

    return AIAssistant(
        llm, prompts, tasks, proposals, prefs, clock, search=search, team_notes=team.notes_for_model
    )


def build_calendar(
    settings: Settings, sessions: sessionmaker[Session], clock: Clock, prefs: Preferences
) -> CalendarRunner | None:
    """The CalDAV sync when CALDAV_URL is set (the caldav library loads only then)."""
    if settings.CALDAV_URL is None:
        return None
    from bot.services.calendar_sync.runner import CalendarRunner
    from bot.services.calendar_sync.sync import CalendarSync

    return CalendarRunner(CalendarSync(settings, sessions, clock, prefs), settings.caldav_poll)


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
