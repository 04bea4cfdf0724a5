"""Mood and relationship updates after a turn: cheap rules, pure, producing events.

Moods drift back to the character's baseline a little every turn the NPC takes part in; warm or
hostile words aimed at an NPC move its mood and its affinity toward the speaker. The model is not
asked: the issue allows at most one small call, and rules cover the signal that matters most.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.content.models import Character
from bot.store.records import NewEvent, NpcStateRow
from bot.world.events import mood_event, relationship_event

DRIFT = 0.15
RESET_BELOW = 0.12
WARM = re.compile(
    r"\b(thank(s| you)|love|friend|kind|sorry|please|brave|beautiful|trust|well done|glad)\b|谢谢|喜欢|朋友|抱歉|对不起|信任|辛苦",
    re.IGNORECASE,
)
HOSTILE = re.compile(
    r"\b(hate|shut up|idiot|fool|liar|stupid|coward|get lost|useless|threat|kill you)\b|讨厌|闭嘴|笨蛋|骗子|滚|废物|胆小鬼",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Feeling:
    """What a line did to an NPC: a mood and how much affinity changed."""

    label: str
    intensity: float
    affinity_delta: int
    reason: str


def read_line(text: str) -> Feeling | None:
    """The emotional push of a line addressed to an NPC, or None when it is neutral."""
    hostile = len(HOSTILE.findall(text))
    warm = len(WARM.findall(text))
    if hostile > warm:
        return Feeling("hurt", min(0.4 + 0.15 * hostile, 0.95), -4 * hostile, "hostile words")
    if warm > hostile:
        return Feeling("warm", min(0.35 + 0.1 * warm, 0.9), 2 * warm, "kind words")
    return None


def drift(state: NpcStateRow, baseline_label: str, baseline_intensity: float) -> tuple[str, float]:
    """One step back toward the baseline mood."""
    if state.mood_label == baseline_label:
        gap = baseline_intensity - state.mood_intensity
        return baseline_label, round(state.mood_intensity + gap * 0.3, 3)
    intensity = round(state.mood_intensity - DRIFT, 3)
    if intensity < RESET_BELOW:
        return baseline_label, baseline_intensity
    return state.mood_label, intensity


def after_turn(
    states: dict[str, NpcStateRow],
    characters: dict[str, Character],
    *,
    participants: Sequence[str],
    addressed: Sequence[str],
    line: str,
    speaker_key: str = "user",
    witnesses: Sequence[str] = (),
) -> list[NewEvent]:
    """Events for mood drift of everyone who took part, then the effect of the line on those it addressed."""
    events: list[NewEvent] = []
    feeling = read_line(line)
    for who in participants:
        state = states.get(who)
        character = characters.get(who)
        if state is None or character is None:
            continue
        label, intensity = drift(state, character.mood.label, character.mood.intensity)
        if who in addressed and feeling is not None:
            label, intensity = feeling.label, max(intensity, feeling.intensity)
        if (label, round(intensity, 3)) != (state.mood_label, round(state.mood_intensity, 3)):
            felt = who in addressed and feeling is not None
            reason = feeling.reason if felt and feeling else "drift toward baseline"
            events.append(mood_event(who, label, intensity, witnesses or (who,), reason, previous=state, drift=not felt))
        if who in addressed and feeling is not None and feeling.affinity_delta:
            current = state.relationships.get(speaker_key, {})
            affinity = max(-100, min(100, int(current.get("affinity", 0)) + feeling.affinity_delta))
            note = str(current.get("note", ""))
            delta = affinity - int(current.get("affinity", 0))
            events.append(relationship_event(who, speaker_key, affinity, note, feeling.reason, delta=delta))
    return events


def after_own_line(state: NpcStateRow | None, text: str, witnesses: Sequence[str] = ()) -> list[NewEvent]:
    """What a character's own words do to its mood: heated words leave it heated, warm ones warm.

    An effect of that one reply (of that alternative, when the reply is swiped), unlike ``after_turn``,
    which reads the line it answers.
    """
    feeling = read_line(text)
    if state is None or feeling is None:
        return []
    label = "warm" if feeling.label == "warm" else "heated"
    if label == state.mood_label and feeling.intensity <= state.mood_intensity:
        return []
    who = state.character_id
    return [mood_event(who, label, feeling.intensity, witnesses or (who,), "its own words", previous=state)]
