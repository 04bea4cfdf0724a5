"""The scene engine: one inbound line in, narration and utterances out, persisted turn by turn.

Pipeline of a user turn (see the README's architecture section):
1. store the inbound line (idempotent on the platform message id) before anything can fail;
2. narrator: movement by rules (the model only for ambiguous lines), who is present, who can hear;
3. scheduler: who answers, in what order, with the reasons recorded for ``/why``;
4. for each speaker: its prompt from what it could hear and witnessed, the model, clean-up;
   an NPC that writes itself walking off is moved;
5. moods and relationships updated by rules; everything committed in one transaction.
Then a chain may follow: another NPC reacts (or the same continues), each reaction its own turn,
with a decaying chance and a hard cap; a new user line interrupts the chain (lines waiting are
counted, so a chain stops while any line of its channel waits).
One lock per scene keeps a channel's turns in order; different scenes run concurrently. Every commit
passes the world's gate (``bot.engine.gate``) with its events as deltas settled against the fresh
state (``bot.world.deltas``); model calls happen outside it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from bot.content.loader import Library
from bot.content.models import Character, World
from bot.core.addressing import find_mentions, is_question
from bot.core.ports import ChatMessage, ChatModel, ChatOptions, Clock, monotonic
from bot.engine import servers
from bot.engine.cleanup import clean_reply
from bot.engine.commands import SceneCommands
from bot.engine.gate import StaleWorld, WorldGate
from bot.engine.limits import Limits, LimitSettings, MeteredModel
from bot.engine.lines import (
    CastEntry,
    InboundLine,
    Narration,
    Notice,
    Output,
    SceneKey,
    TurnOutcome,
    Utterance,
)
from bot.engine.metrics import Metrics
from bot.engine.outbox import Deliver, OutboxPoster
from bot.engine.own_lines import OwnLines
from bot.engine.pacing import Pacing, pace_instruction, paced
from bot.engine.personas import Personas, persona_block
from bot.engine.recollection import EmbeddingWorker, Recollection, query_of
from bot.engine.remembering import MemoryUpkeep
from bot.engine.scheduler import (
    NEVER,
    Candidate,
    Decision,
    SchedulerSettings,
    chain_continues,
    choose_for_line,
    choose_reactor,
    topic_words,
)
from bot.engine.servers import ServerReset
from bot.engine.table import TableControl
from bot.errors import EnsembleError, ModelUnavailable, NotFound, Refused
from bot.i18n import tr
from bot.memory.embedding import Embedder
from bot.memory.facts import extract_facts
from bot.memory.layout import NOTES, HeldMemory, Line, PromptInputs, assemble
from bot.memory.prompting import HistoryLine, PresentCharacter, TurnContext
from bot.memory.tokens import TokenCounter
from bot.quality.findings import ReplyContext
from bot.quality.guard import GuardStats, guard_reply
from bot.quality.preferences import prompt_json
from bot.store import Store
from bot.store.fencing import Fenced
from bot.store.personas import PersonaStore
from bot.store.records import (
    FactRecord,
    MessageRow,
    NewEvent,
    NewMessage,
    NpcStateRow,
    SceneRow,
    TurnCommit,
    UsageRecord,
)
from bot.store.usage import UsageStore
from bot.world.deltas import settle
from bot.world.describe import describe_event
from bot.world.director import choose_hook, detect_stagnation, hook_instruction
from bot.world.events import apply_all, rebuild, starting_state
from bot.world.graph import audible_from
from bot.world.mood import after_own_line, after_turn
from bot.world.narrator import (
    Spatial,
    SpatialChange,
    absent_addressees,
    apply_proposal,
    ask_model_for_moves,
    merge,
    resolve_npc_reply,
    resolve_user_line,
)
from bot.world.pacing import Pace

log = structlog.get_logger("engine")

STORY_EVENTS = ("move", "summon", "offscreen", "hook", "dismiss")
STAGNATION_WINDOW = 12  # the recent messages the stagnation check looks at
SELF_CONTINUE = 0.3
HEARD_LINES = 400
# Lines newer than this many of a character's heard lines are in its history window and need no
# vector yet; older ones must be embedded before it recalls (bounded wait, see EmbeddingWorker.reach).
EMBED_SLACK_LINES = 48
EMBED_WAIT_SECONDS = 3.0

OnOutcome = Callable[[TurnOutcome], Awaitable[None]]
WorldDecision = Callable[[dict[str, NpcStateRow], set[str]], list[NewEvent]]


def error_code(exc: BaseException) -> str:
    """A short code shown to the user and logged with the traceback, to find one in the other."""
    digest = hashlib.sha1(f"{type(exc).__name__}:{exc}:{id(exc)}".encode()).hexdigest()
    return "E-" + digest[:6].upper()


def safe_message(exc: BaseException) -> str:
    """What a front end shows for an exception: the domain message, or a short code for anything else."""
    if isinstance(exc, EnsembleError):
        return exc.user_message
    return f"Something went wrong ({error_code(exc)})."


@dataclass(frozen=True, slots=True)
class Generated:
    """A cleaned, guarded reply, the usage of the calls that made it (one, or two after a regeneration),
    and what the quality guards found and did."""

    text: str
    usage: list[UsageRecord]
    quality: dict[str, dict[str, int]]
    prompt: str | None = None  # the messages the model saw, as JSON (kept with the swipe for preference data)


@dataclass
class TurnDraft:
    """A turn being built: messages in story order, events, and which messages are utterances."""

    messages: list[NewMessage] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    quality: dict[str, dict[str, int]] = field(default_factory=dict)

    def narrate(self, world: World, texts: Sequence[str], location: str, heard_by: Sequence[str]) -> None:
        for text in texts:
            self.messages.append(
                NewMessage(kind="narration", speaker=world.narrator.name, text=text, location=location, heard_by=tuple(heard_by))
            )


class SceneEngine:
    """Runs scenes. Knows nothing about Discord or terminals: front ends call it and render its outputs.

    The turn pipeline is its own; the rest is composed services, each owning its state: the players'
    commands (``commands``), the pace of each scene (``paces``), background summaries and the embedding
    worker (``memory_upkeep``), personas, control of the table, players' own lines, limits and recall.
    The engine keeps a one-line method for each command front ends call, and offers its services the
    turn primitives they need as public methods (``bot.engine.primitives`` names them).
    """

    def __init__(
        self,
        *,
        store: Store,
        model: ChatModel,
        library: Library,
        clock: Clock,
        rng: random.Random | None = None,
        model_name: str = "",
        narrator_model: str | None = None,
        limits: LimitSettings | None = None,
        metrics: Metrics | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.library = library
        self.clock = clock
        self.rng = rng or random.Random(0)
        self.model_name = model_name
        self.narrator_model = narrator_model
        self._locks: dict[int, asyncio.Lock] = {}
        self._arrivals: dict[SceneKey, asyncio.Lock] = {}
        self.gate = WorldGate()
        # Lines of a channel announced by a front end (queued there) and lines inside ``handle`` waiting
        # for the scene's lock: a chain goes on only while both are zero.
        self._announced: dict[SceneKey, int] = {}
        self._waiting: dict[SceneKey, int] = {}
        # Per (scene, character): the window start and memory block of its last prompt (see HeldMemory).
        self._held_memory: dict[tuple[int, str], HeldMemory] = {}
        # Set by a front end that posts turns through the outbox (Discord, the terminal); without one
        # (evaluation, tests of the pipeline) nothing is written to the outbox.
        self.poster: OutboxPoster | None = None
        self.tokens = TokenCounter()
        # -- limits and metrics (bot.engine.limits, bot.engine.metrics) --
        self.metrics = metrics or Metrics()
        self.limits = Limits(UsageStore(store), clock, limits, self.metrics)
        # -- memory (bot.engine.recollection): recall per reply, embedding off the hot path --
        self.embedder = embedder
        self.recollection = Recollection(store, embedder)
        self.embedding_worker = EmbeddingWorker(store, embedder) if embedder is not None else None
        # Summaries and notes off the hot path, the embedding worker's lifecycle (bot.engine.remembering).
        self.memory_upkeep = MemoryUpkeep(
            store=store, library=library, worlds=self, model_for=self.model_for, narrator_model=narrator_model,
            embedding_worker=self.embedding_worker,
        )
        # Each scene's pace (bot.engine.pacing), refreshed every player turn.
        self.paces = Pacing(store, self)
        # -- players: personas, commands, control of the table, their own lines (composed services) --
        self.personas = Personas(PersonaStore(store))
        self.commands = SceneCommands(
            turns=self, store=store, library=library, gate=self.gate, personas=self.personas,
            recollection=self.recollection, paces=self.paces,
        )
        self.table = TableControl(self)
        self.own_lines = OwnLines(self)

    def model_for(self, guild_id: str, purpose: str, scene_id: int | None = None) -> MeteredModel:
        """The model for one call: the server's budget checked, the tokens counted under ``purpose``."""
        return self.limits.metered(self.model, guild_id, purpose, scene_id)

    # -- scenes ----------------------------------------------------------------------------------

    def world(self, world_id: str) -> World:
        try:
            return self.library.worlds[world_id]
        except KeyError:
            raise NotFound(f"There is no world called {world_id!r}.") from None

    def attach_poster(self, deliver: Deliver, **options: Any) -> OutboxPoster:
        """Post every turn's lines through the outbox with ``deliver`` (see ``bot.engine.outbox``)."""
        self.poster = OutboxPoster(self, deliver, **options)
        return self.poster

    def lock(self, scene_id: int) -> asyncio.Lock:
        """The lock that keeps one scene's turns in order."""
        return self._locks.setdefault(scene_id, asyncio.Lock())

    @asynccontextmanager
    async def _scene_lock_in_arrival_order(self, key: SceneKey) -> AsyncIterator[None]:
        """The scene's lock, taken in the order its lines arrived: the scene is looked up under a
        per-channel lock taken before the first await, so a lookup that returns sooner (PostgreSQL's pool
        answers on several connections, in any order) cannot let a later line overtake an earlier one."""
        async with self._arrivals.setdefault(key, asyncio.Lock()):
            scene = await self.require_scene(key)
            lock = self.lock(scene.id)
            await lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def interrupt(self, key: SceneKey) -> None:
        """A new user line is on its way (queued by a front end): a running chain of NPC reactions stops
        after its current line. Each announced line is counted until ``handle`` takes it in, or until
        the front end withdraws it (``withdraw_interrupt``) because it will not be handled."""
        self._announced[key] = self._announced.get(key, 0) + 1

    def withdraw_interrupt(self, key: SceneKey) -> None:
        """An announced line will not reach ``handle`` (its channel has no enabled scene)."""
        if self._announced.get(key, 0) > 0:
            self._announced[key] -= 1

    def lines_waiting(self, key: SceneKey) -> int:
        """Lines of this channel announced or waiting for its scene: a chain stops while there are any."""
        return self._announced.get(key, 0) + self._waiting.get(key, 0)

    async def open_scene(self, key: SceneKey, world_id: str) -> SceneRow:
        """The scene of a channel, created in ``world_id`` if there is none; NPC states seeded."""
        world = self.world(world_id)
        async with self.gate.hold(key.guild_id, world.id):
            return await self.open_scene_held(key, world)

    async def open_scene_held(self, key: SceneKey, world: World) -> SceneRow:
        """``open_scene`` for a caller that holds the world's gate already (a server's reset or setup holds
        every gate of the server while it reopens the channels)."""
        scene = await self.store.get_scene(key.guild_id, key.channel_id)
        if scene is None:
            scene = await self.store.create_scene(key.guild_id, key.channel_id, world.id, world.start_location)
        await self.store.seed_npc_states(scene.guild_id, scene.world_id, self.starting_states(self.world(scene.world_id), scene.guild_id))
        return scene

    def starting_states(self, world: World, guild_id: str | None = None) -> list[NpcStateRow]:
        """Every cast member's state as the content describes it: the root that events replay onto."""
        return [starting_state(c, world) for c in self.library.cast_of(world.id, guild_id)]

    async def add_character(self, guild_id: str, world_id: str, character: Character, *, rename: bool = False) -> Character:
        """Add an imported character to one server's cast of a world (``/character import``).

        Its id is made unique to the server; a name already in that cast is refused, or with ``rename``
        numbered ("Mira (2)"). Stored, so a restart keeps it; NPC state seeded where the world starts.
        """
        world = self.world(world_id)
        scoped = f"{character.id[:44]}-g{hashlib.sha1(guild_id.encode()).hexdigest()[:8]}"
        cast = self.library.cast_of(world_id, guild_id)
        taken = {c.name.casefold() for c in cast}
        ids = {c.id for c in cast}
        name = character.name
        if name.casefold() in taken or scoped in ids:
            if not rename:
                raise Refused(tr(world.language, "cast.taken", name=name))
            number = 2
            while f"{name} ({number})".casefold() in taken or f"{scoped}-{number}" in ids:
                number += 1
            name, scoped = f"{name} ({number})", f"{scoped}-{number}"
        known = {loc.id for loc in world.locations}
        start = character.start_location if character.start_location in known else world.start_location
        relationships = {k: v for k, v in character.relationships.items() if k == "user"}
        added = character.model_copy(update={"id": scoped, "name": name, "start_location": start, "relationships": relationships})
        added = Character.model_validate(added.model_dump())
        async with self.gate.hold(guild_id, world_id):
            await self.store.save_guild_character(guild_id, world_id, scoped, added.model_dump_json())
            self.library.add_guild_character(guild_id, world_id, added)
            await self.store.seed_npc_states(guild_id, world_id, [starting_state(added, world)])
        return added

    async def reset_server(self, guild_id: str) -> ServerReset:
        """``/world reset``: see ``bot.engine.servers``."""
        return await servers.reset_server(self, guild_id)

    async def setup_server(self, guild_id: str, world_id: str) -> None:
        """``/world setup``: see ``bot.engine.servers``."""
        await servers.setup_server(self, guild_id, world_id)

    def replay_states(self, world: World, guild_id: str) -> Callable[[dict[str, NpcStateRow] | None, list[dict[str, Any]]], dict[str, NpcStateRow]]:
        """How the store rebuilds a world's NPC states: the content's start, overlaid by a checkpoint, then events."""
        start = {s.character_id: s for s in self.starting_states(world, guild_id)}

        def replay(checkpoint: dict[str, NpcStateRow] | None, events: list[dict[str, Any]]) -> dict[str, NpcStateRow]:
            return rebuild({**start, **(checkpoint or {})}, events)

        return replay

    async def load_guild_characters(self) -> int:
        """At start: put every server's imported characters back into the library."""
        count = 0
        for guild_id, world_id, data in await self.store.guild_characters():
            if world_id in self.library.worlds:
                self.library.add_guild_character(guild_id, world_id, Character.model_validate_json(data))
                count += 1
        return count

    def forget_scene_caches(self, scene_id: int) -> None:
        """Drop what is cached of a scene's memory (each character's vectors and held memory block) after
        its lines changed (rewind, edit, delete) or it went (reset: SQLite may reuse its id)."""
        self.recollection.forget_scene(scene_id)
        self._held_memory = {k: v for k, v in self._held_memory.items() if k[0] != scene_id}

    async def require_scene(self, key: SceneKey) -> SceneRow:
        scene = await self.store.get_scene(key.guild_id, key.channel_id)
        if scene is None:
            raise NotFound("There is no scene here yet.")
        return scene

    async def spatial(self, scene: SceneRow, states: dict[str, NpcStateRow]) -> Spatial:
        """Where the players and the scene's members are, for the narrator and the scheduler."""
        return self._spatial_of(scene, states, await self.store.members(scene.id))

    async def states_and_spatial(self, scene: SceneRow) -> tuple[dict[str, NpcStateRow], Spatial]:
        """The world's NPC states and ``spatial`` of them, read in one round trip to the store."""
        states, members = await self.store.read_together(
            self.store.npc_states_query(scene.guild_id, scene.world_id), self.store.members_query(scene.id)
        )
        return states, self._spatial_of(scene, states, members)

    def _spatial_of(self, scene: SceneRow, states: dict[str, NpcStateRow], members: Sequence[str]) -> Spatial:
        members = tuple(m for m in members if m in states and m in self.library.characters)
        return Spatial(
            world=self.world(scene.world_id),
            user_location=scene.user_location,
            npc_locations={m: states[m].location for m in members},
            members=members,
            names={m: self.library.characters[m].name for m in members},
        )

    def scheduler_settings(self, world: World) -> SchedulerSettings:
        s = world.settings
        return SchedulerSettings(max_speakers=s.max_speakers_per_line, chain_cap=s.chain_cap, chain_decay=s.chain_decay)

    # -- the user's turn -------------------------------------------------------------------------

    async def handle(self, line: InboundLine, on_outcome: OnOutcome | None = None) -> TurnOutcome:
        """Answer one line, then let NPCs react in a bounded chain.

        Each committed turn is passed to ``on_outcome`` as soon as it exists (a front end can post
        it at once); the return value gathers all of them.
        """
        key = line.scene
        self.withdraw_interrupt(key)  # the announced line has arrived: from now on it waits here
        self._waiting[key] = self._waiting.get(key, 0) + 1
        waiting = True
        try:
            async with self._scene_lock_in_arrival_order(key):
                self._waiting[key] -= 1
                waiting = False
                line = await self.personas.as_persona(line)  # the player speaks as their persona, if they set one
                # Noted before the scene is read: a reset after this point makes every commit refused.
                generation = self.gate.generation(key.guild_id)
                scene = await self.require_scene(key)
                # -- limits: a held line is stored as in a paused scene, and not answered --
                held = await self.limits.hold(
                    scene.guild_id, scene.channel_id, line.author_id, self.world(scene.world_id).language
                )
                if held is not None:
                    stored = await self._user_turn(dataclasses.replace(scene, paused=True), line, generation)
                    stored = dataclasses.replace(stored, outputs=held.notices if not stored.duplicate else ())
                    if on_outcome is not None and stored.outputs:
                        await on_outcome(stored)
                    return stored
                self.limits.start_chain(scene.id)
                outcome = await self._user_turn(scene, line, generation)
                if not outcome.duplicate:
                    self.metrics.turns.labels("user").inc()
                    self.memory_upkeep.schedule_summary(scene)
                outcomes = [outcome]
                if on_outcome is not None:
                    await on_outcome(outcome)
                last = outcome.utterances[-1] if outcome.utterances else None
                step = 0
                world = self.world(scene.world_id)
                settings = paced(self.scheduler_settings(world), self.paces.current(scene.id))
                while (
                    last is not None and not self.lines_waiting(key) and self.gate.generation(key.guild_id) == generation
                    and self.limits.chain_allows(scene.id) and chain_continues(step, settings, self.rng)
                ):
                    try:
                        reaction = await self._reaction_turn(await self.require_scene(key), last, step, generation)
                    except (StaleWorld, NotFound):
                        break  # the story was reset meanwhile: the chain ends with the old scene
                    except Fenced:
                        break  # another process owns the server now: its chain is not ours to go on with
                    if reaction is None:
                        break
                    self.metrics.turns.labels("reaction").inc()
                    outcomes.append(reaction)
                    if on_outcome is not None:
                        await on_outcome(reaction)
                    last = reaction.utterances[-1] if reaction.utterances else None
                    step += 1
        finally:
            if waiting:
                self._waiting[key] -= 1
        if len(outcomes) == 1:
            return outcome
        return TurnOutcome(
            tuple(o for out in outcomes for o in out.outputs), outcome.turn_id, outcome.turn_seq, outcome.duplicate
        )

    async def _user_turn(self, scene: SceneRow, line: InboundLine, generation: int) -> TurnOutcome:
        await self.paces.refresh(scene)  # pacing: what this table's behaviour says, before the turn uses it
        world = self.world(scene.world_id)
        states, spatial = await self.states_and_spatial(scene)
        reply_to = await self.store.message_by_platform_id(scene.id, line.reply_to) if line.reply_to else None
        try:
            async with self.gate.hold(scene.guild_id, scene.world_id, generation=generation):
                start = await self._begin(scene, line, spatial, reply_to)
        except StaleWorld as exc:
            return TurnOutcome((Notice(exc.user_message, code="stale"),))
        if not start.is_new:
            return TurnOutcome(turn_id=start.turn_id, turn_seq=start.turn_seq, duplicate=True)
        bound = log.bind(guild=scene.guild_id, scene=scene.id, turn=start.turn_seq)
        try:
            if scene.paused:
                async with self.gate.hold(scene.guild_id, scene.world_id, generation=generation):
                    await self.store.commit_turn(scene, start.turn_id, TurnCommit())
                return TurnOutcome((), start.turn_id, start.turn_seq)
            self.recollection.prefetch(line.text, self.address_names(spatial.members))  # embedded while the turn goes on
            draft, ids = await self._play_user_turn(scene, world, line, states, spatial, reply_to, start.turn_id, bound, generation)
        except StaleWorld as exc:
            bound.info("turn.stale")
            return TurnOutcome((Notice(exc.user_message, code="stale"),), start.turn_id, start.turn_seq)
        except Fenced:
            # Another process owns this server now: nothing of the turn was written, and nothing is said
            # here (its line is stored; the turn stays open, as after a stop).
            bound.warning("turn.fenced")
            return TurnOutcome((), start.turn_id, start.turn_seq)
        except Exception as exc:  # the line is stored; record the failure and say so briefly
            code = error_code(exc)
            bound.exception("turn.failed", code=code)
            await self._fail_turn(scene, start.turn_id, generation)
            return TurnOutcome((Notice(tr(world.language, "turn.failed", code=code), code),), start.turn_id, start.turn_seq)
        return TurnOutcome((*self.render(world, draft, ids), *draft.notices), start.turn_id, start.turn_seq)

    async def _begin(self, scene: SceneRow, line: InboundLine, spatial: Spatial, reply_to: MessageRow | None):
        """Store the inbound line (inside the world's gate, so a reset cannot pull the scene away)."""
        return await self.store.begin_turn(
            scene.id,
            NewMessage(
                kind="user",
                speaker=line.author_name,
                text=line.text,
                author_id=line.author_id,
                location=scene.user_location,
                heard_by=tuple(spatial.hearers()),
                reply_to_id=reply_to.id if reply_to else None,
                platform_message_id=line.platform_message_id,
                facts=facts_of(line.author_name, line.text, spatial.hearers()),
            ),
        )

    async def _play_user_turn(
        self,
        scene: SceneRow,
        world: World,
        line: InboundLine,
        states: dict[str, NpcStateRow],
        spatial: Spatial,
        reply_to: MessageRow | None,
        turn_id: int,
        bound: structlog.typing.FilteringBoundLogger,
        generation: int,
    ) -> tuple[TurnDraft, list[int]]:
        draft = TurnDraft()
        # Everything this turn reads of the scene before its replies, in one round trip (after the line was
        # stored: the stagnation check counts the line's own turn and sees the line among the recent ones).
        last_npc, last_spoke, recent, quiet = await self.store.read_together(
            self.store.last_npc_message_query(scene.id),
            self.store.last_spoke_query(scene.id),
            self.store.recent_messages_query(scene.id, STAGNATION_WINDOW),
            self.store.scene_turns_since_event_query(scene.id, STORY_EVENTS),
        )
        change = resolve_user_line(spatial, line.text, line.author_name, recent_speaker=last_npc.character_id if last_npc else None)
        if change.ambiguous:
            proposal = await ask_model_for_moves(self.model_for(scene.guild_id, "narrator"), spatial, line.text, line.author_name, narrator_model=self.narrator_model)
            change = merge([change, apply_proposal(spatial, proposal, line.author_name)])
        mentions = find_mentions(line.text, {m: self.library.characters[m].all_names() for m in spatial.members})
        absent = absent_addressees(spatial, [m.character_id for m in mentions])
        draft.events.extend(change.events)
        draft.narrate(world, [*change.narrations, *absent], spatial.user_location, spatial.hearers())
        base_states = states
        states = apply_all(base_states, draft.events)

        hearers = spatial.hearers()
        decision = await self._decide_for_line(scene, world, line, states, hearers, mentions, reply_to, last_spoke)
        draft.events.append(NewEvent("schedule", None, decision_payload(decision, "line"), ()))
        bound.info("turn.speakers", speakers=list(decision.speakers), note=decision.note)

        hook = await self._stagnation_hook(scene, world, decision.speakers[0], recent, quiet) if decision.speakers else None
        if hook is not None:
            draft.events.append(NewEvent("hook", decision.speakers[0], {"text": hook}, (decision.speakers[0],)))
        pending: list[HistoryLine] = [HistoryLine(world.narrator.name, m.text, kind="narration") for m in draft.messages]
        for index, character_id in enumerate(decision.speakers):
            character = self.library.characters[character_id]
            try:
                generated = await self.generate(
                    scene, world, character, spatial, states, pending=pending, author=line.author_name,
                    extra_instruction=hook_instruction(hook) if (hook and index == 0) else None,
                )
            except ModelUnavailable as exc:
                bound.warning("turn.model_unavailable", character=character_id, detail=str(exc))
                draft.notices.append(Notice(tr(world.language, "turn.model_unavailable"), code="model_unavailable"))
                break
            self.add_utterance(draft, world, spatial, character, generated, pending, states)
            states = apply_all(base_states, draft.events)
        participants = spatial.hearers()
        addressed = [m.character_id for m in mentions] + ([reply_to.character_id] if reply_to and reply_to.character_id else [])
        # The line's effect on moods is judged without the replies' own moods: those belong to their
        # alternatives (a swipe replaces them), this belongs to the line.
        moods_before = apply_all(base_states, [e for e in draft.events if not (e.kind == "mood" and e.origin is not None)])
        draft.events.extend(
            after_turn(moods_before, self.library.characters, participants=participants, addressed=addressed, line=line.text, witnesses=participants)
        )
        status = "failed" if decision.speakers and not any(m.kind == "npc" for m in draft.messages) else "done"
        _, ids = await self.commit(
            scene, turn_id, draft, status=status, user_location=spatial.user_location if change.user_moved else None,
            generation=generation, post=True,
        )
        return draft, ids

    def add_utterance(
        self, draft: TurnDraft, world: World, spatial: Spatial, character: Character, generated: Generated,
        pending: list[HistoryLine], states: dict[str, NpcStateRow],
    ) -> None:
        """Append an NPC's line and, if it walked off in it, the narration and the move.

        The line's own effects (the move, its mood, its facts) belong to this alternative: they are
        stored with it, so a regenerated alternative can replace them (``alternative_effects``).
        """
        heard_by = spatial.hearers(spatial.npc_locations.get(character.id))
        location = spatial.npc_locations.get(character.id)
        departure = resolve_npc_reply(spatial, character.id, generated.text)
        index = len(draft.messages)
        effects = tuple(
            replace(e, origin=index)
            for e in (*departure.events, *after_own_line(states.get(character.id), generated.text, [*heard_by, character.id]))
        )
        draft.messages.append(
            NewMessage(
                kind="npc", speaker=character.name, text=generated.text, character_id=character.id,
                location=location, heard_by=tuple(heard_by),
                facts=facts_of(character.name, generated.text, [*heard_by, character.id]), effects=effects,
                prompt=generated.prompt,
            )
        )
        draft.usage.extend(generated.usage)
        self.metrics.observe_reply(generated.quality)
        for detector, counters in generated.quality.items():
            merged = draft.quality.setdefault(detector, {})
            for counter, n in counters.items():
                merged[counter] = merged.get(counter, 0) + n
        pending.append(HistoryLine(character.name, generated.text, kind="npc"))
        draft.events.extend(effects)
        if departure.events:
            draft.narrate(world, departure.narrations, spatial.user_location, spatial.hearers())
            pending.extend(HistoryLine(world.narrator.name, t, kind="narration") for t in departure.narrations)

    async def commit(
        self,
        scene: SceneRow,
        turn_id: int | None,
        draft: TurnDraft,
        *,
        status: str,
        user_location: str | None,
        generation: int,
        join: Sequence[str] = (),
        leave: Sequence[str] = (),
        post: bool = False,
    ) -> tuple[int, list[int]]:
        """Write the draft in one transaction, through the world's gate.

        The draft's events were planned from states read before the model calls; they are settled
        against the states read inside the write transaction (``bot.world.deltas``), so a concurrent
        turn, tick or rewind of the same world is never overwritten. ``turn_id`` None: a turn with no
        inbound line (a command, a chain reaction) is created with it. ``post``: the lines go to the
        outbox. Returns the turn id and the new message ids in order.
        """
        planned = list(draft.events)

        def settle_fresh(fresh: dict[str, NpcStateRow]) -> tuple[list[NewEvent], list[NpcStateRow]]:
            settled = settle(fresh, planned)
            for event, reason in settled.dropped:
                log.info("world.change_dropped", scene=scene.id, kind=event.kind, subject=event.subject, reason=reason)
            return settled.events, settled.states

        post = post and self.poster is not None
        commit = TurnCommit(
            status=status, messages=draft.messages, settle=settle_fresh, usage=draft.usage, user_location=user_location,
            quality=draft.quality, join=tuple(join), leave=tuple(leave), post=post,
        )
        async with self.gate.hold(scene.guild_id, scene.world_id, generation=generation):
            if turn_id is None:
                turn_id, ids = await self.store.record_turn(scene, commit)
            else:
                ids = await self.store.commit_turn(scene, turn_id, commit)
        if post and self.poster is not None and ids:
            self.poster.wake(SceneKey(scene.guild_id, scene.channel_id))  # posting happens outside every lock
        return turn_id, ids

    async def record(
        self,
        scene: SceneRow,
        messages: Sequence[NewMessage],
        events: Sequence[NewEvent],
        generation: int,
        user_location: str | None = None,
        *,
        join: Sequence[str] = (),
        leave: Sequence[str] = (),
    ) -> tuple[int, list[int]]:
        """A command's turn (no inbound line, no model call): messages, events and the NPC states they lead
        to, in one transaction through the world's gate (``commit``). Returns the turn id and message ids."""
        draft = TurnDraft(messages=list(messages), events=list(events))
        return await self.commit(
            scene, None, draft, status="done", user_location=user_location, generation=generation, join=join, leave=leave
        )

    def alternative_effects(
        self, spatial: Spatial, states: dict[str, NpcStateRow], message: MessageRow, text: str
    ) -> tuple[list[NewEvent], tuple[FactRecord, ...]]:
        """What a new alternative of an NPC line would do to the world, judged from where it was said."""
        character = self.library.characters[message.character_id or ""]
        here = message.location or spatial.npc_locations.get(character.id)
        if here is not None:
            spatial = replace(spatial, npc_locations={**spatial.npc_locations, character.id: here})
        departure = resolve_npc_reply(spatial, character.id, text)
        witnesses = [*message.heard_by, character.id]
        events = [*departure.events, *after_own_line(states.get(character.id), text, witnesses)]
        return events, facts_of(character.name, text, witnesses)

    def settle_planned(self, fresh: dict[str, NpcStateRow], planned: list[NewEvent]) -> tuple[list[NewEvent], list[NpcStateRow]]:
        """``bot.world.deltas.settle`` in the shape the store calls it with."""
        settled = settle(fresh, planned)
        return settled.events, settled.states

    def render(self, world: World, draft: TurnDraft, ids: Sequence[int]) -> list[Output]:
        """A committed draft's lines as a front end shows them (utterances and narration), by their new ids."""
        outputs: list[Output] = []
        for message_id, message in zip(ids, draft.messages, strict=True):
            if message.kind == "npc" and message.character_id:
                outputs.append(self.utterance(message_id, self.library.characters[message.character_id], message.text))
            elif message.kind == "narration":
                outputs.append(Narration(message.text, message_id, world.narrator.name, world.narrator.avatar_url))
        return outputs

    async def _fail_turn(self, scene: SceneRow, turn_id: int, generation: int) -> None:
        try:
            async with self.gate.hold(scene.guild_id, scene.world_id, generation=generation):
                await self.store.commit_turn(scene, turn_id, TurnCommit(status="failed"))
        except StaleWorld:
            pass  # the turn went with the reset
        except Exception:  # the turn stays open and is marked interrupted at the next start
            log.exception("turn.fail_record_failed", scene=scene.id)

    def utterance(self, message_id: int, character: Character, text: str, idx: int = 0, count: int = 1) -> Utterance:
        """An NPC line as a front end renders it: its message, the character's name and face, the swipe position."""
        return Utterance(
            message_id=message_id, character_id=character.id, speaker=character.name, text=text,
            avatar_url=character.avatar_url, swipe_index=idx, swipe_count=count,
        )

    # -- choosing speakers -----------------------------------------------------------------------

    def _candidates(
        self, hearers: Sequence[str], states: dict[str, NpcStateRow], mentions: dict[str, int], replied: str | None,
        last: dict[str, int],
    ) -> list[Candidate]:
        """The scheduler's view of each hearer; ``last``: each member's latest line (``Store.last_spoke``)."""
        newest = max(last.values(), default=0)
        last_speaker = max(last, key=lambda c: last[c]) if last else None
        candidates = []
        for cid in hearers:
            character = self.library.characters[cid]
            state = states[cid]
            notes = [str(r.get("note", "")) for r in state.relationships.values()]
            candidates.append(
                Candidate(
                    character_id=cid,
                    talkativeness=character.talkativeness,
                    lines_since_spoke=NEVER if cid not in last else max(0, newest - last[cid]),
                    addressed_at=mentions.get(cid),
                    replied_to=replied == cid,
                    topics=topic_words(*character.goals, *state.goals, *notes),
                    mood_label=state.mood_label,
                    mood_intensity=state.mood_intensity,
                    spoke_last=cid == last_speaker,
                )
            )
        return candidates

    async def _decide_for_line(
        self, scene: SceneRow, world: World, line: InboundLine, states: dict[str, NpcStateRow],
        hearers: Sequence[str], mentions: Sequence, reply_to: MessageRow | None, last_spoke: dict[str, int],
    ) -> Decision:
        mention_at = {m.character_id: m.position for m in mentions}
        replied = reply_to.character_id if reply_to and reply_to.character_id in hearers else None
        candidates = self._candidates(hearers, states, mention_at, replied, last_spoke)
        return choose_for_line(
            candidates, question=is_question(line.text), line_words=topic_words(line.text),
            settings=self.scheduler_settings(world), rng=self.rng, table=await self.table.rules(scene.id, scene.guild_id),
        )

    async def _stagnation_hook(
        self, scene: SceneRow, world: World, speaker: str, recent: Sequence[MessageRow], quiet: int
    ) -> str | None:
        """A plot hook for the next speaker when the scene goes in circles (recorded so it is not reused);
        ``recent``: the scene's last ``STAGNATION_WINDOW`` messages, ``quiet``: turns since a story event."""
        npc_lines = [m.text for m in recent if m.kind == "npc"]
        pace = self.paces.current(scene.id)
        stagnation = detect_stagnation(npc_lines, quiet, quiet_turns=pace.hook_after if pace else 8)
        if not stagnation.stalled:
            return None
        used = await self.store.hooks_used(scene.guild_id, scene.world_id)
        hook = choose_hook(world, self.library.characters[speaker], used, self.rng)
        if hook:
            log.info("director.hook", scene=scene.id, reason=stagnation.reason)
        return hook

    # -- chains ----------------------------------------------------------------------------------

    async def _reaction_turn(self, scene: SceneRow, last: Utterance, step: int, generation: int) -> TurnOutcome | None:
        """One NPC reacting to the previous NPC line: its own turn, committed on its own."""
        world = self.world(scene.world_id)
        states, members, last_spoke = await self.store.read_together(
            self.store.npc_states_query(scene.guild_id, scene.world_id),
            self.store.members_query(scene.id),
            self.store.last_spoke_query(scene.id),
        )
        spatial = self._spatial_of(scene, states, members)
        hearers = spatial.hearers()
        if not hearers:
            return None
        names = {m: self.library.characters[m].all_names() for m in hearers if m != last.character_id}
        mentions = {m.character_id: m.position for m in find_mentions(last.text, names)}
        candidates = self._candidates(hearers, states, mentions, None, last_spoke)
        decision = choose_reactor(
            candidates, last_speaker=last.character_id, line_words=topic_words(last.text), rng=self.rng,
            table=await self.table.rules(scene.id, scene.guild_id),
        )
        if not decision.speakers:
            return None
        character = self.library.characters[decision.speakers[0]]
        if character.id == last.character_id and self.rng.random() > SELF_CONTINUE * (0.5 + character.talkativeness):
            return None  # continuing one's own line is the exception, likelier for talkative characters
        draft = TurnDraft()
        draft.events.append(NewEvent("schedule", None, decision_payload(decision, f"chain step {step + 1}"), ()))
        try:
            generated = await self.generate(scene, world, character, spatial, states)
        except ModelUnavailable:
            return None
        self.add_utterance(draft, world, spatial, character, generated, [], states)
        _, ids = await self.commit(scene, None, draft, status="done", user_location=None, generation=generation, post=True)
        return TurnOutcome(tuple(self.render(world, draft, ids)))

    # -- one NPC's reply -------------------------------------------------------------------------

    def address_names(self, members: Sequence[str]) -> list[str]:
        """Every name of the scene's characters: left out of a query's meaning where it is a form of address
        ("Tom, what was ...?"), whoever answers, so one prefetched query vector serves them all."""
        return [name for member in members if member in self.library.characters for name in self.library.characters[member].all_names()]

    async def _inputs(
        self,
        scene: SceneRow,
        world: World,
        character: Character,
        spatial: Spatial,
        states: dict[str, NpcStateRow],
        *,
        pending: Sequence[HistoryLine],
        author: str | None,
        before_id: int | None,
        extra_instruction: str | None,
    ) -> PromptInputs:
        """Gather from the store what this character knows, for the pure prompt assembly."""
        # What the speaker heard, its summary with the notes that go with it, what it witnessed off-screen:
        # one round trip to the store.
        rows, summary, notes, events = await self.store.read_together(
            self.store.heard_lines_query(scene.id, character.id, limit=HEARD_LINES, before_id=before_id),
            self.store.latest_summary_query(scene.id, character.id),
            self.store.notes_at_summary_query(scene.id, character.id, limit=NOTES),
            self.store.witnessed_events_query(scene.guild_id, scene.world_id, character.id, kinds=("offscreen",), limit=6),
        )
        now_seq = rows[-1][1] if rows else 0
        # Positional arguments: up to 400 lines a reply, and a keyword costs a frozen dataclass a third more.
        lines = [Line(row.id, seq, row.speaker, row.text, row.character_id == character.id) for row, seq in rows]
        lines.extend(Line(0, now_seq, p.speaker, p.text, p.own) for p in pending)
        state = states[character.id]
        here = spatial.npc_locations.get(character.id, state.location)
        others = [self.library.characters[c] for c in spatial.hearers(here) if c != character.id]
        user_names = sorted({row.speaker for row, _ in rows[-40:] if row.kind == "user"} | ({author} if author else set()))
        heard_players = {row.author_id for row, _ in rows[-40:] if row.kind == "user" and row.author_id}
        persona_name, persona = persona_block(await self.personas.heard(scene.guild_id, heard_players))
        feelings = state.relationships
        present = [
            PresentCharacter(o.name, mood=states[o.id].mood_label if o.id in states else None, note=_feeling(feelings.get(o.id)), place=spatial.place_seen_from(o.id, here))
            for o in others
        ]
        toward_user = _feeling(feelings.get("user"))
        extra = "\n".join(x for x in (f"How you feel about the players: {toward_user}." if toward_user else "", extra_instruction or "") if x)
        query = query_of(rows, character.id)
        if self.embedding_worker is not None and len(rows) > EMBED_SLACK_LINES:
            await self.embedding_worker.reach(rows[-EMBED_SLACK_LINES][0].id, timeout=EMBED_WAIT_SECONDS)
        recalled = (
            await self.recollection.recall(scene.id, character.id, query, names=character.all_names(), address=self.address_names(spatial.members))
            if query else []
        )
        names = {c.id: c.name for c in self.library.cast_of(world.id, scene.guild_id)}
        told = [t for t in (describe_event(e, world, names, viewer=character.id) for e in events) if t]
        return PromptInputs(
            character=character,
            world=world,
            scene_name=f"{world.name} / {scene.channel_id}",
            lines=lines,
            turn=TurnContext(
                location=world.location(here), present=present, mood_label=state.mood_label,
                mood_intensity=state.mood_intensity, user_names=user_names, extra_instruction=extra or None,
                players_place=spatial.players_seen_from(here), players_in_earshot=spatial.user_location in audible_from(world, here),
            ),
            now_seq=now_seq,
            budget=world.settings.prompt_budget,
            summary=summary[0] if summary else None,
            notes=[n.text for n in notes],
            recalled=recalled,
            told=told,
            lore=[*world.lore, *character.lore],
            persona=persona,
            persona_name=persona_name,
            window_start=held.window_start if (held := self._held_memory.get((scene.id, character.id))) else None,
            held_memory=held,
            rng=random.Random(f"{scene.id}:{now_seq}:{character.id}"),
        )

    async def generate(
        self,
        scene: SceneRow,
        world: World,
        character: Character,
        spatial: Spatial,
        states: dict[str, NpcStateRow],
        *,
        pending: Sequence[HistoryLine] = (),
        author: str | None = None,
        before_id: int | None = None,
        extra_instruction: str | None = None,
    ) -> Generated:
        """One NPC reply: assemble its prompt within budget, call the model, clean and guard the reply.

        ``pending``: lines of the turn not stored yet; ``before_id``: write it as of before that message (a
        regenerated alternative). Raises ``ModelUnavailable`` when the model gives no usable reply."""
        length = world.settings.reply_length
        pace = self.paces.current(scene.id)
        steered = pace.steer_length(length.min_words, length.max_words) if pace else (length.min_words, length.max_words)
        note = pace_instruction(pace, length.min_words, length.max_words, "characters" if world.language == "zh" else "words") if pace else None
        if note:
            extra_instruction = f"{extra_instruction}\n{note}" if extra_instruction else note
        inputs = await self._inputs(
            scene, world, character, spatial, states, pending=pending, author=author, before_id=before_id,
            extra_instruction=extra_instruction,
        )
        assembled = assemble(inputs, self.tokens)
        self._held_memory[(scene.id, character.id)] = assembled.held_memory
        others = [self.library.characters[c] for c in spatial.hearers(spatial.npc_locations.get(character.id)) if c != character.id]
        other_names = [n for o in others for n in o.all_names()]
        user_names = list(inputs.turn.user_names)
        options = ChatOptions(
            max_tokens=world.settings.max_reply_tokens,
            temperature=world.settings.temperature,
            stop=tuple(f"\n{o.name}:" for o in others[:4]),
        )
        usage: list[UsageRecord] = []

        async def call(messages: list[ChatMessage], purpose: str = "npc") -> str:
            started = monotonic()
            result = await self.model_for(scene.guild_id, purpose, scene.id).complete(messages, options)
            usage.append(
                UsageRecord(
                    purpose=purpose, model=result.model or self.model_name, prompt_tokens=result.usage.prompt_tokens,
                    completion_tokens=result.usage.completion_tokens, cached_tokens=result.usage.cached_tokens,
                    latency_ms=round((monotonic() - started) * 1000, 3),
                )
            )
            if result.usage.prompt_tokens:
                self.tokens.calibrate(assembled.tokens, result.usage.prompt_tokens)
            return clean_reply(result.text, character.all_names(), [*other_names, *user_names])

        text = await call(assembled.messages)
        if not text:
            raise ModelUnavailable("The storyteller's model gave an empty reply; try again.", detail="empty after clean-up")

        async def regenerate(instruction: str) -> str:
            corrected = [*assembled.messages[:-1], ChatMessage("system", assembled.messages[-1].content + "\n" + instruction, name="director")]
            return await call(corrected, "guard")

        recent = [line.text for line in inputs.lines if line.own][-5:]
        ctx = ReplyContext(
            npc_name=character.name, npc_aliases=character.aliases, user_names=user_names, other_names=other_names,
            language=world.language, recent_replies=recent, min_words=steered[0], max_words=steered[1],
            # The prompt asks a Chinese world for characters; the guard counts the same unit the linter does.
            length_unit="chars" if world.language == "zh" else "words",
        )
        stats = GuardStats()
        guarded = await guard_reply(text, ctx, world.settings.guards, regenerate, stats=stats)
        if not guarded.text.strip():
            raise ModelUnavailable("The storyteller's model gave no usable reply; try again.", detail="guard left nothing")
        counts = {d: {k: n for k, n in c.items() if n} for d, c in stats.counts.items() if any(c.values())}
        log.info("npc.prompt", character=character.id, tokens=assembled.tokens, sections=assembled.sections, dropped=assembled.dropped)
        return Generated(guarded.text, usage, counts, prompt_json(assembled.messages))

    async def record_world_events(
        self, guild_id: str, world_id: str, decide: WorldDecision, *, busy_since: str | None = None
    ) -> list[NewEvent]:
        """Events from outside a scene (the director), decided and committed inside the world's gate.

        ``decide(fresh_states, busy_npcs)`` re-validates a plan made before a model call against the
        states as they are now (and who is now busy with the players); its events are settled against
        the states read in the write transaction. Returns the events stored.
        """
        async with self.gate.hold(guild_id, world_id):
            fresh = await self.store.npc_states(guild_id, world_id)
            busy = await self.store.busy_npcs(guild_id, world_id, busy_since) if busy_since is not None else set()
            planned = decide(fresh, busy)

            def settle_fresh(states: dict[str, NpcStateRow]) -> tuple[list[NewEvent], list[NpcStateRow]]:
                settled = settle(states, planned)
                return settled.events, settled.states

            return await self.store.commit_world_events(guild_id, world_id, settle=settle_fresh)

    # -- rewind ----------------------------------------------------------------------------------

    async def rewind(self, key: SceneKey, turns: int) -> int:
        """Undo the last ``turns`` turns with every state change they caused; return how many went.

        Under the scene's lock and the world's gate; the scene's summary pass is stopped first (it may
        have read the lines that go) and what was cached or counted of its memory is dropped after."""
        if turns <= 0:
            return 0
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            await self.memory_upkeep.cancel(scene.id)
            world = self.world(scene.world_id)

            def replay_scene(scene_events):
                location = world.start_location
                members: dict[str, str] = {}
                for event in scene_events:
                    if event["kind"] == "move" and event["subject"] == "user":
                        location = event["payload"]["to"]
                    elif event["kind"] == "summon":
                        members.setdefault(event["subject"], event["created_at"])
                    elif event["kind"] == "dismiss":
                        members.pop(event["subject"], None)
                return location, list(members.items())

            async with self.gate.hold(scene.guild_id, scene.world_id):
                removed = await self.store.rewind(scene, turns, self.replay_states(world, scene.guild_id), replay_scene)
            self.forget_scene_caches(scene.id)
            self.memory_upkeep.forget(scene.id)
            log.info("scene.rewind", scene=scene.id, turns=removed)
            return removed

    # -- the composed services, where front ends call them (one line each) -----------------------

    async def summon(self, key: SceneKey, name: str, location: str | None = None) -> TurnOutcome:
        return await self.commands.summon(key, name, location)

    async def dismiss(self, key: SceneKey, name: str) -> TurnOutcome:
        return await self.commands.dismiss(key, name)

    async def cast(self, key: SceneKey) -> list[CastEntry]:
        return await self.commands.cast(key)

    async def look(self, key: SceneKey) -> TurnOutcome:
        return await self.commands.look(key)

    async def go(self, key: SceneKey, place: str, author_name: str, author_id: str | None = None) -> TurnOutcome:
        return await self.commands.go(key, place, author_name, author_id)

    async def regenerate(self, key: SceneKey, message_id: int | None = None) -> TurnOutcome:
        return await self.commands.regenerate(key, message_id)

    async def show_swipe(self, key: SceneKey, message_id: int, step: int) -> TurnOutcome:
        return await self.commands.show_swipe(key, message_id, step)

    async def set_paused(self, key: SceneKey, paused: bool) -> None:
        await self.commands.set_paused(key, paused)

    async def ooc(self, key: SceneKey, author_id: str, author_name: str, text: str) -> TurnOutcome:
        return await self.commands.ooc(key, author_id, author_name, text)

    async def export(self, key: SceneKey) -> list[dict[str, object]]:
        return await self.commands.export(key)

    async def why(self, key: SceneKey) -> str:
        return await self.commands.why(key)

    async def memory(self, key: SceneKey, name: str) -> str:
        return await self.commands.memory(key, name)

    async def refresh_pace(self, scene: SceneRow) -> Pace:
        return await self.paces.refresh(scene)

    def current_pace(self, scene_id: int) -> Pace | None:
        return self.paces.current(scene_id)

    async def pacing(self, key: SceneKey) -> str:
        return await self.paces.describe(key)

    async def pin_pacing(self, key: SceneKey, label: str) -> str:
        return await self.paces.pin(key, label)

    def start_background(self) -> None:
        self.memory_upkeep.start_background()

    def schedule_summary(self, scene: SceneRow) -> None:
        self.memory_upkeep.schedule_summary(scene)

    async def drain(self) -> None:
        await self.memory_upkeep.drain()

    async def aclose(self) -> None:
        self.recollection.close()
        await self.memory_upkeep.aclose()


def facts_of(speaker: str, text: str, known_by: Sequence[str]) -> tuple[FactRecord, ...]:
    """Facts a line states, known by everyone who heard it."""
    return tuple(FactRecord(f.kind, f.text, f.importance, tuple(sorted(set(known_by)))) for f in extract_facts(speaker, text))


def _feeling(relation: object) -> str | None:
    if not isinstance(relation, dict):
        return None
    affinity = int(relation.get("affinity", 0))
    note = str(relation.get("note", "")).strip()
    tone = "warm" if affinity >= 30 else "friendly" if affinity >= 10 else "cold" if affinity <= -30 else "wary" if affinity <= -10 else "neutral"
    return f"{tone} ({affinity:+d}){'; ' + note if note else ''}"


def decision_payload(decision: Decision, context: str) -> dict[str, object]:
    """A scheduler decision as stored for ``/why``."""
    return {
        "context": context,
        "speakers": list(decision.speakers),
        "scores": decision.scores,
        "reasons": {k: list(v) for k, v in decision.reasons.items()},
        "note": decision.note,
    }


__all__ = ["SceneEngine", "SpatialChange", "error_code", "safe_message"]
