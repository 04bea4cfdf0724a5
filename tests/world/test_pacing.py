"""Pacing learned from the table: scripted behaviour in, a pace with reasons out, and what it steers.

The pure inference first (tables that play fast, slow, mixed; regenerations and where; hooks followed or
ignored; a pinned pace), then the engine: a scripted scene on a real SQLite file with an injected clock,
where the inferred pace changes the reply length the model is asked for, the chance of a reaction, and
``/pacing`` and ``/why`` say why.
"""

from __future__ import annotations

import random

import pytest

from bot.engine.lines import InboundLine
from bot.engine.pacing import paced
from bot.engine.scene import SceneEngine
from bot.engine.scheduler import SchedulerSettings
from bot.errors import EnsembleError
from bot.testing.scripted_model import ScriptedModel
from bot.world.pacing import HookOffer, NpcLine, Observations, UserLine, followed_hook, infer_pace


def lines(words: list[int], gap: float, start: float = 0.0) -> tuple[UserLine, ...]:
    return tuple(UserLine(start + i * gap, w) for i, w in enumerate(words))


FAST = Observations(
    user_lines=lines([4, 6, 3, 5, 7, 4, 5, 6], gap=12),
    npc_lines=tuple(NpcLine(1, 30) for _ in range(8)),
    hooks=(HookOffer("a boat drifts in", True), HookOffer("the bell rings", True), HookOffer("smoke", False)),
)
SLOW = Observations(
    user_lines=lines([60, 48, 72, 55, 64, 50], gap=300),
    npc_lines=(NpcLine(3, 40, (90, 85), after_hook=True), NpcLine(1, 50), NpcLine(2, 45, (100,)), NpcLine(1, 60),
               NpcLine(2, 38, (80,)), NpcLine(1, 55)),
    hooks=(HookOffer("a stranger knocks", False), HookOffer("the lights go out", False)),
)


def test_a_fast_table() -> None:
    """Short lines, quick replies, hooks taken up: fast; shorter replies, fewer reactions, hooks sooner."""
    pace = infer_pace(FAST)
    assert pace.label == "fast" and pace.score >= 0.3 and not pace.pinned
    assert pace.reasons[0] == "short lines (median 5 words)"
    assert "quick replies (median 12 s between lines)" in pace.reasons
    assert "followed 2 of 3 plot hooks" in pace.reasons
    assert (pace.length_factor, pace.chain_factor, pace.hook_after) == (0.7, 0.6, 5)
    assert pace.steer_length(20, 100) == (14, 70)


def test_a_slow_table() -> None:
    """Long lines minutes apart, many regenerations keeping the shorter take, hooks ignored: slow."""
    pace = infer_pace(SLOW)
    assert pace.label == "slow" and pace.score <= -0.3
    assert "long lines (median 57.5 words)" in pace.reasons
    assert "slow replies (median 300 s between lines)" in pace.reasons
    regen = next(r for r in pace.reasons if r.startswith("regenerated"))
    assert regen == "regenerated 3 of 6 replies, keeping the shorter alternatives (1 right after a plot hook)"
    assert pace.chain_factor == 1.3 and pace.hook_after == 12 + 4  # hooks ignored: offered less often
    # Slow lengthens replies, but these players keep the shorter alternatives: the two pull against each other.
    assert pace.length_factor == pytest.approx(1.3 * 0.7)


def test_mixed_signals_stay_steady_and_early_scenes_wait() -> None:
    mixed = Observations(user_lines=lines([40, 45, 50, 42, 44], gap=15))  # long lines, but quick
    pace = infer_pace(mixed)
    assert pace.label == "steady" and (pace.length_factor, pace.chain_factor, pace.hook_after) == (1.0, 1.0, 8)
    early = infer_pace(Observations(user_lines=lines([3, 3], gap=5)))
    assert early.label == "steady" and early.reasons == ("too early to tell (2 lines so far)",)


def test_breaks_between_sessions_are_not_a_rhythm() -> None:
    """A gap over an hour (the players went to bed) is left out of the time between lines."""
    user = lines([5, 5, 5], gap=10) + lines([5, 5, 5], gap=10, start=90_000)
    pace = infer_pace(Observations(user_lines=user))
    assert "quick replies (median 10 s between lines)" in pace.reasons


