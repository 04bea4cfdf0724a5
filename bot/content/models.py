"""Pydantic models for content files: characters and worlds, as authors write them in YAML.

Every model forbids unknown keys so that a typo in a file is an error that names the field, not a
setting silently ignored. Cross-references (exits to unknown places, a cast member without a file)
are checked here where they are local to one file, and in ``bot.content.loader`` where they span files.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from bot.quality.guard import GuardPolicy

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

SLUG_RE = re.compile(r"[^a-z0-9_-]+")


def slugify(text: str) -> str:
    """A file-name-safe id from a display name; non-ASCII names fall back to a hash-free transliteration."""
    base = SLUG_RE.sub("-", text.strip().lower()).strip("-_")
    if not base:
        base = "c-" + "-".join(f"{ord(ch):x}" for ch in text.strip()[:8])
    return base[:64]


class Strict(BaseModel):
    """Base for content models: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=True)


class Mood(Strict):
    """A mood label with an intensity; NPC moods drift back to the character's baseline."""

    label: NonEmpty = "calm"
    intensity: float = Field(0.3, ge=0.0, le=1.0)


class SampleExchange(Strict):
    """One example exchange that teaches the model a character's tone and pacing."""

    user: NonEmpty
    character: NonEmpty


class VoiceProfile(Strict):
    """How a character talks: the part of a card that keeps characters from sounding alike."""

    style: NonEmpty
    vocabulary: list[NonEmpty] = Field(default_factory=list)
    quirks: list[NonEmpty] = Field(default_factory=list)
    samples: list[SampleExchange] = Field(min_length=1, max_length=3)


class RelationshipSeed(Strict):
    """A starting attitude toward someone: -100 (hostile) .. 100 (devoted), with a short note."""

    affinity: int = Field(0, ge=-100, le=100)
    note: str = ""


class LoreEntry(Strict):
    """A lorebook entry: inserted into a prompt when its keys appear in recent lines (or always, if constant)."""

    id: str | None = None
    keys: list[NonEmpty] = Field(default_factory=list)
    secondary_keys: list[NonEmpty] = Field(default_factory=list)
    selective_logic: Literal["and_any", "not_all", "not_any", "and_all"] = "and_any"
    constant: bool = False
    content: NonEmpty
    order: int = 100
    probability: int = Field(100, ge=0, le=100)
    enabled: bool = True
    case_sensitive: bool = False
    whole_word: bool = True

    @model_validator(mode="after")
    def _needs_keys_or_constant(self) -> LoreEntry:
        if not self.constant and not self.keys:
            raise ValueError("a lore entry needs at least one key unless it is constant")
        return self


class CardMeta(Strict):
    """What a character card carries beyond the character itself, kept for a faithful round trip."""

    tags: list[str] = Field(default_factory=list)
    creator: str = ""
    character_version: str = ""
    creator_notes: str = ""
    source_spec: str = ""
    extensions: dict[str, Any] = Field(default_factory=dict)


class Character(Strict):
    """A character as its YAML file describes it. ``id`` defaults to the file's stem."""

    id: Slug
    name: NonEmpty = Field(max_length=80)
    aliases: list[NonEmpty] = Field(default_factory=list)
    description: NonEmpty
    personality: NonEmpty
    scenario: str = ""
    voice: VoiceProfile
    talkativeness: float = Field(0.5, ge=0.0, le=1.0)
    avatar_url: str | None = None
    start_location: Slug | None = None
    mood: Mood = Field(default_factory=Mood)
    goals: list[NonEmpty] = Field(default_factory=list)
    relationships: dict[str, RelationshipSeed] = Field(default_factory=dict)
    greetings: list[NonEmpty] = Field(default_factory=list)
    system_prompt: str = ""
    post_history_instructions: str = ""
    lore: list[LoreEntry] = Field(default_factory=list)
    meta: CardMeta = Field(default_factory=CardMeta)

    @field_validator("avatar_url")
    @classmethod
    def _avatar_is_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://\S+$", value):
            raise ValueError("avatar_url must be an http(s) URL")
        return value or None

    def all_names(self) -> list[str]:
        """The name and every alias, for address matching."""
        return [self.name, *self.aliases]


class Exit(Strict):
    """A way from one place to another. Exits are two-way unless ``one_way``; ``audible`` lets voices carry."""

    to: Slug
    locked: bool = False
    one_way: bool = False
    audible: bool = False


