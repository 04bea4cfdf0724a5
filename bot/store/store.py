"""The store: repositories for the engine over the SQL port, on SQLite (the default) or PostgreSQL.

``Store.open(DATABASE_PATH)`` is one aiosqlite connection with WAL and foreign keys;
``Store.open("postgresql://...")`` (``DATABASE_URL``) an asyncpg pool, the database several bot processes
share. The SQL is the same for both but for a few phrases written per dialect (reading a JSON list).

This module opens and closes the database, owns the transaction and fencing machinery, and composes the
repositories that hold the SQL, one topic each, all over the same reader and transactions:
``scenes`` (servers, scenes, members), ``world`` (NPC states, events, witnesses, checkpoints), ``turns``
(beginning and committing turns, messages), ``alternatives`` (swipes), ``history`` (what characters heard
and know: lines, facts, summaries, notes), ``rewinder``, ``imported_characters``, ``totals``, and
``memory`` (the memory index). ``Store`` keeps a one-line method for each of their public operations, the
interface the engine and the front ends use.

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
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.core.ports import Clock, SystemClock
from bot.errors import EnsembleError, StoreError
from bot.store.database import Database, Dialect, Row, is_postgres_url, json_has, redacted
from bot.store.fencing import WriteFence
from bot.store.history import History
from bot.store.imported_characters import ImportedCharacters
from bot.store.memory_index import MemoryIndex, MemoryItem
from bot.store.migrate import DEFAULT_MIGRATIONS_DIR, POSTGRES_MIGRATIONS_DIR, migrate, migrate_database
from bot.store.query import Query, read_together
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
from bot.store.rewind import Rewinder
from bot.store.scenes import Scenes
from bot.store.sqlite_db import SqliteTransaction
from bot.store.swipes import Alternatives
from bot.store.totals import Totals
from bot.store.turns import Turns, TurnStart
from bot.store.world_state import WorldState

__all__ = ["Store", "TurnStart"]


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
        # Sharded processes: the lease check of every turn's commit (None: one process owns everything).
        self.fence: WriteFence | None = None
        reader, now, transaction, fenced = self._reader, self.now, self.transaction, self._fenced_transaction
        serialised = self.guild_transaction
        self.memory = MemoryIndex(reader)
        self.scenes = Scenes(reader=reader, now=now, transaction=transaction, guild_transaction=serialised)
        self.world = WorldState(
            reader=reader, now=now, guild_transaction=fenced, world_transaction=serialised
        )
        self.history = History(reader=reader, now=now, transaction=transaction, memory=self.memory)
        self.alternatives = Alternatives(
            reader=reader, now=now, guild_transaction=serialised, memory=self.memory, world=self.world, history=self.history
        )
        self.turns = Turns(
            reader=reader, now=now, transaction=transaction, guild_transaction=fenced,
            memory=self.memory, world=self.world, history=self.history, alternatives=self.alternatives,
        )
        self.rewinder = Rewinder(guild_transaction=serialised, memory=self.memory, world=self.world)
        self.imported_characters = ImportedCharacters(reader=reader, now=now, transaction=transaction)
        self.totals = Totals(reader=reader)

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

    def now(self) -> str:
        """The store's clock as the ISO time rows are stamped with (``created_at``, ``updated_at``...)."""
        now: datetime = self._clock.now()
        return now.isoformat()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """One write transaction. Yields the handle its statements (and the reads that must see them) go
        through.

        On SQLite, serialised with every other writer of this store: one connection, one transaction at a
        time. On PostgreSQL each transaction has a pooled connection of its own and they run side by
        side, as another process's would: what must not interleave (one server's world) takes the
        server's advisory lock in ``guild_transaction``, and the engine's gate orders it in-process. With
        one writer at a time, a process's turns queued behind each other's round trips to the database
        (``bench processes``, 50 scenes: 69 -> 78 replies/s, overhead p50 783 -> 568 ms).
        """
        if self._sqlite is None:
            async with self._db.transaction() as tx:
                yield tx
            return
        async with self._write_lock:
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
                tx = SqliteTransaction(conn)
                yield tx
                await tx.commit()  # its deferred writes and COMMIT in one hand-off
            except BaseException:
                await conn.rollback()
                raise

    @asynccontextmanager
    async def guild_transaction(self, guild_id: str) -> AsyncIterator[Database]:
        """``transaction()`` for a change to a server's world, serialised with every other process's.

        In one process the engine's gate already serialises a world's changes. Several processes on one
        PostgreSQL database (unsharded, or a shard moving between processes) would not be: each holds the
        transaction-scoped advisory lock of the server first (``pg_advisory_xact_lock``, released by the
        commit or rollback), so two processes' turns, ticks, swipes, rewinds and resets of one server
        apply one after the other, each to the state the previous one left. One lock per server covers
        each of its worlds. On SQLite ``BEGIN IMMEDIATE`` already admits one writer per file.
        """
        async with self.transaction() as tx:
            if self.dialect == "postgresql":
                await tx.fetch_value("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (f"ensemble:guild:{guild_id}",))
            yield tx

    @asynccontextmanager
    async def _fenced_transaction(self, guild_id: str) -> AsyncIterator[Database]:
        """``guild_transaction()``, and with a fence, only while this process still owns ``guild_id``'s
        shard: checked inside the transaction, held until it has committed."""
        if self.fence is None:
            async with self.guild_transaction(guild_id) as tx:
                yield tx
            return
        async with self.fence.hold(guild_id) as check, self.guild_transaction(guild_id) as tx:
            await check(tx)
            yield tx

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """A read outside any transaction, for the repositories beside the store (outbox, usage, pacing...)."""
        return await self._reader.fetch_one(sql, tuple(params))

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await self._reader.fetch_all(sql, tuple(params))

    async def fetch_many(self, statements: Iterable[tuple[str, Iterable[Any]]]) -> list[list[Row]]:
        """Several reads outside any transaction in one round trip (``Database.fetch_many``)."""
        return await self._reader.fetch_many([(sql, tuple(params)) for sql, params in statements])

    async def read_together(self, *queries: Query[Any]) -> tuple[Any, ...]:
        """The repositories' queries (their ``..._query`` methods) outside any transaction, in one round trip."""
        return await read_together(self._reader, *queries)

    # The old names, for code written against them: use ``now``, ``fetch_one`` and ``fetch_all``.
    _now = now
    _fetchone = fetch_one
    _fetchall = fetch_all

    def json_has(self, column: str) -> str:
        """A condition: the JSON list in ``column`` holds the next ``?`` parameter (per dialect)."""
        return json_has(self.dialect, column)

    # -- the repositories' operations, one line each ---------------------------------------------
    # servers, scenes and members: ``bot.store.scenes``

    async def server_world(self, guild_id: str) -> str | None:
        return await self.scenes.server_world(guild_id)

    async def bind_server(self, guild_id: str, world_id: str) -> None:
        await self.scenes.bind_server(guild_id, world_id)

    async def reset_server(self, guild_id: str) -> None:
        await self.scenes.reset_server(guild_id)

    async def worlds_with_state(self, guild_id: str) -> set[str]:
        return await self.scenes.worlds_with_state(guild_id)

    async def get_scene(self, guild_id: str, channel_id: str) -> SceneRow | None:
        return await self.scenes.get_scene(guild_id, channel_id)

    async def scene_by_id(self, scene_id: int) -> SceneRow | None:
        return await self.scenes.scene_by_id(scene_id)

    async def create_scene(self, guild_id: str, channel_id: str, world_id: str, user_location: str) -> SceneRow:
        return await self.scenes.create_scene(guild_id, channel_id, world_id, user_location)

    async def list_scenes(self, guild_id: str) -> list[SceneRow]:
        return await self.scenes.list_scenes(guild_id)

    async def update_scene(
        self, scene_id: int, *, user_location: str | None = None, enabled: bool | None = None, paused: bool | None = None
    ) -> None:
        await self.scenes.update_scene(scene_id, user_location=user_location, enabled=enabled, paused=paused)

    async def active_worlds(self, since: str) -> list[tuple[str, str]]:
        return await self.scenes.active_worlds(since)

    async def latest_active_scene(self, guild_id: str, world_id: str) -> SceneRow | None:
        return await self.scenes.latest_active_scene(guild_id, world_id)

    async def members(self, scene_id: int) -> list[str]:
        return await self.scenes.members(scene_id)

    def members_query(self, scene_id: int) -> Query[list[str]]:
        return self.scenes.members_query(scene_id)

    async def add_member(self, scene_id: int, character_id: str) -> bool:
        return await self.scenes.add_member(scene_id, character_id)

    # NPC states, events, witnesses: ``bot.store.world_state``

    async def npc_states(self, guild_id: str, world_id: str, *, reader: Database | None = None) -> dict[str, NpcStateRow]:
        return await self.world.npc_states(guild_id, world_id, reader=reader)

    def npc_states_query(self, guild_id: str, world_id: str) -> Query[dict[str, NpcStateRow]]:
        return self.world.npc_states_query(guild_id, world_id)

    async def seed_npc_states(self, guild_id: str, world_id: str, states: Iterable[NpcStateRow]) -> None:
        await self.world.seed_npc_states(guild_id, world_id, states)

    async def save_npc_states(self, guild_id: str, world_id: str, states: Iterable[NpcStateRow]) -> None:
        await self.world.save_npc_states(guild_id, world_id, states)

    async def events(
        self, guild_id: str, world_id: str, *, since_id: int = 0, limit: int | None = 1000, reader: Database | None = None
    ) -> list[dict[str, Any]]:
        return await self.world.events(guild_id, world_id, since_id=since_id, limit=limit, reader=reader)

    async def commit_world_events(
        self,
        guild_id: str,
        world_id: str,
        events: Iterable[NewEvent] = (),
        states: Iterable[NpcStateRow] = (),
        *,
        settle: Settler | None = None,
    ) -> list[NewEvent]:
        return await self.world.commit_world_events(guild_id, world_id, events, states, settle=settle)

    async def busy_npcs(self, guild_id: str, world_id: str, since: str) -> set[str]:
        return await self.world.busy_npcs(guild_id, world_id, since)

    async def witnessed_events(
        self, guild_id: str, world_id: str, character_id: str, *, kinds: Iterable[str], limit: int = 8
    ) -> list[dict[str, Any]]:
        return await self.world.witnessed_events(guild_id, world_id, character_id, kinds=kinds, limit=limit)

    def witnessed_events_query(
        self, guild_id: str, world_id: str, character_id: str, *, kinds: Iterable[str], limit: int = 8
    ) -> Query[list[dict[str, Any]]]:
        return self.world.witnessed_events_query(guild_id, world_id, character_id, kinds=kinds, limit=limit)

    async def latest_events(self, scene_id: int, kind: str, limit: int = 1) -> list[dict[str, Any]]:
        return await self.world.latest_events(scene_id, kind, limit)

    async def scene_turns_since_event(self, scene_id: int, kinds: Iterable[str], *, cap: int = 100) -> int:
        return await self.world.scene_turns_since_event(scene_id, kinds, cap=cap)

    def scene_turns_since_event_query(self, scene_id: int, kinds: Iterable[str], *, cap: int = 100) -> Query[int]:
        return self.world.scene_turns_since_event_query(scene_id, kinds, cap=cap)

    async def hooks_used(self, guild_id: str, world_id: str) -> list[str]:
        return await self.world.hooks_used(guild_id, world_id)

    # turns and messages: ``bot.store.turns``

    async def begin_turn(self, scene_id: int, inbound: NewMessage) -> TurnStart:
        return await self.turns.begin_turn(scene_id, inbound)

    async def commit_turn(self, scene: SceneRow, turn_id: int, commit: TurnCommit) -> list[int]:
        return await self.turns.commit_turn(scene, turn_id, commit)

    async def record_turn(self, scene: SceneRow, commit: TurnCommit) -> tuple[int, list[int]]:
        return await self.turns.record_turn(scene, commit)

    async def record_turns(self, scene: SceneRow, commits: Iterable[TurnCommit]) -> int:
        return await self.turns.record_turns(scene, commits)

    async def interrupt_all_open_turns(self) -> int:
        return await self.turns.interrupt_all_open_turns()

    async def interrupt_open_turns(self, owns_guild: Callable[[str], bool] | None) -> int:
        return await self.turns.interrupt_open_turns(owns_guild)

    async def turn_status(self, turn_id: int) -> str | None:
        return await self.turns.turn_status(turn_id)

    async def turn_counts(self, scene_id: int) -> dict[str, int]:
        return await self.turns.turn_counts(scene_id)

    async def message(self, scene_id: int, message_id: int) -> MessageRow | None:
        return await self.turns.message(scene_id, message_id)

    async def message_by_platform_id(self, scene_id: int, platform_message_id: str) -> MessageRow | None:
        return await self.turns.message_by_platform_id(scene_id, platform_message_id)

    async def set_platform_message_id(self, scene_id: int, message_id: int, platform_message_id: str) -> None:
        await self.turns.set_platform_message_id(scene_id, message_id, platform_message_id)

    async def recent_messages(self, scene_id: int, limit: int, *, before_id: int | None = None) -> list[MessageRow]:
        return await self.turns.recent_messages(scene_id, limit, before_id=before_id)

    def recent_messages_query(self, scene_id: int, limit: int, *, before_id: int | None = None) -> Query[list[MessageRow]]:
        return self.turns.recent_messages_query(scene_id, limit, before_id=before_id)

    async def transcript(self, scene_id: int) -> list[MessageRow]:
        return await self.turns.transcript(scene_id)

    async def last_npc_message(self, scene_id: int) -> MessageRow | None:
        return await self.turns.last_npc_message(scene_id)

    def last_npc_message_query(self, scene_id: int) -> Query[MessageRow | None]:
        return self.turns.last_npc_message_query(scene_id)

    async def last_spoke(self, scene_id: int) -> dict[str, int]:
        return await self.turns.last_spoke(scene_id)

    def last_spoke_query(self, scene_id: int) -> Query[dict[str, int]]:
        return self.turns.last_spoke_query(scene_id)

    # alternatives of NPC lines: ``bot.store.swipes``

    async def swipes(self, message_id: int) -> list[SwipeRow]:
        return await self.alternatives.swipes(message_id)

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
        return await self.alternatives.choose_alternative(
            scene, message_id, idx, rebuild=rebuild, settle=settle, text=text, events=events, facts=facts, prompt=prompt
        )

    # what characters heard and know: ``bot.store.history``

    async def heard_lines(
        self, scene_id: int, character_id: str, *, limit: int, before_id: int | None = None
    ) -> list[tuple[HeardLine, int]]:
        return await self.history.heard_lines(scene_id, character_id, limit=limit, before_id=before_id)

    def heard_lines_query(
        self, scene_id: int, character_id: str, *, limit: int, before_id: int | None = None
    ) -> Query[list[tuple[HeardLine, int]]]:
        return self.history.heard_lines_query(scene_id, character_id, limit=limit, before_id=before_id)

    async def known_facts(self, scene_id: int, character_id: str) -> list[tuple[int, str, str, int, int]]:
        return await self.history.known_facts(scene_id, character_id)

    async def latest_summary(self, scene_id: int, character_id: str) -> tuple[str, int] | None:
        return await self.history.latest_summary(scene_id, character_id)

    def latest_summary_query(self, scene_id: int, character_id: str) -> Query[tuple[str, int] | None]:
        return self.history.latest_summary_query(scene_id, character_id)

    def notes_at_summary_query(self, scene_id: int, character_id: str, *, limit: int) -> Query[list[MemoryItem]]:
        return self.history.notes_at_summary_query(scene_id, character_id, limit=limit)

    async def summarised_upto(self, scene_id: int) -> int:
        return await self.history.summarised_upto(scene_id)

    async def turns_after_message(self, scene_id: int, message_id: int) -> int:
        return await self.history.turns_after_message(scene_id, message_id)

    async def add_summaries(self, scene_id: int, upto_message: int, texts: dict[str, str]) -> None:
        await self.history.add_summaries(scene_id, upto_message, texts)

    async def add_notes(self, scene_id: int, character_id: str, upto_message: int, texts: Iterable[str]) -> list[int]:
        return await self.history.add_notes(scene_id, character_id, upto_message, texts)

    async def store_vectors(self, model: str, vectors: list[tuple[int, Any]]) -> None:
        await self.history.store_vectors(model, vectors)

    async def index_backlog(self, batch: int = 500) -> int:
        return await self.history.index_backlog(batch)

    # rewind, imported characters, totals: ``bot.store.rewind``, ``imported_characters``, ``totals``

    async def rewind(self, scene: SceneRow, turns: int, replay_states: Any, replay_scene: Any) -> int:
        return await self.rewinder.rewind(scene, turns, replay_states, replay_scene)

    async def save_guild_character(self, guild_id: str, world_id: str, character_id: str, data: str) -> None:
        await self.imported_characters.save_guild_character(guild_id, world_id, character_id, data)

    async def guild_characters(self) -> list[tuple[str, str, str]]:
        return await self.imported_characters.guild_characters()

    async def quality_counts(self, guild_id: str | None = None) -> dict[str, dict[str, int]]:
        return await self.totals.quality_counts(guild_id)

    async def usage_totals(self) -> dict[str, int]:
        return await self.totals.usage_totals()
