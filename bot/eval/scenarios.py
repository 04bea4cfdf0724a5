"""Evaluation scenarios: our own YAML files and Role-Play Bench seed records, both made runnable.

**Our format** (``eval/scenarios/*.yaml``; unknown keys are errors)::

    id: harbor-newcomer            # optional, default: the file's stem
    title: A newcomer at the quay  # optional
    world: harbor                  # a world id from WORLDS_DIR
    cast: [mira, old-tom]          # who is summoned to the player's place at the start (world cast members)
    user:
      name: Wren
      persona: A young ferry clerk ...
    opening: "*Wren steps off the ferry ...*"   # the user's first line (turn 1)
    prologue: {speaker: mira, text: "..."}      # optional: the first NPC line, before turn 1
    style: {activity: active, pacing: slow}     # the user simulator's style

**Role-Play Bench seeds** (JSON Lines, a JSON array, or ``{"seeds": [...]}``), published records as they
are: ``{id, ai_name, ai_setting, user_name, user_setting, ai_prologue, initial_user_input}`` (other keys
are ignored). A seed becomes a one-location world named after the seed and one character: the card from
``ai_setting``, a voice profile derived from it, and ``ai_prologue`` as its sample exchange and its first
line in the story; ``user_setting`` is the simulator's persona.

Every problem raises ``ScenarioError`` whose message names the file (and line or record) and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from bot.content.loader import Library
from bot.content.models import Character, World, slugify
from bot.errors import ContentError
from bot.quality.language import dominant_language

Activity = Literal["active", "passive"]
Pacing = Literal["slow", "fast"]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

SEED_SUFFIXES = (".jsonl", ".json")
SCENARIO_SUFFIXES = (".yaml", ".yml")


class ScenarioError(ContentError):
    """A scenario or seed file cannot be used; the message names the file and the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Style(_Strict):
    """How the simulated user plays: drives the story or follows (activity), lingers or rushes (pacing)."""

    activity: Activity = "active"
    pacing: Pacing = "slow"

    @property
    def label(self) -> str:
        return f"{self.activity}-{self.pacing}"

    @classmethod
    def parse(cls, text: str) -> Style:
        """``active-slow``, ``passive-fast``, ... (either order)."""
        parts = {p.strip().lower() for p in re.split(r"[-,/ ]+", text) if p.strip()}
        activity = parts & {"active", "passive"}
        pacing = parts & {"slow", "fast"}
        if len(activity) != 1 or len(pacing) != 1 or len(parts) != 2:
            raise ValueError(f"a style is ACTIVITY-PACING with active|passive and slow|fast, not {text!r}")
        return cls(activity=activity.pop(), pacing=pacing.pop())  # type: ignore[arg-type]


class UserPersona(_Strict):
    name: NonEmpty = Field(max_length=80)
    persona: NonEmpty


class Prologue(_Strict):
    speaker: Slug
    text: NonEmpty


class ScenarioFile(_Strict):
    """One of our scenario files, as written."""

    id: Slug | None = None
    title: str = ""
    world: Slug
    cast: list[Slug] = Field(min_length=1)
    user: UserPersona
    opening: NonEmpty
    prologue: Prologue | None = None
    style: Style = Field(default_factory=Style)


