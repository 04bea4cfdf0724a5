"""The memory index in SQLite: hearers, full-text search with CJK, notes, vectors, query plans, rewind."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from bot.engine.lines import InboundLine
from bot.store.memory_index import (
    LEXICAL_LINES_SQL,
    LEXICAL_NOTES_SQL,
    NOTE_VECTORS_SQL,
    VECTORS_SQL,
    index_body,
    match_expression,
    query_terms,
)
from bot.store.records import NewMessage, TurnCommit


async def scene_with_lines(store, lines):
    """A scene whose lines are (speaker, text, heard_by, character_id); returns the scene and message ids."""
    scene = await store.create_scene("g", "c", "manor", "hall")
    ids = []
    for speaker, text, heard_by, character_id in lines:
        kind = "npc" if character_id else "user"
        start = await store.begin_turn(scene.id, NewMessage(kind="user", speaker="Ann", text="...", heard_by=("ada", "bram")))
        ids.append(start.message_id)
        ids.extend(
            await store.commit_turn(
                scene, start.turn_id,
                TurnCommit(messages=[NewMessage(kind=kind, speaker=speaker, text=text, heard_by=tuple(heard_by), character_id=character_id)]),
            )
        )
    return scene, ids


@pytest.mark.both_databases
async def test_a_line_is_found_only_by_those_who_heard_it(store):
    """A secret heard by Bram alone is a BM25 hit for Bram and for nobody else; the speaker finds its own line."""
    scene, ids = await scene_with_lines(
        store,
        [
            ("Ann", "My uncle repairs clocks in Wexmoor.", ["bram"], None),
            ("Ada", "The roses need rain.", ["bram"], "ada"),
        ],
    )
    secret = ids[1]
    bram = await store.memory.lexical(scene.id, "bram", "Who repairs clocks?", k=5, before_id=10**9)
    assert [h.item_id for h in bram] == [secret]
    assert await store.memory.lexical(scene.id, "ada", "Who repairs clocks?", k=5, before_id=10**9) == []
    assert [h.item_id for h in await store.memory.lexical(scene.id, "ada", "roses", k=5, before_id=10**9)] == [ids[3]]
    rows = await store.fetch_all("SELECT character_id FROM message_hearers WHERE message_id = ?", (secret,))
    assert [r[0] for r in rows] == ["bram"]


@pytest.mark.both_databases
async def test_the_current_line_and_later_lines_are_not_recalled(store):
    scene, ids = await scene_with_lines(store, [("Ann", "The lighthouse keeper drinks.", ["ada"], None)])
    assert await store.memory.lexical(scene.id, "ada", "lighthouse keeper", k=5, before_id=ids[1]) == []


@pytest.mark.both_databases
async def test_chinese_is_found_by_its_words_through_bigrams(store):
    """Unspaced Chinese: "钟表" finds the line about the uncle who repairs clocks; unrelated lines do not match."""
    scene, ids = await scene_with_lines(
        store,
        [("Ann", "我舅舅在落雁镇修钟表。", ["lin"], None), ("Ann", "今天的雨下得很大。", ["lin"], None)],
    )
    hits = await store.memory.lexical(scene.id, "lin", "你还记得谁会修钟表吗？", k=5, before_id=10**9)
    assert [h.item_id for h in hits] == [ids[1]]


def test_why_bigrams_and_not_the_trigram_tokenizer():
    """Measured, not assumed: SQLite's trigram tokenizer cannot match a two-character Chinese word at all,
    and most Chinese words have two characters; the bigram shadow text matches them with the word tokenizer."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE g USING fts5(body, tokenize='trigram')")
    conn.execute("INSERT INTO g (rowid, body) VALUES (1, '我舅舅在镇上修钟表')")
    assert conn.execute("SELECT rowid FROM g WHERE g MATCH '\"钟表\"'").fetchall() == []
    conn.execute("CREATE VIRTUAL TABLE w USING fts5(body, scope, tokenize='porter unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO w (rowid, body, scope) VALUES (1, ?, 's1')", (index_body("Ann", "我舅舅在镇上修钟表"),))
    assert conn.execute("SELECT rowid FROM w WHERE w MATCH ?", (match_expression(query_terms("钟表")),)).fetchall() == [(1,)]


def test_query_terms_drop_stop_words_and_quote_everything():
    terms = query_terms('What did "Old Tom" say about the NEAR-drowning? 我的舅舅')
    assert "the" not in terms and "what" not in terms and "near-drowning" in terms
    assert "舅舅" in terms and "我的" not in terms
    expression = match_expression(['a"b', "c"])
    assert expression == 'body : ( "a""b" OR "c" )'
    assert match_expression(["c"], 7) == 'scope : "s7" AND body : ( "c" )'
    assert match_expression([], 7) is None


