"""World events as deltas with preconditions, settled against the fresh state when they are committed.

A turn plans its changes from the NPC states it read before its model calls, seconds earlier; in the
meantime another channel of the same world, a director tick or a rewind may have changed the same NPC.
Writing whole rows computed from the old read would overwrite those changes (lost updates). So each
change says what it assumes and what it does:

- a move: "Ada from the quay to the garden": dropped when Ada is no longer on the quay (someone else
  moved her) or already in the garden; a summon brings her from wherever she is now;
- a relationship change: "affinity +4", added to whatever the affinity is now;
- a mood change: "from watchful, intensity -0.1": applied to the current intensity while the mood is
  still the one it started from; a drift toward the baseline is dropped once another change replaced
  that mood, a new feeling (hurt, warm, an off-screen mood) replaces whatever the mood is.

``settle`` is pure and runs inside the write transaction on the state read there (see
``Store.commit_turn``). Each kept event's payload is rewritten with the absolute result, so replaying
the log from the starting state gives exactly the stored state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.store.records import NewEvent, NpcStateRow
from bot.world.events import MOVE_KINDS, apply_event


@dataclass(frozen=True, slots=True)
class Settled:
    """What a batch of planned events does to the fresh state: the events to store (absolute payloads),
    the NPC states they change, and the events dropped with the reason."""

    events: list[NewEvent]
    states: list[NpcStateRow]
    dropped: list[tuple[NewEvent, str]] = field(default_factory=list)


def settle_event(states: Mapping[str, NpcStateRow], event: NewEvent) -> NewEvent | str:
    """The event as it applies to ``states``, or the reason it no longer applies."""
    subject = event.subject
    if subject is None or subject not in states:
        return event  # the players' moves, schedule decisions, hooks: no NPC state to check
    state = states[subject]
    payload = event.payload
    if event.kind in MOVE_KINDS and "to" in payload:
        target = str(payload["to"])
        source = payload.get("from")
        if event.kind == "summon":
            # A summon brings the character from wherever it is now.
            return replace(event, payload={**payload, "from": state.location}) if source != state.location else event
        if state.location == target:
            return f"{subject} is already at {target}"
        if source is not None and source != state.location:
            return f"{subject} is no longer at {source} (now at {state.location})"
        return event
    if event.kind == "mood" and "delta" in payload:
        if payload.get("from_label") != state.mood_label:
            if payload.get("drift"):
                return f"{subject}'s mood changed meanwhile; the drift from {payload.get('from_label')} no longer applies"
            return event  # a new feeling replaces whatever the mood is now
        intensity = round(min(1.0, max(0.0, state.mood_intensity + float(payload["delta"]))), 3)
        return replace(event, payload={**payload, "intensity": intensity})
    if event.kind == "relationship" and "delta" in payload:
        target = str(payload["target"])
        old = int(state.relationships.get(target, {}).get("affinity", 0))
        affinity = max(-100, min(100, old + int(payload["delta"])))
        return replace(event, payload={**payload, "affinity": affinity})
    return event


def settle(fresh: Mapping[str, NpcStateRow], events: Sequence[NewEvent]) -> Settled:
    """Apply planned events, in order, to the fresh state; see the module docstring for the rules."""
    current = dict(fresh)
    kept: list[NewEvent] = []
    dropped: list[tuple[NewEvent, str]] = []
    for event in events:
        outcome = settle_event(current, event)
        if isinstance(outcome, str):
            dropped.append((event, outcome))
            continue
        kept.append(outcome)
        current = apply_event(current, outcome.kind, outcome.subject, outcome.payload)
    changed = [state for cid, state in current.items() if fresh.get(cid) != state]
    return Settled(kept, changed, dropped)


__all__ = ["Settled", "settle", "settle_event"]