class SeedRecord(BaseModel):
    """A Role-Play Bench seed record; keys beyond the published ones are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str
    ai_name: NonEmpty = Field(max_length=80)
    ai_setting: NonEmpty
    user_name: NonEmpty = Field(max_length=80)
    user_setting: NonEmpty
    ai_prologue: str
    initial_user_input: str

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value


@dataclass(frozen=True)
class Scenario:
    """A runnable scenario: the world and cast the engine plays, the user the simulator plays."""

    id: str
    source: str
    kind: Literal["scenario", "seed"]
    world: World
    cast: tuple[Character, ...]
    library: Library
    user_name: str
    user_persona: str
    opening: str
    style: Style
    title: str = ""
    prologue: str = ""
    prologue_speaker: str | None = None
    cast_ids: tuple[str, ...] = field(default=())
    cards: tuple[Character, ...] = field(default=())  # the cast as authored, without the persona note

    @property
    def language(self) -> str:
        return self.world.language

    @property
    def cast_names(self) -> list[str]:
        return [c.name for c in self.cast]

    def character(self, character_id: str) -> Character:
        return self.library.characters[character_id]


# --- errors -------------------------------------------------------------------------------------------


def _loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(record)"


def _validation_message(where: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        path = _loc(error.get("loc", ()))
        message = error.get("msg", "invalid")
        if error.get("type") == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif error.get("type") == "missing":
            message = "required field is missing"
        problems.append(f"{where}: {path}: {message}")
    return "\n".join(problems)


# --- our format ---------------------------------------------------------------------------------------


def load_scenario_file(path: str | Path, library: Library) -> Scenario:
    """Read and check one of our scenario files against the loaded content."""
    p = Path(path)
    name = str(path)
    try:
        raw = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{name}: cannot read ({exc})") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise ScenarioError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{name}: expected a mapping of scenario fields at the top level")
    try:
        spec = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_validation_message(name, exc)) from None
    return scenario_from_file(spec, library, source=name, default_id=slugify(p.stem))


def scenario_from_file(spec: ScenarioFile, library: Library, *, source: str, default_id: str) -> Scenario:
    """Resolve a validated scenario file against the content library."""
    world = library.worlds.get(spec.world)
    if world is None:
        known = ", ".join(sorted(library.worlds)) or "none loaded"
        raise ScenarioError(f"{source}: world: unknown world {spec.world!r} (known: {known})")
    cast: list[Character] = []
    for index, character_id in enumerate(spec.cast):
        if character_id not in world.cast or character_id not in library.characters:
            members = ", ".join(world.cast) or "nobody"
            raise ScenarioError(
                f"{source}: cast[{index}]: {character_id!r} is not in the cast of world {world.id!r} ({members})"
            )
        if character_id in spec.cast[:index]:
            raise ScenarioError(f"{source}: cast[{index}]: {character_id!r} is listed twice")
    if spec.prologue is not None and spec.prologue.speaker not in spec.cast:
        raise ScenarioError(f"{source}: prologue.speaker: {spec.prologue.speaker!r} is not in this scenario's cast")
    characters = dict(library.characters)
    for character_id in spec.cast:
        character = with_persona(library.characters[character_id], spec.user.name, spec.user.persona)
        characters[character_id] = character
        cast.append(character)
    cards = tuple(library.characters[c] for c in spec.cast)
    return Scenario(
        id=spec.id or default_id,
        source=source,
        kind="scenario",
        world=world,
        cast=tuple(cast),
        library=Library(characters=characters, worlds=dict(library.worlds)),
        user_name=spec.user.name,
        user_persona=spec.user.persona,
        opening=spec.opening,
        style=spec.style,
        title=spec.title,
        prologue=spec.prologue.text if spec.prologue else "",
        prologue_speaker=spec.prologue.speaker if spec.prologue else None,
        cast_ids=tuple(spec.cast),
        cards=cards,
    )


def with_persona(character: Character, user_name: str, persona: str) -> Character:
    """The character with the player's persona added to its scenario line.

    The engine has no persona input of its own yet; a typical front end (and our baseline) puts the
    persona in the prompt, so Ensemble gets the same information this way.
    """
    note = f"The player character, {user_name}: {persona.strip()}"
    scenario = f"{character.scenario.strip()}\n{note}" if character.scenario.strip() else note
    return character.model_copy(update={"scenario": scenario})


# --- Role-Play Bench seeds ----------------------------------------------------------------------------


def read_seed_records(path: str | Path) -> list[tuple[str, SeedRecord]]:
    """The seed records of a file, each with where it came from (``file:line`` or ``file[index]``)."""
    p = Path(path)
    name = str(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{name}: cannot read ({exc})") from None
    raw: list[tuple[str, Any]] = []
    stripped = text.strip()
    if not stripped:
        raise ScenarioError(f"{name}: empty file, expected Role-Play Bench seed records")
    document: Any = None
    if stripped[0] in "[{" and p.suffix.lower() != ".jsonl":
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError:
            document = None
    if isinstance(document, list):
        raw = [(f"{name}[{i}]", rec) for i, rec in enumerate(document)]
    elif isinstance(document, dict) and isinstance(document.get("seeds", document.get("data")), list):
        listed = document.get("seeds", document.get("data"))
        raw = [(f"{name}[{i}]", rec) for i, rec in enumerate(listed)]
    elif isinstance(document, dict):
        raw = [(name, document)]
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw.append((f"{name}:{number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ScenarioError(f"{name}:{number}: invalid JSON ({exc.msg}, column {exc.colno})") from None
    if not raw:
        raise ScenarioError(f"{name}: no seed records")
    records: list[tuple[str, SeedRecord]] = []
    for where, rec in raw:
        if not isinstance(rec, dict):
            raise ScenarioError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        try:
            records.append((where, SeedRecord.model_validate(rec)))
        except ValidationError as exc:
            raise ScenarioError(_validation_message(where, exc)) from None
    return records


def load_seed_file(path: str | Path, style: Style | None = None) -> list[Scenario]:
    """Every seed of a file as a runnable scenario (``style`` for the simulator, default active-slow)."""
    return [seed_scenario(seed, style or Style(), source=where) for where, seed in read_seed_records(path)]


_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")
_SPEECH_WORDS = (
    "speak", "speech", "talk", "voice", "tone", "says", "said", "words", "accent", "laugh", "sarcas", "tease",
    "quote", "calls", "slang", "sentences", "dialect", "long-winded", "swear",
    "说话", "语气", "口头禅", "声音", "口吻", "称呼", "嘴", "腔",
)
_NATURE_WORDS = (
    "personality", "temper", "nature", "kind", "cold", "shy", "proud", "stubborn", "gentle", "trust", "loyal",
    "cheerful", "grumpy", "protective", "curious", "cynical", "warm", "patient", "absent-minded",
    "性格", "脾气", "为人", "个性", "傲娇", "温柔", "冷淡", "高冷", "开朗", "倔",
)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _pick(sentences: Sequence[str], words: Iterable[str], limit: int) -> str:
    keys = tuple(words)
    chosen = [s for s in sentences if any(k in s.lower() for k in keys)][:2] or list(sentences[:2])
    text = " ".join(chosen)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def seed_language(seed: SeedRecord) -> Literal["en", "zh"]:
    text = "\n".join((seed.ai_setting, seed.ai_prologue, seed.initial_user_input, seed.user_setting))
    return "zh" if dominant_language(text) in ("zh", "ja") else "en"


def seed_scenario(seed: SeedRecord, style: Style, *, source: str) -> Scenario:
    """A seed as a one-location world and one character (built with the content models' validation)."""
    language = seed_language(seed)
    zh = language == "zh"
    slug = slugify(seed.id)[:56]
    character_id = slugify(seed.ai_name)
    sentences = _sentences(seed.ai_setting)
    prologue = seed.ai_prologue.strip()
    sample = {
        "user": "（故事开始。）" if zh else "(The story begins.)",
        "character": prologue or (sentences[0] if sentences else seed.ai_setting),
    }
    style_line = _pick(sentences, _SPEECH_WORDS, 400)
    nature_line = _pick(sentences, _NATURE_WORDS, 400)
    try:
        character = Character.model_validate(
            {
                "id": character_id,
                "name": seed.ai_name,
                "description": seed.ai_setting,
                "personality": nature_line or seed.ai_setting[:400],
                "voice": {
                    "style": ("说话方式按设定：" if zh else "Talks the way the setting describes: ") + (style_line or seed.ai_name),
                    "samples": [sample],
                },
                "talkativeness": 0.6,
                "start_location": "scene",
                "relationships": {"user": {"affinity": 0, "note": seed.user_name}},
                "greetings": [prologue] if prologue else [],
            }
        )
        world = World.model_validate(
            {
                "id": f"seed-{slug}",
                "name": f"{seed.ai_name}（种子 {seed.id}）" if zh else f"{seed.ai_name} (seed {seed.id})",
                "language": language,
                "description": (
                    f"{seed.ai_name}与{seed.user_name}的故事（Role-Play Bench 种子 {seed.id}）。"
                    if zh
                    else f"The story of {seed.ai_name} and {seed.user_name} (Role-Play Bench seed {seed.id})."
                ),
                "locations": [
                    {
                        "id": "scene",
                        "name": "场景" if zh else "The scene",
                        "description": (
                            f"{seed.ai_name}与{seed.user_name}所在的地方。" if zh else f"Where {seed.ai_name} and {seed.user_name} are."
                        ),
                    }
                ],
                "cast": [character_id],
                "narrator": {"name": "旁白" if zh else "Narrator"},
                "settings": {"reply_length": {"min_words": 10, "max_words": 300}} if zh else {},
            }
        )
    except ValidationError as exc:
        raise ScenarioError(_validation_message(f"{source} (seed {seed.id})", exc)) from None
    card = character
    character = with_persona(card, seed.user_name, seed.user_setting)
    return Scenario(
        id=f"seed-{slug}",
        source=source,
        kind="seed",
        world=world,
        cast=(character,),
        library=Library(characters={character.id: character}, worlds={world.id: world}),
        user_name=seed.user_name,
        user_persona=seed.user_setting,
        opening=seed.initial_user_input.strip(),
        style=style,
        title=f"Role-Play Bench seed {seed.id}",
        prologue=prologue,
        prologue_speaker=character.id if prologue else None,
        cast_ids=(character.id,),
        cards=(card,),
    )


def check_unique(scenarios: Sequence[Scenario]) -> None:
    """Scenario ids must be unique across all files (they name the output's state files)."""
    seen: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.id in seen:
            raise ScenarioError(f"{scenario.source}: id: {scenario.id!r} is already used by {seen[scenario.id]}")
        seen[scenario.id] = scenario.source
