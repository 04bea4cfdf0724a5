"""Scene commands that front ends expose as slash commands or terminal commands.

A service composed into ``SceneEngine`` (``engine.commands``; the engine keeps a one-line method for each,
which front ends call): summon, dismiss, cast, look, go, regenerate and swipes, pause, OOC notes, export,
``why`` (the last scheduler decision, explained) and ``/memory`` (what a character remembers). It holds no
state of its own: what it reads and writes (the store, the library, the world's gate, personas, recall,
pacing) is given in its constructor, and the engine's turn primitives it needs (the scene and its lock,
recording a turn, writing an NPC reply) come through the narrow ``Turns`` protocol
(``bot.engine.primitives``), so a command cannot reach into the engine's private state. Every state
change goes through events, like a user turn, so state can be rebuilt from the log, and through the
world's gate: each command notes the server's generation before it reads, so a reset in between makes
its commit refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.content.models import Character, World
from bot.engine.lines import CastEntry, Narration, Notice, SceneKey, TurnOutcome
from bot.engine.recollection import query_of
from bot.errors import NotFound
from bot.i18n import CATALOG, join, retell, sentences, tr
from bot.store.records import NewEvent, NewMessage, TurnCommit
from bot.world.events import move_event
from bot.world.graph import can_move, neighbours
from bot.world.narrator import move_user

if TYPE_CHECKING:
    from bot.content.loader import Library
    from bot.engine.gate import WorldGate
    from bot.engine.pacing import Pacing
    from bot.engine.personas import Personas
    from bot.engine.primitives import Turns
    from bot.engine.recollection import Recollection
    from bot.store import Store


class SceneCommands:
    """The players' commands over a scene."""

    def __init__(
        self,
        *,
        turns: Turns,
        store: Store,
        library: Library,
        gate: WorldGate,
        personas: Personas,
        recollection: Recollection,
        paces: Pacing,
    ) -> None:
        self.turns = turns
        self.store = store
        self.library = library
        self.gate = gate
        self.personas = personas
        self.recollection = recollection
        self.paces = paces

    def find_character(self, world: World, name: str, guild_id: str | None = None) -> Character:
        """The cast member a player named (name or alias, the server's imported ones too), or ``NotFound``
        listing the cast, in the world's language."""
        character = self.library.find_character(world.id, name, guild_id)
        if character is None:
            cast = join(world.language, (c.name for c in self.library.cast_of(world.id, guild_id)))
            raise NotFound(tr(world.language, "find.no_character", name=name, world=world.name, cast=cast))
        return character

    def _find_place(self, world: World, name: str) -> str:
        location = self.library.find_location(world.id, name)
        if location is None:
            places = join(world.language, (loc.name for loc in world.locations))
            raise NotFound(tr(world.language, "find.no_place", name=name, world=world.name, places=places))
        return location.id

    def _narration(self, world: World, text: str, message_id: int | None) -> Narration:
        return Narration(text, message_id, world.narrator.name, world.narrator.avatar_url)

    async def summon(self, key: SceneKey, name: str, location: str | None = None) -> TurnOutcome:
        """Bring a character into the scene, to the players' place or to ``location``."""
        scene = await self.turns.require_scene(key)
        async with self.turns.lock(scene.id):
            generation = self.gate.generation(key.guild_id)
            scene = await self.turns.require_scene(key)
            world = self.turns.world(scene.world_id)
            character = self.find_character(world, name, scene.guild_id)
            target = self._find_place(world, location) if location else scene.user_location
            states = await self.store.npc_states(scene.guild_id, scene.world_id)
            members = await self.store.members(scene.id)
            source = states[character.id].location
            place = world.location(target).name
            if character.id in members and source == target:
                return TurnOutcome((Notice(tr(world.language, "summon.already", name=character.name, place=place)),))
            said = tr(world.language, "summon.arrives" if source != target else "summon.joins", name=character.name, place=place)
            witnesses = [m for m in members if states[m].location == target] + (["user"] if target == scene.user_location else [])
            draft_messages = [NewMessage(kind="narration", speaker=world.narrator.name, text=said, location=target, heard_by=tuple(witnesses))]
            events = [move_event("summon", character.id, source, target, [*witnesses, character.id])]
            turn_id, ids = await self.turns.record(scene, draft_messages, events, generation, join=(character.id,))
            return TurnOutcome((self._narration(world, said, ids[0]),), turn_id)

    async def dismiss(self, key: SceneKey, name: str) -> TurnOutcome:
        """Take a character out of the scene (it stays where it is in the world and lives on off-screen)."""
        scene = await self.turns.require_scene(key)
        async with self.turns.lock(scene.id):
            generation = self.gate.generation(key.guild_id)
            scene = await self.turns.require_scene(key)
            world = self.turns.world(scene.world_id)
            character = self.find_character(world, name, scene.guild_id)
            if character.id not in await self.store.members(scene.id):
                return TurnOutcome((Notice(tr(world.language, "dismiss.not_member", name=character.name)),))
            said = tr(world.language, "dismiss.leaves", name=character.name)
            message = NewMessage(kind="narration", speaker=world.narrator.name, text=said, location=scene.user_location)
            turn_id, ids = await self.turns.record(scene, [message], [NewEvent("dismiss", character.id, {}, ())], generation, leave=(character.id,))
            return TurnOutcome((self._narration(world, said, ids[0]),), turn_id)

    async def cast(self, key: SceneKey) -> list[CastEntry]:
        """Who is in this scene, where, in what mood, and how they feel about others."""
        scene = await self.turns.require_scene(key)
        world = self.turns.world(scene.world_id)
        states = await self.store.npc_states(scene.guild_id, scene.world_id)
        entries = []
        for cid in await self.store.members(scene.id):
            state = states.get(cid)
            character = self.library.characters.get(cid)
            if state is None or character is None:
                continue
            entries.append(
                CastEntry(
                    character_id=cid, name=character.name, location_id=state.location,
                    location_name=world.location(state.location).name, mood_label=state.mood_label,
                    mood_intensity=state.mood_intensity, present=state.location == scene.user_location,
                    relationships=dict(state.relationships),
                    feelings=self._feelings(state.relationships, scene.world_id, scene.guild_id),
                )
            )
        return entries

    def _feelings(self, relationships: dict[str, Any], world_id: str, guild_id: str) -> str:
        """Relationships in a few words for /cast: toward the players first, then the others."""
        names = {c.id: c.name for c in self.library.cast_of(world_id, guild_id)}
        lang = self.turns.world(world_id).language
        parts = []
        for target in sorted(relationships, key=lambda t: (t != "user", t)):
            relation = relationships[target]
            who = tr(lang, "feelings.players") if target == "user" else names.get(target, target)
            parts.append(tr(lang, "feelings.entry", who=who, affinity=int(relation.get("affinity", 0))))
        return join(lang, parts)

    async def look(self, key: SceneKey) -> TurnOutcome:
        """The narrator describes the players' place, who is there, who can be heard, and the ways on."""
        scene = await self.turns.require_scene(key)
        world = self.turns.world(scene.world_id)
        _, spatial = await self.turns.states_and_spatial(scene)
        place = world.location(scene.user_location)
        lang = world.language
        parts = [tr(lang, "look.place", name=place.name, description=place.description)]
        present = spatial.present()
        here = join(lang, (spatial.names[c] for c in present))
        parts.append(tr(lang, "move.here", names=here) if present else tr(lang, "move.nobody_here"))
        nearby = [c for c in spatial.hearers() if c not in present]
        if nearby:
            heard = (tr(lang, "look.earshot_entry", name=spatial.names[c], place=world.location(spatial.npc_locations[c]).name) for c in nearby)
            parts.append(tr(lang, "look.earshot", names=join(lang, heard)))
        exits = []
        for other in neighbours(world, scene.user_location):
            label = world.location(other).name
            exits.append(tr(lang, "look.locked", place=label) if can_move(world, scene.user_location, other).reason == "locked" else label)
        if exits:
            parts.append(tr(lang, "look.ways", places=join(lang, exits)))
        return TurnOutcome((self._narration(world, sentences(lang, *parts), None),))

    async def go(self, key: SceneKey, place: str, author_name: str, author_id: str | None = None) -> TurnOutcome:
        """Move the players to a place a short open path leads to; refused moves are narrated.

        With ``author_id`` the narration names the player's persona, if they set one."""
        scene = await self.turns.require_scene(key)
        author_name = await self.personas.name_for(key.guild_id, author_id, author_name)
        async with self.turns.lock(scene.id):
            generation = self.gate.generation(key.guild_id)
            scene = await self.turns.require_scene(key)
            world = self.turns.world(scene.world_id)
            target = self._find_place(world, place)
            if target == scene.user_location:
                return TurnOutcome((Notice(tr(world.language, "go.already", who=author_name, place=world.location(target).name)),))
            _, spatial = await self.turns.states_and_spatial(scene)
            change = move_user(spatial, target, author_name, "/go")
            messages = [
                NewMessage(kind="narration", speaker=world.narrator.name, text=t, location=spatial.user_location, heard_by=tuple(spatial.hearers()))
                for t in change.narrations
            ]
            turn_id, ids = await self.turns.record(scene, messages, change.events, generation, spatial.user_location if change.user_moved else None)
            return TurnOutcome(tuple(self._narration(world, m.text, i) for m, i in zip(messages, ids, strict=True)), turn_id)

    async def regenerate(self, key: SceneKey, message_id: int | None = None) -> TurnOutcome:
        """A new alternative for the latest NPC reply (or the given one, if the story has not moved on)."""
        scene = await self.turns.require_scene(key)
        async with self.turns.lock(scene.id):
            generation = self.gate.generation(key.guild_id)
            scene = await self.turns.require_scene(key)
            world = self.turns.world(scene.world_id)
            message = (
                await self.store.message(scene.id, message_id) if message_id is not None else await self.store.last_npc_message(scene.id)
            )
            if message is None or message.kind != "npc" or message.character_id is None:
                return TurnOutcome((Notice(tr(world.language, "regenerate.none")),))
            if message.settled:
                return TurnOutcome((Notice(tr(world.language, "regenerate.settled")),))
            character = self.library.characters[message.character_id]
            states = await self.store.npc_states(scene.guild_id, scene.world_id)
            spatial = await self.turns.spatial(scene, states)
            from bot.errors import ModelUnavailable

            try:
                generated = await self.turns.generate(scene, world, character, spatial, states, before_id=message.id)
            except ModelUnavailable:
                return TurnOutcome((Notice(tr(world.language, "turn.model_unavailable"), code="model_unavailable"),))
            # The new alternative goes on screen with its own effects; those of the one it replaces are undone.
            events, facts = self.turns.alternative_effects(spatial, states, message, generated.text)
            async with self.gate.hold(scene.guild_id, scene.world_id, generation=generation):
                shown = await self.store.choose_alternative(
                    scene, message.id, None, text=generated.text, events=events, facts=facts, prompt=generated.prompt,
                    rebuild=self.turns.replay_states(world, scene.guild_id), settle=self.turns.settle_planned,
                )
            if shown is None:
                return TurnOutcome((Notice(tr(world.language, "regenerate.settled")),))
            count = len(await self.store.swipes(message.id))
            return TurnOutcome((self.turns.utterance(message.id, character, shown.text, shown.idx, count),), message.turn_id)

    async def show_swipe(self, key: SceneKey, message_id: int, step: int) -> TurnOutcome:
        """Browse alternatives of an NPC reply: ``step`` -1 for previous, +1 for next."""
        scene = await self.turns.require_scene(key)
        async with self.turns.lock(scene.id):
            generation = self.gate.generation(key.guild_id)
            scene = await self.turns.require_scene(key)
            message = await self.store.message(scene.id, message_id)
            lang = self.turns.world(scene.world_id).language
            if message is None or message.character_id is None:
                return TurnOutcome((Notice(tr(lang, "swipe.none")),))
            if message.settled:
                return TurnOutcome((Notice(tr(lang, "swipe.settled")),))
            swipes = await self.store.swipes(message.id)
            idx = min(max(message.active_swipe + step, 0), len(swipes) - 1)
            if idx == message.active_swipe:
                shown = swipes[idx]
            else:
                # Switching back applies that alternative's effects (and undoes the other's).
                async with self.gate.hold(scene.guild_id, scene.world_id, generation=generation):
                    chosen = await self.store.choose_alternative(
                        scene, message.id, idx, rebuild=self.turns.replay_states(self.turns.world(scene.world_id), scene.guild_id),
                        settle=self.turns.settle_planned,
                    )
                if chosen is None:
                    return TurnOutcome((Notice(tr(lang, "swipe.settled")),))
                shown = chosen
            character = self.library.characters[message.character_id]
            return TurnOutcome((self.turns.utterance(message.id, character, shown.text, idx, len(swipes)),), message.turn_id)

    async def set_paused(self, key: SceneKey, paused: bool) -> None:
        scene = await self.turns.require_scene(key)
        await self.store.update_scene(scene.id, paused=paused)

    async def ooc(self, key: SceneKey, author_id: str, author_name: str, text: str) -> TurnOutcome:
        """A note to the narrator that characters do not hear: stored, shown in exports, never prompted."""
        scene = await self.turns.require_scene(key)
        async with self.turns.lock(scene.id):
            generation = self.gate.generation(key.guild_id)
            scene = await self.turns.require_scene(key)
            note = NewMessage(kind="ooc", speaker=author_name, text=text, author_id=author_id, location=scene.user_location)
            async with self.gate.hold(scene.guild_id, scene.world_id, generation=generation):
                turn_id, _ = await self.store.record_turn(scene, TurnCommit(messages=[note]))
            return TurnOutcome((Notice(tr(self.turns.world(scene.world_id).language, "ooc.noted")),), turn_id)

    async def export(self, key: SceneKey) -> list[dict[str, object]]:
        """The scene's transcript as export records (see ``bot.engine.export``)."""
        from bot.engine.export import export_records

        scene = await self.turns.require_scene(key)
        return export_records(await self.store.transcript(scene.id))

    async def why(self, key: SceneKey) -> str:
        """The scheduler's decisions for the last user line (and the chain after it): scores and reasons."""
        scene = await self.turns.require_scene(key)
        events = await self.store.latest_events(scene.id, "schedule", limit=12)
        starts = [i for i, e in enumerate(events) if e["payload"].get("context") == "line"]
        lang = self.turns.world(scene.world_id).language
        if not starts:
            return tr(lang, "why.none")
        names = {c.id: c.name for c in self.library.cast_of(scene.world_id, scene.guild_id)}
        lines: list[str] = []
        for event in events[starts[-1] :]:
            payload: dict[str, Any] = event["payload"]
            context = retell(lang, "why.context.", str(payload.get("context")))
            note = _retold_note(lang, str(payload.get("note") or ""), names)
            lines.append(tr(lang, "why.decision", context=context, note=note).rstrip())
            scores: dict[str, float] = payload.get("scores", {})
            for cid, value in sorted(scores.items(), key=lambda kv: -kv[1]):
                mark = "->" if cid in payload.get("speakers", []) else "  "
                reasons = join(lang, (retell(lang, "why.reason.", r) for r in payload.get("reasons", {}).get(cid, [])))
                lines.append(f"{mark} {names.get(cid, cid)}: {value:.2f} ({reasons})")
            if not scores:
                lines.append(tr(lang, "why.nobody_heard"))
        lines.append((await self.paces.refresh(scene)).describe(lang))  # pacing (bot/engine/pacing.py)
        return "\n".join(lines)

    # -- /memory ---------------------------------------------------------------------------------

    async def memory(self, key: SceneKey, name: str) -> str:
        """What a character currently remembers of this scene: summary, facts, what it witnessed, feelings."""
        scene = await self.turns.require_scene(key)
        world = self.turns.world(scene.world_id)
        character = self.find_character(world, name, scene.guild_id)
        lang = world.language
        lines = [tr(lang, "memory.title", name=character.name)]
        summary = await self.store.latest_summary(scene.id, character.id)
        lines.append(tr(lang, "memory.summary", summary=summary[0]) if summary else tr(lang, "memory.no_summary"))
        notes = await self.store.memory.notes(scene.id, character.id, limit=12)
        if notes:
            lines.append(tr(lang, "memory.facts"))
            lines.extend(f"- {n.text}" for n in notes)
        heard = await self.store.heard_lines(scene.id, character.id, limit=8)
        query = query_of(heard, character.id)
        address = self.turns.address_names(await self.store.members(scene.id))  # as the turn's recall: the same vector
        recalled = (
            await self.recollection.recall(scene.id, character.id, query, k=4, names=character.all_names(), address=address)
            if query else []
        )
        if query is not None:
            lines.append(tr(lang, "memory.latest", speaker=query.speaker, text=query.text))
        if recalled:
            lines.append(tr(lang, "memory.recalled"))
            lines.extend(
                f"- {r.text}" if r.kind == "note" else tr(lang, "memory.recalled_line", turn=r.turn_seq, speaker=r.speaker, text=r.text)
                for r in recalled
            )
        events = await self.store.witnessed_events(scene.guild_id, scene.world_id, character.id, kinds=("offscreen",), limit=5)
        if events:
            lines.append(tr(lang, "memory.offscreen"))
            lines.extend(f"- {e['payload'].get('text', '')}" for e in events)
        state = (await self.store.npc_states(scene.guild_id, scene.world_id)).get(character.id)
        if state is not None:
            lines.append(tr(lang, "memory.state", mood=state.mood_label, intensity=state.mood_intensity, place=world.location(state.location).name))
            for target, relation in sorted(state.relationships.items()):
                who = tr(lang, "feelings.players") if target == "user" else self.library.characters[target].name if target in self.library.characters else target
                note, affinity = str(relation.get("note", "")).strip(), int(relation.get("affinity", 0))
                lines.append(tr(lang, "memory.feels_note" if note else "memory.feels", affinity=affinity, who=who, note=note))
        if not notes and not recalled and not summary and not events:
            lines.append(tr(lang, "memory.nothing"))
        return "\n".join(lines)


def _retold_note(lang: str, note: str, names: dict[str, str]) -> str:
    """A stored decision note in the reader's language, with character ids told as names."""
    found = CATALOG.parse("why.note.", note)
    if found is None:
        return note
    key, fields = found
    return tr(lang, key, **{k: names.get(v, v) for k, v in fields.items()})
