"""The narrator's spatial logic for a turn: who moves, who arrives and leaves, who can hear.

Rules first (``bot.world.movement``); for a line that hints at movement the rules cannot pin down,
the model may propose a change in a small JSON shape that pydantic validates, and only changes the
world allows are applied. Impossible moves become narration instead of silent acceptance.
Everything here is pure except ``ask_model_for_moves``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.content.models import World
from bot.core.ports import ChatMessage, ChatModel, ChatOptions
from bot.errors import ModelUnavailable
from bot.i18n import join, sentences, tr
from bot.store.records import NewEvent
from bot.world.events import move_event
from bot.world.graph import audible_from, can_move
from bot.world.movement import MoveIntent, npc_departure, shortest_path, user_intents, walk_ignoring_locks

log = structlog.get_logger("narrator")

MAX_STEPS = 3
USER = "user"


class ProposedMove(BaseModel):
    """One move the model proposes."""

    model_config = ConfigDict(extra="forbid")

    who: str = Field(description='"user" or a character id')
    to: str = Field(description="a location id")


class NarratorProposal(BaseModel):
    """The JSON the narrator model must return."""

    model_config = ConfigDict(extra="ignore")

    moves: list[ProposedMove] = Field(default_factory=list, max_length=8)


@dataclass
class Spatial:
    """The spatial state of a scene during one turn: where the players and the scene's NPCs are."""

    world: World
    user_location: str
    npc_locations: dict[str, str]
    members: tuple[str, ...]
    names: Mapping[str, str]

    def hearers(self, location: str | None = None) -> list[str]:
        """Scene members who can hear what is said at ``location`` (default: where the players are)."""
        places = audible_from(self.world, location or self.user_location)
        return [m for m in self.members if self.npc_locations.get(m) in places]

    def present(self) -> list[str]:
        """Scene members in the same place as the players."""
        return [m for m in self.members if self.npc_locations.get(m) == self.user_location]

    def place_seen_from(self, who: str, viewer_place: str) -> str | None:
        """Where ``who`` is as someone at ``viewer_place`` would say it: None when in the same place."""
        where = self.npc_locations.get(who)
        return None if where in (None, viewer_place) else self.world.location(where).name

    def players_seen_from(self, viewer_place: str) -> str | None:
        """The players' place as someone at ``viewer_place`` would say it: None when in the same place."""
        return None if self.user_location == viewer_place else self.world.location(self.user_location).name


@dataclass
class SpatialChange:
    """What the narrator decided: moves (as events), narration lines, and whether to ask the model."""

    events: list[NewEvent] = field(default_factory=list)
    narrations: list[str] = field(default_factory=list)
    ambiguous: bool = False
    user_moved: bool = False


def _place(world: World, location_id: str) -> str:
    return world.location(location_id).name


def move_user(spatial: Spatial, target: str, who_name: str, reason: str, follow: str | None = None) -> SpatialChange:
    """Move the players to ``target`` if a short unlocked path leads there; narrate either way."""
    world = spatial.world
    change = SpatialChange()
    source = spatial.user_location
    if target == source:
        return change
    lang = world.language
    path = shortest_path(world, source, target)
    if path is None:
        door = locked_step(world, source, target)
        if door is not None:
            change.narrations.append(tr(lang, "move.locked", src=_place(world, door[0]), dst=_place(world, door[1])))
            change.events.append(NewEvent("move_refused", USER, {"from": source, "to": target, "reason": "locked"}, tuple(spatial.present())))
            return change
        change.narrations.append(tr(lang, "move.no_way", src=_place(world, source), dst=_place(world, target)))
        change.events.append(NewEvent("move_refused", USER, {"from": source, "to": target, "reason": "no open path"}, tuple(spatial.present())))
        return change
    if len(path) - 1 > MAX_STEPS:
        change.narrations.append(tr(lang, "move.too_far", dst=_place(world, target), src=_place(world, source)))
        change.events.append(NewEvent("move_refused", USER, {"from": source, "to": target, "reason": "too far"}, tuple(spatial.present())))
        return change
    left_behind = spatial.present()
    spatial.user_location = target
    arrived_at = spatial.present()
    via = [_place(world, p) for p in path[1:-1]]
    route = tr(lang, "move.route", via=join(lang, via)) if via else ""
    companion = tr(lang, "move.companion", name=spatial.names[follow]) if follow and follow in spatial.names else ""
    here = join(lang, (spatial.names[m] for m in arrived_at))
    line = tr(lang, "move.user", who=who_name, src=_place(world, source), dst=_place(world, target), route=route, companion=companion)
    line = sentences(lang, line, tr(lang, "move.here", names=here) if here else tr(lang, "move.nobody_here"))
    nearby = [m for m in spatial.hearers() if m not in arrived_at]
    if nearby:
        heard = (tr(lang, "look.earshot_entry", name=spatial.names[m], place=_place(world, spatial.npc_locations[m])) for m in nearby)
        line = sentences(lang, line, tr(lang, "look.earshot", names=join(lang, heard)))
    change.narrations.append(line)
    change.events.append(move_event("move", USER, source, target, [*left_behind, *arrived_at, USER], reason=reason))
    change.user_moved = True
    return change


