"""Reading movement out of plain text, by rules: "I follow her to the docks", "我去码头", an NPC walking off.

The rules only propose; ``bot.world.narrator`` decides what the world allows. When a line has a
movement verb but no place the rules can pin down, it is ambiguous and the narrator may ask the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.content.models import World
from bot.core.addressing import find_mentions, has_cjk

# Verbs that take the speaker somewhere. The place (or person) follows within a short distance.
EN_MOVE = re.compile(
    r"\b(?:i|we|let's|let us)\s+(?:\w+\s+){0,2}?"
    r"(?:go|goes|going|walk|walks|walking|head|heads|heading|run|runs|hurry|hurries|make my way|make our way|"
    r"step|steps|climb|climbs|wander|wanders|return|returns|leave|leaves|leaving|set off|go back|sneak|slip|"
    r"enter|enters|visit|visits)\b"
    r"(?P<rest>[^.!?\n]{0,80})",
    re.IGNORECASE,
)
EN_FOLLOW = re.compile(r"\b(?:i|we)\s+(?:\w+\s+){0,2}?follow(?:s|ing)?\s+(?P<who>[^.,!?\n]{1,40}?)(?:\s+(?:to|into|toward|towards)\b(?P<rest>[^.!?\n]{0,60}))?(?:[.,!?\n]|$)", re.IGNORECASE)
ZH_MOVE = re.compile(r"(?:我|我们|咱们)(?:[^，。！？\n]{0,4})?(?:去|走向|走进|前往|回到|来到|跑向|赶往|跑去|走去|进了|进入)(?P<rest>[^，。！？\n]{0,20})")
ZH_FOLLOW = re.compile(r"(?:我|我们)(?:[^，。！？\n]{0,3})?跟(?:着|上)?(?P<who>[^，。！？\n]{1,8}?)(?:去|到|走|进)(?P<rest>[^，。！？\n]{0,20})")
EN_NPC_LEAVE = re.compile(
    r"(?:\b(?:walks?|heads?|strides?|storms? (?:off|out)|slips?|hurries|hurry|leaves?|makes? (?:her|his|their) way|sets? off|turns? (?:and )?(?:go|goes|walk|walks))\b)"
    r"(?P<rest>[^.!?\n*]{0,80})",
    re.IGNORECASE,
)
ZH_NPC_LEAVE = re.compile(r"(?:转身|起身)?(?:走向|前往|去了|离开|朝|往)(?P<rest>[^，。！？\n*]{0,20})")
PRONOUNS = re.compile(r"^(?:her|him|them|she|he|they|他|她|他们|她们)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MoveIntent:
    """A proposed movement: who moves where (``target`` None: leaving, destination unknown)."""

    who: str
    target: str | None
    follow: str | None = None
    source_text: str = ""


def place_names(world: World) -> dict[str, list[str]]:
    """Every way a place can be named: its name (also without a leading "The"), aliases, and the id."""
    names: dict[str, list[str]] = {}
    for loc in world.locations:
        variants = [loc.name, loc.name.removeprefix("The ").removeprefix("the "), *loc.aliases, loc.id.replace("-", " ")]
        names[loc.id] = sorted({v for v in variants if v.strip()}, key=len, reverse=True)
    return names


# English movement needs a direction word before the place ("walk *to* the quay"), so that "we leave at
# first light" does not send anyone to a lighthouse called "the light".
EN_TOWARD = re.compile(r"\b(?:to|into|toward|towards|for|onto|inside|enter|enters|entering|visit|visits)\b", re.IGNORECASE)


def _place_in(text: str, world: World, *, need_direction: bool = True) -> str | None:
    if need_direction and not has_cjk(text):
        direction = EN_TOWARD.search(text)
        if direction is None:
            return None
        text = text[direction.end() :]
    found = find_mentions(text, place_names(world))
    return found[0].character_id if found else None


def _person_in(text: str, people: Mapping[str, Iterable[str]]) -> str | None:
    found = find_mentions(text, people)
    return found[0].character_id if found else None


def user_intents(
    text: str,
    world: World,
    people: Mapping[str, Iterable[str]],
    *,
    recent_speaker: str | None = None,
) -> tuple[list[MoveIntent], bool]:
    """Movements a player's line proposes for the player, and whether a move was hinted but unresolved.

    ``people`` maps NPC ids to names for "I follow Mira"; a pronoun follows ``recent_speaker``.
    Quoted speech is ignored: saying "let's go to the docks" inside quotes is a suggestion, not a move.
    """
    narration = _outside_quotes(text)
    for pattern in (EN_FOLLOW, ZH_FOLLOW):
        match = pattern.search(narration)
        if match:
            who_text = match.group("who").strip()
            followed = _person_in(who_text, people)
            if followed is None and PRONOUNS.match(who_text):
                followed = recent_speaker
            target = _place_in(match.group("rest") or "", world, need_direction=False)
            if followed is not None or target is not None:
                return [MoveIntent("user", target, followed, match.group(0))], False
            return [], True
    for pattern in (EN_MOVE, ZH_MOVE):
        match = pattern.search(narration)
        if match:
            target = _place_in(match.group(0), world)
            if target is not None:
                return [MoveIntent("user", target, None, match.group(0))], False
            return [], True
    return [], False


def npc_departure(reply: str, world: World, current: str) -> MoveIntent | None:
    """An NPC's reply in which it walks off to a named place (in its action text, not its speech).

    The action text is what the reply marks as action: its ``*...*`` spans when it has any (then the rest
    is speech, quoted or not), else everything outside quotes. A reply with neither is read as speech
    unless a third person does the walking ("She heads for the tavern."): many models write a
    character's talk unquoted, and "There was a storm, took the chapel into the harbour" is a story, not
    Old Tom leaving (``bench memory`` found him walking off nine times in one scene on that line).
    """
    starred = STARRED.findall(reply)
    if starred:
        actions = "\n".join(starred)
    elif QUOTED.search(reply):
        actions = _outside_quotes(reply)
    else:
        actions = reply
    narrated = bool(starred) or QUOTED.search(reply) is not None
    for pattern in (EN_NPC_LEAVE, ZH_NPC_LEAVE):
        for match in pattern.finditer(actions):
            if not narrated and not THIRD_PERSON_BEFORE.search(actions[max(0, match.start() - 40) : match.start()]):
                continue
            target = _place_in(match.group(0), world)
            if target is not None and target != current:
                return MoveIntent("npc", target, None, match.group(0))
    return None


QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|「[^」]*」|『[^』]*』")
STARRED = re.compile(r"\*([^*]+)\*")
# The subject of a walk in unmarked text: a third person close before the verb, in the same sentence.
THIRD_PERSON_BEFORE = re.compile(r"(?:\b(?:she|he|they)\b(?:\s+\w+){0,3}\s*|[他她][们]?[^，。！？]{0,6})$", re.IGNORECASE)


def _outside_quotes(text: str) -> str:
    """The text with quoted speech blanked out (same length, so spans stay valid)."""
    return QUOTED.sub(lambda m: " " * len(m.group(0)), text)


def shortest_path(world: World, source: str, target: str, allowed: Sequence[str] | None = None) -> list[str] | None:
    """The shortest walk from ``source`` to ``target`` through unlocked exits, or None."""
    from bot.world.graph import can_move

    return _walk(world, source, target, allowed, lambda a, b: can_move(world, a, b).allowed)


def walk_ignoring_locks(world: World, source: str, target: str) -> list[str] | None:
    """The shortest walk as if every door were open: tells "locked" apart from "no way at all"."""
    from bot.world.graph import can_move

    return _walk(world, source, target, None, lambda a, b: can_move(world, a, b).reason in ("", "locked"))


def _walk(
    world: World, source: str, target: str, allowed: Sequence[str] | None, step: Callable[[str, str], bool]
) -> list[str] | None:
    """Breadth-first search over the places, taking a step wherever ``step`` allows it."""
    frontier = [[source]]
    seen = {source}
    while frontier:
        path = frontier.pop(0)
        if path[-1] == target:
            return path
        for loc in world.locations:
            if loc.id in seen or (allowed is not None and loc.id not in allowed):
                continue
            if step(path[-1], loc.id):
                seen.add(loc.id)
                frontier.append([*path, loc.id])
    return None
