"""Plain records read from and written to the database; no I/O here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

MessageKind = Literal["user", "npc", "narration", "ooc"]
TurnStatus = Literal["open", "done", "failed", "interrupted"]


@dataclass(frozen=True, slots=True)
class SceneRow:
    """One role-play scene: a channel of a server (or a terminal session) bound to a world."""

    id: int
    guild_id: str
    channel_id: str
    world_id: str
    user_location: str
    enabled: bool
    paused: bool


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One line of a scene's transcript: a user's line, an NPC's reply, narration or an OOC note."""

    id: int
    scene_id: int
    turn_id: int
    position: int
    kind: MessageKind
    author_id: str | None
    speaker: str
    character_id: str | None
    location: str | None
    text: str
    heard_by: tuple[str, ...]
    reply_to_id: int | None
    platform_message_id: str | None
    active_swipe: int
    settled: bool
    created_at: str


@dataclass(slots=True)
class HeardLine:
    """A line as a character's memory reads it: who said what, and the few fields the prompt needs.

    Read up to 400 times per reply (the history window), so it is light on purpose: no ``heard_by`` to
    decode from JSON, and a plain slotted class (a frozen dataclass pays a ``object.__setattr__`` per
    field, and those two were a tenth of the reply's event-loop CPU late in a scene).
    """

    id: int
    kind: MessageKind
    author_id: str | None
    speaker: str
    character_id: str | None
    text: str


@dataclass(frozen=True, slots=True)
class SwipeRow:
    """One alternative of an NPC message."""

    idx: int
    text: str
    kept: bool


@dataclass(frozen=True, slots=True)
class NpcStateRow:
    """Where an NPC is and how it feels, in one server's copy of a world."""

    character_id: str
    location: str
    mood_label: str
    mood_intensity: float
    goals: tuple[str, ...] = ()
    relationships: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message the engine produced during a turn, to be written when the turn commits."""

    kind: MessageKind
    speaker: str
    text: str
    character_id: str | None = None
    author_id: str | None = None
    location: str | None = None
    heard_by: tuple[str, ...] = ()
    reply_to_id: int | None = None
    platform_message_id: str | None = None
    facts: tuple[FactRecord, ...] = ()
    # An NPC line's own effects on the world (its walking off, its mood): they belong to this
    # alternative and are stored with it, so that another alternative can replace them.
    effects: tuple[NewEvent, ...] = ()
    prompt: str | None = None  # NPC lines: the messages the model saw, as JSON (kept with the swipe)


@dataclass(frozen=True, slots=True)
class FactRecord:
    """A fact found in a message, known by ``known_by`` (character ids)."""

    kind: str
    text: str
    importance: int
    known_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A state change with its witnesses."""

    kind: str
    subject: str | None
    payload: dict[str, Any]
    witnesses: tuple[str, ...] = ()
    # Which message of the commit (its index) produced this event, when it is an alternative's effect.
    origin: int | None = None


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """Token usage of one model call."""

    purpose: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    latency_ms: float


@dataclass(slots=True)
class TurnCommit:
    """Everything a turn produced, written in one transaction by ``Store.commit_turn``."""

    status: TurnStatus = "done"
    messages: list[NewMessage] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)
    npc_states: list[NpcStateRow] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)
    user_location: str | None = None
    quality: dict[str, dict[str, int]] = field(default_factory=dict)
    join: tuple[str, ...] = ()
    leave: tuple[str, ...] = ()
    # Planned events settled against the NPC states read inside the write transaction: given the fresh
    # states, the events to store and the states they change (replaces ``events`` and ``npc_states``).
    settle: Settler | None = None
    # Write the new narration and NPC lines to the outbox, for the poster to deliver in order.
    post: bool = False


Settler = Callable[[dict[str, NpcStateRow]], tuple[list[NewEvent], list[NpcStateRow]]]
