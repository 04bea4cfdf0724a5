"""Alternatives of NPC lines (the ``swipes`` table): the first stored with its line, others chosen later.

Why a module of its own: an alternative carries its own effects on the world (the events and facts it
planned, stored with it as JSON), so choosing another one while the line is unsettled rewrites what the
world remembers in one transaction: the effects of the alternative on screen are removed, the NPC states
rebuilt from the nearest checkpoint (``WorldState.replay_world``), and the chosen one's effects settled on
that state. What the story keeps when it moves on is the alternative on screen (``Turns`` settles it).

Part of ``Store`` (``store.alternatives``): reads on the store's reader, writes in its ``transaction()``
or, for a line's first alternative, in the caller's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from bot.store.database import Database, OpenGuildTransaction
from bot.store.history import History
from bot.store.memory_index import MemoryIndex
from bot.store.records import FactRecord, NewEvent, NewMessage, SceneRow, Settler, SwipeRow
from bot.store.world_state import WorldState


def effects_json(events: Iterable[NewEvent], facts: Iterable[FactRecord]) -> str:
    """An alternative's effects as stored with its swipe: its events (as planned) and its facts."""
    return json.dumps(
        {
            "events": [{"kind": e.kind, "subject": e.subject, "payload": e.payload, "witnesses": list(e.witnesses)} for e in events],
            "facts": [{"kind": f.kind, "text": f.text, "importance": f.importance, "known_by": list(f.known_by)} for f in facts],
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def effects_of(data: str) -> tuple[list[NewEvent], list[FactRecord]]:
    parsed = json.loads(data or "{}")
    events = [NewEvent(e["kind"], e["subject"], e["payload"], tuple(e["witnesses"])) for e in parsed.get("events", [])]
    facts = [FactRecord(f["kind"], f["text"], int(f["importance"]), tuple(f["known_by"])) for f in parsed.get("facts", [])]
    return events, facts


class Alternatives:
    """Reads and writes of ``swipes``; choosing one also rewrites the line, its facts and its events."""

    def __init__(
        self,
        *,
        reader: Database,
        now: Callable[[], str],
        guild_transaction: OpenGuildTransaction,
        memory: MemoryIndex,
        world: WorldState,
        history: History,
    ) -> None:
        self._reader = reader
        self._now = now
        self._guild_transaction = guild_transaction
        self._memory = memory
        self._world = world
        self._history = history

    def add_first(self, conn: Database, message_id: int, msg: NewMessage) -> None:
        """Inside the caller's transaction (deferred): an NPC line's first alternative, the one committed with it."""
        conn.defer(
            "INSERT INTO swipes (message_id, idx, text, effects, prompt, created_at) VALUES (?, 0, ?, ?, ?, ?)",
            (message_id, msg.text, effects_json(msg.effects, msg.facts), msg.prompt, self._now()),
        )

    async def swipes(self, message_id: int) -> list[SwipeRow]:
        rows = await self._reader.fetch_all(
            "SELECT idx, text, kept FROM swipes WHERE message_id = ? ORDER BY idx", (message_id,)
        )
        return [SwipeRow(r[0], r[1], bool(r[2])) for r in rows]

    async def choose_alternative(
        self,
        scene: SceneRow,
        message_id: int,
        idx: int | None,
        *,
        rebuild: Any,
        settle: Settler,
        text: str | None = None,
        events: Iterable[NewEvent] = (),
        facts: Iterable[FactRecord] = (),
        prompt: str | None = None,
    ) -> SwipeRow | None:
        """Put an alternative of an unsettled NPC line on screen, and make the world follow it.

        With ``text``, a new alternative (with its ``events``, ``facts`` and the ``prompt`` the model saw) is stored at the next index;
        else the stored alternative ``idx`` is shown again. Either way, in one transaction: the effects of
        the alternative that was on screen (events tied to the message, its facts) are removed and the
        world's NPC states rebuilt from the nearest checkpoint before them (``rebuild(checkpoint,
        events)``), then the chosen one's events are settled on that state (``settle``) and stored with
        its facts. What the story keeps when it moves on is the alternative on screen: its effects are
        already the ones in the world. ``None`` when the message is settled or has no such alternative.
        """
        async with self._guild_transaction(scene.guild_id) as conn:
            row = await conn.fetch_one(
                "SELECT turn_id FROM messages WHERE scene_id = ? AND id = ? AND kind = 'npc' AND settled = 0", (scene.id, message_id)
            )
            if row is None:
                return None
            turn_id = int(row[0])
            if text is not None:
                idx = int(await conn.fetch_value("SELECT COALESCE(MAX(idx), -1) + 1 FROM swipes WHERE message_id = ?", (message_id,)))
                events, facts = list(events), list(facts)
                await conn.execute(
                    "INSERT INTO swipes (message_id, idx, text, effects, prompt, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (message_id, idx, text, effects_json(events, facts), prompt, self._now()),
                )
            else:
                chosen = await conn.fetch_one("SELECT text, effects FROM swipes WHERE message_id = ? AND idx = ?", (message_id, idx))
                if chosen is None:
                    return None
                text = str(chosen[0])
                events, facts = effects_of(chosen[1])
            first = await conn.fetch_value("SELECT MIN(id) FROM events WHERE message_id = ?", (message_id,))
            await conn.execute("DELETE FROM events WHERE message_id = ?", (message_id,))
            await conn.execute("DELETE FROM facts WHERE message_id = ?", (message_id,))
            if first is not None:
                states = await self._world.replay_world(conn, scene.guild_id, scene.world_id, int(first), rebuild)
                await self._world.replace_npc_states(conn, scene.guild_id, scene.world_id, states)
            await self._world.write_world_changes(
                conn, scene.guild_id, scene.world_id, scene.id, turn_id, list(events), (),
                lambda fresh: settle(fresh, list(events)), self._now(), message_id=message_id,
            )
            self._history.insert_facts(conn, scene.id, turn_id, message_id, facts)
            await conn.execute(
                "UPDATE messages SET active_swipe = ?, text = ? WHERE scene_id = ? AND id = ?", (idx, text, scene.id, message_id)
            )
            await self._reindex(conn, scene.id, message_id)
        assert idx is not None
        return SwipeRow(idx, text, False)

    async def _reindex(self, conn: Database, scene_id: int, message_id: int) -> None:
        row = await conn.fetch_one("SELECT speaker, text FROM messages WHERE scene_id = ? AND id = ?", (scene_id, message_id))
        if row is not None:
            await self._memory.replace_text(conn, message_id, row[0], row[1])
