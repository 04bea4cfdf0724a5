"""World events: every NPC state change is an event, so state at any point can be rebuilt and explained.

Payloads carry absolute values (the new place, the new mood), so that replaying the log from the
content's starting state gives exactly the stored state. Changes planned from an earlier read also
carry what they assumed and their delta ("from", "from_label", "delta"): ``bot.world.deltas`` settles
them against the fresh state at commit time and rewrites the absolute values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from bot.content.models import Character, World
from bot.store.records import NewEvent, NpcStateRow

MOVE_KINDS = frozenset({"move", "summon", "offscreen_move"})


def starting_state(character: Character, world: World) -> NpcStateRow:
    """An NPC's state as the content files describe it, before anything happened."""
    return NpcStateRow(
        character_id=character.id,
        location=character.start_location or world.start_location,
        mood_label=character.mood.label,
        mood_intensity=character.mood.intensity,
        goals=tuple(character.goals),
        relationships={
            target: {"affinity": rel.affinity, "note": rel.note} for target, rel in character.relationships.items()
        },
    )


def move_event(kind: str, who: str, source: str, target: str, witnesses: Iterable[str], **extra: Any) -> NewEvent:
    return NewEvent(kind, who, {"from": source, "to": target, **extra}, tuple(sorted(set(witnesses))))


def mood_event(
    who: str,
    label: str,
    intensity: float,
    witnesses: Iterable[str] = (),
    reason: str = "",
    *,
    previous: NpcStateRow | None = None,
    drift: bool = False,
) -> NewEvent:
    """A mood change; with ``previous`` (the state it was planned from) it also carries its delta."""
    payload: dict[str, Any] = {"label": label, "intensity": round(intensity, 3)}
    if reason:
        payload["reason"] = reason
    if previous is not None:
        payload["from_label"] = previous.mood_label
        payload["delta"] = round(intensity - previous.mood_intensity, 3)
        if drift:
            payload["drift"] = True
    return NewEvent("mood", who, payload, tuple(sorted(set(witnesses))))


def relationship_event(who: str, target: str, affinity: int, note: str, reason: str = "", *, delta: int | None = None) -> NewEvent:
    """A relationship change; with ``delta`` it is settled as "affinity +delta" on the fresh state."""
    payload: dict[str, Any] = {"target": target, "affinity": int(affinity), "note": note}
    if reason:
        payload["reason"] = reason
    if delta is not None:
        payload["delta"] = int(delta)
    return NewEvent("relationship", who, payload, (who,))


def apply_event(states: Mapping[str, NpcStateRow], kind: str, subject: str | None, payload: Mapping[str, Any]) -> dict[str, NpcStateRow]:
    """The NPC states after one event (events about the user or without state change pass through)."""
    result = dict(states)
    if subject is None or subject not in result:
        return result
    state = result[subject]
    if kind in MOVE_KINDS and "to" in payload:
        result[subject] = replace(state, location=str(payload["to"]))
    elif kind == "mood":
        result[subject] = replace(state, mood_label=str(payload["label"]), mood_intensity=float(payload["intensity"]))
    elif kind == "relationship":
        relations = dict(state.relationships)
        relations[str(payload["target"])] = {"affinity": int(payload["affinity"]), "note": str(payload.get("note", ""))}
        result[subject] = replace(state, relationships=relations)
    elif kind == "goals":
        result[subject] = replace(state, goals=tuple(payload.get("goals", ())))
    return result


def rebuild(start: Mapping[str, NpcStateRow], events: Iterable[Mapping[str, Any]]) -> dict[str, NpcStateRow]:
    """Replay stored events (dicts as ``Store.events`` returns them) over the starting state."""
    states = dict(start)
    for event in events:
        states = apply_event(states, event["kind"], event["subject"], event["payload"])
    return states


def apply_all(states: Mapping[str, NpcStateRow], events: Iterable[NewEvent]) -> dict[str, NpcStateRow]:
    """The states after a batch of new events, in order."""
    result = dict(states)
    for event in events:
        result = apply_event(result, event.kind, event.subject, event.payload)
    return result
