"""The numbered migrations build exactly the schema the models describe."""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import bot.db
from bot.db.base import Base
from bot.db.engine import MIGRATIONS, at_head, head_revisions, make_engine, migrate

for module in pkgutil.iter_modules(bot.db.__path__):  # every model module registers its tables
    importlib.import_module(f"bot.db.{module.name}")


def test_migrations_match_the_models_and_are_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    migrate(engine)
    migrate(engine)  # a second start applies nothing
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()


def alembic_config(engine_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine_url)
    return config


def recorded(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_a_new_database_is_migrated_to_the_heads_of_the_files(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/new.db")
    assert not at_head(engine)
    migrate(engine)
    script = ScriptDirectory.from_config(alembic_config(""))
    assert recorded(engine) == set(script.get_heads()) == head_revisions(MIGRATIONS / "versions")
    assert at_head(engine)
    engine.dispose()


def test_an_old_database_is_upgraded_to_the_head(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    with engine.begin() as connection:
        config = alembic_config("")
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")  # an install from before proposals existed
    assert recorded(engine) == {"0003"} and not at_head(engine)
    migrate(engine)
    assert at_head(engine)
    assert "client_messages" in inspect(engine).get_table_names()
    engine.dispose()


def write_revision(folder: Path, name: str, head: str) -> None:
    (folder / name).write_text(head + "\n\ndef upgrade() -> None:\n    pass\n")


def test_heads_come_from_the_files_so_a_new_migration_is_applied(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    shutil.copytree(MIGRATIONS / "versions", versions, ignore=shutil.ignore_patterns("__py*"))
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    migrate(engine)
    assert at_head(engine, versions)
    (old_head,) = head_revisions(versions)
    # another feature's migration lands: the database is behind until Alembic runs again
    write_revision(
        versions, "0099_later.py", f'revision: str = "0099"\ndown_revision = "{old_head}"'
    )
    assert head_revisions(versions) == {"0099"}
    assert not at_head(engine, versions)
    write_revision(versions, "0098_side.py", f'revision = "0098"\ndown_revision = "{old_head}"')
    assert head_revisions(versions) == {"0098", "0099"}  # two branches, two heads
    merge = 'revision = "0100"\ndown_revision = ("0098", "0099")'
    write_revision(versions, "0100_merge.py", merge)
    assert head_revisions(versions) == {"0100"}
    write_revision(versions, "0101_odd.py", 'revision = "0101"\ndown_revision = pick()')
    assert head_revisions(versions) == frozenset()  # not readable: Alembic decides, never skipped
    assert not at_head(engine, versions)
    engine.dispose()


def test_a_start_at_the_head_loads_neither_alembic_nor_the_knowledge_stack(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    probe = (
        "import sys\n"
        "import bot.app, bot.services.knowledge.service\n"
        "from bot.db.engine import make_engine, migrate\n"
        f"migrate(make_engine({url!r}))\n"
        "heavy = {'alembic', 'numpy', 'chromadb', 'onnxruntime'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,  # this checkout's `bot`
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