async def test_retrieval_queries_use_indexes_not_scans(store):
    """EXPLAIN QUERY PLAN: every table the hot-path queries touch is reached through an index."""
    for sql, params in (
        (LEXICAL_LINES_SQL, ("ada", 1, 'scope : "s1" AND body : ( "clock" )', 100, 8)),
        (LEXICAL_NOTES_SQL, ('scope : "s1" AND body : ( "clock" )', 1, "ada", 8)),
        (VECTORS_SQL, ("ada", 1, 0, "m", 100)),
        (NOTE_VECTORS_SQL, (1, "ada", 0, "m", 100)),
    ):
        plan = [r[3] for r in await store.connection.execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", params)]
        for step in plan:
            if step.startswith("SCAN"):
                assert "VIRTUAL TABLE INDEX" in step, (sql, plan)
        assert any("USING" in s or "VIRTUAL TABLE INDEX" in s for s in plan), plan


@pytest.mark.both_databases
async def test_notes_are_deduplicated_per_character_and_searchable(store):
    scene = await store.create_scene("g", "c", "manor", "hall")
    first = await store.add_notes(scene.id, "ada", 0, ["Ann's uncle repairs clocks in Wexmoor.", "ann's  uncle repairs clocks in wexmoor"])
    again = await store.add_notes(scene.id, "ada", 0, ["Ann's uncle repairs clocks in Wexmoor!"])
    other = await store.add_notes(scene.id, "bram", 0, ["Ann's uncle repairs clocks in Wexmoor."])
    assert len(first) == 1 and again == [] and len(other) == 1
    hits = await store.memory.lexical(scene.id, "ada", "clocks", k=5, before_id=10**9)
    assert [h.item_id for h in hits] == [-first[0]]
    assert [n.text for n in await store.memory.notes(scene.id, "ada", limit=5)] == ["Ann's uncle repairs clocks in Wexmoor."]


@pytest.mark.both_databases
async def test_rewind_takes_lines_vectors_and_notes_out_of_the_index(engine, key, store):
    await engine.summon(key, "Ada")
    await engine.handle(InboundLine(key, "u1", "Ann", "Ada, the brass key is in the well."))
    scene = await engine.require_scene(key)
    ids = [m.id for m in await store.transcript(scene.id)]
    await store.store_vectors("m", [(i, np.ones(4, dtype=np.float32)) for i in ids])
    await store.add_notes(scene.id, "ada", ids[-1], ["The brass key is in the well."])
    assert await store.memory.lexical(scene.id, "ada", "brass key", k=5, before_id=10**9)
    await engine.rewind(key, 1)
    assert await store.memory.lexical(scene.id, "ada", "brass key", k=5, before_id=10**9) == []
    left = await store.fetch_all("SELECT COUNT(*) FROM memory_vectors WHERE item_id > ?", (ids[-3] if len(ids) > 2 else 0,))
    assert left[0][0] == 0
    assert await store.memory.notes(scene.id, "ada", limit=5) == []


@pytest.mark.both_databases
async def test_a_swipe_reindexes_the_line(engine, key, store, model):
    await engine.summon(key, "Ada")
    model.enqueue("The tide brings herring.")
    await engine.handle(InboundLine(key, "u1", "Ann", "Ada, news?"))
    model.enqueue("The tide brings mackerel.")
    await engine.regenerate(key)
    scene = await engine.require_scene(key)
    assert await store.memory.lexical(scene.id, "ada", "herring", k=5, before_id=10**9) == []
    assert await store.memory.lexical(scene.id, "ada", "mackerel", k=5, before_id=10**9)


async def test_lines_of_an_older_database_are_indexed_at_open(tmp_path, clock):
    """A database written before the index existed: opening it indexes the backlog once."""
    from bot.store import Store

    store = await Store.open(tmp_path / "old.db", clock=clock)
    scene, ids = await scene_with_lines(store, [("Ann", "The chapel bell is cracked.", ["ada"], None)])
    await store.connection.execute("DELETE FROM memory_text")
    await store.connection.commit()
    assert await store.memory.lexical(scene.id, "ada", "chapel bell", k=5, before_id=10**9) == []
    await store.close()
    reopened = await Store.open(tmp_path / "old.db", clock=clock)
    try:
        assert [h.item_id for h in await reopened.memory.lexical(scene.id, "ada", "chapel bell", k=5, before_id=10**9)] == [ids[1]]
    finally:
        await reopened.close()
