"""The location graph: who can walk where and whose voice carries where. Pure functions over a World."""

from __future__ import annotations

from dataclasses import dataclass

from bot.content.models import Exit, World


@dataclass(frozen=True, slots=True)
class Passage:
    """The answer to "can one go from A to B?" with the reason when not."""

    allowed: bool
    reason: str = ""


def _exit(world: World, source: str, target: str) -> Exit | None:
    for exit_ in world.location(source).exits:
        if exit_.to == target:
            return exit_
    return None


def connection(world: World, source: str, target: str) -> Exit | None:
    """The exit that joins ``source`` to ``target`` in that direction, honouring one-way exits."""
    forward = _exit(world, source, target)
    if forward is not None:
        return forward
    backward = _exit(world, target, source)
    if backward is not None and not backward.one_way:
        return backward
    return None


def can_move(world: World, source: str, target: str) -> Passage:
    """Whether one step from ``source`` to ``target`` is allowed, and why not."""
    if source == target:
        return Passage(False, "already there")
    exit_ = connection(world, source, target)
    if exit_ is None:
        if _exit(world, target, source) is not None:
            return Passage(False, "one-way")
        return Passage(False, "not adjacent")
    if exit_.locked:
        return Passage(False, "locked")
    return Passage(True)


def neighbours(world: World, source: str) -> list[str]:
    """Places one step away (locked ones included: they are visible, just closed)."""
    found = []
    for loc in world.locations:
        if loc.id != source and connection(world, source, loc.id) is not None:
            found.append(loc.id)
    return found


def audible_from(world: World, source: str) -> set[str]:
    """Places whose voices can be heard at ``source``: itself and places joined by an audible exit."""
    heard = {source}
    for loc in world.locations:
        if loc.id == source:
            continue
        forward = _exit(world, source, loc.id)
        backward = _exit(world, loc.id, source)
        if (forward is not None and forward.audible) or (backward is not None and backward.audible):
            heard.add(loc.id)
    return heard
