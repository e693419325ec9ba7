"""The exact content of each kind of proposal, resolved before the card is shown.

Dates are resolved to UTC instants when the proposal is made, so Approve executes exactly what
the card showed. Payloads are stored as JSON in the proposal row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

MAX_REPLY_CHARS = 4000


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewTask(_Payload):
    kind: Literal["create_task"] = "create_task"
    title: str
    due_at: datetime | None = None
    has_time: bool = False
    rule: str | None = None
    assignee: str | None = None


class ChangeTask(_Payload):
    kind: Literal["update_task"] = "update_task"
    task_id: int
    title: str | None = None
    due_at: datetime | None = None
    has_time: bool = False
    was_title: str = ""


class FinishTask(_Payload):
    kind: Literal["complete_task"] = "complete_task"
    task_id: int
    title: str
    due_at: datetime | None = None  # the occurrence the card showed: a stale card cannot roll twice


class ReplyDraft(_Payload):
    kind: Literal["draft_reply"] = "draft_reply"
    text: str
    recipient: str  # a display name from stored data (a client record or the forward's origin)
    client_id: int | None = None
    incoming: str = ""  # the client's message being answered
    sources: tuple[str, ...] = ()


class ContractorMessage(_Payload):
    """A message to a contractor: Approve queues it for their chat (bot.services.team)."""

    kind: Literal["message_contractor"] = "message_contractor"
    contractor_id: int
    name: str  # from the stored contractor record, never from model output
    text: str


Payload = Annotated[
    NewTask | ChangeTask | FinishTask | ReplyDraft | ContractorMessage, Field(discriminator="kind")
]
PAYLOAD = TypeAdapter(Payload)


def dump(payload: Payload) -> str:
    return payload.model_dump_json()


def load(raw: str) -> Payload:
    return PAYLOAD.validate_json(raw)
