"""The director: off-screen life for NPCs nobody is watching, and plot hooks when a scene stalls.

Pure parts (stagnation, hook choice, validating an off-screen proposal) sit beside the ``Director``
class, which owns the background loop: it ticks every world with recent human activity (interval
jittered, paused when the world is idle), asks the model what idle NPCs do, applies only what the
world allows, and records events with witnesses.

A tick is a turn without a player: the model is asked outside any lock, then the plan is re-validated
inside the world's gate against the states as they are now (``revalidate``): an NPC that moved or was
drawn into a scene with the players meanwhile has its action dropped, never applied blindly. The
director has its own random source (``director_random``), so ticks never shift the engine's draws and
scripted scenes replay exactly whether or not the director runs.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.content.models import Character, World
from bot.core.ports import ChatMessage, ChatOptions, Clock
from bot.errors import ModelUnavailable
from bot.i18n import sentences, tr
from bot.store.records import NewEvent, NpcStateRow
from bot.world.events import apply_all, mood_event, move_event, relationship_event
from bot.world.movement import shortest_path

log = structlog.get_logger("director")

NGRAM = 3
STALL_SIMILARITY = 0.35


# -- stagnation ---------------------------------------------------------------------------------


def _ngrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    if len(words) < NGRAM:
        # CJK text has no spaces: use character trigrams.
        chars = [c for c in text if not c.isspace()]
        return {tuple(chars[i : i + NGRAM]) for i in range(max(0, len(chars) - NGRAM + 1))}
    return {tuple(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of word trigrams (character trigrams for unspaced text)."""
    return _jaccard(_ngrams(a), _ngrams(b))


def _jaccard(grams_a: set[tuple[str, ...]], grams_b: set[tuple[str, ...]]) -> float:
    if not grams_a or not grams_b:
        return 0.0
    return len(grams_a & grams_b) / len(grams_a | grams_b)


@dataclass(frozen=True, slots=True)
class Stagnation:
    """Whether a scene goes in circles, and why."""

    stalled: bool
    reason: str = ""


def detect_stagnation(npc_lines: Sequence[str], turns_since_event: int, *, quiet_turns: int = 8) -> Stagnation:
    """Stalled when recent NPC lines repeat each other, or nothing has happened for ``quiet_turns`` turns."""
    grams = [_ngrams(line) for line in list(npc_lines)[-6:]]  # once per line, not once per pair it is in
    pairs = [(a, b) for i, a in enumerate(grams) for b in grams[i + 1 :]]
    if pairs:
        worst = max(_jaccard(a, b) for a, b in pairs)
        if worst >= STALL_SIMILARITY:
            return Stagnation(True, f"repeated phrasing (overlap {worst:.2f})")
    if turns_since_event >= quiet_turns:
        return Stagnation(True, f"no new events for {turns_since_event} turns")
    return Stagnation(False)


def choose_hook(world: World, character: Character, used: Sequence[str], rng: random.Random) -> str | None:
    """A plot hook: an unused event seed that fits the character or place, else a lore entry, else a goal."""
    seeds = [s for s in world.event_seeds if s.text not in used]
    fitting = [s for s in seeds if character.id in s.characters] or seeds
    if fitting:
        return fitting[rng.randrange(len(fitting))].text
    lore = [e.content for e in [*world.lore, *character.lore] if e.content not in used and e.enabled]
    if lore:
        return lore[rng.randrange(len(lore))]
    goals = [g for g in character.goals if g not in used]
    return goals[rng.randrange(len(goals))] if goals else None


def hook_instruction(hook: str) -> str:
    """How a hook reaches the next speaker: a direction, with patterns to avoid (after the planning agent)."""
    return (
        f"[Director] The scene is stalling. Bring in this development now, naturally and in character: {hook} "
        "Move the story forward; avoid idle small talk and do not reveal everything at once."
    )


# -- off-screen life ----------------------------------------------------------------------------


class OffscreenAction(BaseModel):
    """What one NPC did while nobody watched, as the model proposes it."""

    model_config = ConfigDict(extra="ignore")

    character: str
    action: str = Field(min_length=1, max_length=400)
    move_to: str | None = None
    mood: str | None = Field(None, max_length=40)
    mood_intensity: float | None = Field(None, ge=0.0, le=1.0)
    met: list[str] = Field(default_factory=list, max_length=4)
    relationship_note: str | None = Field(None, max_length=200)


class OffscreenPlan(BaseModel):
    """The model's whole answer for one tick."""

    model_config = ConfigDict(extra="ignore")

    actions: list[OffscreenAction] = Field(default_factory=list, max_length=8)


def parse_plan(text: str) -> OffscreenPlan:
    body = text.strip()
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the director's answer")
    return OffscreenPlan.model_validate(json.loads(body[start : end + 1]))


