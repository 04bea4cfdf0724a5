"""The memory index: who heard each line, full-text search and embeddings, through the SQL port.

Used by ``Store``: lines are indexed inside the transaction that commits them, so a line is searchable
by exactly its hearers from the moment it exists, and a rewound line leaves the index with it (SQL
triggers). Every read filters by (character, scene) in the database and ends in ``LIMIT``: the cost of a
lookup depends on how many lines match, never on how long the scene is.

Both dialects (``bot.store.database``): on SQLite the lexical part is FTS5 with BM25 (porter stemming); on
PostgreSQL a ``tsvector`` column with a GIN index in the 'english' configuration (Snowball stemming),
ranked by ``ts_rank`` with length normalisation. The two rankings are not the same numbers (BM25 weighs rare
words up, ``ts_rank`` has no inverse document frequency), only their order is used (reciprocal-rank
fusion), and both give lower-is-better scores here. The dense part is the same on both: the newest
``limit`` float32 vectors of what the character heard, read in one bounded range query.

Item ids: a line is its message id; a model-written note is minus its note id (one id space for the
full-text and vector tables, so fusion can mix both kinds without a second lookup).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.store.database import Database, Row
from bot.store.query import Query

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[^\W\d_](?:[^\W_]|['’-][^\W_])*", re.UNICODE)
# Words that carry no memory: matching them would only pull in chatter (and cost a long posting list).
STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just let me more most my myself
    no nor not now of off on once only or other our ours ourselves out over own same say said she should so
    some such than that the their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your yours yourself
    yourselves tell told know knew remember ever again also still yes oh well like one got get go went come
    came ok okay thing things something anything much many way really""".split()
)
CJK_STOP = frozenset("的了是我你他她它们在有不也都就还这那个吗呢吧啊么什怎")
MAX_QUERY_TERMS = 24
# Vectors upserted per statement (three parameters each, far below either engine's limit).
VECTOR_ROWS_PER_STATEMENT = 200


def cjk_bigrams(run: str) -> list[str]:
    """Overlapping character pairs of a CJK run (a single character stays as it is)."""
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_body(speaker: str, text: str) -> str:
    """What the full-text index stores for a line: speaker and text, CJK runs also as bigrams."""
    body = f"{speaker}: {text}"
    grams = [g for run in CJK_RUN.findall(body) for g in cjk_bigrams(run)]
    return body + ("\n" + " ".join(grams) if grams else "")


def query_terms(text: str) -> list[str]:
    """The content terms of a line, in order, for an FTS5 query: words without stop words, CJK bigrams."""
    seen: dict[str, None] = {}
    folded = unicodedata.normalize("NFKC", text)
    for run in CJK_RUN.findall(folded):
        for gram in cjk_bigrams(run):
            if not all(ch in CJK_STOP for ch in gram):
                seen.setdefault(gram, None)
    for word in WORD.findall(CJK_RUN.sub(" ", folded)):
        lowered = word.lower().replace("’", "'")
        if "'" in lowered:
            lowered = lowered.split("'")[0]
        if len(lowered) >= 3 and lowered not in STOP:
            seen.setdefault(lowered, None)
    return list(seen)[:MAX_QUERY_TERMS]


def scope_token(scene_id: int) -> str:
    """The token under which the index files a scene's items (migration 0012): searches intersect it."""
    return f"s{int(scene_id)}"


def match_expression(terms: Sequence[str], scene_id: int | None = None) -> str | None:
    """An FTS5 MATCH expression: any of the terms in the body (each quoted, so no term is read as syntax),
    within ``scene_id``'s items when given."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms if t]
    if not quoted:
        return None
    words = "body : ( " + " OR ".join(quoted) + " )"
    return words if scene_id is None else f'scope : "{scope_token(scene_id)}" AND {words}'


def tsquery_expression(terms: Sequence[str]) -> str | None:
    """A PostgreSQL ``to_tsquery`` expression: any of the terms, each a quoted lexeme (never syntax)."""
    quoted = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms if t]
    return " | ".join(quoted) if quoted else None


def scope_tsquery(scene_id: int) -> str:
    """The ``to_tsquery('simple', ...)`` that keeps a scene's items: its scope lexeme, weight A only."""
    return f"'{scope_token(scene_id)}':A"


