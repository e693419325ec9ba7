"""The team's service rules without Telegram: tokens, names, and the outbox's promise that a
message to a contractor whose outcome is unknown is never sent again by itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import Services
from bot.clock import FrozenClock
from bot.commands.tasks.briefing import BriefingCommands
from bot.db.team import TEAM
from bot.errors import UserInputError
from bot.services.delivery.outbox import Claimed, Outgoing
from bot.services.delivery.send_errors import SendUnknown
from bot.services.team.sweep import key_of

MARIA = 3003


@pytest.mark.asyncio
async def test_an_unknown_send_to_a_contractor_is_never_repeated_and_is_listed(
    services: Services, clock: FrozenClock
) -> None:
    member = services.team.accept(services.team.invite("@maria"), MARIA)
    assert member is not None
    services.outbox.put(Outgoing(key_of(member.id, "task", 1), TEAM, "📌 A task for you"))
    [team_row] = services.outbox.ready(TEAM)
    assert team_row not in services.outbox.ready()  # the owner's drain never takes it
    tries: list[Claimed] = []

    async def timed_out(item: Claimed) -> int | None:
        tries.append(item)
        raise SendUnknown()

    assert await services.outbox.drain(timed_out, TEAM) == 0
    services.outbox.recover()
    assert await services.outbox.drain(timed_out, TEAM) == 0
    assert len(tries) == 1 and services.outbox.ready(TEAM) == []
    [missed] = services.outbox.undelivered(clock.now() - timedelta(days=1))
    assert missed.kind == TEAM and missed.status == "unknown"
    briefing = BriefingCommands(services).render().text
    assert "📌 A task for you — to @maria" in briefing and "no answer from Telegram" in briefing


def test_tokens_are_single_use_and_names_are_checked(
    services: Services, clock: FrozenClock
) -> None:
    token = services.team.invite("@Maria")
    assert services.team.accept(token, 1001) is None  # the owner can't be a contractor
    assert services.team.accept(token + "x", MARIA) is None
    assert services.team.accept(token, MARIA) is not None
    assert services.team.accept(token, 4004) is None  # used
    with pytest.raises(UserInputError, match="already on your team"):
        services.team.invite("maria")
    with pytest.raises(UserInputError, match="Name the contractor"):
        services.team.invite("@ma ria; drop table")
    old = services.team.invite("@tom")
    new = services.team.invite("@tom")  # the second link replaces the first
    assert services.team.accept(old, 4004) is None
    clock.advance(timedelta(days=7))
    assert services.team.accept(new, 4004) is None  # expired
    services.team.revoke("@maria")
    assert services.team.member(MARIA) is None
    again = services.team.invite("@maria")  # re-invited after a revoke: the same person may rejoin
    assert services.team.accept(again, MARIA) is not None
