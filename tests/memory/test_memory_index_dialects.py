"""The memory index through the SQL port, the same tests on SQLite (FTS5) and a real PostgreSQL (tsvector).

Rows are written with plain SQL beside the index, so these tests need nothing but the migrated schema:
who heard a line, stemming, Chinese through bigrams, notes, swipes, rewinds (triggers), the bounded dense
read, the embedder's backlog, and, on PostgreSQL, plans that reach the growing tables through indexes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.store.database import Database, open_database
from bot.store.memory_index import (
    LEXICAL_LINES_PG,
    LEXICAL_NOTES_PG,
    NOTE_VECTORS_SQL,
    VECTORS_SQL,
    MemoryIndex,
    tsquery_expression,
)
from bot.store.migrate import migrate_database

FAR = 10**9


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path):
    target = tmp_path / "memory.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    opened = await open_database(target)
    await migrate_database(opened)
    yield opened
    await opened.close()


class Scene:
    """A scene written row by row, each line indexed in the transaction that writes it (as ``Store`` does)."""

    def __init__(self, db: Database, scene_id: int) -> None:
        self.db = db
        self.id = scene_id
        self.index = MemoryIndex(db)
        self.seq = 0

    @classmethod
    async def create(cls, db: Database, channel: str = "c") -> Scene:
        scene_id = await db.fetch_value(
            "INSERT INTO scenes (guild_id, channel_id, world_id, user_location, created_at) VALUES ('g', ?, 'manor', 'hall', 't')"
            " RETURNING id",
            (channel,),
        )
        return cls(db, int(scene_id))

    async def say(self, speaker: str, text: str, heard_by: list[str], character_id: str | None = None, kind: str = "") -> int:
        kind = kind or ("npc" if character_id else "user")
        self.seq += 1
        async with self.db.transaction() as tx:
            turn = await tx.fetch_value(
                "INSERT INTO turns (scene_id, seq, status, created_at) VALUES (?, ?, 'done', 't') RETURNING id", (self.id, self.seq)
            )
            message = await tx.fetch_value(
                "INSERT INTO messages (scene_id, turn_id, position, kind, speaker, character_id, location, text, heard_by, created_at)"
                " VALUES (?, ?, 0, ?, ?, ?, 'hall', ?, ?, 't') RETURNING id",
                (self.id, turn, kind, speaker, character_id, text, "[" + ", ".join(f'"{h}"' for h in heard_by) + "]"),
            )
            self.index.add_line(  # deferred: runs with the transaction's commit
                tx, self.id, int(message), kind=kind, speaker=speaker, text=text,
                hearers=(*heard_by, *((character_id,) if character_id else ())),
            )
        return int(message)

    async def find(self, character: str, text: str, *, before: int = FAR, k: int = 5, drop: tuple[str, ...] = ()) -> list[int]:
        return [h.item_id for h in await self.index.lexical(self.id, character, text, k=k, before_id=before, drop=drop)]


async def test_a_line_is_found_only_by_those_who_heard_it(db):
    scene = await Scene.create(db)
    secret = await scene.say("Ann", "My uncle repairs clocks in Wexmoor.", ["bram"])
    roses = await scene.say("Ada", "The roses need rain.", ["bram"], "ada")
    assert await scene.find("bram", "Who repairs clocks?") == [secret]
    assert await scene.find("ada", "Who repairs clocks?") == []
    assert await scene.find("ada", "roses") == [roses]  # the speaker remembers its own line
    assert await scene.find("bram", "Who repairs clocks?", before=secret) == []  # never the current line or later


async def test_a_search_reads_only_its_own_scene(db):
    """The same words said in another scene (another server) are not this scene's memory, and the index
    is asked for this scene's items only (migration 0012), not every match on the bot filtered after."""
    here = await Scene.create(db, "here")
    there = await Scene.create(db, "there")
    mine = await here.say("Ann", "The lantern oil is in the cellar.", ["ada"])
    for _ in range(3):
        await there.say("Ann", "The lantern oil is in the cellar.", ["ada"])
    assert await here.find("ada", "lantern oil") == [mine]
    assert len(await there.find("ada", "lantern oil")) == 3
    if db.dialect == "postgresql":
        scoped = await db.fetch_value(
            "SELECT COUNT(*) FROM memory_text WHERE search @@ (to_tsquery('simple', ?) && to_tsquery('english', 'lantern'))",
            (f"'s{here.id}':A",),
        )
        words_alone = await db.fetch_value("SELECT COUNT(*) FROM memory_text WHERE search @@ to_tsquery('english', 'lantern')")
    else:
        scoped = await db.fetch_value(
            "SELECT COUNT(*) FROM memory_text WHERE memory_text MATCH ?", (f'scope : "s{here.id}" AND body : ( "lantern" )',)
        )
        words_alone = await db.fetch_value("SELECT COUNT(*) FROM memory_text WHERE memory_text MATCH 'body : lantern'")
    assert (scoped, words_alone) == (1, 4)
    # a scene's scope is never a word of a body: a line that says "s1" is not filed under scene 1
    await there.say("Ann", f"s{here.id} s{here.id}", ["ada"])
    assert await here.find("ada", "lantern oil") == [mine]


