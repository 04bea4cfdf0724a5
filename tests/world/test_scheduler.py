"""Scheduling, table-driven over the pure scheduler, plus the engine cases that need a transcript."""

from __future__ import annotations

import random

import pytest

from bot.core.addressing import find_mentions, is_question
from bot.engine.lines import InboundLine
from bot.engine.scheduler import (
    NEVER,
    Candidate,
    SchedulerSettings,
    chain_continues,
    choose_for_line,
    topic_words,
)

NAMES = {"ada": ["Ada"], "bram": ["Bram", "the cook"], "lin": ["林晚", "阿晚"], "quiet": ["Quill"]}
TALK = {"ada": 0.8, "bram": 0.5, "lin": 0.5, "quiet": 0.05}


def decide(text: str, *, spoke: dict[str, int] | None = None, replied: str | None = None, seed: int = 3):
    mentions = {m.character_id: m.position for m in find_mentions(text, NAMES)}
    spoke = spoke or {}
    candidates = [
        Candidate(
            cid, TALK[cid], spoke.get(cid, NEVER), addressed_at=mentions.get(cid), replied_to=cid == replied,
            spoke_last=spoke.get(cid) == 0,
        )
        for cid in NAMES
    ]
    return choose_for_line(
        candidates, question=is_question(text), line_words=topic_words(text), settings=SchedulerSettings(), rng=random.Random(seed)
    )


@pytest.mark.parametrize(
    ("case", "text", "replied", "expected"),
    [
        ("named address", "Bram, fetch the wine.", None, ("bram",)),
        ("alias", "Ask the cook.", None, ("bram",)),
        ("two names in one line", "Lin? No, Ada first... 阿晚 later", None, ("ada", "lin")),
        ("a CJK name inside unspaced text", "我觉得林晚说得对", None, ("lin",)),
        ("a reply to an NPC's message", "And then what?", "lin", ("lin",)),
        ("a quiet character named", "Quill, say something.", None, ("quiet",)),
    ],
)
def test_addressed_speakers(case, text, replied, expected):
    assert decide(text, replied=replied).speakers == expected, case


def test_nobody_addressed_gives_one_best_fit():
    """No name, no question: exactly one speaker, the talkative one when nobody has spoken."""
    decision = decide("The rain keeps falling.")
    assert decision.speakers == ("ada",)


def test_question_to_the_group_may_draw_a_second_speaker():
    """An open question: the best fit answers, and over many seeds a second one sometimes joins."""
    sizes = {len(decide("Does anyone know the way?", seed=s).speakers) for s in range(40)}
    assert sizes == {1, 2}


def test_fairness_lets_the_quiet_ones_in():
    """A character who spoke last loses to one who has been quiet for a while."""
    decision = decide("Hm.", spoke={"ada": 0, "bram": 6, "lin": 6, "quiet": 6})
    assert decision.speakers[0] in {"bram", "lin"}
    assert "spoke last" in decision.reasons["ada"]


def test_a_quiet_character_rarely_leads_unaddressed():
    """Talkativeness 0.05 never wins an unaddressed line against chatty peers who are equally rested."""
    assert all("quiet" not in decide("So.", seed=s).speakers for s in range(30))


def test_every_decision_explains_itself():
    """Each candidate has a score and reasons; the chosen one is marked in the explanation."""
    decision = decide("Bram?")
    assert set(decision.scores) == set(NAMES)
    text = decision.explain({"bram": "Bram"})
    assert "-> Bram" in text and "named in the line" in text


def test_chain_never_exceeds_cap():
    settings = SchedulerSettings(chain_cap=2, chain_base=1.0, chain_decay=1.0)
    rng = random.Random(0)
    assert [chain_continues(step, settings, rng) for step in range(4)] == [True, True, False, False]


def test_deterministic_given_the_seed():
    assert decide("Anyone?", seed=9) == decide("Anyone?", seed=9)


async def test_engine_reply_to_message_addresses_its_speaker(engine, key, store):
    """In the engine, a Discord-style reply to Bram's message makes Bram answer."""
    for name in ("Ada", "Bram"):
        await engine.summon(key, name)
    first = await engine.handle(InboundLine(key, "u1", "Ann", "Bram?"))
    scene = await engine.require_scene(key)
    await store.set_platform_message_id(scene.id, first.utterances[0].message_id, "d-1")
    outcome = await engine.handle(InboundLine(key, "u1", "Ann", "Really?", reply_to="d-1"))
    assert [u.speaker for u in outcome.utterances] == ["Bram"]
    assert "replies to its message" in await engine.why(key)
