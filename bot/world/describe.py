"""Events told as short sentences in the world's language, for an NPC's memory block and for people asking
what happened."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.content.models import World
from bot.i18n import tr


def _place(world: World, location_id: object) -> str:
    try:
        return world.location(str(location_id)).name
    except KeyError:
        return str(location_id)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe_event(event: Mapping[str, Any], world: World, names: Mapping[str, str], *, viewer: str | None = None) -> str | None:
    """One event as a sentence from a viewer's side ("you" for the viewer), or None if it tells nothing."""
    lang = world.language
    kind = event["kind"]
    subject = event.get("subject")
    payload = event.get("payload", {})
    if subject == viewer:
        who = tr(lang, "event.you")
    elif subject == "user":
        who = tr(lang, "event.players")
    else:
        who = names.get(str(subject), str(subject))
    if kind == "offscreen":
        text = str(payload.get("text", "")).strip()
        return tr(lang, "event.offscreen", text=text) if text else None
    if kind == "move":
        return _capitalised(tr(lang, "event.move", who=who, src=_place(world, payload.get("from")), dst=_place(world, payload.get("to"))))
    if kind == "summon":
        return _capitalised(tr(lang, "event.summon", who=who, dst=_place(world, payload.get("to"))))
    return None