async def test_upgrading_from_schema_11_files_every_item_under_its_scene(request, tmp_path: Path):
    """A database indexed before migration 0012 (no scope): after it, every line and note is found in its
    own scene only, and new lines are indexed with their scope."""
    for dialect in ("sqlite", "postgresql"):
        from bot.store.migrate import migrations_dir

        folder = tmp_path / f"upto11-{dialect}"
        folder.mkdir()
        for path in migrations_dir(dialect).glob("*.sql"):
            if int(path.name[:4]) <= 11:
                (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        target = tmp_path / "old.db" if dialect == "sqlite" else request.getfixturevalue("pg_url")
        db = await open_database(target)
        try:
            assert await migrate_database(db, folder) == 11
            scenes = [await Scene.create(db, c) for c in ("one", "two")]
            lines = []
            for scene in scenes:
                scene.seq += 1
                async with db.transaction() as tx:
                    turn = await tx.fetch_value(
                        "INSERT INTO turns (scene_id, seq, status, created_at) VALUES (?, 1, 'done', 't') RETURNING id", (scene.id,)
                    )
                    line = await tx.fetch_value(
                        "INSERT INTO messages (scene_id, turn_id, position, kind, speaker, location, text, heard_by, created_at)"
                        " VALUES (?, ?, 0, 'user', 'Ann', 'hall', 'The harp has a cracked string.', '[\"ada\"]', 't') RETURNING id",
                        (scene.id, turn),
                    )
                    await tx.execute("INSERT INTO message_hearers (character_id, scene_id, message_id) VALUES ('ada', ?, ?)", (scene.id, line))
                    await tx.execute("INSERT INTO memory_text (rowid, body) VALUES (?, 'Ann: The harp has a cracked string.')", (line,))
                    note = await tx.fetch_value(
                        "INSERT INTO memory_notes (scene_id, character_id, upto_message, text, norm, created_at)"
                        " VALUES (?, 'ada', ?, 'The harp is broken.', 'the harp is broken', 't') RETURNING id",
                        (scene.id, line),
                    )
                    await tx.execute("INSERT INTO memory_text (rowid, body) VALUES (?, 'The harp is broken.')", (-int(note),))
                lines.append((int(line), -int(note)))
            assert await migrate_database(db) == 12
            for scene, (line, note) in zip(scenes, lines, strict=True):
                assert sorted(await scene.find("ada", "harp string", k=8)) == sorted([line, note])
            fresh = await scenes[0].say("Ann", "A new harp string arrived.", ["ada"])
            assert fresh in await scenes[0].find("ada", "harp", k=8)
            assert fresh not in await scenes[1].find("ada", "harp", k=8)
        finally:
            await db.close()


async def test_words_are_stemmed_on_both_engines(db):
    """'boats' finds 'boat' and 'repairing' finds 'repairs' (porter in FTS5, Snowball in PostgreSQL)."""
    scene = await Scene.create(db)
    boat = await scene.say("Tom", "The boat came in at dawn.", ["ada"], "tom")
    await scene.say("Tom", "Rain again.", ["ada"], "tom")
    assert await scene.find("ada", "What about the boats?") == [boat]
    assert await scene.find("ada", "who is repairing it") == []
    mend = await scene.say("Ann", "He repairs nets.", ["ada"])
    assert await scene.find("ada", "who is repairing it") == [mend]


async def test_chinese_is_found_by_its_words_through_bigrams(db):
    scene = await Scene.create(db)
    clocks = await scene.say("Ann", "我舅舅在落雁镇修钟表。", ["lin"])
    await scene.say("Ann", "今天的雨下得很大。", ["lin"])
    assert await scene.find("lin", "你还记得谁会修钟表吗？") == [clocks]


async def test_more_matching_words_rank_first_and_names_are_not_searched(db):
    scene = await Scene.create(db)
    one = await scene.say("Ann", "The key is old.", ["ada"])
    both = await scene.say("Ann", "The brass key hangs by the well.", ["ada"])
    named = await scene.say("Ann", "Ada, Ada, Ada!", ["ada"])
    found = await scene.find("ada", "Ada, where is the brass key?", drop=("Ada",))
    assert found == [both, one] and named not in found
    assert await scene.find("ada", "Ada", drop=("Ada",)) == []


def test_tsquery_terms_are_lexemes_never_syntax():
    assert tsquery_expression(["clock", "it's", "a\\b", "x|y"]) == "'clock' | 'it''s' | 'a\\\\b' | 'x|y'"
    assert tsquery_expression([]) is None


async def test_odd_terms_do_not_break_the_query(db):
    """Punctuation and operators in a line are searched as text (or dropped), never parsed as query syntax."""
    scene = await Scene.create(db)
    line = await scene.say("Ann", "Meet at the mill (north side) & bring rope!", ["ada"])
    assert await scene.find("ada", "mill & rope | (north) !side: 'quoted' \"double\"") == [line]


async def test_notes_are_deduplicated_searchable_and_forgotten_with_a_rewind(db):
    scene = await Scene.create(db)
    line = await scene.say("Ann", "My uncle mends clocks.", ["ada"])
    index = scene.index
    async with db.transaction() as tx:
        first = await index.add_notes(tx, scene.id, "ada", line, ["Ann's uncle repairs clocks in Wexmoor.", "ann's  uncle repairs clocks in wexmoor"], "t")
        again = await index.add_notes(tx, scene.id, "ada", line, ["Ann's uncle repairs clocks in Wexmoor!"], "t")
        other = await index.add_notes(tx, scene.id, "bram", line, ["Ann's uncle repairs clocks in Wexmoor."], "t")
    assert len(first) == 1 and again == [] and len(other) == 1
    assert set(await scene.find("ada", "Wexmoor")) == {-first[0]}
    assert set(await scene.find("ada", "clocks")) == {line, -first[0]}
    assert [n.text for n in await index.notes(scene.id, "ada", limit=5)] == ["Ann's uncle repairs clocks in Wexmoor."]
    items = await index.items([line, -first[0]])
    assert items[line].text == "My uncle mends clocks." and items[line].turn_seq == 1
    assert items[-first[0]].kind == "note" and items[-first[0]].turn_seq == 1
    async with db.transaction() as tx:
        await index.forget_notes_after(tx, scene.id, line - 1)
    assert await scene.find("ada", "Wexmoor") == [] and await index.notes(scene.id, "ada", limit=5) == []


async def test_a_swipe_reindexes_and_a_deleted_line_leaves_the_index(db):
    scene = await Scene.create(db)
    line = await scene.say("Ada", "The tide brings herring.", ["ann"], "ada")
    async with db.transaction() as tx:
        await scene.index.store_vectors(tx, "m", [(line, np.ones(4, dtype=np.float32))])
        await scene.index.replace_text(tx, line, "Ada", "The tide brings mackerel.")
    assert await scene.find("ada", "herring") == [] and await scene.find("ada", "mackerel") == [line]
    assert await db.fetch_value("SELECT COUNT(*) FROM memory_vectors") == 0  # the embedder redoes it
    await db.execute("DELETE FROM turns WHERE scene_id = ?", (scene.id,))  # a rewind: triggers clear the index
    assert await db.fetch_value("SELECT COUNT(*) FROM memory_text") == 0
    assert await db.fetch_value("SELECT COUNT(*) FROM message_hearers") == 0


async def test_the_dense_part_reads_a_bounded_newest_range(db):
    scene = await Scene.create(db)
    ids = [await scene.say("Ann", f"Line number {i}.", ["ada"]) for i in range(6)]
    deaf = await scene.say("Ann", "Not for Ada.", ["bram"])
    async with db.transaction() as tx:
        await scene.index.add_notes(tx, scene.id, "ada", ids[-1], ["A note."], "t")
    assert [i for i, _ in await scene.index.unembedded("m", after_id=0, limit=50)][:7] == [*ids, deaf]
    vectors = [(i, np.full(3, float(i), dtype=np.float32)) for i in [*ids, deaf]]
    vectors.append((ids[0], np.full(3, -1.0, dtype=np.float32)))  # given twice in one batch: the last one wins
    async with db.transaction() as tx:
        await scene.index.store_vectors(tx, "m", vectors)
    got, matrix, speakers, _ = await scene.index.vectors(scene.id, "ada", "m", limit=3)
    assert got.tolist() == ids[::-1][:3] and matrix.shape == (3, 3) and matrix.dtype == np.float32
    assert speakers == ["Ann", "Ann", "Ann"]
    assert matrix[0].tolist() == [float(ids[-1])] * 3
    topped, _, _, _ = await scene.index.vectors(scene.id, "ada", "m", limit=50, after_line=ids[3])
    assert topped.tolist() == [ids[5], ids[4]]
    every, matrix, _, _ = await scene.index.vectors(scene.id, "ada", "m", limit=50)
    assert deaf not in every.tolist() and matrix[every.tolist().index(ids[0])].tolist() == [-1.0] * 3
    assert [i for i, _ in await scene.index.unembedded("m", after_id=0, limit=50)] == [-1]  # only the note is left


async def test_lines_written_before_the_index_are_found_as_backlog(db):
    scene = await Scene.create(db)
    line = await scene.say("Ann", "The chapel bell is cracked.", ["ada"])
    await db.execute("DELETE FROM memory_text")
    rows = await scene.index.unindexed_lines(limit=10)
    assert [r[0] for r in rows] == [line] and rows[0][3] == "Ann"


@pytest.mark.parametrize(
    ("sql", "params", "tables"),
    [
        (LEXICAL_LINES_PG, ("'clock'", "'s1':A", "ada", 1, FAR, 8), ("memory_text", "message_hearers")),
        (LEXICAL_NOTES_PG, ("'clock'", "'s1':A", 1, "ada", 8), ("memory_text", "memory_notes")),
        (VECTORS_SQL, ("ada", 1, 0, "m", 100), ("message_hearers", "memory_vectors")),
        (NOTE_VECTORS_SQL, (1, "ada", 0, "m", 100), ("memory_notes", "memory_vectors")),
    ],
)
async def test_postgres_retrieval_reaches_growing_tables_through_indexes(pg_migrated_url: str, sql, params, tables):
    """EXPLAIN on PostgreSQL with sequential scans priced out: what is left is an index path for every
    growing table (a missing index would still show as a Seq Scan); and the word search alone is served
    by the tsvector's GIN index."""
    db = await open_database(pg_migrated_url, max_size=1)
    try:
        async with db.transaction() as tx:
            await tx.execute("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r[0] for r in await tx.fetch_all("EXPLAIN " + sql, params))
            words = "\n".join(
                r[0] for r in await tx.fetch_all("EXPLAIN SELECT rowid FROM memory_text WHERE search @@ to_tsquery('english', 'clock')")
            )
    finally:
        await db.close()
    assert "Seq Scan" not in plan, plan
    for table in tables:
        assert table in plan, plan
    assert "memory_text_search" in words, words


async def test_a_line_that_could_not_be_posted_leaves_every_memory(db):
    """The outbox gave up on a line (nobody saw it): its words, hearers and vector go, a vector cached
    before that finds no item, and neither the embedder nor the backlog indexer brings it back."""
    scene = await Scene.create(db)
    kept = await scene.say("Ada", "The key is under the third rose.", ["ann"], "ada")
    lost = await scene.say("Ada", "My secret: the rose garden hides a door.", ["ann"], "ada")
    async with db.transaction() as tx:
        await scene.index.store_vectors(tx, "m", [(kept, np.ones(3, dtype=np.float32)), (lost, np.ones(3, dtype=np.float32))])
    async with db.transaction() as tx:
        await tx.execute("UPDATE messages SET undelivered = 1, heard_by = '[]' WHERE id = ?", (lost,))
        await scene.index.forget_line(tx, lost)
    assert await scene.find("ada", "rose") == [kept]
    ids, _, _, _ = await scene.index.vectors(scene.id, "ada", "m", limit=10)
    assert ids.tolist() == [kept]
    assert set(await scene.index.items([kept, lost])) == {kept}
    assert [i for i, _ in await scene.index.unembedded("m", after_id=0, limit=10)] == []
    assert await scene.index.unindexed_lines(limit=10) == []
