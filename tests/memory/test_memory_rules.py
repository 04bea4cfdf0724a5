"""Fact rules, lore triggering and retrieval, table-driven."""

from __future__ import annotations

import random

import pytest

from bot.content.models import LoreEntry
from bot.memory.facts import extract_facts
from bot.memory.lore import matches, triggered
from bot.memory.retrieval import FusionWeights, VectorSet, fuse


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


def test_fusion_rewards_agreement_and_breaks_ties_by_recency_only():
    """An item both rankings found beats items only one found; equal scores go to the newer item;
    an old item at rank 1 is never pushed below a newer one at rank 2 (age is not a weight)."""
    fused = fuse([10, 20, 30], [30, 40], speakers={}, query_speaker=None)
    assert fused[0][0] == 30
    tie = fuse([5], [9], speakers={}, query_speaker=None)
    assert [f[0] for f in tie] == [9, 5]
    old_first = fuse([1, 900], [], speakers={}, query_speaker=None)
    assert [f[0] for f in old_first] == [1, 900]


def test_fusion_favours_the_askers_own_lines_and_notes():
    """With the same ranks, a line said by the person asking, and a written-down note, come first."""
    fused = fuse([1, 2], [], speakers={1: "Tom", 2: "Ann"}, query_speaker="Ann", weights=FusionWeights(same_speaker=0.3))
    assert fused[0][0] == 2
    noted = fuse([4, -3], [], speakers={4: "Tom", -3: ""}, query_speaker="Ann", weights=FusionWeights(note=0.2))
    assert noted[0][0] == -3


def test_vector_set_searches_before_the_query_line_and_stays_bounded():
    import numpy as np

    vectors = VectorSet(capacity=3)
    eye = np.eye(4, dtype=np.float32)
    vectors.add(np.array([1, 2, 3]), eye[:3])
    assert vectors.search(eye[2], 1, before_id=99) == [3]
    assert 3 not in vectors.search(eye[2], 3, before_id=3)
    vectors.add(np.array([4, -1]), eye[[3, 0]])
    assert len(vectors) == 3 and set(vectors.ids.tolist()) == {3, 4, -1}
    assert vectors.newest_line == 4 and vectors.newest_note == 1


def test_fusion_adds_the_ranking_among_the_askers_own_lines():
    """A line found only by meaning among the asker's own lines still scores; one found by both
    meaning rankings beats one found by the general ranking alone at the same rank."""
    fused = fuse([], [7, 8], speakers={7: "Tom", 8: "Ann"}, query_speaker=None, own=[8])
    assert fused[0][0] == 8
    only_own = fuse([5], [], speakers={5: "Tom", 6: "Ann"}, query_speaker=None, own=[6])
    assert {f[0] for f in only_own} == {5, 6}
    assert fuse([5], [], speakers={}, query_speaker=None, own=[6], weights=FusionWeights(own=0.0))[0][0] == 5


def test_vector_set_search_can_keep_to_one_speaker_and_keeps_speakers_aligned_when_bounded():
    import numpy as np

    vectors = VectorSet(capacity=3)
    eye = np.eye(4, dtype=np.float32)
    vectors.add(np.array([1, 2, 3]), eye[:3], ["Ann", "Tom", "Ann"])
    near_two = eye[1] + 0.5 * eye[2]
    assert vectors.search(near_two, 1, before_id=99) == [2]
    assert vectors.search(near_two, 1, before_id=99, speaker="Ann") == [3]
    assert vectors.search(near_two, 3, before_id=99, speaker="Nobody") == []
    vectors.add(np.array([4]), eye[[3]], ["Tom"])
    assert dict(zip(vectors.ids.tolist(), vectors.speakers.tolist(), strict=True)) == {2: "Tom", 3: "Ann", 4: "Tom"}


def test_the_listeners_name_as_address_is_left_out_of_the_query_but_not_elsewhere():
    from bot.memory.retrieval import without_address

    names = ["Tom", "Old Tom", "林姑娘"]
    assert without_address("Tom, what was my mother's trade again?", names) == "what was my mother's trade again?"
    assert without_address("*sips* Old Tom, tell me straight.", names) == "*sips* tell me straight."
    assert without_address("What do you say to that, Tom?", names) == "What do you say to that?"
    assert without_address("林姑娘，你还记得我表哥吗？", names) == "你还记得我表哥吗？"
    # a name that is the subject, or part of a longer word, stays
    assert without_address("Tom's boat sank. Tomas, hello.", names) == "Tom's boat sank. Tomas, hello."


