"""Control of the table: players decide who speaks. ``/nudge``, ``/hush`` and ``/unhush``, the answer mode.

A service composed into ``SceneEngine`` (``engine.table``). The decisions themselves are pure and live in
``bot.engine.scheduler`` (``TableRules``); this module reads and writes the rules per scene (one scene
per channel) and makes a nudged character speak. Every write passes the world's gate, like any change
to the story, so a reset in between refuses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.engine.impersonate import suggest_line
from bot.engine.lines import Notice, SceneKey, TurnOutcome
from bot.engine.readcache import ReadCache
from bot.engine.scheduler import ANSWER_MODES, Decision, TableRules
from bot.errors import EnsembleError, ModelUnavailable
from bot.i18n import CODES, tr
from bot.store.records import NewEvent
from bot.store.table import TableStore

if TYPE_CHECKING:
    from bot.engine.scene import SceneEngine

# Scenes whose rules are kept in memory; least recently decided go first.
CACHE_SCENES = 4096


def parse_mode(text: str, lang: str) -> str:
    """An answer mode typed by a player, in English or in the world's language ("manual", "手动")."""
    wanted = text.strip().casefold()
    for mode in ANSWER_MODES:
        if wanted in {mode, *(tr(code, f"table.mode.{mode}").casefold() for code in CODES)}:
            return mode
    raise EnsembleError(tr(lang, "table.mode_usage"))


class TableControl:
    """Who may answer in a scene, and making one character speak on demand."""

    def __init__(self, engine: SceneEngine) -> None:
        self.engine = engine
        self.store = TableStore(engine.store)
        # Read on every decision, written rarely and only through this service: kept in memory per scene,
        # with the server and its generation it was read under. A reset's new scenes, on this server or on
        # another, may reuse a forgotten scene's id: a copy read under another server or generation is
        # never used.
        self._rules: ReadCache[int, tuple[str, int, TableRules]] = ReadCache(CACHE_SCENES)

    async def rules(self, scene_id: int, guild_id: str) -> TableRules:
        """The scene's rules as the scheduler takes them."""
        generation = self.engine.gate.generation(guild_id)
        found, kept = self._rules.lookup(scene_id)
        if found and kept is not None and kept[:2] == (guild_id, generation):
            return kept[2]
        writes = self._rules.writes
        rules = TableRules(await self.store.mode(scene_id), await self.store.hushed(scene_id))
        if generation == self.engine.gate.generation(guild_id):
            self._rules.fill(scene_id, (guild_id, generation, rules), writes)
        return rules

    async def mode(self, key: SceneKey) -> str:
        engine = self.engine
        scene = await engine.require_scene(key)
        lang = engine.world(scene.world_id).language
        mode = await self.store.mode(scene.id)
        return tr(lang, "table.mode", mode=tr(lang, f"table.mode.{mode}"), meaning=tr(lang, f"table.meaning.{mode}"))

    async def set_mode(self, key: SceneKey, text: str) -> str:
        """``/mode lively|mentioned|manual``: kept per scene, so it survives restarts."""
        engine = self.engine
        generation = engine.gate.generation(key.guild_id)  # noted before the scene is read (a reset refuses the write)
        scene = await engine.require_scene(key)
        lang = engine.world(scene.world_id).language
        mode = parse_mode(text, lang)
        async with engine.gate.hold(scene.guild_id, scene.world_id, generation=generation):
            with self._rules.written(scene.id):
                await self.store.set_mode(scene.id, mode)
        return tr(lang, "table.mode_set", mode=tr(lang, f"table.mode.{mode}"), meaning=tr(lang, f"table.meaning.{mode}"))

    async def hush(self, key: SceneKey, name: str, hushed: bool = True) -> str:
        """``/hush NAME`` (``hushed``) or ``/unhush NAME``. A hushed character still hears and remembers
        every line (``heard_by`` does not change); it is only never chosen to speak."""
        engine = self.engine
        generation = engine.gate.generation(key.guild_id)  # noted before the scene is read (a reset refuses the write)
        scene = await engine.require_scene(key)
        world = engine.world(scene.world_id)
        character = engine.commands.find_character(world, name, scene.guild_id)
        async with engine.gate.hold(scene.guild_id, scene.world_id, generation=generation):
            with self._rules.written(scene.id):
                changed = await self.store.set_hushed(scene.id, character.id, hushed)
        if hushed:
            return tr(world.language, "table.hushed" if changed else "table.already_hushed", name=character.name)
        return tr(world.language, "table.unhushed" if changed else "table.not_hushed", name=character.name)

    async def nudge(self, key: SceneKey, name: str) -> TurnOutcome:
        """``/nudge NAME``: that character speaks next, now, whatever the answer mode (but not when hushed).

        Its line is its own committed turn, like a chain reaction, with a ``/nudge`` decision for ``/why``.
        """
        from bot.engine.scene import TurnDraft, decision_payload

        engine = self.engine
        scene = await engine.require_scene(key)
        async with engine.lock(scene.id):
            generation = engine.gate.generation(key.guild_id)
            scene = await engine.require_scene(key)
            world = engine.world(scene.world_id)
            lang = world.language
            character = engine.commands.find_character(world, name, scene.guild_id)
            if character.id not in await engine.store.members(scene.id):
                return TurnOutcome((Notice(tr(lang, "dismiss.not_member", name=character.name)),))
            if character.id in await self.store.hushed(scene.id):
                return TurnOutcome((Notice(tr(lang, "table.nudge_hushed", name=character.name)),))
            states = await engine.store.npc_states(scene.guild_id, scene.world_id)
            spatial = await engine.spatial(scene, states)
            draft = TurnDraft()
            decision = Decision((character.id,), note=tr("en", "why.note.nudged"))
            draft.events.append(NewEvent("schedule", None, decision_payload(decision, tr("en", "why.context.nudge")), ()))
            try:
                generated = await engine.generate(scene, world, character, spatial, states)
            except ModelUnavailable:
                return TurnOutcome((Notice(tr(lang, "turn.model_unavailable"), code="model_unavailable"),))
            engine.add_utterance(draft, world, spatial, character, generated, [], states)
            turn_id, ids = await engine.commit(
                scene, None, draft, status="done", user_location=None, generation=generation, post=True
            )
            return TurnOutcome(tuple(engine.render(world, draft, ids)), turn_id)

    async def impersonate(self, key: SceneKey, author_id: str, author_name: str) -> str:
        """``/impersonate``: see ``bot.engine.impersonate``."""
        return await suggest_line(self.engine, key, author_id, author_name)
