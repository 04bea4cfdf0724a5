"""Scene commands that front ends expose as slash commands or terminal commands.

A mixin of ``SceneEngine``: summon, dismiss, cast, look, go, regenerate and swipes, pause, OOC notes,
export, and ``why`` (the last scheduler decision, explained). Every state change goes through events,
like a user turn, so state can be rebuilt from the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.content.models import Character, World
from bot.engine.lines import CastEntry, Narration, Notice, SceneKey, TurnOutcome
from bot.errors import NotFound
from bot.store.records import NewEvent, NewMessage, TurnCommit
from bot.world.events import move_event
from bot.world.graph import can_move, neighbours
from bot.world.narrator import move_user

if TYPE_CHECKING:
    from bot.engine.scene import SceneEngine


class SceneCommands:
    """Commands over a scene; mixed into ``SceneEngine``."""

    def _find_character(self: SceneEngine, world: World, name: str, guild_id: str | None = None) -> Character:
        character = self.library.find_character(world.id, name, guild_id)
        if character is None:
            cast = ", ".join(c.name for c in self.library.cast_of(world.id, guild_id))
            raise NotFound(f"Nobody called {name!r} lives in {world.name}. The cast: {cast}.")
        return character

    def _find_place(self: SceneEngine, world: World, name: str) -> str:
        location = self.library.find_location(world.id, name)
        if location is None:
            places = ", ".join(loc.name for loc in world.locations)
            raise NotFound(f"There is no place called {name!r} in {world.name}. Places: {places}.")
        return location.id

    def _narration(self: SceneEngine, world: World, text: str, message_id: int | None) -> Narration:
        return Narration(text, message_id, world.narrator.name, world.narrator.avatar_url)

    async def summon(self: SceneEngine, key: SceneKey, name: str, location: str | None = None) -> TurnOutcome:
        """Bring a character into the scene, to the players' place or to ``location``."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            scene = await self.require_scene(key)
            world = self.world(scene.world_id)
            character = self._find_character(world, name, scene.guild_id)
            target = self._find_place(world, location) if location else scene.user_location
            states = await self.store.npc_states(scene.guild_id, scene.world_id)
            members = await self.store.members(scene.id)
            source = states[character.id].location
            place = world.location(target).name
            if character.id in members and source == target:
                return TurnOutcome((Notice(f"{character.name} is already in the scene, at {place}."),))
            text = f"{character.name} arrives at {place}." if source != target else f"{character.name} joins the scene at {place}."
            witnesses = [m for m in members if states[m].location == target] + (["user"] if target == scene.user_location else [])
            draft_messages = [NewMessage(kind="narration", speaker=world.narrator.name, text=text, location=target, heard_by=tuple(witnesses))]
            events = [move_event("summon", character.id, source, target, [*witnesses, character.id])]
            turn_id, ids = await self._record(scene, draft_messages, events, join=(character.id,))
            return TurnOutcome((self._narration(world, text, ids[0]),), turn_id)

    async def _record(
        self: SceneEngine, scene, messages, events, user_location: str | None = None, *, join=(), leave=()
    ) -> tuple[int, list[int]]:
        """A command's turn: messages, events and the NPC states they lead to, in one transaction."""
        from bot.engine.scene import TurnDraft

        draft = TurnDraft(messages=list(messages), events=list(events))
        return await self._commit(scene, None, draft, status="done", user_location=user_location, join=join, leave=leave)

    async def dismiss(self: SceneEngine, key: SceneKey, name: str) -> TurnOutcome:
        """Take a character out of the scene (it stays where it is in the world and lives on off-screen)."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            world = self.world(scene.world_id)
            character = self._find_character(world, name, scene.guild_id)
            if character.id not in await self.store.members(scene.id):
                return TurnOutcome((Notice(f"{character.name} is not in this scene."),))
            text = f"{character.name} steps out of the story for now."
            message = NewMessage(kind="narration", speaker=world.narrator.name, text=text, location=scene.user_location)
            turn_id, ids = await self._record(scene, [message], [NewEvent("dismiss", character.id, {}, ())], leave=(character.id,))
            return TurnOutcome((self._narration(world, text, ids[0]),), turn_id)

    async def cast(self: SceneEngine, key: SceneKey) -> list[CastEntry]:
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
                    character_id=cid, name=character.name, location_id=state.location,
                    location_name=world.location(state.location).name, mood_label=state.mood_label,
                    mood_intensity=state.mood_intensity, present=state.location == scene.user_location,
                    relationships=dict(state.relationships),
                    feelings=self._feelings(state.relationships, scene.world_id, scene.guild_id),
                )
            )
        return entries

    def _feelings(self: SceneEngine, relationships: dict[str, Any], world_id: str, guild_id: str) -> str:
        """Relationships in a few words for /cast: toward the players first, then the others."""
        names = {c.id: c.name for c in self.library.cast_of(world_id, guild_id)}
        parts = []
        for target in sorted(relationships, key=lambda t: (t != "user", t)):
            relation = relationships[target]
            who = "the players" if target == "user" else names.get(target, target)
            parts.append(f"{who} {int(relation.get('affinity', 0)):+d}")
        return ", ".join(parts)

    async def look(self: SceneEngine, key: SceneKey) -> TurnOutcome:
        """The narrator describes the players' place, who is there, who can be heard, and the ways on."""
        scene = await self.require_scene(key)
        world = self.world(scene.world_id)
        spatial = await self.spatial(scene, await self.store.npc_states(scene.guild_id, scene.world_id))
        place = world.location(scene.user_location)
        parts = [f"{place.name}. {place.description}"]
        present = spatial.present()
        parts.append(("Here: " + ", ".join(spatial.names[c] for c in present) + ".") if present else "Nobody from the story is here.")
        nearby = [c for c in spatial.hearers() if c not in present]
        if nearby:
            parts.append("Within earshot: " + ", ".join(f"{spatial.names[c]} ({world.location(spatial.npc_locations[c]).name})" for c in nearby) + ".")
        exits = []
        for other in neighbours(world, scene.user_location):
            label = world.location(other).name
            exits.append(f"{label} (locked)" if can_move(world, scene.user_location, other).reason == "locked" else label)
        if exits:
            parts.append("Ways on: " + ", ".join(exits) + ".")
        return TurnOutcome((self._narration(world, " ".join(parts), None),))

    async def go(self: SceneEngine, key: SceneKey, place: str, author_name: str = "You") -> TurnOutcome:
        """Move the players to a place a short open path leads to; refused moves are narrated."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            scene = await self.require_scene(key)
            world = self.world(scene.world_id)
            target = self._find_place(world, place)
            if target == scene.user_location:
                return TurnOutcome((Notice(f"{author_name} is already at {world.location(target).name}."),))
            spatial = await self.spatial(scene, await self.store.npc_states(scene.guild_id, scene.world_id))
            change = move_user(spatial, target, author_name, "/go")
            messages = [
                NewMessage(kind="narration", speaker=world.narrator.name, text=t, location=spatial.user_location, heard_by=tuple(spatial.hearers()))
                for t in change.narrations
            ]
            turn_id, ids = await self._record(scene, messages, change.events, spatial.user_location if change.user_moved else None)
            return TurnOutcome(tuple(self._narration(world, m.text, i) for m, i in zip(messages, ids, strict=True)), turn_id)

    async def regenerate(self: SceneEngine, key: SceneKey, message_id: int | None = None) -> TurnOutcome:
        """A new alternative for the latest NPC reply (or the given one, if the story has not moved on)."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            world = self.world(scene.world_id)
            message = (
                await self.store.message(scene.id, message_id) if message_id is not None else await self.store.last_npc_message(scene.id)
            )
            if message is None or message.kind != "npc" or message.character_id is None:
                return TurnOutcome((Notice("There is no character reply to regenerate."),))
            if message.settled:
                return TurnOutcome((Notice("The story has moved on; only the latest replies can be regenerated."),))
            character = self.library.characters[message.character_id]
            states = await self.store.npc_states(scene.guild_id, scene.world_id)
            spatial = await self.spatial(scene, states)
            from bot.errors import ModelUnavailable

            try:
                generated = await self._generate(scene, world, character, spatial, states, before_id=message.id)
            except ModelUnavailable as exc:
                return TurnOutcome((Notice(exc.user_message, code="model_unavailable"),))
            idx = await self.store.add_swipe(scene.id, message.id, generated.text, generated.prompt)
            count = len(await self.store.swipes(message.id))
            return TurnOutcome((self._utterance(message.id, character, generated.text, idx, count),), message.turn_id)

    async def show_swipe(self: SceneEngine, key: SceneKey, message_id: int, step: int) -> TurnOutcome:
        """Browse alternatives of an NPC reply: ``step`` -1 for previous, +1 for next."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            message = await self.store.message(scene.id, message_id)
            if message is None or message.character_id is None:
                return TurnOutcome((Notice("That message has no alternatives."),))
            if message.settled:
                return TurnOutcome((Notice("The story has moved on; the reply that was kept stays."),))
            swipes = await self.store.swipes(message.id)
            idx = min(max(message.active_swipe + step, 0), len(swipes) - 1)
            shown = await self.store.show_swipe(scene.id, message.id, idx)
            assert shown is not None
            character = self.library.characters[message.character_id]
            return TurnOutcome((self._utterance(message.id, character, shown.text, idx, len(swipes)),), message.turn_id)

    async def set_paused(self: SceneEngine, key: SceneKey, paused: bool) -> None:
        scene = await self.require_scene(key)
        await self.store.update_scene(scene.id, paused=paused)

    async def ooc(self: SceneEngine, key: SceneKey, author_id: str, author_name: str, text: str) -> TurnOutcome:
        """A note to the narrator that characters do not hear: stored, shown in exports, never prompted."""
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            note = NewMessage(kind="ooc", speaker=author_name, text=text, author_id=author_id, location=scene.user_location)
            turn_id, _ = await self.store.record_turn(scene, TurnCommit(messages=[note]))
            return TurnOutcome((Notice("Noted for the narrator; the characters did not hear it."),), turn_id)

    async def export(self: SceneEngine, key: SceneKey) -> list[dict[str, object]]:
        """The scene's transcript as export records (see ``bot.engine.export``)."""
        from bot.engine.export import export_records

        scene = await self.require_scene(key)
        return export_records(await self.store.transcript(scene.id))

    async def why(self: SceneEngine, key: SceneKey) -> str:
        """The scheduler's decisions for the last user line (and the chain after it): scores and reasons."""
        scene = await self.require_scene(key)
        events = await self.store.latest_events(scene.id, "schedule", limit=12)
        starts = [i for i, e in enumerate(events) if e["payload"].get("context") == "line"]
        if not starts:
            return "No speaker has been chosen in this scene yet."
        names = {c.id: c.name for c in self.library.cast_of(scene.world_id, scene.guild_id)}
        lines: list[str] = []
        for event in events[starts[-1] :]:
            payload: dict[str, Any] = event["payload"]
            lines.append(f"Decision ({payload.get('context')}): {payload.get('note') or ''}".rstrip())
            scores: dict[str, float] = payload.get("scores", {})
            for cid, value in sorted(scores.items(), key=lambda kv: -kv[1]):
                mark = "->" if cid in payload.get("speakers", []) else "  "
                reasons = "; ".join(payload.get("reasons", {}).get(cid, []))
                lines.append(f"{mark} {names.get(cid, cid)}: {value:.2f} ({reasons})")
            if not scores:
                lines.append("   nobody could hear it")
        lines.append((await self.refresh_pace(scene)).describe())  # pacing (bot/engine/pacing.py)
        return "\n".join(lines)
