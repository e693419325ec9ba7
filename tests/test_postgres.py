"""DATABASE_URL on PostgreSQL: the same migrations, the same schema, the doctor's check.

Each test runs on SQLite and on PostgreSQL (tests/pg.py starts the server).
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import bot.db
from bot.app import Services
from bot.config import Settings
from bot.console.doctor import check_database
from bot.db.base import Base
from bot.db.engine import make_engine, migrate

pytestmark = pytest.mark.all_databases

for module in pkgutil.iter_modules(bot.db.__path__):  # every model module registers its tables
    importlib.import_module(f"bot.db.{module.name}")


def test_the_services_run_on_the_engine_asked_for(services: Services, db_url: str | None) -> None:
    assert services.engine.dialect.name == ("postgresql" if db_url else "sqlite")
    task = services.tasks.add("File VAT return every quarter due Jan 31")
    assert services.tasks.get(task.id).due_at == task.due_at


def test_migrations_build_the_models_schema_and_are_idempotent(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        migrate(engine)  # a second start applies nothing
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()
    found = check_database(settings.database_url)
    assert found.ok and "up to date" in found.detail