def test_pinned_pace_ignores_behaviour() -> None:
    pace = infer_pace(FAST, pinned="slow")
    assert pace.label == "slow" and pace.pinned and pace.chain_factor == 1.3
    assert "Pacing: slow (pinned by an admin)." in pace.describe()


def test_inference_is_deterministic() -> None:
    assert infer_pace(SLOW) == infer_pace(SLOW)


def test_followed_hook() -> None:
    assert followed_hook("A boat drifts in with nobody aboard.", "Let's row out to that boat!")
    assert not followed_hook("A boat drifts in with nobody aboard.", "I order another ale.")
    assert followed_hook("镇口来了一个浑身湿透的陌生人。", "我去镇口看看那个陌生人。")


def test_chain_chance_scales_but_certain_chains_stay() -> None:
    settings = SchedulerSettings()
    assert paced(settings, infer_pace(FAST)).chain_base == pytest.approx(0.45 * 0.6)
    assert paced(settings, infer_pace(SLOW)).chain_base == pytest.approx(0.45 * 1.3)
    assert paced(settings, None) is settings
    certain = SchedulerSettings(chain_base=1.0)
    assert paced(certain, infer_pace(FAST)) is certain


# --- through the engine ---------------------------------------------------------------------------


@pytest.fixture
async def engine(store, library, clock, key):
    model = ScriptedModel()
    built = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(5))
    await built.open_scene(key, "manor")
    await built.summon(key, "Ada")
    return built, model


async def play(engine: SceneEngine, model: ScriptedModel, key, clock, texts: list[str], gap: float) -> None:
    for text in texts:
        model.enqueue("*Ada nods.* \"I hear you. Go on, then, tell me the rest of it.\"")
        await engine.handle(InboundLine(key, "u1", "Ann", text))
        clock.advance(gap)


async def test_a_fast_table_gets_shorter_replies_and_says_why(engine, store, key, clock) -> None:
    """Terse lines a few seconds apart: from the fifth line on the model is asked for shorter replies."""
    built, model = engine
    await play(built, model, key, clock, ["Ada?", "Go.", "Now?", "Run!", "Left.", "Door!"], gap=8)
    tail = model.calls[-1].messages[-1].content
    assert "The table plays at a fast pace: keep this reply between" in tail
    first_tail = model.calls[0].messages[-1].content
    assert "pace" not in first_tail  # too early to tell at the first line
    report = await built.pacing(key)
    assert report.startswith("Pacing: fast (inferred") and "short lines (median 1 words)" in report
    assert "quick replies (median 8 s between lines)" in report
    assert "Pacing: fast" in await built.why(key)


async def test_admins_pin_and_unpin(engine, store, key, clock) -> None:
    built, model = engine
    await play(built, model, key, clock, ["Ada?", "Go.", "Now?", "Run!", "Left."], gap=8)
    assert "Pacing: slow (pinned by an admin)." in await built.pin_pacing(key, "slow")
    model.enqueue("*Ada nods.* \"Slowly, then.\"")
    await built.handle(InboundLine(key, "u1", "Ann", "Tell me."))
    assert "slow pace" in model.calls[-1].messages[-1].content
    assert (await built.pin_pacing(key, "auto")).startswith("Pacing: fast (inferred")
    with pytest.raises(EnsembleError, match="Usage: /pacing"):
        await built.pin_pacing(key, "sideways")


async def test_regenerations_are_observed(engine, store, key, clock) -> None:
    """Regenerating (and keeping the shorter take) shows up among the reasons, with where it happened."""
    built, model = engine
    for text in ["Ada, tell me about the war, slowly, every detail you remember of it.", "And then?", "Who else?", "Why?"]:
        model.enqueue("*Ada looks away for a long time, then speaks.* \"It was long ago, and it was cold, and we were young and foolish then.\"",
                      "*Ada sighs.* \"Cold. Long ago.\"")
        await built.handle(InboundLine(key, "u1", "Ann", text))
        await built.regenerate(key)
        clock.advance(200)
    report = await built.pacing(key)
    assert "regenerated 4 of 4 replies, keeping the shorter alternatives" in report
