"""Turns and the lines in them: beginning a turn, committing or recording what it produced, reading lines.

Why a module of its own: a turn is the unit the store keeps whole. ``begin_turn`` stores the inbound line
in its own transaction *before* any model is called, and is idempotent on the platform message id (a
message delivered twice is processed once); ``commit_turn`` writes everything the turn produced in one
fenced transaction, so a crash leaves either the whole turn or none of it. The statements only a commit
makes are here (messages, outbox rows, members joining and leaving, usage, quality counters, the turn's
status); what other writers share is asked of its repository inside the same transaction: the world's
changes (``WorldState``), facts (``History``), an NPC line's first alternative (``Alternatives``) and the
memory index.

Part of ``Store`` (``store.turns``): reads on the store's reader, writes in its transactions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.store.database import Database, OpenGuildTransaction, OpenTransaction, Row
from bot.store.history import History
from bot.store.memory_index import MemoryIndex
from bot.store.query import Query
from bot.store.records import MessageRow, NewMessage, SceneRow, TurnCommit
from bot.store.swipes import Alternatives
from bot.store.world_state import WorldState

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


def _story_order(rows: list[Row]) -> list[MessageRow]:
    return [message_row(r) for r in reversed(rows)]


def _first_message(rows: list[Row]) -> MessageRow | None:
    return message_row(rows[0]) if rows else None


def _last_spoke(rows: list[Row]) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in rows if r[1] is not None}


def message_row(row: Any) -> MessageRow:
    """A ``MessageRow`` from a row of ``MESSAGE_COLUMNS``."""
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


class Turns:
    """Reads and writes of ``turns`` and ``messages``, and everything a turn's commit writes."""

    def __init__(
        self,
        *,
        reader: Database,
        now: Callable[[], str],
        transaction: OpenTransaction,
        guild_transaction: OpenGuildTransaction,
        memory: MemoryIndex,
        world: WorldState,
        history: History,
        alternatives: Alternatives,
    ) -> None:
        self._reader = reader
        self._now = now
        self._transaction = transaction
        self._guild_transaction = guild_transaction
        self._memory = memory
        self._world = world
        self._history = history
        self._alternatives = alternatives

    # -- beginning, committing and recording turns -----------------------------------------------

    async def begin_turn(self, scene_id: int, inbound: NewMessage) -> TurnStart:
        """Store the inbound line in a new open turn, before anything can fail.

        Idempotent: if a message with the same platform id exists, return its turn with
        ``is_new=False`` and write nothing.
        """
        if inbound.platform_message_id is not None:
            existing = await self.message_by_platform_id(scene_id, inbound.platform_message_id)
            if existing is not None:
                seq = await self._reader.fetch_one("SELECT seq FROM turns WHERE id = ?", (existing.turn_id,))
                return TurnStart(existing.turn_id, int(seq[0]), existing.id, False)
        async with self._transaction() as conn:
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
            self._settle(conn, scene_id)
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
        self._memory.add_line(
            conn, scene_id, message_id, kind=msg.kind, speaker=msg.speaker, text=msg.text,
            hearers=(*msg.heard_by, *((msg.character_id,) if msg.character_id else ())),
        )
        self._history.insert_facts(conn, scene_id, turn_id, message_id, msg.facts)
        if msg.kind == "npc":
            self._alternatives.add_first(conn, message_id, msg)
        return message_id

    def _settle(self, conn: Database, scene_id: int) -> None:
        """The story moved on: the alternative on screen becomes canonical and is marked kept (deferred)."""
        conn.defer(
            "UPDATE swipes SET kept = 1 WHERE id IN (SELECT s.id FROM swipes s JOIN messages m"
            " ON m.id = s.message_id WHERE m.scene_id = ? AND m.settled = 0 AND s.idx = m.active_swipe)",
            (scene_id,),
        )
        conn.defer(
            "UPDATE messages SET settled = 1 WHERE scene_id = ? AND settled = 0", (scene_id,)
        )

    async def commit_turn(self, scene: SceneRow, turn_id: int, commit: TurnCommit) -> list[int]:
        """Write everything a turn produced in one transaction; return the new message ids in order."""
        async with self._guild_transaction(scene.guild_id) as conn:
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
        await self._world.write_world_changes(
            conn, scene.guild_id, scene.world_id, scene.id, turn_id, commit.events, commit.npc_states, commit.settle, now, ids
        )
        if commit.post:
            for message_id, msg in zip(ids, commit.messages, strict=True):
                if msg.kind in ("npc", "narration"):
                    conn.defer(
                        "INSERT INTO outbox (scene_id, message_id, guild_id, channel_id, created_at) VALUES (?, ?, ?, ?, ?)",
                        (scene.id, message_id, scene.guild_id, scene.channel_id, now),
                    )
        for member in commit.join:
            # Joined at the time of the event that records it, so a rewind can restore it exactly.
            conn.defer(
                "INSERT INTO scene_members (scene_id, character_id, joined_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (scene.id, member, now),
            )
        for member in commit.leave:
            conn.defer("DELETE FROM scene_members WHERE scene_id = ? AND character_id = ?", (scene.id, member))
        for usage in commit.usage:
            conn.defer(
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
                    conn.defer(
                        "INSERT INTO quality_counts (guild_id, detector, counter, n) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (guild_id, detector, counter) DO UPDATE SET n = quality_counts.n + excluded.n",
                        (scene.guild_id, detector, counter, n),
                    )
        if commit.user_location is not None:
            conn.defer("UPDATE scenes SET user_location = ? WHERE id = ?", (commit.user_location, scene.id))
        # Everything above from the messages on that needs no answer is deferred (``Database.defer``): it
        # runs with the commit, in one hand-off on SQLite.
        conn.defer(
            "UPDATE turns SET status = ?, completed_at = ? WHERE id = ?",
            (commit.status, self._now(), turn_id),
        )
        return ids

    async def record_turn(self, scene: SceneRow, commit: TurnCommit) -> tuple[int, list[int]]:
        """A turn with no inbound line (a command's narration): created and written in one transaction."""
        async with self._guild_transaction(scene.guild_id) as conn:
            turn_id = await self._new_turn(conn, scene.id)
            ids = await self._write_commit(conn, scene, turn_id, commit)
        return turn_id, ids

    async def record_turns(self, scene: SceneRow, commits: Iterable[TurnCommit]) -> int:
        """Many turns with no inbound line in one transaction (a transcript imported, a benchmark's history):
        each written exactly as ``record_turn`` writes one. Returns how many."""
        count = 0
        async with self._guild_transaction(scene.guild_id) as conn:
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
        async with self._transaction() as conn:
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

    # -- reading turns and lines -----------------------------------------------------------------

    async def turn_status(self, turn_id: int) -> str | None:
        row = await self._reader.fetch_one("SELECT status FROM turns WHERE id = ?", (turn_id,))
        return row[0] if row else None

    async def turn_counts(self, scene_id: int) -> dict[str, int]:
        rows = await self._reader.fetch_all(
            "SELECT status, COUNT(*) FROM turns WHERE scene_id = ? GROUP BY status", (scene_id,)
        )
        return {r[0]: int(r[1]) for r in rows}

    async def message(self, scene_id: int, message_id: int) -> MessageRow | None:
        row = await self._reader.fetch_one(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ? AND id = ?", (scene_id, message_id)
        )
        return message_row(row) if row else None

    async def message_by_platform_id(self, scene_id: int, platform_message_id: str) -> MessageRow | None:
        row = await self._reader.fetch_one(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ? AND platform_message_id = ?",
            (scene_id, platform_message_id),
        )
        return message_row(row) if row else None

    async def set_platform_message_id(self, scene_id: int, message_id: int, platform_message_id: str) -> None:
        """Attach the id a platform gave a message after it was posted (e.g. a webhook message)."""
        async with self._transaction() as conn:
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
        return await self.recent_messages_query(scene_id, limit, before_id=before_id).run(self._reader)

    def recent_messages_query(self, scene_id: int, limit: int, *, before_id: int | None = None) -> Query[list[MessageRow]]:
        """``recent_messages`` as a query, to read together with others (``bot.store.query``)."""
        sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ?"
        params: list[Any] = [scene_id]
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return Query(sql, tuple(params), _story_order)

    async def transcript(self, scene_id: int) -> list[MessageRow]:
        rows = await self._reader.fetch_all(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ? ORDER BY id", (scene_id,)
        )
        return [message_row(r) for r in rows]

    async def last_npc_message(self, scene_id: int) -> MessageRow | None:
        return await self.last_npc_message_query(scene_id).run(self._reader)

    def last_npc_message_query(self, scene_id: int) -> Query[MessageRow | None]:
        return Query(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ? AND kind = 'npc' ORDER BY id DESC LIMIT 1",
            (scene_id,),
            _first_message,
        )

    async def last_spoke(self, scene_id: int) -> dict[str, int]:
        """For each member of the scene, the id of its latest message here (for fairness).

        One index probe per member (``messages_speaker``), not a scan of every NPC line of the scene:
        the cost stays flat however long the scene runs.
        """
        return await self.last_spoke_query(scene_id).run(self._reader)

    def last_spoke_query(self, scene_id: int) -> Query[dict[str, int]]:
        return Query(
            "SELECT sm.character_id, (SELECT MAX(m.id) FROM messages m WHERE m.scene_id = sm.scene_id"
            " AND m.kind = 'npc' AND m.character_id = sm.character_id) FROM scene_members sm WHERE sm.scene_id = ?",
            (scene_id,),
            _last_spoke,
        )