class Location(Strict):
    """A place in the world graph."""

    id: Slug
    name: NonEmpty
    description: NonEmpty
    aliases: list[NonEmpty] = Field(default_factory=list)
    exits: list[Exit] = Field(default_factory=list)

    @field_validator("exits", mode="before")
    @classmethod
    def _plain_exit_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"to": item} if isinstance(item, str) else item for item in value]
        return value


class EventSeed(Strict):
    """A seed the director can draw a plot hook or off-screen event from."""

    text: NonEmpty
    location: Slug | None = None
    characters: list[Slug] = Field(default_factory=list)


class ReplyLength(Strict):
    """The target length range of an NPC reply: words, or in a Chinese world characters.

    A world with ``language: zh`` counts characters other than whitespace (punctuation included), the
    unit its prompt names and the guard checks; other worlds count words.
    """

    min_words: int = Field(8, ge=1)
    max_words: int = Field(140, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> ReplyLength:
        if self.max_words < self.min_words:
            raise ValueError("max_words must not be below min_words")
        return self


class WorldSettings(Strict):
    """Per-world tuning knobs with defaults a user would choose."""

    prompt_budget: int = Field(6000, ge=500, le=200_000)
    reply_length: ReplyLength = Field(default_factory=ReplyLength)
    max_speakers_per_line: int = Field(2, ge=0, le=8)
    chain_cap: int = Field(2, ge=0, le=10)
    chain_decay: float = Field(0.5, ge=0.0, le=1.0)
    recent_lines: int = Field(24, ge=2, le=400)
    temperature: float = Field(0.9, gt=0.0, le=2.0)
    max_reply_tokens: int = Field(400, ge=16, le=4096)
    summary_every: int = Field(20, ge=2, le=1000, description="turns between rolling summaries (off the hot path)")
    guards: GuardPolicy = Field(default_factory=GuardPolicy, description="what the quality guards do per finding")


class Narrator(Strict):
    """How the narrator presents itself."""

    name: NonEmpty = "Narrator"
    avatar_url: str | None = None


class World(Strict):
    """A world as its YAML file describes it. ``id`` defaults to the file's stem."""

    id: Slug
    name: NonEmpty
    language: Literal["en", "zh"] = "en"
    description: NonEmpty
    rules: list[NonEmpty] = Field(default_factory=list)
    locations: list[Location] = Field(min_length=1)
    user_start: Slug | None = None
    lore: list[LoreEntry] = Field(default_factory=list)
    cast: list[Slug] = Field(default_factory=list)
    event_seeds: list[EventSeed] = Field(default_factory=list)
    narrator: Narrator = Field(default_factory=Narrator)
    settings: WorldSettings = Field(default_factory=WorldSettings)

    @model_validator(mode="after")
    def _references_resolve(self) -> World:
        ids = [loc.id for loc in self.locations]
        seen: set[str] = set()
        for index, loc_id in enumerate(ids):
            if loc_id in seen:
                raise ValueError(f"locations[{index}].id: duplicate location id {loc_id!r}")
            seen.add(loc_id)
        for index, loc in enumerate(self.locations):
            for exit_index, exit_ in enumerate(loc.exits):
                if exit_.to not in seen:
                    raise ValueError(
                        f"locations[{index}].exits[{exit_index}].to: unknown location {exit_.to!r}"
                    )
                if exit_.to == loc.id:
                    raise ValueError(f"locations[{index}].exits[{exit_index}].to: an exit to itself")
        if self.user_start is not None and self.user_start not in seen:
            raise ValueError(f"user_start: unknown location {self.user_start!r}")
        for index, seed in enumerate(self.event_seeds):
            if seed.location is not None and seed.location not in seen:
                raise ValueError(f"event_seeds[{index}].location: unknown location {seed.location!r}")
        if len(set(self.cast)) != len(self.cast):
            raise ValueError("cast: a character is listed twice")
        return self

    def location(self, location_id: str) -> Location:
        """The location with this id (raises KeyError if there is none)."""
        for loc in self.locations:
            if loc.id == location_id:
                return loc
        raise KeyError(location_id)

    @property
    def start_location(self) -> str:
        """Where a player starts: ``user_start`` or the first location."""
        return self.user_start or self.locations[0].id
