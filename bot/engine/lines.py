"""What goes into the engine (an inbound line) and what comes out (utterances, narration, notices)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SceneKey:
    """Which scene: a server (``guild_id``; "local" for the terminal) and a channel in it."""

    guild_id: str
    channel_id: str


@dataclass(frozen=True, slots=True)
class InboundLine:
    """A line a person wrote in a scene.

    ``platform_message_id`` makes intake idempotent; ``reply_to`` is the platform id of the message
    this one replies to (a reply to an NPC's message addresses that NPC).
    """

    scene: SceneKey
    author_id: str
    author_name: str
    text: str
    platform_message_id: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class Utterance:
    """An NPC's line, with what a front end needs to render it (name, face, swipe position)."""

    message_id: int
    character_id: str
    speaker: str
    text: str
    avatar_url: str | None = None
    swipe_index: int = 0
    swipe_count: int = 1


@dataclass(frozen=True, slots=True)
class Narration:
    """The narrator's line: arrivals, departures, places, time passing."""

    text: str
    message_id: int | None = None
    speaker: str = "Narrator"
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A short out-of-story message for the person (model down, unknown name, refused command)."""

    text: str
    code: str | None = None


Output = Utterance | Narration | Notice


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """What happened in reply to one inbound line or command."""

    outputs: tuple[Output, ...] = ()
    turn_id: int | None = None
    turn_seq: int | None = None
    duplicate: bool = False

    @property
    def utterances(self) -> list[Utterance]:
        return [o for o in self.outputs if isinstance(o, Utterance)]

    @property
    def narrations(self) -> list[Narration]:
        return [o for o in self.outputs if isinstance(o, Narration)]

    @property
    def notices(self) -> list[Notice]:
        return [o for o in self.outputs if isinstance(o, Notice)]


@dataclass(frozen=True, slots=True)
class CastEntry:
    """One character of a scene as ``/cast`` shows it."""

    character_id: str
    name: str
    location_id: str
    location_name: str
    mood_label: str
    mood_intensity: float
    present: bool
    relationships: dict[str, dict[str, object]] = field(default_factory=dict)
    feelings: str = ""
