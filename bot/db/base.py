"""The declarative base every model module shares, and the rule that decides crash recovery.

Effects and bookkeeping. While the bot handles a Telegram update, every transaction that
changes a row of an ordinary model also writes that update's ``update_effects`` row, in the
same commit (:mod:`bot.services.inbox` hooks the app's sessionmaker). After a crash, that row
says "this update's change is on disk: do not run it again". A model whose rows are the bot's
own bookkeeping — the inbox itself, the effect rows, usage counters written even when the turn
then fails — must not count, or a crashed update would look handled. Such a model says so on
itself::

    class LLMUsage(Base):
        __tablename__ = "llm_usage"
        bookkeeping = True

Every other model counts: a new table is an effect unless its author marks it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
BOOKKEEPING = "bookkeeping"  # the key in ``Table.info`` that marks a bookkeeping table


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    bookkeeping: ClassVar[bool] = False  # True: changing its rows is not an update's effect

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # maps the class: its __table__ exists from here
        table = cls.__dict__.get("__table__")
        if isinstance(table, Table):
            table.info[BOOKKEEPING] = cls.bookkeeping


def is_effect(table: object) -> bool:
    """Whether changing rows of `table` counts as an update's effect (anything but a table
    whose model is marked ``bookkeeping = True``; a table of no model counts too)."""
    info = getattr(table, "info", None)
    return not (isinstance(info, dict) and info.get(BOOKKEEPING, False))