def locked_step(world: World, source: str, target: str) -> tuple[str, str] | None:
    """The first locked exit on the shortest walk that ignores locks, when only a lock stands in the way."""
    path = walk_ignoring_locks(world, source, target)
    if path is None:
        return None
    for a, b in zip(path, path[1:], strict=False):
        if can_move(world, a, b).reason == "locked":
            return a, b
    return None


def move_npc(spatial: Spatial, who: str, target: str, reason: str) -> SpatialChange:
    """Move a scene NPC along a short unlocked path; the players see it leave or arrive."""
    world = spatial.world
    change = SpatialChange()
    source = spatial.npc_locations.get(who)
    if source is None or source == target:
        return change
    path = shortest_path(world, source, target)
    if path is None or len(path) - 1 > MAX_STEPS:
        return change
    witnesses_before = [m for m in spatial.members if spatial.npc_locations.get(m) == source and m != who]
    spatial.npc_locations[who] = target
    witnesses_after = [m for m in spatial.members if spatial.npc_locations.get(m) == target and m != who]
    name = spatial.names.get(who, who)
    if source == spatial.user_location:
        change.narrations.append(tr(world.language, "npc.leaves", name=name, dst=_place(world, target)))
    elif target == spatial.user_location:
        change.narrations.append(tr(world.language, "npc.arrives", name=name, src=_place(world, source)))
    seen_by_user = USER if spatial.user_location in (source, target) else None
    witnesses = [*witnesses_before, *witnesses_after, *([seen_by_user] if seen_by_user else [])]
    change.events.append(move_event("move", who, source, target, witnesses, reason=reason))
    return change


def merge(changes: Iterable[SpatialChange]) -> SpatialChange:
    total = SpatialChange()
    for change in changes:
        total.events.extend(change.events)
        total.narrations.extend(change.narrations)
        total.ambiguous = total.ambiguous or change.ambiguous
        total.user_moved = total.user_moved or change.user_moved
    return total


def resolve_user_line(
    spatial: Spatial, text: str, author: str, *, recent_speaker: str | None = None
) -> SpatialChange:
    """The movements a player's line causes, by rules; ``ambiguous`` when a move was hinted but unclear."""
    people = {m: [spatial.names[m]] for m in spatial.members if m in spatial.names}
    intents, ambiguous = user_intents(text, spatial.world, people, recent_speaker=recent_speaker)
    changes = [apply_user_intent(spatial, intent, author) for intent in intents]
    result = merge(changes)
    result.ambiguous = ambiguous
    return result