def normalise_note(text: str) -> str:
    """The form under which two notes count as the same: case, spacing and punctuation folded."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", folded))


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Hit:
    """One lexical hit: the item and its score, lower is better (SQLite's BM25 as it reports it; minus
    PostgreSQL's ``ts_rank``)."""

    item_id: int
    score: float


@dataclass(frozen=True, slots=True)
class MemoryItem:
    """A remembered line or note, as retrieval shows it."""

    item_id: int
    turn_seq: int
    speaker: str
    text: str
    kind: str  # 'user', 'npc', 'narration' for lines; 'note' for notes


def _notes(rows: list[Row]) -> list[MemoryItem]:
    return [MemoryItem(-int(r[0]), 0, "", r[1], "note") for r in reversed(rows)]


# The retrieval queries, kept as constants so the query-plan tests check exactly what runs.
# bm25's weights: the body 1, the scope 0 (every hit of a search shares its scope).
LEXICAL_LINES_SQL = (
    "SELECT t.rowid, bm25(memory_text, 1.0, 0.0) AS score FROM memory_text t"
    " JOIN message_hearers h ON h.character_id = ? AND h.scene_id = ? AND h.message_id = t.rowid"
    " WHERE memory_text MATCH ? AND t.rowid > 0 AND t.rowid < ? ORDER BY score LIMIT ?"
)
LEXICAL_NOTES_SQL = (
    "SELECT t.rowid, bm25(memory_text, 1.0, 0.0) AS score FROM memory_text t"
    " JOIN memory_notes n ON n.id = -t.rowid"
    " WHERE memory_text MATCH ? AND t.rowid < 0 AND n.scene_id = ? AND n.character_id = ?"
    " ORDER BY score LIMIT ?"
)
VECTORS_SQL = (
    "SELECT h.message_id, v.vector, m.speaker, m.text FROM message_hearers h JOIN memory_vectors v ON v.item_id = h.message_id"
    " JOIN messages m ON m.id = h.message_id WHERE h.character_id = ? AND h.scene_id = ? AND h.message_id > ? AND v.model = ?"
    " ORDER BY h.message_id DESC LIMIT ?"
)
# PostgreSQL's lexical queries: the same filters, the tsvector's GIN index instead of FTS5. The index
# intersects the scene's scope lexeme with the words, and the rank counts the words only. Shaped for the
# generic plan asyncpg's prepared statements end up with: the tsqueries are built once in a materialised
# CTE (inline, PostgreSQL re-parsed them for every row it looked at), and the line-id bound is on the
# hearers' key (on memory_text's key the planner walked every line of the bot in id order: 15 ms with
# 3,000 lines, where the GIN path takes 0.2 ms).
PG_TEXT_SEARCH = "english"
_PG_QUERIES = (
    "WITH q AS MATERIALIZED (SELECT w.query, s.scope && w.query AS scoped"
    f" FROM (SELECT to_tsquery('{PG_TEXT_SEARCH}', ?) AS query) w, (SELECT to_tsquery('simple', ?) AS scope) s)"
)
LEXICAL_LINES_PG = (
    f"{_PG_QUERIES} SELECT t.rowid, -ts_rank(t.search, q.query, 1) AS score FROM q"
    " JOIN memory_text t ON t.search @@ q.scoped"
    " JOIN message_hearers h ON h.character_id = ? AND h.scene_id = ? AND h.message_id = t.rowid AND h.message_id < ?"
    " ORDER BY score LIMIT ?"
)
LEXICAL_NOTES_PG = (
    f"{_PG_QUERIES} SELECT t.rowid, -ts_rank(t.search, q.query, 1) AS score FROM q"
    " JOIN memory_text t ON t.search @@ q.scoped"
    " JOIN memory_notes n ON n.id = -t.rowid AND n.scene_id = ? AND n.character_id = ?"
    " ORDER BY score LIMIT ?"
)
NOTE_VECTORS_SQL = (
    "SELECT -n.id, v.vector, '', '' FROM memory_notes n JOIN memory_vectors v ON v.item_id = -n.id"
    " WHERE n.scene_id = ? AND n.character_id = ? AND n.id > ? AND v.model = ? ORDER BY n.id DESC LIMIT ?"
)


class MemoryIndex:
    """Reads and writes of the memory tables over the store's database (writes inside its transactions:
    each write method takes the open transaction's handle)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- writes (called inside a transaction) -----------------------------------------------------

    def add_line(
        self, tx: Database, scene_id: int, message_id: int, *, kind: str, speaker: str, text: str,
        hearers: Iterable[str],
    ) -> None:
        """Index a committed line for its hearers (OOC notes are not story and are not indexed), deferred
        in the caller's transaction (``Database.defer``)."""
        if kind == "ooc":
            return
        who = [h for h in sorted(set(hearers)) if h]
        if who:
            tx.defer(
                "INSERT INTO message_hearers (character_id, scene_id, message_id) VALUES "
                + ", ".join("(?, ?, ?)" for _ in who)
                + " ON CONFLICT DO NOTHING",
                [value for h in who for value in (h, scene_id, message_id)],
            )
        tx.defer(
            "INSERT INTO memory_text (rowid, body, scope) VALUES (?, ?, ?)",
            (message_id, index_body(speaker, text), scope_token(scene_id)),
        )

    async def replace_text(self, tx: Database, message_id: int, speaker: str, text: str) -> None:
        """A line's text changed (a swipe): re-index it, and drop its vector so the embedder redoes it."""
        await tx.execute("DELETE FROM memory_text WHERE rowid = ?", (message_id,))
        await tx.execute(
            "INSERT INTO memory_text (rowid, body, scope) SELECT id, ?, 's' || scene_id FROM messages WHERE id = ?",
            (index_body(speaker, text), message_id),
        )
        await tx.execute("DELETE FROM memory_vectors WHERE item_id = ?", (message_id,))

    async def forget_line(self, tx: Database, message_id: int) -> None:
        """A line nobody saw (its posting failed): out of every hearer's memory, words and vector alike."""
        await tx.execute("DELETE FROM message_hearers WHERE message_id = ?", (message_id,))
        await tx.execute("DELETE FROM memory_text WHERE rowid = ?", (message_id,))
        await tx.execute("DELETE FROM memory_vectors WHERE item_id = ?", (message_id,))

    async def add_notes(
        self, tx: Database, scene_id: int, character_id: str, upto_message: int, texts: Iterable[str], now: str
    ) -> list[int]:
        """Store a character's notes, skipping any it already has (same normalised text); new ids returned."""
        added = []
        for text in texts:
            norm = normalise_note(text)
            if not norm:
                continue
            note_id = await tx.fetch_value(
                "INSERT INTO memory_notes (scene_id, character_id, upto_message, text, norm, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scene_id, character_id, norm) DO NOTHING RETURNING id",
                (scene_id, character_id, upto_message, text, norm, now),
            )
            if note_id is not None:
                await tx.execute(
                    "INSERT INTO memory_text (rowid, body, scope) VALUES (?, ?, ?)",
                    (-int(note_id), index_body("", text), scope_token(scene_id)),
                )
                added.append(int(note_id))
        return added

    async def forget_notes_after(self, tx: Database, scene_id: int, last_message: int) -> None:
        """A rewind: notes drawn from lines that no longer exist go (the trigger clears their index rows)."""
        await tx.execute("DELETE FROM memory_notes WHERE scene_id = ? AND upto_message > ?", (scene_id, last_message))

    async def store_vectors(self, tx: Database, model: str, vectors: Sequence[tuple[int, np.ndarray]]) -> None:
        """Upsert embeddings (the last one given for an item wins), a few hundred rows per statement."""
        latest = {int(item_id): to_blob(v) for item_id, v in vectors}
        rows = list(latest.items())
        for start in range(0, len(rows), VECTOR_ROWS_PER_STATEMENT):
            chunk = rows[start : start + VECTOR_ROWS_PER_STATEMENT]
            await tx.execute(
                "INSERT INTO memory_vectors (item_id, model, vector) VALUES "
                + ", ".join("(?, ?, ?)" for _ in chunk)
                + " ON CONFLICT (item_id) DO UPDATE SET model = excluded.model, vector = excluded.vector",
                [value for item_id, blob in chunk for value in (item_id, model, blob)],
            )

    # -- reads ------------------------------------------------------------------------------------

    async def lexical(
        self, scene_id: int, character_id: str, text: str, *, k: int, before_id: int, drop: Iterable[str] = ()
    ) -> list[Hit]:
        """The k best lexical hits among lines this character heard before ``before_id`` and its notes.

        ``drop``: words not to search for (the listener's own names: every line addressed to it has them).
        """
        dropped = {t for name in drop for t in query_terms(name)}
        terms = [t for t in query_terms(text) if t not in dropped]
        if self._db.dialect == "postgresql":
            expression = tsquery_expression(terms)
            if expression is None:
                return []
            scope = scope_tsquery(scene_id)
            lines = await self._db.fetch_all(LEXICAL_LINES_PG, (expression, scope, character_id, scene_id, before_id, k))
            notes = await self._db.fetch_all(LEXICAL_NOTES_PG, (expression, scope, scene_id, character_id, k))
        else:
            expression = match_expression(terms, scene_id)
            if expression is None:
                return []
            lines = await self._db.fetch_all(LEXICAL_LINES_SQL, (character_id, scene_id, expression, before_id, k))
            notes = await self._db.fetch_all(LEXICAL_NOTES_SQL, (expression, scene_id, character_id, k))
        hits = [Hit(int(r[0]), float(r[1])) for r in [*lines, *notes]]
        hits.sort(key=lambda h: (h.score, -h.item_id))
        return hits[:k]

    async def vectors(
        self, scene_id: int, character_id: str, model: str, *, limit: int, after_line: int = 0, after_note: int = 0
    ) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
        """(ids, matrix, speakers, texts) of the newest ``limit`` embedded lines a character heard after
        ``after_line``, and of its notes after ``after_note`` (so a cached set is topped up with a short range
        read; a note's speaker and text are empty)."""
        rows = await self._db.fetch_all(VECTORS_SQL, (character_id, scene_id, after_line, model, limit))
        rows += await self._db.fetch_all(NOTE_VECTORS_SQL, (scene_id, character_id, after_note, model, limit))
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), [], []
        ids = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        return ids, np.stack([from_blob(bytes(r[1])) for r in rows]), [r[2] for r in rows], [r[3] for r in rows]

    async def items(self, item_ids: Sequence[int]) -> dict[int, MemoryItem]:
        """The lines and notes behind item ids (with the turn each line was said in); a line that could
        not be posted is nobody's memory and is left out (a vector cached before it failed finds nothing)."""
        found: dict[int, MemoryItem] = {}
        lines = [int(i) for i in item_ids if i > 0]
        notes = [-int(i) for i in item_ids if i < 0]
        if lines:
            marks = ",".join("?" for _ in lines)
            for r in await self._db.fetch_all(
                f"SELECT m.id, t.seq, m.speaker, m.text, m.kind FROM messages m JOIN turns t ON t.id = m.turn_id"
                f" WHERE m.id IN ({marks}) AND m.undelivered = 0",
                lines,
            ):
                found[int(r[0])] = MemoryItem(int(r[0]), int(r[1]), r[2], r[3], r[4])
        if notes:
            marks = ",".join("?" for _ in notes)
            for r in await self._db.fetch_all(
                f"SELECT n.id, COALESCE((SELECT t.seq FROM messages m JOIN turns t ON t.id = m.turn_id WHERE m.id = n.upto_message), 0),"
                f" n.text FROM memory_notes n WHERE n.id IN ({marks})",
                notes,
            ):
                found[-int(r[0])] = MemoryItem(-int(r[0]), int(r[1]), "", r[2], "note")
        return found

    async def notes(self, scene_id: int, character_id: str, *, limit: int, upto_message: int | None = None) -> list[MemoryItem]:
        """A character's newest notes (optionally only those written from lines up to a message), oldest first."""
        upto = None if upto_message is None else ("?", (upto_message,))
        return await self.notes_query(scene_id, character_id, limit=limit, upto=upto).run(self._db)

    def notes_query(
        self, scene_id: int, character_id: str, *, limit: int, upto: tuple[str, tuple[Any, ...]] | None = None
    ) -> Query[list[MemoryItem]]:
        """``notes`` as a query; ``upto`` bounds the message the notes were written up to by a SQL expression
        and its parameters (a number, or a subquery such as the latest summary's)."""
        sql = "SELECT id, text FROM memory_notes WHERE scene_id = ? AND character_id = ?"
        params: list[Any] = [scene_id, character_id]
        if upto is not None:
            sql += f" AND upto_message <= {upto[0]}"
            params.extend(upto[1])
        return Query(sql + " ORDER BY id DESC LIMIT ?", (*params, limit), _notes)

    async def newest_ids(self) -> tuple[int, int]:
        """The newest line id and note id (0 when none): where the embedder's watermarks may move when
        nothing older is left unembedded. Two primary-key lookups."""
        line = await self._db.fetch_one("SELECT COALESCE(MAX(id), 0) FROM messages")
        note = await self._db.fetch_one("SELECT COALESCE(MAX(id), 0) FROM memory_notes")
        return int(line[0]) if line else 0, int(note[0]) if note else 0

    async def unembedded(self, model: str, *, after_id: int, limit: int, after_note: int = 0) -> list[tuple[int, str]]:
        """Lines and notes with no vector from ``model`` yet, for the background embedder: (item id, text).

        Lines are read in id order from ``after_id`` and notes from ``after_note`` (the embedder's
        watermarks), so catching up a backlog is a sequence of short range reads, never one long scan.
        """
        lines = await self._db.fetch_all(
            "SELECT m.id, m.speaker, m.text FROM messages m WHERE m.id > ? AND m.kind != 'ooc' AND m.undelivered = 0"
            " AND NOT EXISTS (SELECT 1 FROM memory_vectors v WHERE v.item_id = m.id AND v.model = ?) ORDER BY m.id LIMIT ?",
            (after_id, model, limit),
        )
        notes = await self._db.fetch_all(
            "SELECT -n.id, '', n.text FROM memory_notes n WHERE n.id > ?"
            " AND NOT EXISTS (SELECT 1 FROM memory_vectors v WHERE v.item_id = -n.id AND v.model = ?) ORDER BY n.id LIMIT ?",
            (after_note, model, limit),
        )
        return [(int(r[0]), f"{r[1]}: {r[2]}" if r[1] else r[2]) for r in [*lines, *notes]]

    async def unindexed_lines(self, *, limit: int) -> list[tuple[int, int, str, str, str, str | None, str]]:
        """Lines written before the index existed (an upgraded database): none after the first catch-up."""
        rows = await self._db.fetch_all(
            "SELECT m.id, m.scene_id, m.kind, m.speaker, m.text, m.character_id, m.heard_by FROM messages m"
            " WHERE m.kind != 'ooc' AND m.undelivered = 0 AND NOT EXISTS (SELECT 1 FROM memory_text t WHERE t.rowid = m.id)"
            " ORDER BY m.id LIMIT ?",
            (limit,),
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]