def plan_messages(world: World, npcs: Sequence[Character], states: dict[str, NpcStateRow], hours: float) -> list[ChatMessage]:
    places = "\n".join(f"- {loc.id}: {loc.name}" for loc in world.locations)
    rules = "\n".join(f"- {r}" for r in world.rules) or "- (none)"
    who = "\n".join(
        f"- {c.id} ({c.name}) at {states[c.id].location}, mood {states[c.id].mood_label}; goals: {'; '.join(c.goals) or 'none'}"
        for c in npcs
    )
    seeds = "\n".join(f"- {s.text}" for s in world.event_seeds[:6]) or "- (none)"
    system = (
        f"You direct the off-screen life of characters in {world.name}. About {hours:.1f} hours passed. For each "
        "character listed, say in one sentence what they did, within the world's rules. They may move to a nearby "
        "place, meet someone, change mood. Answer JSON only: {\"actions\": [{\"character\": id, \"action\": "
        "\"one sentence in the third person\", \"move_to\": location id or null, \"mood\": word or null, "
        "\"mood_intensity\": 0..1 or null, \"met\": [character ids], \"relationship_note\": text or null}]}. "
        + tr(world.language, "offscreen.language")
    )
    user = f"World rules:\n{rules}\n\nPlaces:\n{places}\n\nCharacters:\n{who}\n\nPossible developments:\n{seeds}"
    return [ChatMessage("system", system), ChatMessage("user", user)]


def fallback_plan(world: World, npcs: Sequence[Character], states: dict[str, NpcStateRow], rng: random.Random) -> OffscreenPlan:
    """When the model cannot help: each NPC wanders to a neighbouring open place, or stays and broods."""
    from bot.world.graph import can_move, neighbours

    actions = []
    for npc in npcs:
        here = states[npc.id].location
        options = [n for n in neighbours(world, here) if can_move(world, here, n).allowed]
        if options and rng.random() < 0.7:
            target = options[rng.randrange(len(options))]
            actions.append(
                OffscreenAction(character=npc.id, action=tr(world.language, "offscreen.went", name=npc.name, place=world.location(target).name), move_to=target)
            )
        else:
            actions.append(OffscreenAction(character=npc.id, action=tr(world.language, "offscreen.stayed", name=npc.name, place=world.location(here).name)))
    return OffscreenPlan(actions=actions)


def director_random(seed: int | None) -> random.Random:
    """The director's own random source, derived from the engine's seed (random when there is none)."""
    return random.Random(None if seed is None else f"director:{seed}")


def revalidate(
    plan: OffscreenPlan, planned: dict[str, NpcStateRow], fresh: dict[str, NpcStateRow], eligible: Sequence[str]
) -> tuple[OffscreenPlan, list[tuple[str, str]]]:
    """Keep the actions whose premises still hold: the NPC is still free and where the plan saw it.

    Returns the plan to apply and (character, reason) for each action dropped.
    """
    kept: list[OffscreenAction] = []
    dropped: list[tuple[str, str]] = []
    for action in plan.actions:
        who = action.character
        if who not in eligible:
            dropped.append((who, "now with the players or gone"))
        elif who in planned and who in fresh and planned[who].location != fresh[who].location:
            dropped.append((who, f"moved from {planned[who].location} to {fresh[who].location} meanwhile"))
        else:
            kept.append(action)
    return OffscreenPlan(actions=kept), dropped


def apply_plan(
    world: World, plan: OffscreenPlan, states: dict[str, NpcStateRow], eligible: Sequence[str], names: dict[str, str]
) -> list[NewEvent]:
    """Validate a plan against the world and turn what is allowed into events with witnesses."""
    events: list[NewEvent] = []
    current = dict(states)
    for action in plan.actions:
        who = action.character
        if who not in eligible or who not in current:
            continue
        source = current[who].location
        target = source
        if action.move_to and action.move_to != source:
            known = {loc.id for loc in world.locations}
            path = shortest_path(world, source, action.move_to) if action.move_to in known else None
            if path is not None and len(path) - 1 <= 3:
                target = action.move_to
        at_target = [c for c, s in current.items() if s.location == target and c != who]
        witnesses = sorted({who, *at_target, *(m for m in action.met if m in current and current[m].location == target)})
        if target != source:
            move = move_event("offscreen_move", who, source, target, witnesses, text=action.action)
            events.append(move)
            current = apply_all(current, [move])
        events.append(NewEvent("offscreen", who, {"text": action.action, "location": target}, tuple(witnesses)))
        if action.mood:
            intensity = action.mood_intensity if action.mood_intensity is not None else 0.5
            mood = mood_event(who, action.mood.strip().lower(), intensity, (who,), "off-screen", previous=current[who])
            events.append(mood)
            current = apply_all(current, [mood])
        for other in action.met:
            if other in current and other != who and current[other].location == target and action.relationship_note:
                old = current[who].relationships.get(other, {})
                rel = relationship_event(who, other, int(old.get("affinity", 0)), action.relationship_note, "met off-screen", delta=0)
                events.append(rel)
                current = apply_all(current, [rel])
    return events


