"""Limits in the engine: lines per player per minute, tokens per server per day and per chain, and every
model call recorded with its purpose and server (real SQLite file, scripted model, fake clock)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.engine.limits import (
    BUDGET_SPENT,
    BUDGET_SPENT_ADMINS,
    RATE_LIMITED,
    LimitSettings,
    describe_limits,
    is_spent,
    should_tell,
    within_rate,
)
from bot.engine.lines import InboundLine, Notice, SceneKey, Utterance
from bot.engine.scene import SceneEngine
from bot.testing.scripted_model import ScriptedModel
from bot.world.director import Director

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)


def line(key: SceneKey, author: str, text: str) -> InboundLine:
    return InboundLine(key, author_id=author, author_name=author.title(), text=text)


async def make_engine(store, library, clock, key, **limits) -> SceneEngine:
    engine = SceneEngine(
        store=store, model=ScriptedModel(), library=library, clock=clock, rng=random.Random(1),
        limits=LimitSettings(**limits),
    )
    await engine.open_scene(key, "manor")
    await engine.summon(key, "Ada")
    return engine


def answered(outcome) -> bool:
    return any(isinstance(o, Utterance) for o in outcome.outputs)


def notices(outcome, code: str | None = None) -> list[Notice]:
    return [o for o in outcome.outputs if isinstance(o, Notice) and (code is None or o.code == code)]


# -- pure decisions -------------------------------------------------------------------------------


def test_rate_counts_only_the_last_minute() -> None:
    recent = [T0 - timedelta(seconds=70), T0 - timedelta(seconds=30), T0 - timedelta(seconds=5)]
    assert within_rate(recent, T0, 3)
    assert not within_rate(recent, T0, 2)
    assert within_rate(recent * 100, T0, 0), "0 means no limit"


def test_budget_and_notice_rules() -> None:
    assert not is_spent(10**9, None) and not is_spent(10**9, 0)
    assert not is_spent(99, 100) and is_spent(100, 100)
    assert should_tell(None, T0) and not should_tell(T0 - timedelta(seconds=59), T0)
    assert should_tell(T0 - timedelta(seconds=60), T0)


def test_limits_described_in_words() -> None:
    text = describe_limits(LimitSettings(lines_per_minute=8, tokens_per_day=1000, tokens_per_chain=None), 250)
    assert "8 lines per player per minute" in text and "250 of 1,000" in text and "750 left" in text
    assert "no daily limit" in describe_limits(LimitSettings(), 5)


# -- lines per player per minute ------------------------------------------------------------------


async def test_lines_past_the_limit_are_stored_not_answered_and_told_once(store, library, clock, key) -> None:
    engine = await make_engine(store, library, clock, key, lines_per_minute=3)
    for n in range(3):
        assert answered(await engine.handle(line(key, "ann", f"Ada, question {n}?")))
    fourth = await engine.handle(line(key, "ann", "Ada, question 3?"))
    fifth = await engine.handle(line(key, "ann", "Ada, question 4?"))
    assert not answered(fourth) and [n.code for n in notices(fourth)] == [RATE_LIMITED]
    assert fifth.outputs == (), "told once a minute, not on every line"
    scene = await engine.require_scene(key)
    texts = [m.text for m in await store.transcript(scene.id) if m.kind == "user"]
    assert texts[-2:] == ["Ada, question 3?", "Ada, question 4?"], "held lines are stored: nothing lost"
    # Another player is not affected.
    assert answered(await engine.handle(line(key, "bob", "Ada, hello?")))
    # A minute later Ann is answered again (and would be told again if she floods again).
    clock.advance(61)
    assert answered(await engine.handle(line(key, "ann", "Ada, again?")))


async def test_a_server_override_wins_over_the_default(store, library, clock, key) -> None:
    engine = await make_engine(store, library, clock, key, lines_per_minute=1)
    await engine.limits.set_for_guild(key.guild_id, lines_per_minute=0)
    for n in range(5):
        assert answered(await engine.handle(line(key, "ann", f"Ada, {n}?")))
    assert (await engine.limits.for_guild("another")).lines_per_minute == 1


# -- tokens per server per day --------------------------------------------------------------------


async def test_spent_budget_silences_characters_with_one_notice_each(store, library, clock, key) -> None:
    engine = await make_engine(store, library, clock, key, tokens_per_day=1)
    first = await engine.handle(line(key, "ann", "Ada, are you there?"))
    assert answered(first), "the first call is allowed; the budget is checked before each call"
    second = await engine.handle(line(key, "ann", "Ada?"))
    assert not answered(second)
    assert [n.code for n in notices(second)] == [BUDGET_SPENT, BUDGET_SPENT_ADMINS]
    third = await engine.handle(line(key, "bob", "Ada!"))
    assert third.outputs == (), "one notice per channel and one for admins, per day"
    other = SceneKey(key.guild_id, "channel-2")
    await engine.open_scene(other, "manor")
    elsewhere = await engine.handle(line(other, "bob", "Anyone?"))
    assert [n.code for n in notices(elsewhere)] == [BUDGET_SPENT]
    # The director rests for that server.
    report = await Director(engine, clock=clock, rng=random.Random(2)).tick(key.guild_id, "manor")
    assert report.events == [] and not report.used_model
    # Another server is not affected.
    third_server = SceneKey("guild-2", "channel-9")
    await engine.open_scene(third_server, "manor")
    await engine.summon(third_server, "Ada")
    assert answered(await engine.handle(line(third_server, "cy", "Ada, hello?")))
    # The next UTC day the characters answer again.
    clock.advance(24 * 3600)
    assert answered(await engine.handle(line(key, "ann", "Ada, good morning?")))


async def test_the_days_usage_survives_a_restart_and_a_rewind(store, library, clock, key) -> None:
    engine = await make_engine(store, library, clock, key)
    await engine.handle(line(key, "ann", "Ada, tell me everything?"))
    used = await engine.limits.used_today(key.guild_id)
    assert used > 0
    await engine.rewind(key, 1)
    restarted = await make_engine(store, library, clock, key, tokens_per_day=used)
    assert await restarted.limits.used_today(key.guild_id) == used
    assert await restarted.limits.spent(key.guild_id)


# -- tokens per chain -----------------------------------------------------------------------------


async def test_a_chain_stops_when_its_tokens_are_spent(store, library, clock, key, monkeypatch) -> None:
    engine = await make_engine(store, library, clock, key, tokens_per_chain=1)
    await engine.summon(key, "Bram")
    monkeypatch.setattr("bot.engine.scene.chain_continues", lambda step, settings, rng: step < 3)
    outcome = await engine.handle(line(key, "ann", "Ada, what now?"))
    assert sum(isinstance(o, Utterance) for o in outcome.outputs) == 1, "no reactions after the chain's budget"
    unlimited = await make_engine(store, library, clock, SceneKey("guild-1", "channel-3"))
    await unlimited.summon(SceneKey("guild-1", "channel-3"), "Bram")
    more = await unlimited.handle(line(SceneKey("guild-1", "channel-3"), "ann", "Ada, what now?"))
    assert sum(isinstance(o, Utterance) for o in more.outputs) > 1, "without the limit the same chain goes on"


# -- every call recorded with a purpose -----------------------------------------------------------


async def usage_rows(store) -> list[tuple]:
    return [tuple(r) for r in await store.fetch_all("SELECT guild_id, purpose, turn_id FROM model_usage ORDER BY id")]


async def test_narrator_director_and_summary_calls_are_recorded(store, library, clock, key) -> None:
    engine = await make_engine(store, library, clock, key)
    engine.model.enqueue('{"moves": []}')  # the narrator reads an ambiguous line first
    await engine.handle(line(key, "ann", "I leave."))
    engine.model.enqueue('{"actions": []}')
    await Director(engine, clock=clock, rng=random.Random(3)).tick(key.guild_id, "manor")
    scene = await engine.require_scene(key)
    await engine.memory_upkeep._summarise(scene, "ada", "", await store.recent_messages(scene.id, 10))
    rows = await usage_rows(store)
    purposes = {purpose for _, purpose, _ in rows}
    assert {"narrator", "npc", "director", "summary"} <= purposes, rows
    assert all(guild == key.guild_id for guild, _, _ in rows), "every row names its server"
    assert all(turn is not None for _, purpose, turn in rows if purpose == "npc")


@pytest.mark.parametrize("purpose", ["narrator", "director", "summary"])
async def test_a_spent_budget_refuses_background_calls(store, library, clock, key, purpose) -> None:
    engine = await make_engine(store, library, clock, key, tokens_per_day=1)
    await engine.handle(line(key, "ann", "Ada, hi?"))
    calls = len(engine.model.calls)
    from bot.core.ports import ChatMessage, ChatOptions
    from bot.engine.limits import BudgetSpent

    with pytest.raises(BudgetSpent):
        await engine.model_for(key.guild_id, purpose).complete([ChatMessage("user", "x")], ChatOptions())
    assert len(engine.model.calls) == calls, "the model is not called at all"


def test_metrics_count_replies_guard_outcomes_and_director_ticks() -> None:
    from bot.engine.metrics import Metrics

    metrics = Metrics()
    metrics.observe_reply({"length": {"found": 2, "repaired": 1, "accepted": 0}})
    metrics.director_ticks.labels("rules").inc()
    text = metrics.render().decode()
    assert "ensemble_replies_total 1.0" in text
    assert 'ensemble_guard_outcomes_total{detector="length",outcome="found"} 2.0' in text
    assert 'outcome="accepted"' not in text, "zero counts make no series"
    assert 'ensemble_director_ticks_total{plan="rules"} 1.0' in text
