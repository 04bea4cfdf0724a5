"""The store: repositories for the engine over the SQL port, on SQLite (the default) or PostgreSQL.

``Store.open(DATABASE_PATH)`` is one aiosqlite connection with WAL and foreign keys;
``Store.open("postgresql://...")`` (``DATABASE_URL``) an asyncpg pool, the database several bot processes
share. The SQL is the same for both but for a few phrases written per dialect (reading a JSON list).

Contracts worth knowing:
- Writes happen inside ``transaction()``, which serialises this store's writers (one connection on
  SQLite, one pooled connection at a time on PostgreSQL), so two scenes committing at once never
  interleave their statements. Reads outside a transaction run beside it (on PostgreSQL, on other
  pooled connections); reads that must see a transaction's own writes use its handle.
- ``begin_turn`` stores the inbound line in its own transaction *before* any model is called, and is
  idempotent on the platform message id: a message delivered twice is processed once.
- ``commit_turn`` writes everything a turn produced in one transaction: a crash leaves either the
  whole turn or none of it.
- Every query that reaches scene data goes through a scene id obtained with the caller's guild id.
- With a ``fence`` (sharded processes), the transactions that commit a turn or a world's changes check
  inside themselves that this process still owns the server (``bot.store.fencing``); if not, they
  raise ``Fenced`` and write nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.core.ports import Clock, SystemClock
from bot.errors import EnsembleError, StoreError
from bot.store.database import Database, Dialect, Row, is_postgres_url, redacted
from bot.store.fencing import WriteFence
from bot.store.memory_index import MemoryIndex
from bot.store.migrate import DEFAULT_MIGRATIONS_DIR, POSTGRES_MIGRATIONS_DIR, migrate, migrate_database
from bot.store.records import (
    FactRecord,
    HeardLine,
    MessageRow,
    NewEvent,
    NewMessage,
    NpcStateRow,
    SceneRow,
    Settler,
    SwipeRow,
    TurnCommit,
)
from bot.store.sqlite_db import SqliteTransaction

# Schedule decisions (the scheduler's scores and reasons) only serve ``/why`` for the latest lines.
KEEP_SCHEDULES = 64
# Events a character can be asked about later ("what did you see while the players were away"): their
# witnesses get rows in ``event_witnesses``. Mood and relationship changes (every turn) do not: nothing
# looks them up by witness, and their rows would make every delete of a long scene slower.
WITNESSED_KINDS = frozenset({"offscreen", "offscreen_move", "move", "summon", "dismiss", "hook"})
# A checkpoint of a world's NPC states every this many events: a rewind replays at most about this many.
CHECKPOINT_EVERY = 256


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

MESSAGE_COLUMNS = (
    "id, scene_id, turn_id, position, kind, author_id, speaker, character_id, location, text, heard_by,"
    " reply_to_id, platform_message_id, active_swipe, settled, created_at"
)


@dataclass(frozen=True, slots=True)
class TurnStart:
    """What ``begin_turn`` did: the turn and the stored inbound message, and whether it was new."""

    turn_id: int
    turn_seq: int
    message_id: int
    is_new: bool


def _message(row: Any) -> MessageRow:
    return MessageRow(
        id=row[0],
        scene_id=row[1],
        turn_id=row[2],
        position=row[3],
        kind=row[4],
        author_id=row[5],
        speaker=row[6],
        character_id=row[7],
        location=row[8],
        text=row[9],
        heard_by=tuple(json.loads(row[10])),
        reply_to_id=row[11],
        platform_message_id=row[12],
        active_swipe=row[13],
        settled=bool(row[14]),
        created_at=row[15],
    )


def _event(r: Any) -> dict[str, Any]:
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


def _scene(row: Any) -> SceneRow:
    return SceneRow(
        id=row[0],
        guild_id=row[1],
        channel_id=row[2],
        world_id=row[3],
        user_location=row[4],
        enabled=bool(row[5]),
        paused=bool(row[6]),
    )


SCENE_COLUMNS = "id, guild_id, channel_id, world_id, user_location, enabled, paused"


class Store:
    """Repositories over one SQLite file or one PostgreSQL database."""

    def __init__(self, db: Database, clock: Clock, *, connection: aiosqlite.Connection | None = None) -> None:
        self._db = db
        self._sqlite = connection
        # Reads outside transactions: on SQLite straight on the one connection (as every statement is),
        # on PostgreSQL through the pool.
        self._reader: Database = SqliteTransaction(connection) if connection is not None else db
        self._clock = clock
        self._write_lock = asyncio.Lock()
        self.memory = MemoryIndex(self._reader)
        # Sharded processes: the lease check of every turn's commit (None: one process owns everything).
        self.fence: WriteFence | None = None

    @classmethod
    async def open(
        cls,
        target: str | Path,
        *,
        clock: Clock | None = None,
        migrations_dir: Path | None = None,
    ) -> Store:
        """Open and migrate the database ``target`` names: a ``postgresql://`` URL, or else a SQLite file
        (created, with its folders, as needed)."""
        if is_postgres_url(str(target)):
            store = await cls._open_postgres(str(target), clock or SystemClock(), migrations_dir or POSTGRES_MIGRATIONS_DIR)
        else:
            path = target
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(str(path), isolation_level=None)
            try:
                await conn.execute("PRAGMA journal_mode = WAL")
                await conn.execute("PRAGMA foreign_keys = ON")
                await conn.execute("PRAGMA busy_timeout = 5000")
                await conn.execute("PRAGMA synchronous = NORMAL")
                await migrate(conn, migrations_dir or DEFAULT_MIGRATIONS_DIR)
            except BaseException:
                await conn.close()
                raise
            from bot.store.sqlite_db import SqliteDatabase

            store = cls(SqliteDatabase.over(conn), clock or SystemClock(), connection=conn)
        await store.index_backlog()
        return store

    @classmethod
    async def _open_postgres(cls, url: str, clock: Clock, migrations_dir: Path) -> Store:
        from bot.store.postgres import PostgresDatabase

        db = await PostgresDatabase.connect(url)
        try:
            await migrate_database(db, migrations_dir)
        except EnsembleError:
            await db.close()
            raise
        except Exception as exc:  # asyncpg's own error (no right to create tables...): one sentence
            await db.close()
            raise StoreError(
                f"Cannot prepare the PostgreSQL database {redacted(url)} ({type(exc).__name__}: {exc}): "
                "check that DATABASE_URL's user may create tables there.",
                detail=repr(exc),
            ) from exc
        return cls(db, clock)

    async def close(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()
        else:
            await self._db.close()

    @property
    def dialect(self) -> Dialect:
        return self._db.dialect

    @property
    def database(self) -> Database:
        """The port this store runs on (for tools that copy or inspect a database)."""
        return self._db

    @property
    def connection(self) -> aiosqlite.Connection:
        """The raw SQLite connection, for migrations tests and diagnostics only."""
        if self._sqlite is None:
            raise AttributeError("a PostgreSQL store has no SQLite connection; use Store.database")
        return self._sqlite

    def _now(self) -> str:
        now: datetime = self._clock.now()
        return now.isoformat()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """One write transaction; serialised with every other writer of this store. Yields the handle
        its statements (and the reads that must see them) go through."""
        async with self._write_lock:
            if self._sqlite is None:
                async with self._db.transaction() as tx:
                    yield tx
                return
            conn = self._sqlite
            # BEGIN runs on aiosqlite's thread; if this task is cancelled while waiting for it, the
            # transaction still opens, so wait for it and roll it back instead of leaving it open.
            begin = asyncio.ensure_future(conn.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await begin
                    await conn.rollback()
                raise
            try:
                yield SqliteTransaction(conn)
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    @asynccontextmanager
    async def _fenced_transaction(self, guild_id: str) -> AsyncIterator[Database]:
        """``transaction()``, and with a fence, only while this process still owns ``guild_id``'s shard:
        checked inside the transaction, held until it has committed."""
        if self.fence is None:
            async with self.transaction() as tx:
                yield tx
            return
        async with self.fence.hold(guild_id) as check, self.transaction() as tx:
            await check(tx)
            yield tx

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """A read outside any transaction, for the repositories beside the store (outbox, usage, pacing...)."""
        return await self._reader.fetch_one(sql, tuple(params))

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await self._reader.fetch_all(sql, tuple(params))

    _fetchone = fetch_one
    _fetchall = fetch_all

    def json_has(self, column: str) -> str:
        """A condition: the JSON list in ``column`` holds the next ``?`` parameter (per dialect)."""
        if self.dialect == "postgresql":
            return f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({column}::jsonb) AS j(value) WHERE j.value = ?)"
        return f"EXISTS (SELECT 1 FROM json_each({column}) j WHERE j.value = ?)"

    # -- servers ---------------------------------------------------------------------------------

    async def server_world(self, guild_id: str) -> str | None:
        row = await self._fetchone("SELECT world_id FROM servers WHERE guild_id = ?", (guild_id,))
        return row[0] if row else None

    async def bind_server(self, guild_id: str, world_id: str) -> None:
        """Bind a server to a world (replacing an earlier binding)."""
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO servers (guild_id, world_id, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET world_id = excluded.world_id",
                (guild_id, world_id, self._now()),
            )

    async def reset_server(self, guild_id: str) -> None:
        """Forget every scene, NPC state and event of a server (its binding and imported characters stay)."""
        async with self.transaction() as conn:
            await conn.execute("DELETE FROM world_checkpoints WHERE guild_id = ?", (guild_id,))
            await conn.execute("DELETE FROM events WHERE guild_id = ?", (guild_id,))
            await conn.execute("DELETE FROM npc_state WHERE guild_id = ?", (guild_id,))
            await conn.execute("DELETE FROM scenes WHERE guild_id = ?", (guild_id,))

    async def worlds_with_state(self, guild_id: str) -> set[str]:
        """The worlds a server has NPC state in (a reset holds all their gates)."""
        rows = await self._fetchall("SELECT DISTINCT world_id FROM npc_state WHERE guild_id = ?", (guild_id,))
        return {r[0] for r in rows}

    # -- scenes ----------------------------------------------------------------------------------

    async def get_scene(self, guild_id: str, channel_id: str) -> SceneRow | None:
        row = await self._fetchone(
            f"SELECT {SCENE_COLUMNS} FROM scenes WHERE guild_id = ? AND channel_id = ?",
            (guild_id, channel_id),
        )
        return _scene(row) if row else None

    async def scene_by_id(self, scene_id: int) -> SceneRow | None:
        row = await self._fetchone(f"SELECT {SCENE_COLUMNS} FROM scenes WHERE id = ?", (scene_id,))
        return _scene(row) if row else None

    async def create_scene(
        self, guild_id: str, channel_id: str, world_id: str, user_location: str
    ) -> SceneRow:
        """Create the scene of a channel, or return the existing one unchanged."""
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO scenes (guild_id, channel_id, world_id, user_location, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, channel_id) DO NOTHING",
                (guild_id, channel_id, world_id, user_location, self._now()),
            )
        scene = await self.get_scene(guild_id, channel_id)
        assert scene is not None
        return scene

    async def list_scenes(self, guild_id: str) -> list[SceneRow]:
        rows = await self._fetchall(
            f"SELECT {SCENE_COLUMNS} FROM scenes WHERE guild_id = ? ORDER BY id", (guild_id,)
        )
        return [_scene(r) for r in rows]

    async def update_scene(
        self,
        scene_id: int,
        *,
        user_location: str | None = None,
        enabled: bool | None = None,
        paused: bool | None = None,
    ) -> None:
        sets: list[str] = []
        params: list[Any] = []
        for column, value in (("user_location", user_location), ("enabled", enabled), ("paused", paused)):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(int(value) if isinstance(value, bool) else value)
        if not sets:
            return
        async with self.transaction() as conn:
            await conn.execute(f"UPDATE scenes SET {', '.join(sets)} WHERE id = ?", (*params, scene_id))

    # -- cast and NPC state ----------------------------------------------------------------------

    async def members(self, scene_id: int) -> list[str]:
        rows = await self._fetchall(
            "SELECT character_id FROM scene_members WHERE scene_id = ? ORDER BY joined_at, character_id",
            (scene_id,),
        )
        return [r[0] for r in rows]

    async def add_member(self, scene_id: int, character_id: str) -> bool:
        """Add a character to a scene; False when it was already there."""
        async with self.transaction() as conn:
            added = await conn.execute(
                "INSERT INTO scene_members (scene_id, character_id, joined_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (scene_id, character_id, self._now()),
            )
            return added > 0

    async def npc_states(self, guild_id: str, world_id: str, *, reader: Database | None = None) -> dict[str, NpcStateRow]:
        """A world's NPC states on a server (``reader``: a transaction's handle, to see its own writes)."""
        rows = await (reader or self._reader).fetch_all(
            "SELECT character_id, location, mood_label, mood_intensity, goals, relationships"
            " FROM npc_state WHERE guild_id = ? AND world_id = ?",
            (guild_id, world_id),
        )
        return {
            r[0]: NpcStateRow(r[0], r[1], r[2], float(r[3]), tuple(json.loads(r[4])), json.loads(r[5]))
            for r in rows
        }

    async def seed_npc_states(self, guild_id: str, world_id: str, states: Iterable[NpcStateRow]) -> None:
        """Insert starting state for NPCs that have none yet (existing state is never overwritten)."""
        async with self.transaction() as conn:
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

    async def _upsert_npc(
        self, conn: Database, guild_id: str, world_id: str, state: NpcStateRow
    ) -> None:
        await conn.execute(
            "INSERT INTO npc_state (guild_id, world_id, character_id, location, mood_label, mood_intensity,"
            " goals, relationships, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (guild_id, world_id, character_id) DO UPDATE SET location = excluded.location,"
            " mood_label = excluded.mood_label, mood_intensity = excluded.mood_intensity,"
            " goals = excluded.goals, relationships = excluded.relationships, updated_at = excluded.updated_at",
            self._npc_params(guild_id, world_id, state),
        )

    async def save_npc_states(self, guild_id: str, world_id: str, states: Iterable[NpcStateRow]) -> None:
        async with self.transaction() as conn:
            for state in states:
                await self._upsert_npc(conn, guild_id, world_id, state)

    # -- turns and messages ----------------------------------------------------------------------

    async def begin_turn(self, scene_id: int, inbound: NewMessage) -> TurnStart:
        """Store the inbound line in a new open turn, before anything can fail.

        Idempotent: if a message with the same platform id exists, return its turn with
        ``is_new=False`` and write nothing.
        """
        if inbound.platform_message_id is not None:
            existing = await self.message_by_platform_id(scene_id, inbound.platform_message_id)
            if existing is not None:
                seq = await self._fetchone("SELECT seq FROM turns WHERE id = ?", (existing.turn_id,))
                return TurnStart(existing.turn_id, int(seq[0]), existing.id, False)
        async with self.transaction() as conn:
            row = await conn.fetch_one(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE scene_id = ?", (scene_id,)
            )
            assert row is not None
            seq = int(row[0])
            turn_id = int(await conn.fetch_value(
                "INSERT INTO turns (scene_id, seq, status, created_at) VALUES (?, ?, 'open', ?) RETURNING id",
                (scene_id, seq, self._now()),
            ))
            message_id = await self._insert_message(conn, scene_id, turn_id, 0, inbound)
            await self._settle(conn, scene_id)
        return TurnStart(turn_id, seq, message_id, True)

    async def _insert_message(
        self, conn: Database, scene_id: int, turn_id: int, position: int, msg: NewMessage
    ) -> int:
        message_id = await conn.fetch_value(
            "INSERT INTO messages (scene_id, turn_id, position, kind, author_id, speaker, character_id,"
            " location, text, heard_by, reply_to_id, platform_message_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                scene_id,
                turn_id,
                position,
                msg.kind,
                msg.author_id,
                msg.speaker,
                msg.character_id,
                msg.location,
                msg.text,
                json.dumps(list(msg.heard_by), ensure_ascii=False),
                msg.reply_to_id,
                msg.platform_message_id,
                self._now(),
            ),
        )
        message_id = int(message_id)
        await self.memory.add_line(
            conn, scene_id, message_id, kind=msg.kind, speaker=msg.speaker, text=msg.text,
            hearers=(*msg.heard_by, *((msg.character_id,) if msg.character_id else ())),
        )
        await self._insert_facts(conn, scene_id, turn_id, message_id, msg.facts)
        if msg.kind == "npc":
            await conn.execute(
                "INSERT INTO swipes (message_id, idx, text, effects, prompt, created_at) VALUES (?, 0, ?, ?, ?, ?)",
                (message_id, msg.text, effects_json(msg.effects, msg.facts), msg.prompt, self._now()),
            )
        return message_id

    async def _insert_facts(
        self, conn: Database, scene_id: int, turn_id: int, message_id: int, facts: Iterable[FactRecord]
    ) -> None:
        for fact in facts:
            await conn.execute(
                "INSERT INTO facts (scene_id, turn_id, message_id, kind, text, importance, known_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (scene_id, turn_id, message_id, fact.kind, fact.text, fact.importance,
                 json.dumps(sorted(set(fact.known_by)), ensure_ascii=False), self._now()),
            )

    async def _settle(self, conn: Database, scene_id: int) -> None:
        """The story moved on: the alternative on screen becomes canonical and is marked kept."""
        await conn.execute(
            "UPDATE swipes SET kept = 1 WHERE id IN (SELECT s.id FROM swipes s JOIN messages m"
            " ON m.id = s.message_id WHERE m.scene_id = ? AND m.settled = 0 AND s.idx = m.active_swipe)",
            (scene_id,),
        )
        await conn.execute(
            "UPDATE messages SET settled = 1 WHERE scene_id = ? AND settled = 0", (scene_id,)
        )

    async def commit_turn(self, scene: SceneRow, turn_id: int, commit: TurnCommit) -> list[int]:
        """Write everything a turn produced in one transaction; return the new message ids in order."""
        async with self._fenced_transaction(scene.guild_id) as conn:
            return await self._write_commit(conn, scene, turn_id, commit)

    async def _write_commit(
        self, conn: Database, scene: SceneRow, turn_id: int, commit: TurnCommit
    ) -> list[int]:
        row = await conn.fetch_one(
            "SELECT COALESCE(MAX(position), -1) + 1 FROM messages WHERE turn_id = ?", (turn_id,)
        )
        assert row is not None
        position = int(row[0])
        ids = []
        for msg in commit.messages:
            ids.append(await self._insert_message(conn, scene.id, turn_id, position, msg))
            position += 1
        now = self._now()
        await self._write_world_changes(
            conn, scene.guild_id, scene.world_id, scene.id, turn_id, commit.events, commit.npc_states, commit.settle, now, ids
        )
        if commit.post:
            for message_id, msg in zip(ids, commit.messages, strict=True):
                if msg.kind in ("npc", "narration"):
                    await conn.execute(
                        "INSERT INTO outbox (scene_id, message_id, guild_id, channel_id, created_at) VALUES (?, ?, ?, ?, ?)",
                        (scene.id, message_id, scene.guild_id, scene.channel_id, now),
                    )
        for member in commit.join:
            # Joined at the time of the event that records it, so a rewind can restore it exactly.
            await conn.execute(
                "INSERT INTO scene_members (scene_id, character_id, joined_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (scene.id, member, now),
            )
        for member in commit.leave:
            await conn.execute("DELETE FROM scene_members WHERE scene_id = ? AND character_id = ?", (scene.id, member))
        for usage in commit.usage:
            await conn.execute(
                "INSERT INTO model_usage (turn_id, purpose, model, prompt_tokens, completion_tokens,"
                " cached_tokens, latency_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    turn_id,
                    usage.purpose,
                    usage.model,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    usage.cached_tokens,
                    usage.latency_ms,
                    self._now(),
                ),
            )
        for detector, counters in commit.quality.items():
            for counter, n in counters.items():
                if n:
                    await conn.execute(
                        "INSERT INTO quality_counts (guild_id, detector, counter, n) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (guild_id, detector, counter) DO UPDATE SET n = quality_counts.n + excluded.n",
                        (scene.guild_id, detector, counter, n),
                    )
        if commit.user_location is not None:
            await conn.execute(
                "UPDATE scenes SET user_location = ? WHERE id = ?", (commit.user_location, scene.id)
            )
        await conn.execute(
            "UPDATE turns SET status = ?, completed_at = ? WHERE id = ?",
            (commit.status, self._now(), turn_id),
        )
        return ids

    async def _write_world_changes(
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
            await self._upsert_npc(conn, guild_id, world_id, state)
        if scene_id is not None and any(e.kind == "schedule" for e in events):
            await conn.execute(
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
            await conn.execute(
                "INSERT INTO event_witnesses (event_id, guild_id, world_id, character_id, kind) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (event_id, guild_id, world_id, witness, event.kind),
            )
        return event_id

    async def record_turn(self, scene: SceneRow, commit: TurnCommit) -> tuple[int, list[int]]:
        """A turn with no inbound line (a command's narration): created and written in one transaction."""
        async with self._fenced_transaction(scene.guild_id) as conn:
            turn_id = await self._new_turn(conn, scene.id)
            ids = await self._write_commit(conn, scene, turn_id, commit)
        return turn_id, ids

    async def record_turns(self, scene: SceneRow, commits: Iterable[TurnCommit]) -> int:
        """Many turns with no inbound line in one transaction (a transcript imported, a benchmark's history):
        each written exactly as ``record_turn`` writes one. Returns how many."""
        count = 0
        async with self._fenced_transaction(scene.guild_id) as conn:
            for commit in commits:
                await self._write_commit(conn, scene, await self._new_turn(conn, scene.id), commit)
                count += 1
        return count

    async def _new_turn(self, conn: Database, scene_id: int) -> int:
        """A new open turn at the end of the scene (inside the caller's transaction); its id."""
        return int(
            await conn.fetch_value(
                "INSERT INTO turns (scene_id, seq, status, created_at)"
                " VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE scene_id = ?), 'open', ?) RETURNING id",
                (scene_id, scene_id, self._now()),
            )
        )

    async def interrupt_all_open_turns(self) -> int:
        """At start-up: every turn still open was cut off by a stop; keep its line, mark it interrupted."""
        return await self.interrupt_open_turns(None)

    async def interrupt_open_turns(self, owns_guild: Callable[[str], bool] | None) -> int:
        """``interrupt_all_open_turns`` for the servers ``owns_guild`` accepts (all of them for ``None``).

        A sharded process starting next to others marks only its own servers' open turns: another
        process's open turn is a turn it is playing right now. Open turns are few (one per scene at most,
        reached through the partial index on open turns), so they are read and filtered here.
        """
        async with self.transaction() as conn:
            if owns_guild is None:
                return await conn.execute(
                    "UPDATE turns SET status = 'interrupted', completed_at = ? WHERE status = 'open'", (self._now(),)
                )
            rows = await conn.fetch_all(
                "SELECT t.id, s.guild_id FROM turns t JOIN scenes s ON s.id = t.scene_id WHERE t.status = 'open'"
            )
            ours = [int(r[0]) for r in rows if owns_guild(r[1])]
            for turn_id in ours:
                await conn.execute(
                    "UPDATE turns SET status = 'interrupted', completed_at = ? WHERE id = ? AND status = 'open'", (self._now(), turn_id)
                )
            return len(ours)

    async def turn_status(self, turn_id: int) -> str | None:
        row = await self._fetchone("SELECT status FROM turns WHERE id = ?", (turn_id,))
        return row[0] if row else None

    async def turn_counts(self, scene_id: int) -> dict[str, int]:
        rows = await self._fetchall(
            "SELECT status, COUNT(*) FROM turns WHERE scene_id = ? GROUP BY status", (scene_id,)
        )
        return {r[0]: int(r[1]) for r in rows}

    async def message(self, scene_id: int, message_id: int) -> MessageRow | None:
        row = await self._fetchone(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ? AND id = ?", (scene_id, message_id)
        )
        return _message(row) if row else None

    async def message_by_platform_id(self, scene_id: int, platform_message_id: str) -> MessageRow | None:
        row = await self._fetchone(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ? AND platform_message_id = ?",
            (scene_id, platform_message_id),
        )
        return _message(row) if row else None

    async def set_platform_message_id(self, scene_id: int, message_id: int, platform_message_id: str) -> None:
        """Attach the id a platform gave a message after it was posted (e.g. a webhook message)."""
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE messages SET platform_message_id = ? WHERE scene_id = ? AND id = ?",
                (platform_message_id, scene_id, message_id),
            )

    async def recent_messages(
        self, scene_id: int, limit: int, *, before_id: int | None = None
    ) -> list[MessageRow]:
        """The last ``limit`` messages of a scene in story order (optionally only those before an id).

        Lines of turns that failed or were interrupted are kept: the user did say them.
        """
        sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ?"
        params: list[Any] = [scene_id]
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        rows = await self._fetchall(sql, params)
        return [_message(r) for r in reversed(rows)]

    async def transcript(self, scene_id: int) -> list[MessageRow]:
        rows = await self._fetchall(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ? ORDER BY id", (scene_id,)
        )
        return [_message(r) for r in rows]

    async def last_npc_message(self, scene_id: int) -> MessageRow | None:
        row = await self._fetchone(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ? AND kind = 'npc' ORDER BY id DESC LIMIT 1",
            (scene_id,),
        )
        return _message(row) if row else None

    async def last_spoke(self, scene_id: int) -> dict[str, int]:
        """For each member of the scene, the id of its latest message here (for fairness).

        One index probe per member (``messages_speaker``), not a scan of every NPC line of the scene:
        the cost stays flat however long the scene runs.
        """
        rows = await self._fetchall(
            "SELECT sm.character_id, (SELECT MAX(m.id) FROM messages m WHERE m.scene_id = sm.scene_id"
            " AND m.kind = 'npc' AND m.character_id = sm.character_id) FROM scene_members sm WHERE sm.scene_id = ?",
            (scene_id,),
        )
        return {r[0]: int(r[1]) for r in rows if r[1] is not None}

    # -- swipes ----------------------------------------------------------------------------------

    async def swipes(self, message_id: int) -> list[SwipeRow]:
        rows = await self._fetchall(
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
        async with self.transaction() as conn:
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
                states = await self._replay_world(conn, scene.guild_id, scene.world_id, int(first), rebuild)
                await self._replace_npc_states(conn, scene.guild_id, scene.world_id, states)
            await self._write_world_changes(
                conn, scene.guild_id, scene.world_id, scene.id, turn_id, list(events), (),
                lambda fresh: settle(fresh, list(events)), self._now(), message_id=message_id,
            )
            await self._insert_facts(conn, scene.id, turn_id, message_id, facts)
            await conn.execute(
                "UPDATE messages SET active_swipe = ?, text = ? WHERE scene_id = ? AND id = ?", (idx, text, scene.id, message_id)
            )
            await self._reindex(conn, scene.id, message_id)
        assert idx is not None
        return SwipeRow(idx, text, False)

    async def _replay_world(
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

    async def _replace_npc_states(
        self, conn: Database, guild_id: str, world_id: str, states: dict[str, NpcStateRow]
    ) -> None:
        await conn.execute("DELETE FROM npc_state WHERE guild_id = ? AND world_id = ?", (guild_id, world_id))
        for state in states.values():
            await self._upsert_npc(conn, guild_id, world_id, state)

    async def _reindex(self, conn: Database, scene_id: int, message_id: int) -> None:
        row = await conn.fetch_one("SELECT speaker, text FROM messages WHERE scene_id = ? AND id = ?", (scene_id, message_id))
        if row is not None:
            await self.memory.replace_text(conn, message_id, row[0], row[1])

    # -- events and usage ------------------------------------------------------------------------

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
        return [_event(r) for r in rows]

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
        async with self._fenced_transaction(guild_id) as conn:
            return await self._write_world_changes(conn, guild_id, world_id, None, None, events, states, settle, self._now())

    async def active_worlds(self, since: str) -> list[tuple[str, str]]:
        """(guild, world) pairs whose scenes had a human line since ``since`` (ISO time)."""
        rows = await self._fetchall(
            "SELECT DISTINCT s.guild_id, s.world_id FROM scenes s JOIN messages m ON m.scene_id = s.id"
            " WHERE m.kind = 'user' AND m.created_at >= ? ORDER BY s.guild_id, s.world_id",
            (since,),
        )
        return [(r[0], r[1]) for r in rows]

    async def latest_active_scene(self, guild_id: str, world_id: str) -> SceneRow | None:
        """The enabled scene of a server's world with the most recent human line (for "Meanwhile...")."""
        row = await self._fetchone(
            f"SELECT {', '.join('s.' + c.strip() for c in SCENE_COLUMNS.split(','))} FROM scenes s"
            " JOIN messages m ON m.scene_id = s.id WHERE s.guild_id = ? AND s.world_id = ? AND s.enabled = 1"
            " AND s.paused = 0 AND m.kind = 'user' ORDER BY m.id DESC LIMIT 1",
            (guild_id, world_id),
        )
        return _scene(row) if row else None

    async def busy_npcs(self, guild_id: str, world_id: str, since: str) -> set[str]:
        """NPCs with the players in a scene that had a human line since ``since``: not free for off-screen life."""
        rows = await self._fetchall(
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
        kinds = tuple(kinds)
        if not set(kinds) <= WITNESSED_KINDS:
            raise ValueError(f"witnesses are only kept for {sorted(WITNESSED_KINDS)}")
        marks = ",".join("?" for _ in kinds)
        rows = await self._fetchall(
            f"SELECT e.id, e.kind, e.subject, e.payload, e.created_at FROM event_witnesses w JOIN events e ON e.id = w.event_id"
            f" WHERE w.guild_id = ? AND w.world_id = ? AND w.character_id = ? AND w.kind IN ({marks})"
            " ORDER BY w.event_id DESC LIMIT ?",
            (guild_id, world_id, character_id, *kinds, limit),
        )
        return [
            {"id": r[0], "kind": r[1], "subject": r[2], "payload": json.loads(r[3]), "created_at": r[4]}
            for r in reversed(rows)
        ]

    async def latest_events(self, scene_id: int, kind: str, limit: int = 1) -> list[dict[str, Any]]:
        """The newest events of a kind in a scene, oldest of them first."""
        rows = await self._fetchall(
            "SELECT id, payload, created_at FROM events WHERE scene_id = ? AND kind = ? ORDER BY id DESC LIMIT ?",
            (scene_id, kind, limit),
        )
        return [{"id": r[0], "payload": json.loads(r[1]), "created_at": r[2]} for r in reversed(rows)]

    async def scene_turns_since_event(self, scene_id: int, kinds: Iterable[str], *, cap: int = 100) -> int:
        """Turns of a scene since the last event of these kinds (all turns if none), counted up to ``cap``:
        a scene quiet for years costs no more than one quiet for ``cap`` turns."""
        kinds = tuple(kinds)
        marks = ",".join("?" for _ in kinds)
        row = await self._fetchone(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM turns WHERE scene_id = ? AND id > COALESCE((SELECT MAX(turn_id) FROM events"
            f" WHERE scene_id = ? AND kind IN ({marks}) AND turn_id IS NOT NULL), 0) LIMIT ?) AS recent",
            (scene_id, scene_id, *kinds, cap),
        )
        return int(row[0])

    async def hooks_used(self, guild_id: str, world_id: str) -> list[str]:
        rows = await self._fetchall(
            "SELECT payload FROM events WHERE guild_id = ? AND world_id = ? AND kind = 'hook'", (guild_id, world_id)
        )
        return [str(json.loads(r[0]).get("text", "")) for r in rows]

    # -- memory ----------------------------------------------------------------------------------

    async def heard_lines(
        self, scene_id: int, character_id: str, *, limit: int, before_id: int | None = None
    ) -> list[tuple[HeardLine, int]]:
        """The last lines a character heard or said in a scene (no OOC, none that could not be posted),
        with their turn numbers."""
        sql = (
            "SELECT m.id, m.kind, m.author_id, m.speaker, m.character_id, m.text, t.seq FROM messages m"
            " JOIN turns t ON t.id = m.turn_id WHERE m.scene_id = ? AND m.kind != 'ooc' AND m.undelivered = 0"
            f" AND (m.character_id = ? OR {self.json_has('m.heard_by')})"
        )
        params: list[Any] = [scene_id, character_id, character_id]
        if before_id is not None:
            sql += " AND m.id < ?"
            params.append(before_id)
        sql += " ORDER BY m.id DESC LIMIT ?"
        params.append(limit)
        rows = await self._fetchall(sql, params)
        return [(HeardLine(r[0], r[1], r[2], r[3], r[4], r[5]), r[6]) for r in reversed(rows)]

    async def known_facts(self, scene_id: int, character_id: str) -> list[tuple[int, str, str, int, int]]:
        """Facts of a scene a character knows: (id, kind, text, importance, turn seq), oldest first."""
        rows = await self._fetchall(
            "SELECT f.id, f.kind, f.text, f.importance, t.seq FROM facts f JOIN turns t ON t.id = f.turn_id"
            f" WHERE f.scene_id = ? AND {self.json_has('f.known_by')}"
            " ORDER BY f.id",
            (scene_id, character_id),
        )
        return [(int(r[0]), r[1], r[2], int(r[3]), int(r[4])) for r in rows]

    async def latest_summary(self, scene_id: int, character_id: str) -> tuple[str, int] | None:
        row = await self._fetchone(
            "SELECT text, upto_message FROM summaries WHERE scene_id = ? AND character_id = ? ORDER BY id DESC LIMIT 1",
            (scene_id, character_id),
        )
        return (row[0], int(row[1])) if row else None

    async def summarised_upto(self, scene_id: int) -> int:
        row = await self._fetchone("SELECT COALESCE(MAX(upto_message), 0) FROM summaries WHERE scene_id = ?", (scene_id,))
        return int(row[0])

    async def turns_after_message(self, scene_id: int, message_id: int) -> int:
        """Turns of a scene after the turn of a message (all turns when the id is 0)."""
        row = await self._fetchone(
            "SELECT COUNT(*) FROM turns WHERE scene_id = ? AND id > COALESCE((SELECT turn_id FROM messages WHERE id = ?), 0)",
            (scene_id, message_id),
        )
        return int(row[0])

    async def add_summaries(self, scene_id: int, upto_message: int, texts: dict[str, str]) -> None:
        async with self.transaction() as conn:
            for character_id, text in texts.items():
                await conn.execute(
                    "INSERT INTO summaries (scene_id, character_id, upto_message, text, created_at) VALUES (?, ?, ?, ?, ?)",
                    (scene_id, character_id, upto_message, text, self._now()),
                )

    async def add_notes(self, scene_id: int, character_id: str, upto_message: int, texts: Iterable[str]) -> list[int]:
        """Model-written facts one character knows (deduplicated); the ids of those that were new."""
        async with self.transaction() as conn:
            return await self.memory.add_notes(conn, scene_id, character_id, upto_message, texts, self._now())

    async def store_vectors(self, model: str, vectors: list[tuple[int, Any]]) -> None:
        """Embeddings of lines or notes (item ids as in ``bot.store.memory_index``)."""
        async with self.transaction() as conn:
            await self.memory.store_vectors(conn, model, vectors)

    async def index_backlog(self, batch: int = 500) -> int:
        """Index lines written before the memory index existed (a database from an older version)."""
        done = 0
        while rows := await self.memory.unindexed_lines(limit=batch):
            async with self.transaction() as conn:
                for message_id, scene_id, kind, speaker, text, character_id, heard_by in rows:
                    hearers = [*json.loads(heard_by), *([character_id] if character_id else [])]
                    await self.memory.add_line(conn, scene_id, message_id, kind=kind, speaker=speaker, text=text, hearers=hearers)
            done += len(rows)
        return done

    async def quality_counts(self, guild_id: str | None = None) -> dict[str, dict[str, int]]:
        sql = "SELECT detector, counter, SUM(n) FROM quality_counts"
        params: tuple[Any, ...] = ()
        if guild_id is not None:
            sql += " WHERE guild_id = ?"
            params = (guild_id,)
        rows = await self._fetchall(sql + " GROUP BY detector, counter ORDER BY detector, counter", params)
        result: dict[str, dict[str, int]] = {}
        for detector, counter, n in rows:
            result.setdefault(detector, {})[counter] = int(n)
        return result

    # -- rewind ----------------------------------------------------------------------------------

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
        async with self.transaction() as conn:
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
            await self.memory.forget_notes_after(conn, scene.id, last)
            scene_rows = await conn.fetch_all(
                "SELECT id, scene_id, turn_id, kind, subject, payload, witnesses, created_at FROM events"
                " WHERE scene_id = ? AND kind IN ('move', 'summon', 'dismiss') ORDER BY id",
                (scene.id,),
            )
            scene_events = [_event(r) for r in scene_rows]
            states: dict[str, NpcStateRow] | None = None
            if first_removed is not None:
                states = await self._replay_world(conn, scene.guild_id, scene.world_id, int(first_removed), replay_states)
                await self._replace_npc_states(conn, scene.guild_id, scene.world_id, states)
            user_location, members = replay_scene(scene_events)
            await conn.execute("UPDATE scenes SET user_location = ? WHERE id = ?", (user_location, scene.id))
            await conn.execute("DELETE FROM scene_members WHERE scene_id = ?", (scene.id,))
            for member, joined_at in members:
                await conn.execute(
                    "INSERT INTO scene_members (scene_id, character_id, joined_at) VALUES (?, ?, ?)",
                    (scene.id, member, joined_at),
                )
            return len(ids)

    async def save_guild_character(self, guild_id: str, world_id: str, character_id: str, data: str) -> None:
        """Store (or replace) a character one server imported into its cast of a world."""
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_characters (guild_id, world_id, character_id, data, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (guild_id, character_id) DO UPDATE SET world_id = excluded.world_id, data = excluded.data",
                (guild_id, world_id, character_id, data, self._now()),
            )

    async def guild_characters(self) -> list[tuple[str, str, str]]:
        rows = await self._fetchall("SELECT guild_id, world_id, data FROM guild_characters ORDER BY created_at, character_id")
        return [(r[0], r[1], r[2]) for r in rows]

    async def usage_totals(self) -> dict[str, int]:
        row = await self._fetchone(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
            " COALESCE(SUM(cached_tokens), 0) FROM model_usage"
        )
        return {
            "calls": int(row[0]),
            "prompt_tokens": int(row[1]),
            "completion_tokens": int(row[2]),
            "cached_tokens": int(row[3]),
        }
