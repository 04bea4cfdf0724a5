"""Patterns built from names are built from the names a reply writes, not from everyone present.

A new set of characters in the room (someone walks in, another scene's cast) used to compile every
name-keyed pattern again inside that turn (~25 ms of CPU on the event loop, 4x the median reply). Only
a name the reply writes can match, so the detectors and the clean-up build their patterns from those:
the findings are the same and a new cast compiles nothing.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from bot.engine.cleanup import clean_reply
from bot.quality import language
from bot.quality.detect import detect_all
from bot.quality.findings import ReplyContext
from bot.quality.text import names_in

REPLIES = (
    '*Mira sets the lamp down.* "Bram says the tide is wrong tonight," she murmurs. Bram leans in: "It is."',
    '"Enough!" Old Tom slams the table. "Nobody sails." *Ann\'s heart races as she listens.*',
    'Mira: "I am Captain Vell, and this is my ship."\nOld Tom: "Aye."',
    "*老陈搓了搓手：“今晚不出海。”* 林晚笑道：“那就喝茶。”",
    "*她放下灯。* “潮水不对劲，OK？阿福，by the way，船呢？”",
    "*她放下灯。* “潮水不对劲。”你的心猛地一沉，你决定留下。",
)
NPC = {"en": ("Mira", ["Old Tom", "Bram", "Captain Vell"]), "zh": ("林晚", ["老陈", "阿福"])}
SURNAMES = ("Crane", "Rook", "Penhale", "Tregear", "Moyle", "Trewin", "Nance", "Pascoe", "Jago", "Quick")
FIRST = ("Ansel", "Bethan", "Corwin", "Dilys", "Edric", "Fenna", "Gideon", "Hester", "Ivo", "Jessamy")


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    language.warm_up()


def _context(reply: str, extra: list[str]) -> ReplyContext:
    lang = "zh" if re.search(r"[\u4e00-\u9fff]", reply) else "en"
    npc, others = NPC[lang]
    return ReplyContext(npc_name=npc, user_names=["Ann"], other_names=[*others, *extra], language=lang)


def _casts(rng: random.Random, count: int) -> Iterator[list[str]]:
    for _ in range(count):
        yield [f"{rng.choice(FIRST)} {rng.choice(SURNAMES)}" for _ in range(rng.randint(1, 6))]


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every pattern the regex engine actually compiles (its own cache missed) while the test runs."""
    seen: list[str] = []
    real = re._compiler.compile  # type: ignore[attr-defined]

    def counting(pattern: object, flags: int = 0) -> object:
        seen.append(str(pattern)[:60])
        return real(pattern, flags)

    monkeypatch.setattr(re._compiler, "compile", counting)  # type: ignore[attr-defined]
    return seen


def test_names_in_keeps_the_names_the_text_writes_in_order_ignoring_case() -> None:
    text = "OLD TOM nods at the Straße sign; 林晚 smiles."
    assert names_in(["Bram", "Old Tom", "林晚", "strasse", "straße"], text) == ["Old Tom", "林晚", "strasse", "straße"]
    assert names_in([], text) == []
    assert names_in(["Bram"], "") == []


@pytest.mark.parametrize("reply", REPLIES)
def test_absent_names_change_no_finding(reply: str) -> None:
    """The findings with thirty more characters present, none of them named, are the findings without them."""
    extra = [f"{f} {s}" for f in FIRST for s in SURNAMES[:3]]
    plain = [f.to_dict() for f in detect_all(reply, _context(reply, []))]
    crowded = [f.to_dict() for f in detect_all(reply, _context(reply, extra))]
    assert crowded == plain
    assert plain, "each sample reply has something to find, so the comparison means something"


def test_a_new_cast_compiles_nothing(compiles: list[str]) -> None:
    """Once a reply has been checked, checking it again with other people present compiles no pattern."""
    rng = random.Random(5)
    for reply in REPLIES:
        detect_all(reply, _context(reply, []))
        clean_reply(reply, ["Mira"], NPC["en"][1])
    compiles.clear()
    for extra in _casts(rng, 40):
        for reply in REPLIES:
            detect_all(reply, _context(reply, extra))
            clean_reply(reply, ["Mira"], [*NPC["en"][1], *extra])
    assert compiles == []


def test_clean_reply_still_cuts_a_named_speaker_among_many() -> None:
    crowd = [f"{f} {s}" for f in FIRST for s in SURNAMES]
    text = 'Mira: "The lamp is lit."\nHester Nance: "And the boats?"'
    assert clean_reply(text, ["Mira"], crowd) == '"The lamp is lit."'
    assert clean_reply(text, ["Mira"], crowd[:5]) == '"The lamp is lit."\nHester Nance: "And the boats?"'