def apply_user_intent(spatial: Spatial, intent: MoveIntent, author: str) -> SpatialChange:
    target = intent.target
    if intent.follow is not None:
        followed_at = spatial.npc_locations.get(intent.follow)
        if target is None:
            target = followed_at
        elif followed_at == spatial.user_location and target != followed_at:
            # Following someone who is still here: they lead the way, both go.
            lead = move_npc(spatial, intent.follow, target, "leads the players")
            walk = move_user(spatial, target, author, "follows", follow=intent.follow)
            return merge([lead, walk])
    if target is None:
        return SpatialChange()
    return move_user(spatial, target, author, "walks", follow=intent.follow)


def resolve_npc_reply(spatial: Spatial, who: str, reply: str) -> SpatialChange:
    """An NPC that writes itself walking off to a named place is moved there (if the world allows)."""
    current = spatial.npc_locations.get(who)
    if current is None:
        return SpatialChange()
    intent = npc_departure(reply, spatial.world, current)
    if intent is None or intent.target is None:
        return SpatialChange()
    return move_npc(spatial, who, intent.target, "decided to leave")


def absent_addressees(spatial: Spatial, mentioned: Sequence[str]) -> list[str]:
    """Narration for members a line names who are out of earshot: they stay silent, and we say why."""
    hearers = set(spatial.hearers())
    lines = []
    for who in mentioned:
        if who in spatial.members and who not in hearers:
            where = spatial.npc_locations.get(who)
            lang = spatial.world.language
            place = _place(spatial.world, where) if where else tr(lang, "hearing.somewhere_else")
            lines.append(tr(lang, "hearing.out_of_earshot", name=spatial.names.get(who, who), place=place))
    return lines


def proposal_messages(spatial: Spatial, text: str, author: str) -> list[ChatMessage]:
    """The narrator model's prompt: the map, where everyone is, the line, and the JSON to return."""
    world = spatial.world
    places = "\n".join(
        f"- {loc.id}: {loc.name} (exits: {', '.join(e.to + (' [locked]' if e.locked else '') for e in loc.exits) or 'see others'})"
        for loc in world.locations
    )
    where = "\n".join(
        [f"- user ({author}): {spatial.user_location}"]
        + [f"- {m} ({spatial.names.get(m, m)}): {spatial.npc_locations.get(m)}" for m in spatial.members]
    )
    system = (
        "You are the narrator of a role-play. Decide only whether the player's line moves anyone to another "
        "place. Answer with JSON only: {\"moves\": [{\"who\": \"user\" or a character id, \"to\": a location id}]}. "
        "Use an empty list when nobody moves. Never invent places or people."
    )
    user = f"Places:\n{places}\n\nWho is where:\n{where}\n\nThe player's line:\n{text}"
    return [ChatMessage("system", system), ChatMessage("user", user)]


async def ask_model_for_moves(
    model: ChatModel, spatial: Spatial, text: str, author: str, *, narrator_model: str | None = None
) -> NarratorProposal:
    """Ask the model to read an ambiguous line; any failure or invalid answer means nobody moves."""
    options = ChatOptions(max_tokens=200, temperature=0.2, json_mode=True, model=narrator_model)
    try:
        result = await model.complete(proposal_messages(spatial, text, author), options)
        return parse_proposal(result.text)
    except ModelUnavailable as exc:
        log.warning("narrator.model_unavailable", detail=str(exc))
    except (ValidationError, ValueError) as exc:
        log.warning("narrator.invalid_proposal", error=str(exc)[:200])
    return NarratorProposal()


def parse_proposal(text: str) -> NarratorProposal:
    """Validate the model's JSON (tolerating a fenced code block around it)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the narrator's answer")
    return NarratorProposal.model_validate(json.loads(body[start : end + 1]))


def apply_proposal(spatial: Spatial, proposal: NarratorProposal, author: str) -> SpatialChange:
    """Apply only the proposed moves the world allows: known people, known places, open paths."""
    changes = []
    known = {loc.id for loc in spatial.world.locations}
    for move in proposal.moves:
        if move.to not in known:
            continue
        if move.who == USER:
            changes.append(move_user(spatial, move.to, author, "narrator"))
        elif move.who in spatial.members:
            changes.append(move_npc(spatial, move.who, move.to, "narrator"))
    return merge(changes)
