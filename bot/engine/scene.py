"""The scene engine: one inbound line in, utterances and narration out, persisted turn by turn.

Pipeline of a turn (see the README's architecture section):
1. store the inbound line (idempotent on the platform message id) before anything can fail;
2. work out who is present and who can hear;
3. choose speakers;
4. for each speaker: build its prompt from what it could hear, call the model, clean the reply;
5. commit every reply and state change in one transaction.
One lock per scene keeps turns of a channel in order; different scenes run concurrently.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from bot.content.loader import Library
from bot.content.models import Character, World
from bot.engine.addressing import find_mentions
from bot.engine.cleanup import clean_reply
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
from bot.engine.ports import ChatModel, ChatOptions, Clock, monotonic
from bot.engine.prompting import HistoryLine, PresentCharacter, TurnContext, build_npc_messages
from bot.engine.speakers import Candidate, choose_speakers
from bot.errors import EnsembleError, ModelUnavailable, NotFound
from bot.store import Store
from bot.store.records import MessageRow, NewEvent, NewMessage, NpcStateRow, SceneRow, TurnCommit, UsageRecord
from bot.world.graph import can_move, neighbours

log = structlog.get_logger("engine")

NEVER_SPOKE = 1 << 20


def error_code(exc: BaseException) -> str:
    """A short code shown to the user and logged with the traceback, to find one in the other."""
    digest = hashlib.sha1(f"{type(exc).__name__}:{exc}:{id(exc)}".encode()).hexdigest()
    return "E-" + digest[:6].upper()


@dataclass(frozen=True, slots=True)
class Generated:
    """A cleaned reply and the usage of the call that made it."""

    text: str
    usage: UsageRecord


class SceneEngine:
    """Runs scenes. Knows nothing about Discord or terminals: front ends call it and render its outputs."""

    def __init__(
        self,
        *,
        store: Store,
        model: ChatModel,
        library: Library,
        clock: Clock,
        rng: random.Random | None = None,
        model_name: str = "",
    ) -> None:
        self.store = store
        self.model = model
        self.library = library
        self.clock = clock
        self.rng = rng or random.Random(0)
        self.model_name = model_name
        self._locks: dict[int, asyncio.Lock] = {}

    # -- scenes ----------------------------------------------------------------------------------

    def world(self, world_id: str) -> World:
        try:
            return self.library.worlds[world_id]
        except KeyError:
            raise NotFound(f"There is no world called {world_id!r}.") from None

    def lock(self, scene_id: int) -> asyncio.Lock:
        """The lock that keeps one scene's turns in order."""
        return self._locks.setdefault(scene_id, asyncio.Lock())

    async def open_scene(self, key: SceneKey, world_id: str) -> SceneRow:
        """The scene of a channel, created in ``world_id`` if there is none; NPC states seeded."""
        world = self.world(world_id)
        scene = await self.store.get_scene(key.guild_id, key.channel_id)
        if scene is None:
            scene = await self.store.create_scene(key.guild_id, key.channel_id, world_id, world.start_location)
        await self._seed_npcs(scene.guild_id, world)
        return scene

    async def _seed_npcs(self, guild_id: str, world: World) -> None:
        seeds = []
        for character in self.library.cast_of(world.id):
            seeds.append(
                NpcStateRow(
                    character_id=character.id,
                    location=character.start_location or world.start_location,
                    mood_label=character.mood.label,
                    mood_intensity=character.mood.intensity,
                    goals=tuple(character.goals),
                    relationships={
                        target: {"affinity": rel.affinity, "note": rel.note}
                        for target, rel in character.relationships.items()
                    },
                )
            )
        await self.store.seed_npc_states(guild_id, world.id, seeds)

    async def require_scene(self, key: SceneKey) -> SceneRow:
        scene = await self.store.get_scene(key.guild_id, key.channel_id)
        if scene is None:
            raise NotFound("There is no scene here yet.")
        return scene

    # -- the turn --------------------------------------------------------------------------------

    async def handle(self, line: InboundLine) -> TurnOutcome:
        """Answer one line. The line is stored before any model call; replies commit together."""
        scene = await self.require_scene(line.scene)
        async with self.lock(scene.id):
            scene = await self.require_scene(line.scene)
            return await self._handle_locked(scene, line)

    async def _handle_locked(self, scene: SceneRow, line: InboundLine) -> TurnOutcome:
        world = self.world(scene.world_id)
        states = await self.store.npc_states(scene.guild_id, scene.world_id)
        present = await self._present(scene, states)
        reply_to = None
        if line.reply_to:
            reply_to = await self.store.message_by_platform_id(scene.id, line.reply_to)
        start = await self.store.begin_turn(
            scene.id,
            NewMessage(
                kind="user",
                speaker=line.author_name,
                text=line.text,
                author_id=line.author_id,
                location=scene.user_location,
                heard_by=tuple(present),
                reply_to_id=reply_to.id if reply_to else None,
                platform_message_id=line.platform_message_id,
            ),
        )
        if not start.is_new:
            return TurnOutcome(turn_id=start.turn_id, turn_seq=start.turn_seq, duplicate=True)
        bound = log.bind(guild=scene.guild_id, scene=scene.id, turn=start.turn_seq)
        commit = TurnCommit()
        outputs: list[Output] = []
        try:
            if scene.paused:
                await self.store.commit_turn(scene, start.turn_id, commit)
                return TurnOutcome((), start.turn_id, start.turn_seq)
            speakers = await self._choose(scene, world, line, present, reply_to)
            bound.info("turn.speakers", speakers=list(speakers))
            pending: list[HistoryLine] = []
            pending_speakers: list[str] = []
            for character_id in speakers:
                character = self.library.characters[character_id]
                try:
                    generated = await self._generate(
                        scene, world, character, states, present, pending=pending, author=line.author_name
                    )
                except ModelUnavailable as exc:
                    bound.warning("turn.model_unavailable", character=character_id, detail=str(exc))
                    outputs.append(Notice(exc.user_message, code="model_unavailable"))
                    break
                commit.messages.append(
                    NewMessage(
                        kind="npc",
                        speaker=character.name,
                        text=generated.text,
                        character_id=character.id,
                        location=states[character.id].location,
                        heard_by=tuple(present),
                    )
                )
                commit.usage.append(generated.usage)
                pending.append(HistoryLine(character.name, generated.text, kind="npc"))
                pending_speakers.append(character.id)
            if speakers and not commit.messages:
                commit.status = "failed"
            ids = await self.store.commit_turn(scene, start.turn_id, commit)
        except Exception as exc:  # the line is stored; record the failure and say so briefly
            code = error_code(exc)
            bound.exception("turn.failed", code=code)
            await self._fail_turn(scene, start.turn_id)
            return TurnOutcome((Notice(f"Something went wrong ({code}); your line is saved.", code),),
                               start.turn_id, start.turn_seq)
        utterances = [
            self._utterance(message_id, self.library.characters[cid], msg.text)
            for message_id, cid, msg in zip(ids, pending_speakers, commit.messages, strict=True)
        ]
        return TurnOutcome((*utterances, *outputs), start.turn_id, start.turn_seq)

    async def _fail_turn(self, scene: SceneRow, turn_id: int) -> None:
        try:
            await self.store.commit_turn(scene, turn_id, TurnCommit(status="failed"))
        except Exception:  # the turn stays open and is marked interrupted at the next start
            log.exception("turn.fail_record_failed", scene=scene.id)

    def _utterance(self, message_id: int, character: Character, text: str, idx: int = 0, count: int = 1) -> Utterance:
        return Utterance(
            message_id=message_id,
            character_id=character.id,
            speaker=character.name,
            text=text,
            avatar_url=character.avatar_url,
            swipe_index=idx,
            swipe_count=count,
        )

    async def _present(self, scene: SceneRow, states: dict[str, NpcStateRow]) -> list[str]:
        """Members of the scene who are where the players are."""
        members = await self.store.members(scene.id)
        return [m for m in members if m in states and states[m].location == scene.user_location]

    async def _choose(
        self,
        scene: SceneRow,
        world: World,
        line: InboundLine,
        present: Sequence[str],
        reply_to: MessageRow | None,
    ) -> tuple[str, ...]:
        if not present:
            return ()
        names = {cid: self.library.characters[cid].all_names() for cid in present}
        mentions = {m.character_id: m.position for m in find_mentions(line.text, names)}
        last = await self.store.last_spoke(scene.id)
        newest = max(last.values(), default=0)
        candidates = []
        for cid in present:
            character = self.library.characters[cid]
            since = NEVER_SPOKE if cid not in last else max(0, newest - last[cid])
            candidates.append(
                Candidate(
                    character_id=cid,
                    talkativeness=character.talkativeness,
                    lines_since_spoke=min(since, NEVER_SPOKE),
                    addressed_at=mentions.get(cid),
                    replied_to=bool(reply_to and reply_to.character_id == cid),
                )
            )
        max_speakers = max(1, world.settings.max_speakers_per_line) if mentions else 1
        choice = choose_speakers(candidates, max_speakers=max_speakers, rng=self.rng)
        log.debug("scheduler.choice", scene=scene.id, scores=choice.scores, reasons=choice.reasons)
        return choice.speakers

    async def _history(self, scene: SceneRow, world: World, character: Character, before_id: int | None) -> list[HistoryLine]:
        """The recent lines this character could hear, from its point of view."""
        limit = world.settings.recent_lines
        rows = await self.store.recent_messages(scene.id, limit * 4, before_id=before_id)
        lines = []
        for row in rows:
            if row.kind == "ooc":
                continue
            own = row.character_id == character.id
            if not own and character.id not in row.heard_by:
                continue
            lines.append(HistoryLine(row.speaker, row.text, own=own, kind=row.kind))
        return lines[-limit:]

    async def _generate(
        self,
        scene: SceneRow,
        world: World,
        character: Character,
        states: dict[str, NpcStateRow],
        present: Sequence[str],
        *,
        pending: Sequence[HistoryLine] = (),
        author: str | None = None,
        before_id: int | None = None,
        extra_instruction: str | None = None,
    ) -> Generated:
        history = await self._history(scene, world, character, before_id)
        history.extend(pending)
        state = states[character.id]
        others = [self.library.characters[c] for c in present if c != character.id]
        user_names = sorted({h.speaker for h in history if h.kind == "user"} | ({author} if author else set()))
        turn = TurnContext(
            location=world.location(state.location),
            present=[
                PresentCharacter(o.name, mood=states[o.id].mood_label if o.id in states else None) for o in others
            ],
            mood_label=state.mood_label,
            mood_intensity=state.mood_intensity,
            user_names=user_names,
            extra_instruction=extra_instruction,
        )
        messages = build_npc_messages(
            character, world, scene_name=f"{world.name} / {scene.channel_id}", history=history, turn=turn
        )
        other_names = [n for o in others for n in o.all_names()] + user_names
        options = ChatOptions(
            max_tokens=world.settings.max_reply_tokens,
            temperature=world.settings.temperature,
            stop=tuple(f"\n{n}:" for n in [o.name for o in others][:4]),
        )
        started = monotonic()
        result = await self.model.complete(messages, options)
        latency_ms = (monotonic() - started) * 1000
        text = clean_reply(result.text, character.all_names(), other_names)
        if not text:
            raise ModelUnavailable(
                "The storyteller's model gave an empty reply; try again.", detail="empty after clean-up"
            )
        usage = UsageRecord(
            purpose="npc",
            model=result.model or self.model_name,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            cached_tokens=result.usage.cached_tokens,
            latency_ms=round(latency_ms, 3),
        )
        return Generated(text, usage)

    # -- commands --------------------------------------------------------------------------------

    def _find_character(self, world: World, name: str) -> Character:
        character = self.library.find_character(world.id, name)
        if character is None:
            cast = ", ".join(c.name for c in self.library.cast_of(world.id))
            raise NotFound(f"Nobody called {name!r} lives in {world.name}. The cast: {cast}.")
        return character

    def _find_place(self, world: World, name: str) -> str:
        location = self.library.find_location(world.id, name)
        if location is None:
            places = ", ".join(loc.name for loc in world.locations)
            raise NotFound(f"There is no place called {name!r} in {world.name}. Places: {places}.")
        return location.id

    async def summon(self, key: SceneKey, name: str, location: str | None = None) -> TurnOutcome:
        """Bring a character into the scene, to the players' place or to ``location``."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            world = self.world(scene.world_id)
            character = self._find_character(world, name)
            target = self._find_place(world, location) if location else scene.user_location
            states = await self.store.npc_states(scene.guild_id, scene.world_id)
            added = await self.store.add_member(scene.id, character.id)
            state = states[character.id]
            moved = state.location != target
            place = world.location(target)
            if not added and not moved:
                return TurnOutcome((Notice(f"{character.name} is already in the scene, at {place.name}."),))
            new_state = NpcStateRow(
                character.id, target, state.mood_label, state.mood_intensity, state.goals, state.relationships
            )
            text = f"{character.name} arrives at {place.name}." if moved else f"{character.name} joins the scene at {place.name}."
            present = await self._present_after(scene, states, {character.id: target})
            commit = TurnCommit(
                messages=[NewMessage(kind="narration", speaker=world.narrator.name, text=text, location=target, heard_by=tuple(present))],
                events=[NewEvent("summon", character.id, {"from": state.location, "to": target}, tuple(present))],
                npc_states=[new_state],
            )
            turn_id, ids = await self.store.record_turn(scene, commit)
            return TurnOutcome((Narration(text, ids[0], world.narrator.name, world.narrator.avatar_url),), turn_id)

    async def _present_after(self, scene: SceneRow, states: dict[str, NpcStateRow], moves: dict[str, str], user_location: str | None = None) -> list[str]:
        members = await self.store.members(scene.id)
        where = user_location or scene.user_location
        return [m for m in members if m in states and moves.get(m, states[m].location) == where]

    async def dismiss(self, key: SceneKey, name: str) -> TurnOutcome:
        """Take a character out of the scene (it stays where it is in the world)."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            world = self.world(scene.world_id)
            character = self._find_character(world, name)
            removed = await self.store.remove_member(scene.id, character.id)
            if not removed:
                return TurnOutcome((Notice(f"{character.name} is not in this scene."),))
            text = f"{character.name} steps out of the story for now."
            commit = TurnCommit(
                messages=[NewMessage(kind="narration", speaker=world.narrator.name, text=text, location=scene.user_location)],
                events=[NewEvent("dismiss", character.id, {}, ())],
            )
            turn_id, ids = await self.store.record_turn(scene, commit)
            return TurnOutcome((Narration(text, ids[0], world.narrator.name, world.narrator.avatar_url),), turn_id)

    async def cast(self, key: SceneKey) -> list[CastEntry]:
        """Who is in this scene, where, in what mood, and how they feel about others."""
        scene = await self.require_scene(key)
        world = self.world(scene.world_id)
        states = await self.store.npc_states(scene.guild_id, scene.world_id)
        entries = []
        for cid in await self.store.members(scene.id):
            state = states.get(cid)
            character = self.library.characters.get(cid)
            if state is None or character is None:
                continue
            entries.append(
                CastEntry(
                    character_id=cid,
                    name=character.name,
                    location_id=state.location,
                    location_name=world.location(state.location).name,
                    mood_label=state.mood_label,
                    mood_intensity=state.mood_intensity,
                    present=state.location == scene.user_location,
                    relationships=dict(state.relationships),
                )
            )
        return entries

    async def look(self, key: SceneKey) -> TurnOutcome:
        """The narrator describes the players' place, who is there and the ways out."""
        scene = await self.require_scene(key)
        world = self.world(scene.world_id)
        states = await self.store.npc_states(scene.guild_id, scene.world_id)
        present = await self._present(scene, states)
        return TurnOutcome((self._describe(world, scene.user_location, present),))

    def _describe(self, world: World, location_id: str, present: Sequence[str]) -> Narration:
        place = world.location(location_id)
        parts = [f"{place.name}. {place.description}"]
        if present:
            parts.append("Here: " + ", ".join(self.library.characters[c].name for c in present) + ".")
        else:
            parts.append("Nobody from the story is here.")
        exits = []
        for other in neighbours(world, location_id):
            passage = can_move(world, location_id, other)
            label = world.location(other).name
            exits.append(f"{label} (locked)" if passage.reason == "locked" else label)
        if exits:
            parts.append("Ways on: " + ", ".join(exits) + ".")
        return Narration(" ".join(parts), None, world.narrator.name, world.narrator.avatar_url)

    async def go(self, key: SceneKey, place: str, author_name: str = "You") -> TurnOutcome:
        """Move the players one step to an adjacent place, if the world allows it."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            world = self.world(scene.world_id)
            target = self._find_place(world, place)
            states = await self.store.npc_states(scene.guild_id, scene.world_id)
            passage = can_move(world, scene.user_location, target)
            here = world.location(scene.user_location).name
            there = world.location(target).name
            if not passage.allowed:
                reason = {
                    "already there": f"{author_name} is already at {there}.",
                    "locked": f"The way from {here} to {there} is locked.",
                    "one-way": f"There is no way back to {there} from {here}.",
                }.get(passage.reason, f"{there} cannot be reached directly from {here}.")
                present = await self._present(scene, states)
                commit = TurnCommit(
                    messages=[NewMessage(kind="narration", speaker=world.narrator.name, text=reason, location=scene.user_location, heard_by=tuple(present))],
                    events=[NewEvent("move_refused", "user", {"from": scene.user_location, "to": target, "reason": passage.reason}, tuple(present))],
                )
                turn_id, ids = await self.store.record_turn(scene, commit)
                return TurnOutcome((Narration(reason, ids[0], world.narrator.name, world.narrator.avatar_url),), turn_id)
            left_behind = await self._present(scene, states)
            arriving = await self._present_after(scene, states, {}, user_location=target)
            description = self._describe(world, target, arriving)
            text = f"{author_name} leaves {here} for {there}. {description.text}"
            commit = TurnCommit(
                messages=[NewMessage(kind="narration", speaker=world.narrator.name, text=text, location=target, heard_by=tuple(arriving))],
                events=[NewEvent("move", "user", {"from": scene.user_location, "to": target}, tuple(sorted(set(left_behind) | set(arriving))))],
                user_location=target,
            )
            turn_id, ids = await self.store.record_turn(scene, commit)
            return TurnOutcome((Narration(text, ids[0], world.narrator.name, world.narrator.avatar_url),), turn_id)

    async def regenerate(self, key: SceneKey, message_id: int | None = None) -> TurnOutcome:
        """A new alternative for the latest NPC reply (or the given one, if the story has not moved on)."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            world = self.world(scene.world_id)
            message = (
                await self.store.message(scene.id, message_id)
                if message_id is not None
                else await self.store.last_npc_message(scene.id)
            )
            if message is None or message.kind != "npc" or message.character_id is None:
                return TurnOutcome((Notice("There is no character reply to regenerate."),))
            if message.settled:
                return TurnOutcome((Notice("The story has moved on; only the latest replies can be regenerated."),))
            character = self.library.characters[message.character_id]
            states = await self.store.npc_states(scene.guild_id, scene.world_id)
            present = list(message.heard_by) or await self._present(scene, states)
            try:
                generated = await self._generate(scene, world, character, states, present, before_id=message.id)
            except ModelUnavailable as exc:
                return TurnOutcome((Notice(exc.user_message, code="model_unavailable"),))
            idx = await self.store.add_swipe(scene.id, message.id, generated.text)
            count = len(await self.store.swipes(message.id))
            return TurnOutcome((self._utterance(message.id, character, generated.text, idx, count),), message.turn_id)

    async def show_swipe(self, key: SceneKey, message_id: int, step: int) -> TurnOutcome:
        """Browse alternatives of an NPC reply: ``step`` -1 for previous, +1 for next."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            message = await self.store.message(scene.id, message_id)
            if message is None or message.character_id is None:
                return TurnOutcome((Notice("That message has no alternatives."),))
            swipes = await self.store.swipes(message.id)
            idx = min(max(message.active_swipe + step, 0), len(swipes) - 1)
            shown = await self.store.show_swipe(scene.id, message.id, idx)
            assert shown is not None
            character = self.library.characters[message.character_id]
            return TurnOutcome((self._utterance(message.id, character, shown.text, idx, len(swipes)),), message.turn_id)

    async def ooc(self, key: SceneKey, author_id: str, author_name: str, text: str) -> TurnOutcome:
        """A note to the narrator that characters do not hear: stored, shown in exports, never prompted."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            note = NewMessage(kind="ooc", speaker=author_name, text=text, author_id=author_id, location=scene.user_location)
            turn_id, _ = await self.store.record_turn(scene, TurnCommit(messages=[note]))
            return TurnOutcome((Notice("Noted for the narrator; the characters did not hear it."),), turn_id)

    async def export(self, key: SceneKey) -> list[dict[str, object]]:
        """The scene's transcript as export records (see ``bot.engine.export``)."""
        from bot.engine.export import export_records

        scene = await self.require_scene(key)
        return export_records(await self.store.transcript(scene.id))

    async def set_paused(self, key: SceneKey, paused: bool) -> None:
        scene = await self.require_scene(key)
        await self.store.update_scene(scene.id, paused=paused)


def safe_message(exc: BaseException) -> str:
    """What a front end shows for an exception: the domain message, or a short code for anything else."""
    if isinstance(exc, EnsembleError):
        return exc.user_message
    return f"Something went wrong ({error_code(exc)})."
