"""What each character heard and knows: the lines it heard, its facts, summaries and model-written notes.

Why a module of its own: these are the rows a character's memory is built from on every reply (the lines
it heard or said, the facts it knows, its latest summary), each read filtered by (scene, character) in the
database; and the writes of the memory work off the hot path (summaries, notes and vectors handed to the
memory index, the catch-up of lines an older version never indexed). Facts are written here for every
writer that states them: a turn's lines, a chosen alternative, a player's edited line.

Part of ``Store`` (``store.history``): reads on the store's reader, writes in its ``transaction()`` or,
for facts, in the caller's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from bot.store.database import Database, OpenTransaction, Row, json_has
from bot.store.memory_index import MemoryIndex, MemoryItem
from bot.store.query import Query
from bot.store.records import FactRecord, HeardLine

_LATEST_SUMMARY = "SELECT text, upto_message FROM summaries WHERE scene_id = ? AND character_id = ? ORDER BY id DESC LIMIT 1"


def _heard(rows: list[Row]) -> list[tuple[HeardLine, int]]:
    # Unpacked, not indexed: up to 400 rows a reply, and a row's indexing is its slowest part.
    return [(HeardLine(i, kind, author, speaker, character, text), seq) for i, kind, author, speaker, character, text, seq in reversed(rows)]


def _summary(rows: list[Row]) -> tuple[str, int] | None:
    return (rows[0][0], int(rows[0][1])) if rows else None


class History:
    """Reads of ``messages`` and ``facts`` per character; writes of ``facts``, ``summaries`` and, through the
    memory index, notes and vectors."""

    def __init__(
        self, *, reader: Database, now: Callable[[], str], transaction: OpenTransaction, memory: MemoryIndex
    ) -> None:
        self._reader = reader
        self._now = now
        self._transaction = transaction
        self._memory = memory

    # -- what a character heard and knows --------------------------------------------------------

    async def heard_lines(
        self, scene_id: int, character_id: str, *, limit: int, before_id: int | None = None
    ) -> list[tuple[HeardLine, int]]:
        """The last lines a character heard or said in a scene (no OOC, none that could not be posted),
        with their turn numbers."""
        return await self.heard_lines_query(scene_id, character_id, limit=limit, before_id=before_id).run(self._reader)

    def heard_lines_query(
        self, scene_id: int, character_id: str, *, limit: int, before_id: int | None = None
    ) -> Query[list[tuple[HeardLine, int]]]:
        """``heard_lines`` as a query, to read together with others (``bot.store.query``)."""
        sql = (
            "SELECT m.id, m.kind, m.author_id, m.speaker, m.character_id, m.text, t.seq FROM messages m"
            " JOIN turns t ON t.id = m.turn_id WHERE m.scene_id = ? AND m.kind != 'ooc' AND m.undelivered = 0"
            f" AND (m.character_id = ? OR {json_has(self._reader.dialect, 'm.heard_by')})"
        )
        params: list[Any] = [scene_id, character_id, character_id]
        if before_id is not None:
            sql += " AND m.id < ?"
            params.append(before_id)
        sql += " ORDER BY m.id DESC LIMIT ?"
        params.append(limit)
        return Query(sql, tuple(params), _heard)

    async def known_facts(self, scene_id: int, character_id: str) -> list[tuple[int, str, str, int, int]]:
        """Facts of a scene a character knows: (id, kind, text, importance, turn seq), oldest first."""
        rows = await self._reader.fetch_all(
            "SELECT f.id, f.kind, f.text, f.importance, t.seq FROM facts f JOIN turns t ON t.id = f.turn_id"
            f" WHERE f.scene_id = ? AND {json_has(self._reader.dialect, 'f.known_by')}"
            " ORDER BY f.id",
            (scene_id, character_id),
        )
        return [(int(r[0]), r[1], r[2], int(r[3]), int(r[4])) for r in rows]

    def insert_facts(
        self, conn: Database, scene_id: int, turn_id: int, message_id: int, facts: Iterable[FactRecord]
    ) -> None:
        """Inside the caller's transaction (deferred): the facts a message states, each known by its ``known_by``."""
        for fact in facts:
            conn.defer(
                "INSERT INTO facts (scene_id, turn_id, message_id, kind, text, importance, known_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (scene_id, turn_id, message_id, fact.kind, fact.text, fact.importance,
                 json.dumps(sorted(set(fact.known_by)), ensure_ascii=False), self._now()),
            )

    # -- summaries -------------------------------------------------------------------------------

    async def latest_summary(self, scene_id: int, character_id: str) -> tuple[str, int] | None:
        return await self.latest_summary_query(scene_id, character_id).run(self._reader)

    def latest_summary_query(self, scene_id: int, character_id: str) -> Query[tuple[str, int] | None]:
        """A character's latest summary (text, the message it runs up to), or None."""
        return Query(_LATEST_SUMMARY, (scene_id, character_id), _summary)

    def notes_at_summary_query(self, scene_id: int, character_id: str, *, limit: int) -> Query[list[MemoryItem]]:
        """The character's newest notes written from lines its latest summary covers (none before its first
        summary): the notes that go with ``latest_summary``, in the same read."""
        bound = f"COALESCE(({_LATEST_SUMMARY.replace('SELECT text, upto_message', 'SELECT upto_message')}), 0)"
        return self._memory.notes_query(scene_id, character_id, limit=limit, upto=(bound, (scene_id, character_id)))

    async def summarised_upto(self, scene_id: int) -> int:
        row = await self._reader.fetch_one(
            "SELECT COALESCE(MAX(upto_message), 0) FROM summaries WHERE scene_id = ?", (scene_id,)
        )
        return int(row[0])

    async def turns_after_message(self, scene_id: int, message_id: int) -> int:
        """Turns of a scene after the turn of a message (all turns when the id is 0)."""
        row = await self._reader.fetch_one(
            "SELECT COUNT(*) FROM turns WHERE scene_id = ? AND id > COALESCE((SELECT turn_id FROM messages WHERE id = ?), 0)",
            (scene_id, message_id),
        )
        return int(row[0])

    async def add_summaries(self, scene_id: int, upto_message: int, texts: dict[str, str]) -> None:
        async with self._transaction() as conn:
            for character_id, text in texts.items():
                await conn.execute(
                    "INSERT INTO summaries (scene_id, character_id, upto_message, text, created_at) VALUES (?, ?, ?, ?, ?)",
                    (scene_id, character_id, upto_message, text, self._now()),
                )

    # -- notes and vectors, handed to the memory index -------------------------------------------

    async def add_notes(self, scene_id: int, character_id: str, upto_message: int, texts: Iterable[str]) -> list[int]:
        """Model-written facts one character knows (deduplicated); the ids of those that were new."""
        async with self._transaction() as conn:
            return await self._memory.add_notes(conn, scene_id, character_id, upto_message, texts, self._now())

    async def store_vectors(self, model: str, vectors: list[tuple[int, Any]]) -> None:
        """Embeddings of lines or notes (item ids as in ``bot.store.memory_index``)."""
        async with self._transaction() as conn:
            await self._memory.store_vectors(conn, model, vectors)

    async def index_backlog(self, batch: int = 500) -> int:
        """Index lines written before the memory index existed (a database from an older version)."""
        done = 0
        while rows := await self._memory.unindexed_lines(limit=batch):
            async with self._transaction() as conn:
                for message_id, scene_id, kind, speaker, text, character_id, heard_by in rows:
                    hearers = [*json.loads(heard_by), *([character_id] if character_id else [])]
                    self._memory.add_line(conn, scene_id, message_id, kind=kind, speaker=speaker, text=text, hearers=hearers)
            done += len(rows)
        return done
