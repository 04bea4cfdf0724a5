"""Language identification: Lingua when installed, the script heuristic otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.quality import language
from bot.quality.detect import detect_all
from bot.quality.findings import ReplyContext


@pytest.fixture
def script_only() -> Iterator[None]:
    language.set_backend("script")
    try:
        yield
    finally:
        language.set_backend("auto")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("She looks up from the map and smiles at the stranger.", "en"),
        ("她从地图上抬起头，对陌生人笑了笑。", "zh"),
        ("ありがとう、また明日ね。", "ja"),
        ("고마워, 내일 또 보자.", "ko"),
        ("Я не понимаю, что ты говоришь.", "ru"),
        ("Je ne sais pas ce que tu veux dire, mon ami.", "fr"),
        ("Das ist doch nicht dein Ernst, oder?", "de"),
        ("No sé lo que quieres decir, amigo mío.", "es"),
    ],
)
def test_classify_sentences(text: str, code: str) -> None:
    """Sentence-length text is identified with the configured backend."""
    assert language.classify(text)[0] == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("She looks up from the map and smiles at the stranger.", "en"),
        ("她从地图上抬起头，对陌生人笑了笑。", "zh"),
        ("ありがとう、また明日ね。", "ja"),
        ("Я не понимаю, что ты говоришь.", "ru"),
        ("Je ne sais pas ce que tu veux dire, mon ami, et je suis fatigué.", "fr"),
    ],
)
def test_script_fallback(script_only: None, text: str, code: str) -> None:
    """Without Lingua the script decides, and a stop-word vote picks among Latin languages."""
    assert language.backend() == "script"
    assert language.classify(text)[0] == code


def test_mixed_language_works_with_the_fallback(script_only: None) -> None:
    """English in a Chinese scene and Chinese in an English scene are found without Lingua too."""
    zh = ReplyContext(npc_name="苏婉", language="zh")
    en = ReplyContext(npc_name="Mira", language="en")
    assert [
        f.code
        for f in detect_all(
            "她笑了笑。“Let's go, it is going to rain very soon.”", zh, only=["mixed_language"]
        )
    ] == ["en"]
    assert [
        f.code
        for f in detect_all('She smiles. "我们走吧，外面要下雨了，别再磨蹭了。"', en, only=["mixed_language"])
    ] == ["zh"]


def test_lingua_is_the_default_backend_when_installed() -> None:
    """The optional dependency is used when it can be imported."""
    pytest.importorskip("lingua")
    assert language.backend() == "lingua"


def test_dominant_language() -> None:
    """The scene language of a transcript is its dominant language; CJK characters weigh as words."""
    assert language.dominant_language("Hello there. 你好。 How are you doing today, my friend?") == "en"
    assert language.dominant_language("苏婉笑了笑：“你来啦，快进来坐。”Mira点点头。") == "zh"
    assert language.dominant_language("") == "en"
    assert language.classify("...!?")[0] is None


def test_falls_back_when_lingua_cannot_be_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optional dependency missing means the script heuristic, not an error."""
    import sys

    monkeypatch.setitem(sys.modules, "lingua", None)
    language._lingua_detector.cache_clear()
    try:
        assert language.backend() == "script"
        assert language.classify("她从地图上抬起头。")[0] == "zh"
        language.warm_up()
    finally:
        monkeypatch.delitem(sys.modules, "lingua")
        language._lingua_detector.cache_clear()
