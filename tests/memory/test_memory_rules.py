"""Fact rules, lore triggering and retrieval, table-driven."""

from __future__ import annotations

import random

import pytest

from bot.content.models import LoreEntry
from bot.memory.facts import extract_facts
from bot.memory.lore import matches, triggered
from bot.memory.retrieval import Memory, rank


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Here is a secret: I hid the key in the well.", "secret"),
        ("I promise I will come back for you.", "promise"),
        ("My arm is bleeding badly.", "injury"),
        ("My name is Ann and I am the new lamplighter.", "identity"),
        ("I have the captain's letter.", "possession"),
        ("We decided to leave at dawn.", "decision"),
        ("这是秘密，别告诉别人。", "secret"),
        ("我答应你，一定会回来。", "promise"),
        ("The weather is fine.", None),
    ],
)
def test_fact_kinds(text, kind):
    facts = extract_facts("Ann", text)
    assert (facts[0].kind if facts else None) == kind
    if facts:
        assert facts[0].text.startswith("Ann: ")


def entry(**kw) -> LoreEntry:
    return LoreEntry(content="x", **kw)


@pytest.mark.parametrize(
    ("lore", "text", "fires"),
    [
        (entry(keys=["chain"]), "the harbour chain rises", True),
        (entry(keys=["chain"]), "a chainmail shirt", False),
        (entry(keys=["chain"], whole_word=False), "a chainmail shirt", True),
        (entry(keys=["Chain"], case_sensitive=True), "the chain", False),
        (entry(keys=["chain"], secondary_keys=["dusk"], selective_logic="and_any"), "the chain at dusk", True),
        (entry(keys=["chain"], secondary_keys=["dusk"], selective_logic="and_any"), "the chain at noon", False),
        (entry(keys=["chain"], secondary_keys=["dusk"], selective_logic="not_any"), "the chain at dusk", False),
        (entry(keys=["chain"], secondary_keys=["dusk", "fog"], selective_logic="not_all"), "chain at dusk", True),
        (entry(keys=["chain"], secondary_keys=["dusk", "fog"], selective_logic="and_all"), "chain at dusk in fog", True),
        (entry(keys=["镖局"]), "我去威远镖局看看", True),
        (entry(constant=True), "anything", True),
        (entry(keys=["chain"], enabled=False), "the chain", False),
    ],
)
def test_lore_logic(lore, text, fires):
    assert matches(lore, text) is fires


def test_lore_probability_is_rolled_with_the_injected_rng():
    lore = [entry(keys=["fog"], probability=50)]
    fired = [bool(triggered(lore, "fog", random.Random(seed))[1]) for seed in range(200)]
    assert 60 < sum(fired) < 140


def test_retrieval_prefers_rare_shared_words_importance_and_recency():
    memories = [
        Memory(1, "Ann: the locket is under the chapel floorboard", 8, 1),
        Memory(2, "Ann: the chapel bell rang at noon", 3, 2),
        Memory(3, "Ann: I like the chapel", 2, 3),
    ]
    best = rank(memories, "what did I tuck beneath the chapel floorboard?", 100)
    assert best[0].memory.id == 1
