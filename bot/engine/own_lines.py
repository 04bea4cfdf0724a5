"""Players changing their own lines: an edit before the line is answered, a delete at any time.

A service composed into ``SceneEngine`` (``engine.own_lines``); both changes pass the world's gate.

- **Edit.** The line is stored at intake, so an edit updates the stored row as long as no character has
  answered it yet (a paused scene, a line held by the rate limit, a turn whose model failed, a line
  still waiting its turn): from then on every prompt, fact, summary and recall uses the edited text (the
  line is re-indexed and embedded again). Once a character answered it, the edit is not applied (the
  reply answered what was first written) and the player gets a short notice saying so. A reply being
  written at the moment of the edit was asked for with the earlier text.
- **Delete.** The line leaves the story and the characters' memories: the message row goes, and with
  it the facts it stated, its hearers' rows and its full-text and vector rows (cascade and triggers of
  the memory index) and the engine's cached vectors of the scene; summaries that may retell it, and
  the notes written with them, are dropped and rewritten later (a summary pass in flight, which may have
  read the line, is cancelled; an edit does the same). Replies to it stay, as lines of their
  own. What it did to the world (a walk it narrated) stays too: ``/rewind`` undoes turns with their
  effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.engine.lines import Notice, SceneKey
from bot.i18n import tr
from bot.store import own_lines as rows
from bot.store.records import MessageRow

if TYPE_CHECKING:
    from bot.engine.scene import SceneEngine


async def _stop_summaries(engine: SceneEngine, scene_id: int) -> None:
    """Called right after the write: a summary pass started before it may have read the line as it was, so
    it must not write what it made of it (a pass started from here on reads the line as it now is; the next
    commit schedules a fresh one). Its writes wait for the store's write lock, so cancelling it here stops
    any it has not made; one it made before the write was dropped by the write."""
    await engine.memory_upkeep.cancel(scene_id)


class OwnLines:
    """Edits and deletes of players' own lines."""

    def __init__(self, engine: SceneEngine) -> None:
        self.engine = engine

    async def _find(self, scene_id: int, *, platform_message_id: str | None, author_id: str | None) -> MessageRow | None:
        store = self.engine.store
        if platform_message_id is not None:
            found = await store.message_by_platform_id(scene_id, platform_message_id)
            return found if found is not None and found.kind == "user" else None
        return await rows.last_line_of(store, scene_id, author_id) if author_id else None

    async def edit(
        self, key: SceneKey, text: str, *, platform_message_id: str | None = None, author_id: str | None = None
    ) -> Notice | None:
        """Use the edited ``text`` for a line not yet answered (by platform id, else the author's last line).

        Returns a notice for the player, or ``None`` when the edit concerns no stored line (or changes nothing).
        """
        from bot.engine.scene import facts_of

        engine = self.engine
        generation = engine.gate.generation(key.guild_id)  # noted before the scene is read (a reset refuses the write)
        scene = await engine.require_scene(key)
        lang = engine.world(scene.world_id).language
        text = text.strip()
        async with engine.gate.hold(scene.guild_id, scene.world_id, generation=generation):
            message = await self._find(scene.id, platform_message_id=platform_message_id, author_id=author_id)
            if message is None:
                return Notice(tr(lang, "lines.none")) if platform_message_id is None else None
            if not text or text == message.text:
                return None
            if await rows.answered(engine.store, message):
                return Notice(tr(lang, "lines.answered"), code="edit_after_answer")
            await rows.replace_text(engine.store, message, text, facts_of(message.speaker, text, message.heard_by))
            await _stop_summaries(engine, scene.id)
        engine.forget_scene_caches(scene.id)  # cached vectors and memory held the old text's
        if engine.embedding_worker is not None:
            engine.embedding_worker.redo(message.id)
        return Notice(tr(lang, "lines.edited"), code="edited")

    async def delete(self, key: SceneKey, *, platform_message_id: str | None = None, author_id: str | None = None) -> Notice | None:
        """Remove a player's line from the story and from what characters remember."""
        engine = self.engine
        generation = engine.gate.generation(key.guild_id)  # noted before the scene is read (a reset refuses the write)
        scene = await engine.require_scene(key)
        lang = engine.world(scene.world_id).language
        async with engine.gate.hold(scene.guild_id, scene.world_id, generation=generation):
            message = await self._find(scene.id, platform_message_id=platform_message_id, author_id=author_id)
            if message is None:
                return Notice(tr(lang, "lines.none")) if platform_message_id is None else None
            await rows.delete_line(engine.store, message)
            await _stop_summaries(engine, scene.id)
        engine.forget_scene_caches(scene.id)  # cached vectors and memory held the line's
        return Notice(tr(lang, "lines.deleted"), code="deleted")