def test_a_line_that_only_asks_is_told_apart_from_one_that_tells():
    from bot.memory.retrieval import only_asks

    assert only_asks("*blows on my cider* Mira, what's the hardest work you've ever done?")
    assert only_asks("Who knows? Mira, did the keeper teach you everything?")
    assert only_asks("你还记得吗？")
    assert not only_asks("Tom, my mother was a lacemaker. Right?")
    assert not only_asks("我表哥是打铁的。")
    assert not only_asks("so that's that")
    fused = fuse([1, 2], [], speakers={}, query_speaker=None, questions={1})
    assert fused[0][0] == 2


def test_vector_set_grows_in_place_replaces_re_embedded_rows_and_matches_a_plain_model():
    """Against a dictionary model: appends in many small batches, re-embedded ids, the bound."""
    import random

    import numpy as np

    rng = random.Random(11)
    vectors = VectorSet(capacity=50)
    model: dict[int, tuple[np.ndarray, str]] = {}
    next_line, next_note = 1, 1
    for _ in range(120):
        ids: list[int] = []
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.15 and model:
                ids.append(rng.choice(sorted(model)))  # a swipe or an edit re-embeds a known line
            elif roll < 0.25:
                ids.append(-next_note)
                next_note += 1
            else:
                ids.append(next_line)
                next_line += 1
        ids = list(dict.fromkeys(ids))
        matrix = np.array([[rng.random() for _ in range(8)] for _ in ids], dtype=np.float32)
        speakers = [rng.choice(["Ann", "Tom", ""]) for _ in ids]
        vectors.add(np.array(ids, dtype=np.int64), matrix, speakers)
        for i, item_id in enumerate(ids):
            model[item_id] = (matrix[i], speakers[i])
        if len(model) > 50:
            lines = sorted(i for i in model if i > 0)
            for old in lines[: len(model) - 50]:
                del model[old]
        assert len(vectors) == len(model)
        assert set(vectors.ids.tolist()) == set(model)
        for row, item_id in enumerate(vectors.ids.tolist()):
            assert vectors.speakers[row] == model[item_id][1]
            assert np.array_equal(vectors.matrix[row], model[item_id][0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tom, my sister keeps bees up past the moor, sends honey every winter.", True),
        ("*rubs the scar* I got this from a gaff hook when I was nineteen.", True),
        ("Honestly I\u2019ve never once been further inland than the mill road.", True),
        ("我舅舅在落雁镇修钟表，修了三十年了。", True),
        ("Tom, what was it I told you about my sister?", False),  # only asks
        ("*leans on the bar and watches the rain*", False),  # an action, no speech
        ("I'm fine.", False),  # too short to tell anything
        ("The tide turns at four and the boats go out after.", False),  # not about the speaker
        ("你还记得我说过什么吗？", False),  # only asks
        ("今天的雨下得很大，街上没有人。", False),  # not about the speaker
    ],
)
def test_a_disclosure_is_a_first_person_statement_with_some_speech(text, expected):
    from bot.memory.retrieval import discloses

    assert discloses(text) is expected


def test_fusion_adds_the_ranking_among_the_askers_disclosures():
    """A line found only among the asker's disclosures outranks chatter found by one other ranking at
    the same rank (its weight is twice an ordinary ranking's), and can be switched off."""
    fused = fuse([5], [], speakers={5: "Tom", 6: "Ann"}, query_speaker=None, told=[6])
    assert [f[0] for f in fused] == [6, 5] and fused[0][3] == 1
    assert fuse([5], [], speakers={}, query_speaker=None, told=[6], weights=FusionWeights(told=0.0))[0][0] == 5


def test_vector_set_search_can_keep_to_disclosures_and_keeps_the_marks_aligned_when_bounded():
    import numpy as np

    vectors = VectorSet(capacity=3)
    eye = np.eye(4, dtype=np.float32)
    told = "My uncle repairs clocks in Wexmoor, has done for forty years."
    vectors.add(np.array([1, 2, 3]), eye[:3], ["Ann", "Ann", "Ann"], [told, "Tom, what time is it?", "*waves*"])
    near_two = eye[1] + 0.5 * eye[0]
    assert vectors.search(near_two, 1, before_id=99, speaker="Ann") == [2]
    assert vectors.search(near_two, 3, before_id=99, speaker="Ann", told=True) == [1]
    vectors.add(np.array([4]), eye[[3]], ["Ann"], [told])  # pushes line 1 out: capacity 3
    assert dict(zip(vectors.ids.tolist(), vectors.told.tolist(), strict=True)) == {2: False, 3: False, 4: True}
    assert vectors.search(eye[3], 3, before_id=99, told=True) == [4]
