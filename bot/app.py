"""The composition root: every client and service is built here, from Settings, once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db.engine import make_engine, migrate, session_factory
from bot.services.assistant import RuleAssistant
from bot.services.backup import BackupService
from bot.services.briefing import BriefingService
from bot.services.prefs import Preferences
from bot.services.proposals import ProposalService
from bot.services.scheduler import SchedulerService
from bot.services.tasks import TaskService


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
    backups: BackupService

    def close(self) -> None:
        self.engine.dispose()


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Open (and migrate) the database and build the services over it."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = session_factory(engine)
    prefs = Preferences(sessions, settings)
    tasks = TaskService(sessions, clock, prefs)
    proposals = ProposalService(sessions, clock, tasks)
    return Services(
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
        backups=BackupService(settings, clock, sessions, prefs),
    )