@dataclass
class TickReport:
    """What one tick did, for logs, ``/tick`` and the "Meanwhile..." narration."""

    guild_id: str
    world_id: str
    events: list[NewEvent] = field(default_factory=list)
    used_model: bool = False

    def meanwhile(self, names: dict[str, str], language: str = "en") -> str | None:
        texts = [str(e.payload.get("text")) for e in self.events if e.kind == "offscreen" and e.payload.get("text")]
        return tr(language, "meanwhile", text=sentences(language, *texts)) if texts else None


ActivityFn = Callable[[], Awaitable[list[tuple[str, str, datetime]]]]


class Director:
    """Ticks worlds with recent human activity; the engine provides the I/O it needs."""

    def __init__(
        self,
        engine,  # SceneEngine; typed loosely to keep bot.world free of an engine import cycle
        *,
        clock: Clock,
        rng: random.Random,
        interval: float = 900.0,
        jitter: float = 0.2,
        idle_after: float = 6 * 3600.0,
        busy_window: float = 600.0,
        per_tick: int = 3,
        on_meanwhile: Callable[[str, str, str], Awaitable[None]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        owns_guild: Callable[[str], bool] | None = None,
    ) -> None:
        self.engine = engine
        # Sharded processes: only servers of this process's shards get ticks (bot.shards); None: all.
        self.owns_guild = owns_guild
        self.clock = clock
        self.rng = rng
        self.interval = interval
        self.jitter = jitter
        self.idle_after = idle_after
        self.busy_window = busy_window
        self.per_tick = per_tick
        self.on_meanwhile = on_meanwhile
        self.sleep = sleep

    def next_delay(self) -> float:
        """The interval with +-jitter, so that worlds do not all tick at once."""
        return self.interval * (1 + self.jitter * (2 * self.rng.random() - 1))

    async def active_worlds(self) -> list[tuple[str, str]]:
        """(guild, world) pairs with a human line within ``idle_after``."""
        since = self.clock.now() - timedelta(seconds=self.idle_after)
        worlds = await self.engine.store.active_worlds(since.isoformat())
        if self.owns_guild is None:
            return worlds
        return [(guild_id, world_id) for guild_id, world_id in worlds if self.owns_guild(guild_id)]

    async def tick(self, guild_id: str, world_id: str) -> TickReport:
        """One round of off-screen life in one server's copy of a world."""
        report = TickReport(guild_id, world_id)
        if await self.engine.limits.spent(guild_id):  # the server's model budget for today is spent
            log.info("director.skipped", guild=guild_id, world=world_id, reason="budget spent")
            return report
        world = self.engine.world(world_id)
        states = await self.engine.store.npc_states(guild_id, world_id)
        busy = await self.engine.store.busy_npcs(
            guild_id, world_id, (self.clock.now() - timedelta(seconds=self.busy_window)).isoformat()
        )
        idle = [c for c in self.engine.library.cast_of(world_id, guild_id) if c.id in states and c.id not in busy]
        if not idle:
            return report
        self.rng.shuffle(idle)
        chosen = idle[: self.per_tick]
        names = {c.id: c.name for c in self.engine.library.cast_of(world_id, guild_id)}
        plan = None
        try:
            result = await self.engine.model_for(guild_id, "director").complete(
                plan_messages(world, chosen, states, self.interval / 3600),
                ChatOptions(max_tokens=500, temperature=0.8, json_mode=True, model=self.engine.narrator_model),
            )
            plan = parse_plan(result.text)
            report.used_model = True
        except ModelUnavailable as exc:
            log.warning("director.model_unavailable", detail=str(exc))
        except (ValidationError, ValueError) as exc:
            log.warning("director.invalid_plan", error=str(exc)[:200])
        if plan is None or not plan.actions:
            plan = fallback_plan(world, chosen, states, self.rng)

        def decide(fresh: dict[str, NpcStateRow], busy_now: set[str]) -> list[NewEvent]:
            eligible = [c.id for c in chosen if c.id in fresh and c.id not in busy_now]
            valid, dropped = revalidate(plan, states, fresh, eligible)
            for who, reason in dropped:
                log.info("director.action_dropped", guild=guild_id, world=world_id, character=who, reason=reason)
            return apply_plan(world, valid, fresh, eligible, names)

        since = (self.clock.now() - timedelta(seconds=self.busy_window)).isoformat()
        report.events = await self.engine.record_world_events(guild_id, world_id, decide, busy_since=since)
        log.info("director.tick", guild=guild_id, world=world_id, events=len(report.events), model=report.used_model)
        self.engine.metrics.director_ticks.labels("model" if report.used_model else "rules").inc()
        text = report.meanwhile(names, world.language)
        if text and self.on_meanwhile is not None:
            await self.on_meanwhile(guild_id, world_id, text)
        return report

    async def run(self) -> None:
        """Tick forever (until cancelled); each active world once per jittered interval."""
        while True:
            await self.sleep(self.next_delay())
            for guild_id, world_id in await self.active_worlds():
                try:
                    await self.tick(guild_id, world_id)
                except Exception:  # one world's failure must not stop the others' lives
                    log.exception("director.tick_failed", guild=guild_id, world=world_id)
