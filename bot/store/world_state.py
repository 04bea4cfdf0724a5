"""A world's state on one server: its NPC states, its event log with the witnesses, and checkpoints.

Why a module of its own: the NPC states and the events that change them are always written together and
inside the writer's transaction (``write_world_changes``), by a turn's commit, by off-screen life and by a
chosen alternative, so nothing can change the states between their read and their write. The log stays
bounded: old schedule decisions go, and every ``CHECKPOINT_EVERY`` events a checkpoint of the states is
taken, so a rewind or a swipe rebuilds the states (``replay_world``) from the newest checkpoint before what
it removed, replaying a bounded tail instead of the world's whole log. The reads of off-screen life (who
is busy, what a character witnessed, which hooks were used) are here too.

Part of ``Store`` (``store.world``): reads on the store's reader (or a transaction's handle), writes in
its transactions; off-screen changes in the fenced one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from bot.store.database import Database, OpenGuildTransaction, Row
from bot.store.query import Query
from bot.store.records import NewEvent, NpcStateRow, Settler

# Schedule decisions (the scheduler's scores and reasons) only serve ``/why`` for the latest lines.
KEEP_SCHEDULES = 64
# Events a character can be asked about later ("what did you see while the players were away"): their
# witnesses get rows in ``event_witnesses``. Mood and relationship changes (every turn) do not: nothing
# looks them up by witness, and their rows would make every delete of a long scene slower.
WITNESSED_KINDS = frozenset({"offscreen", "offscreen_move", "move", "summon", "dismiss", "hook"})
# A checkpoint of a world's NPC states every this many events: a rewind replays at most about this many.
CHECKPOINT_EVERY = 256


def _state_json(state: NpcStateRow) -> dict[str, Any]:
    return {
        "location": state.location,
        "mood_label": state.mood_label,
        "mood_intensity": state.mood_intensity,
        "goals": list(state.goals),
        "relationships": state.relationships,
    }


def _state_of(character_id: str, data: dict[str, Any]) -> NpcStateRow:
    return NpcStateRow(
        character_id, data["location"], data["mood_label"], float(data["mood_intensity"]), tuple(data["goals"]), data["relationships"]
    )


def event_row(r: Any) -> dict[str, Any]:
    """An event as the world's rebuild reads it (columns id, scene_id, turn_id, kind, subject, payload,
    witnesses, created_at)."""
    return {
        "id": r[0],
        "scene_id": r[1],
        "turn_id": r[2],
        "kind": r[3],
        "subject": r[4],
        "payload": json.loads(r[5]),
        "witnesses": json.loads(r[6]),
        "created_at": r[7],
    }


def _npc_states(rows: list[Row]) -> dict[str, NpcStateRow]:
    return {r[0]: NpcStateRow(r[0], r[1], r[2], float(r[3]), tuple(json.loads(r[4])), json.loads(r[5])) for r in rows}


def _count(rows: list[Row]) -> int:
    return int(rows[0][0])


def _witnessed(rows: list[Row]) -> list[dict[str, Any]]:
    return [{"id": r[0], "kind": r[1], "subject": r[2], "payload": json.loads(r[3]), "created_at": r[4]} for r in reversed(rows)]


class WorldState:
    """Reads and writes of ``npc_state``, ``events``, ``event_witnesses`` and ``world_checkpoints``."""

    def __init__(
        self,
        *,
        reader: Database,
        now: Callable[[], str],
        guild_transaction: OpenGuildTransaction,
        world_transaction: OpenGuildTransaction,
    ) -> None:
        self._reader = reader
        self._now = now
        self._guild_transaction = guild_transaction  # fenced: off-screen changes of a shard's owner
        self._world_transaction = world_transaction  # serialised per server across processes

    # -- NPC states ------------------------------------------------------------------------------

    async def npc_states(self, guild_id: str, world_id: str, *, reader: Database | None = None) -> dict[str, NpcStateRow]:
        """A world's NPC states on a server (``reader``: a transaction's handle, to see its own writes)."""
        return await self.npc_states_query(guild_id, world_id).run(reader or self._reader)

    def npc_states_query(self, guild_id: str, world_id: str) -> Query[dict[str, NpcStateRow]]:
        return Query(
            "SELECT character_id, location, mood_label, mood_intensity, goals, relationships"
            " FROM npc_state WHERE guild_id = ? AND world_id = ?",
            (guild_id, world_id),
            _npc_states,
        )

    async def seed_npc_states(self, guild_id: str, world_id: str, states: Iterable[NpcStateRow]) -> None:
        """Insert starting state for NPCs that have none yet (existing state is never overwritten)."""
        async with self._world_transaction(guild_id) as conn:
            for state in states:
                await conn.execute(
                    "INSERT INTO npc_state (guild_id, world_id, character_id, location, mood_label,"
                    " mood_intensity, goals, relationships, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    self._npc_params(guild_id, world_id, state),
                )

    def _npc_params(self, guild_id: str, world_id: str, state: NpcStateRow) -> tuple[Any, ...]:
        return (
            guild_id,
            world_id,
            state.character_id,
            state.location,
            state.mood_label,
            state.mood_intensity,
            json.dumps(list(state.goals), ensure_ascii=False),
            json.dumps(state.relationships, ensure_ascii=False, sort_keys=True),
            self._now(),
        )

    def _upsert_npc(self, conn: Database, guild_id: str, world_id: str, state: NpcStateRow) -> None:
        """Inside the caller's transaction (deferred): one NPC's state, inserted or replaced."""
        conn.defer(
            "INSERT INTO npc_state (guild_id, world_id, character_id, location, mood_label, mood_intensity,"
            " goals, relationships, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (guild_id, world_id, character_id) DO UPDATE SET location = excluded.location,"
            " mood_label = excluded.mood_label, mood_intensity = excluded.mood_intensity,"
            " goals = excluded.goals, relationships = excluded.relationships, updated_at = excluded.updated_at",
            self._npc_params(guild_id, world_id, state),
        )

    async def save_npc_states(self, guild_id: str, world_id: str, states: Iterable[NpcStateRow]) -> None:
        async with self._world_transaction(guild_id) as conn:
            for state in states:
                self._upsert_npc(conn, guild_id, world_id, state)

    async def replace_npc_states(
        self, conn: Database, guild_id: str, world_id: str, states: dict[str, NpcStateRow]
    ) -> None:
        """Inside the caller's transaction: the world's NPC states become exactly ``states``."""
        await conn.execute("DELETE FROM npc_state WHERE guild_id = ? AND world_id = ?", (guild_id, world_id))
        for state in states.values():
            self._upsert_npc(conn, guild_id, world_id, state)

    # -- world changes (inside the writer's transaction) -----------------------------------------

    async def write_world_changes(
        self,
        conn: Database,
        guild_id: str,
        world_id: str,
        scene_id: int | None,
        turn_id: int | None,
        events: Iterable[NewEvent],
        states: Iterable[NpcStateRow],
        settle: Settler | None,
        now: str,
        message_ids: list[int] | None = None,
        message_id: int | None = None,
    ) -> list[NewEvent]:
        """Events and the NPC states they lead to; with ``settle``, computed here from the fresh states.

        Inside the caller's write transaction, so nothing can change the states between the read and
        the write. Also keeps the log compact (old schedule decisions go) and writes a checkpoint of the
        world's states every ``CHECKPOINT_EVERY`` events, so a rewind replays a bounded tail. An event
        with an ``origin`` is tied to that message of ``message_ids`` (an alternative's effect), or all
        events to ``message_id``.
        """
        if settle is not None:
            events, states = settle(await self.npc_states(guild_id, world_id, reader=conn))
        events = list(events)
        last_id = 0
        for event in events:
            source = message_id
            if event.origin is not None and message_ids is not None and event.origin < len(message_ids):
                source = message_ids[event.origin]
            last_id = await self._insert_event(conn, guild_id, world_id, scene_id, turn_id, event, now, source)
        for state in states:
            self._upsert_npc(conn, guild_id, world_id, state)
        if scene_id is not None and any(e.kind == "schedule" for e in events):
            conn.defer(
                "DELETE FROM events WHERE scene_id = ? AND kind = 'schedule' AND id < (SELECT id FROM events"
                " WHERE scene_id = ? AND kind = 'schedule' ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (scene_id, scene_id, KEEP_SCHEDULES - 1),
            )
        if last_id:
            await self._checkpoint_if_due(conn, guild_id, world_id, last_id, now)
        return events

    async def _checkpoint_if_due(self, conn: Database, guild_id: str, world_id: str, last_id: int, now: str) -> None:
        row = await conn.fetch_one(
            "SELECT COALESCE(MAX(upto_event), 0) FROM world_checkpoints WHERE guild_id = ? AND world_id = ?",
            (guild_id, world_id),
        )
        assert row is not None
        if last_id - int(row[0]) < CHECKPOINT_EVERY:
            return
        states = await self.npc_states(guild_id, world_id, reader=conn)
        await conn.execute(
            "INSERT INTO world_checkpoints (guild_id, world_id, upto_event, states, created_at) VALUES (?, ?, ?, ?, ?)",
            (guild_id, world_id, last_id, json.dumps({cid: _state_json(st) for cid, st in states.items()}, ensure_ascii=False), now),
        )

    async def _insert_event(
        self,
        conn: Database,
        guild_id: str,
        world_id: str,
        scene_id: int | None,
        turn_id: int | None,
        event: NewEvent,
        now: str | None = None,
        message_id: int | None = None,
    ) -> int:
        event_id = await conn.fetch_value(
            "INSERT INTO events (guild_id, world_id, scene_id, turn_id, message_id, kind, subject, payload, witnesses,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                guild_id,
                world_id,
                scene_id,
                turn_id,
                message_id,
                event.kind,
                event.subject,
                json.dumps(event.payload, ensure_ascii=False, sort_keys=True),
                json.dumps(list(event.witnesses), ensure_ascii=False),
                now or self._now(),
            ),
        )
        event_id = int(event_id)
        if event.kind not in WITNESSED_KINDS:
            return event_id
        for witness in sorted(set(event.witnesses)):
            conn.defer(
                "INSERT INTO event_witnesses (event_id, guild_id, world_id, character_id, kind) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (event_id, guild_id, world_id, witness, event.kind),
            )
        return event_id

    async def replay_world(
        self, conn: Database, guild_id: str, world_id: str, first_removed: int, rebuild: Any
    ) -> dict[str, NpcStateRow]:
        """The world's NPC states rebuilt after events from ``first_removed`` on were removed: from the
        newest checkpoint before it (later ones are dropped), replaying the events after that."""
        await conn.execute(
            "DELETE FROM world_checkpoints WHERE guild_id = ? AND world_id = ? AND upto_event >= ?",
            (guild_id, world_id, first_removed),
        )
        row = await conn.fetch_one(
            "SELECT upto_event, states FROM world_checkpoints WHERE guild_id = ? AND world_id = ? ORDER BY upto_event DESC LIMIT 1",
            (guild_id, world_id),
        )
        since, checkpoint = 0, None
        if row is not None:
            since = int(row[0])
            checkpoint = {cid: _state_of(cid, data) for cid, data in json.loads(row[1]).items()}
        return rebuild(checkpoint, await self.events(guild_id, world_id, since_id=since, limit=None, reader=conn))

    async def commit_world_events(
        self,
        guild_id: str,
        world_id: str,
        events: Iterable[NewEvent] = (),
        states: Iterable[NpcStateRow] = (),
        *,
        settle: Settler | None = None,
    ) -> list[NewEvent]:
        """Off-screen events and the NPC states they lead to, in one transaction; returns the events stored."""
        async with self._guild_transaction(guild_id) as conn:
            return await self.write_world_changes(conn, guild_id, world_id, None, None, events, states, settle, self._now())

    # -- reads of the log ------------------------------------------------------------------------

    async def events(
        self, guild_id: str, world_id: str, *, since_id: int = 0, limit: int | None = 1000, reader: Database | None = None
    ) -> list[dict[str, Any]]:
        """A world's events after ``since_id`` in order (``limit`` None or negative: all of them)."""
        sql = (
            "SELECT id, scene_id, turn_id, kind, subject, payload, witnesses, created_at FROM events"
            " WHERE guild_id = ? AND world_id = ? AND id > ? ORDER BY id"
        )
        params: tuple[Any, ...] = (guild_id, world_id, since_id)
        if limit is not None and limit >= 0:
            sql += " LIMIT ?"
            params += (limit,)
        rows = await (reader or self._reader).fetch_all(sql, params)
        return [event_row(r) for r in rows]

    async def busy_npcs(self, guild_id: str, world_id: str, since: str) -> set[str]:
        """NPCs with the players in a scene that had a human line since ``since``: not free for off-screen life."""
        rows = await self._reader.fetch_all(
            "SELECT DISTINCT sm.character_id FROM scene_members sm JOIN scenes s ON s.id = sm.scene_id"
            " JOIN npc_state n ON n.guild_id = s.guild_id AND n.world_id = s.world_id AND n.character_id = sm.character_id"
            " WHERE s.guild_id = ? AND s.world_id = ? AND n.location = s.user_location"
            " AND EXISTS (SELECT 1 FROM messages m WHERE m.scene_id = s.id AND m.kind = 'user' AND m.created_at >= ?)",
            (guild_id, world_id, since),
        )
        return {r[0] for r in rows}

    async def witnessed_events(
        self, guild_id: str, world_id: str, character_id: str, *, kinds: Iterable[str], limit: int = 8
    ) -> list[dict[str, Any]]:
        """The latest events of these kinds (of ``WITNESSED_KINDS``) that a character witnessed, oldest first."""
        return await self.witnessed_events_query(guild_id, world_id, character_id, kinds=kinds, limit=limit).run(self._reader)

    def witnessed_events_query(
        self, guild_id: str, world_id: str, character_id: str, *, kinds: Iterable[str], limit: int = 8
    ) -> Query[list[dict[str, Any]]]:
        """``witnessed_events`` as a query, to read together with others (``bot.store.query``)."""
        kinds = tuple(kinds)
        if not set(kinds) <= WITNESSED_KINDS:
            raise ValueError(f"witnesses are only kept for {sorted(WITNESSED_KINDS)}")
        marks = ",".join("?" for _ in kinds)
        return Query(
            f"SELECT e.id, e.kind, e.subject, e.payload, e.created_at FROM event_witnesses w JOIN events e ON e.id = w.event_id"
            f" WHERE w.guild_id = ? AND w.world_id = ? AND w.character_id = ? AND w.kind IN ({marks})"
            " ORDER BY w.event_id DESC LIMIT ?",
            (guild_id, world_id, character_id, *kinds, limit),
            _witnessed,
        )

    async def latest_events(self, scene_id: int, kind: str, limit: int = 1) -> list[dict[str, Any]]:
        """The newest events of a kind in a scene, oldest of them first."""
        rows = await self._reader.fetch_all(
            "SELECT id, payload, created_at FROM events WHERE scene_id = ? AND kind = ? ORDER BY id DESC LIMIT ?",
            (scene_id, kind, limit),
        )
        return [{"id": r[0], "payload": json.loads(r[1]), "created_at": r[2]} for r in reversed(rows)]

    async def scene_turns_since_event(self, scene_id: int, kinds: Iterable[str], *, cap: int = 100) -> int:
        """Turns of a scene since the last event of these kinds (all turns if none), counted up to ``cap``:
        a scene quiet for years costs no more than one quiet for ``cap`` turns."""
        return await self.scene_turns_since_event_query(scene_id, kinds, cap=cap).run(self._reader)

    def scene_turns_since_event_query(self, scene_id: int, kinds: Iterable[str], *, cap: int = 100) -> Query[int]:
        kinds = tuple(kinds)
        marks = ",".join("?" for _ in kinds)
        return Query(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM turns WHERE scene_id = ? AND id > COALESCE((SELECT MAX(turn_id) FROM events"
            f" WHERE scene_id = ? AND kind IN ({marks}) AND turn_id IS NOT NULL), 0) LIMIT ?) AS recent",
            (scene_id, scene_id, *kinds, cap),
            _count,
        )

    async def hooks_used(self, guild_id: str, world_id: str) -> list[str]:
        rows = await self._reader.fetch_all(
            "SELECT payload FROM events WHERE guild_id = ? AND world_id = ? AND kind = 'hook'", (guild_id, world_id)
        )
        return [str(json.loads(r[0]).get("text", "")) for r in rows]
