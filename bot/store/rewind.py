"""Rewind: the last turns of a scene deleted with everything they caused, in one transaction.

Why a module of its own: a rewind undoes rows of every kind at once and must leave a scene and its world
as if the removed turns had never been played. Most of it is the schema's work (messages, swipes, facts,
events and outbox rows go with their turn through indexed foreign keys); what is left is done here: the
summaries and notes that covered removed lines are dropped, the world's NPC states rebuilt from the newest
checkpoint before the first removed event (``WorldState.replay_world``, a bounded read), and the scene's
place and members replayed from its remaining movement events.

Part of ``Store`` (``store.rewinder``): one method, in the store's ``transaction()``.
"""

from __future__ import annotations

from typing import Any

from bot.store.database import OpenGuildTransaction
from bot.store.memory_index import MemoryIndex
from bot.store.records import NpcStateRow, SceneRow
from bot.store.world_state import WorldState, event_row


class Rewinder:
    """The rewind of a scene's last turns."""

    def __init__(self, *, guild_transaction: OpenGuildTransaction, memory: MemoryIndex, world: WorldState) -> None:
        self._guild_transaction = guild_transaction
        self._memory = memory
        self._world = world

    async def rewind(self, scene: SceneRow, turns: int, replay_states: Any, replay_scene: Any) -> int:
        """Delete the last ``turns`` turns of a scene and everything they caused, in one transaction.

        ``replay_states(checkpoint, world_events)`` gets the newest checkpoint of the world's NPC states
        from before the first removed event (``None``: replay from the starting state) and the world's
        remaining events after it, and returns the NPC states; ``replay_scene(scene_events)`` gets this
        scene's remaining movement and membership events and returns ``(user_location, [(member,
        joined_at), ...])``. Reads are
        bounded: the events since one checkpoint, not the world's whole log. Messages, swipes, facts,
        events and outbox rows of the removed turns go with them (foreign keys, all indexed), summaries
        that covered them are dropped, and so are checkpoints taken after the first removed event.
        """
        async with self._guild_transaction(scene.guild_id) as conn:
            rows = await conn.fetch_all(
                "SELECT id FROM turns WHERE scene_id = ? ORDER BY seq DESC LIMIT ?", (scene.id, turns)
            )
            ids = [r[0] for r in rows]
            if not ids:
                return 0
            marks = ",".join("?" for _ in ids)
            first_removed = await conn.fetch_value(f"SELECT MIN(id) FROM events WHERE turn_id IN ({marks})", ids)
            await conn.execute(f"DELETE FROM turns WHERE id IN ({marks})", ids)
            last = int(await conn.fetch_value("SELECT COALESCE(MAX(id), 0) FROM messages WHERE scene_id = ?", (scene.id,)))
            await conn.execute("DELETE FROM summaries WHERE scene_id = ? AND upto_message > ?", (scene.id, last))
            await self._memory.forget_notes_after(conn, scene.id, last)
            scene_rows = await conn.fetch_all(
                "SELECT id, scene_id, turn_id, kind, subject, payload, witnesses, created_at FROM events"
                " WHERE scene_id = ? AND kind IN ('move', 'summon', 'dismiss') ORDER BY id",
                (scene.id,),
            )
            scene_events = [event_row(r) for r in scene_rows]
            states: dict[str, NpcStateRow] | None = None
            if first_removed is not None:
                states = await self._world.replay_world(conn, scene.guild_id, scene.world_id, int(first_removed), replay_states)
                await self._world.replace_npc_states(conn, scene.guild_id, scene.world_id, states)
            user_location, members = replay_scene(scene_events)
            await conn.execute("UPDATE scenes SET user_location = ? WHERE id = ?", (user_location, scene.id))
            await conn.execute("DELETE FROM scene_members WHERE scene_id = ?", (scene.id,))
            for member, joined_at in members:
                await conn.execute(
                    "INSERT INTO scene_members (scene_id, character_id, joined_at) VALUES (?, ?, ?)",
                    (scene.id, member, joined_at),
                )
            return len(ids)
