"""Prompt assembly for one NPC's reply: pure functions from world, card and visible lines to messages.

These are the texts; ``bot.memory.layout`` puts them in stability order under a token budget.
Messages use M2-her's native roles; ``bot.model.roles`` folds them for other models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.content.models import Character, Location, World
from bot.core.ports import ChatMessage

DEFAULT_USER_NAME = "User"


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One line as an NPC perceived it."""

    speaker: str
    text: str
    own: bool = False
    kind: str = "user"


@dataclass(frozen=True, slots=True)
class PresentCharacter:
    """Someone the speaking NPC can hear, as it sees them: in its place, or (``place``) through an audible exit."""

    name: str
    mood: str | None = None
    note: str | None = None
    place: str | None = None  # None: in the same place; else the place they are heard from


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What changes every turn for the speaking NPC."""

    location: Location
    present: Sequence[PresentCharacter]
    mood_label: str
    mood_intensity: float
    user_names: Sequence[str] = ()
    extra_instruction: str | None = None
    # Where the players are as the NPC knows it: None in its place, else that place's name, and whether
    # voices carry between the two (an audible exit), so a prompt never says "here" of someone next door.
    players_place: str | None = None
    players_in_earshot: bool = True


def _person(person: PresentCharacter) -> str:
    detail = ", ".join(x for x in (person.mood, person.note) if x)
    return f"{person.name} ({detail})" if detail else person.name


def substitute_macros(text: str, *, char: str, user: str = DEFAULT_USER_NAME) -> str:
    """Replace the card macros ``{{char}}`` and ``{{user}}`` (case-insensitive spellings)."""
    for macro, value in (("{{char}}", char), ("{{user}}", user)):
        text = text.replace(macro, value).replace(macro.upper(), value).replace(macro.title(), value)
    return text


def writing_rules(character: Character, world: World) -> str:
    """The default behaviour block; a card's ``system_prompt`` may wrap it with ``{{original}}``."""
    length = world.settings.reply_length
    unit = "characters" if world.language == "zh" else "words"
    return (
        f"Write only as {character.name}: {character.name}'s own words and actions, in {character.name}'s voice. "
        f"Never write what the players or any other character say, do, think or feel; never speak for them. "
        f"Do not start with a name label. Keep each reply between {length.min_words} and {length.max_words} {unit}, "
        "with something another person can answer. Stay in the story: no talk of being an AI, no disclaimers. "
        "Keep the world's rules. Do not repeat your earlier lines."
        + (" Write in Chinese." if world.language == "zh" else "")
    )


def static_system_prompt(character: Character, world: World) -> str:
    """The part of an NPC's prompt that never changes in this world: it must stay byte-identical."""
    name = character.name
    parts = [
        f"You are {name}, one character in a group role-play set in {world.name}.",
        f"# World\n{world.description}",
    ]
    if world.rules:
        parts.append("# Rules of this world (never broken)\n" + "\n".join(f"- {r}" for r in world.rules))
    card = [f"# {name}", character.description, f"Personality: {character.personality}"]
    if character.aliases:
        card.append("Also called: " + ", ".join(character.aliases))
    if character.scenario:
        card.append(f"Scenario: {character.scenario}")
    if character.goals:
        card.append("Goals: " + "; ".join(character.goals))
    parts.append("\n".join(card))
    voice = [f"# How {name} talks", f"Style: {character.voice.style}"]
    if character.voice.vocabulary:
        voice.append("Favourite words and turns of phrase: " + ", ".join(character.voice.vocabulary))
    if character.voice.quirks:
        voice.append("Quirks: " + "; ".join(character.voice.quirks))
    parts.append("\n".join(voice))
    rules = writing_rules(character, world)
    if character.system_prompt:
        rules = character.system_prompt.replace("{{original}}", rules)
    parts.append("# How to write\n" + rules)
    return substitute_macros("\n\n".join(parts), char=name)


def sample_messages(character: Character) -> list[ChatMessage]:
    """The voice profile's example exchanges as M2-her sample messages."""
    messages: list[ChatMessage] = []
    for sample in character.voice.samples:
        messages.append(
            ChatMessage(
                "sample_message_user",
                substitute_macros(sample.user, char=character.name),
                name=DEFAULT_USER_NAME,
            )
        )
        messages.append(
            ChatMessage(
                "sample_message_ai",
                substitute_macros(sample.character, char=character.name),
                name=character.name,
            )
        )
    return messages


def turn_instruction(character: Character, world: World, ctx: TurnContext) -> str:
    """The per-turn tail: where the NPC is, who is there, how it feels, what to do now."""
    lines = [f"[Now] {character.name} is at {ctx.location.name}: {ctx.location.description}"]
    here = [person for person in ctx.present if person.place is None]
    near = [person for person in ctx.present if person.place is not None]
    if here:
        lines.append("Here with you: " + "; ".join(_person(p) for p in here) + ".")
    else:
        lines.append("Nobody else is here.")
    if near:
        heard = "; ".join(f"{_person(p)} at {p.place}" for p in near)
        lines.append(f"Within earshot but not here (you hear each other, you cannot see or touch them): {heard}.")
    lines.append(f"Your mood: {ctx.mood_label} ({ctx.mood_intensity:.1f}).")
    if ctx.user_names:
        players = ", ".join(ctx.user_names)
        if ctx.players_place is None:
            where = "here with you"
        elif ctx.players_in_earshot:
            where = f"at {ctx.players_place}, within earshot but not here"
        else:
            where = f"at {ctx.players_place}, out of earshot"
        lines.append(f"Players in the scene (never write for them): {players}; they are {where}.")
    lines.append(f"Write {character.name}'s next reply only.")
    if ctx.extra_instruction:
        lines.append(ctx.extra_instruction)
    if character.post_history_instructions:
        lines.append(
            substitute_macros(
                character.post_history_instructions.replace("{{original}}", ""), char=character.name
            ).strip()
        )
    return "\n".join(line for line in lines if line)
