"""Events told as short sentences, for an NPC's memory block and for people asking what happened."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.content.models import World


def _place(world: World, location_id: object) -> str:
    try:
        return world.location(str(location_id)).name
    except KeyError:
        return str(location_id)


def describe_event(event: Mapping[str, Any], world: World, names: Mapping[str, str], *, viewer: str | None = None) -> str | None:
    """One event as a sentence from a viewer's side ("you" for the viewer), or None if it tells nothing."""
    kind = event["kind"]
    subject = event.get("subject")
    payload = event.get("payload", {})
    who = "you" if subject == viewer else ("the players" if subject == "user" else names.get(str(subject), str(subject)))
    if kind == "offscreen":
        text = str(payload.get("text", "")).strip()
        return f"While the players were away: {text}" if text else None
    if kind == "move":
        return f"{who[0].upper() + who[1:]} went from {_place(world, payload.get('from'))} to {_place(world, payload.get('to'))}."
    if kind == "summon":
        return f"{who[0].upper() + who[1:]} came to {_place(world, payload.get('to'))}."
    return None
