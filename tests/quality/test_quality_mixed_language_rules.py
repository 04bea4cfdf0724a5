"""Mixed language: kana inside Chinese, short foreign clauses and romaji inside English.

The examples are written for this test, not taken from the labelled sets in ``data/``.
"""

from __future__ import annotations

import pytest

from bot.quality import language
from bot.quality.detectors import mixed_language
from bot.quality.findings import ReplyContext

EN = ReplyContext(npc_name="Corin", user_names=("Ada",), language="en")
ZH = ReplyContext(npc_name="老周", user_names=("阿宁",), language="zh")
lingua = pytest.mark.skipif(language.backend() != "lingua", reason="needs Lingua")


def codes(text: str, ctx: ReplyContext) -> list[str]:
    return [f.code for f in mixed_language.detect(text, ctx)]


def test_kana_inside_chinese_is_japanese() -> None:
    assert codes("“这可是我の地盘，你别乱来。”*老周哼了一声。*", ZH) == ["ja"]
    assert codes("“明天一定行的，がんばれ！”", ZH) == ["ja"]


def test_kana_is_allowed_for_a_japanese_speaking_card_and_chinese_alone_is_clean() -> None:
    bilingual = ReplyContext(npc_name="老周", language="zh", npc_languages=("ja",))
    assert codes("“明天一定行的，がんばれ！”", bilingual) == []
    assert codes("“这可是我的地盘，你别乱来。”*老周哼了一声。*", ZH) == []


@lingua
@pytest.mark.parametrize(
    "text",
    [
        '"Hand me the lantern. Wir müssen sofort gehen, just hold it steady while I look." *Corin kneels.*',
        '"Sit down, please. Tenho muita pressa, it is a long walk to the harbour."',
        '"Careful on the ladder, Ada. Ikke se ned, whatever you do."',
        '"Pack the rope. Het wordt morgen koud, and the pass closes at noon."',
        '"Yoroshiku onegai shimasu desu, Ada. Welcome to the workshop."',  # romaji phrase with a copula
        '"Ryōkai, the crates go to the back." *Corin salutes.*',  # a Hepburn long vowel
    ],
)
def test_short_foreign_clauses_in_english_are_flagged(text: str) -> None:
    assert codes(text, EN) != []


@lingua
@pytest.mark.parametrize(
    "text",
    [
        '"Fresh bread, warm butter. Copy that, right away." *Corin grins.*',  # terse English clauses
        '"Stand still. Left tunnel smells like wet dog, old rope, cold tea."',
        '"Two espresso, one tiramisu, table nine. Fast but pretty."',  # loanwords
        '"He used to say shuō dào zuò dào, say it and do it." *Corin shrugs.*',  # glossed pinyin with tone marks
        '"Banana, tomato, potato: the whole order is here, Ada."',  # English words shaped like romaji
    ],
)
def test_terse_english_loanwords_and_pinyin_are_not_flagged(text: str) -> None:
    assert codes(text, EN) == []


@pytest.mark.parametrize(
    "text",
    [
        '"Genau, the crate goes on the left cart." *Corin points.*',
        '*Corin wipes his hands.* "Nee, nee, not that rope, the blue one."',
        '"Right. Bueno, we leave at dawn."',
        '"Kurde, the lamp is out again. Pass me a match, Ada."',
        '"Ganbatte! You can climb it, Ada."',
    ],
)
def test_a_foreign_interjection_at_the_head_of_a_sentence_is_flagged(text: str) -> None:
    assert codes(text, EN) != []


@pytest.mark.parametrize(
    "text",
    [
        '"Bon voyage, then. Write when you land."',  # a borrowed phrase, not the "Bon," slot
        '"Also, bring the rope. And the lantern."',  # an English opener
        '*Corin sits down at the little café by the quay.* "The soufflé here is a small miracle."',
        '"Déjà vu, Ada. We stood on this exact spot last spring."',
    ],
)
def test_borrowed_words_and_english_openers_are_not_flagged(text: str) -> None:
    assert codes(text, EN) == []


def test_an_interjection_the_card_allows_is_not_flagged() -> None:
    spanish = ReplyContext(npc_name="Corin", user_names=("Ada",), language="en", npc_languages=("es",))
    assert codes('"Bueno, we leave at dawn."', spanish) == []


def test_ok_in_chinese_is_english_and_app_is_a_loanword() -> None:
    assert codes("“OK，那就这么定了。”*老周点了点头。*", ZH) == ["en"]
    english = ReplyContext(npc_name="老周", user_names=("阿宁",), language="zh", npc_languages=("en",))
    assert codes("“OK，那就这么定了。”*老周点了点头。*", english) == []
    assert codes("“新 App 的启动页我重做了，你看看这个 Logo。”", ZH) == []


def test_leaked_role_markers_are_not_a_language() -> None:
    assert codes("“先别急。”\nAssistant: 我建议再等一等。", ZH) == []


def test_a_template_placeholder_is_not_english_in_a_chinese_scene() -> None:
    from bot.quality.detectors import mixed_language
    from bot.quality.findings import ReplyContext

    ctx = ReplyContext(npc_name="老周", user_names=("阿宁",), language="zh")
    assert mixed_language.detect("*老周把{{user}}拉到身后。*“别动，{char}在外头。”", ctx) == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('"The boat leaves at six and not a minute later, c\'est tout." *Corin folds the map.*', "fr"),
        ('"We go at dawn, d\'accord? Bring the rope."', "fr"),
        ('"Das ist the last of the coffee, Ada, so drink it slowly."', "de"),
        ('"Lo siento, the bridge is out. We take the long way."', "es"),
        ('"Va bene, leave the crates by the door and come inside."', "it"),
    ],
)
def test_everyday_foreign_clauses_in_english_are_flagged(text: str, code: str) -> None:
    assert code in codes(text, EN)


@pytest.mark.parametrize(
    "text",
    [
        '"Lost the boat, lost the cargo. C\'est la vie." *Corin shrugs.*',
        '"She had a certain je ne sais quoi, Ada." *Corin smiles at the memory.*',
        '"Our rendez-vous is at the lighthouse, eight sharp."',
        '"He was compromised, and the plan with him."',
    ],
)
def test_phrases_english_has_borrowed_are_not_flagged(text: str) -> None:
    assert codes(text, EN) == []


def test_a_clause_in_a_language_the_card_allows_is_not_flagged() -> None:
    ctx = ReplyContext(npc_name="Corin", user_names=("Ada",), language="en", npc_languages=("fr",))
    assert codes('"We go at dawn, d\'accord? C\'est compris." *Corin nods.*', ctx) == []
