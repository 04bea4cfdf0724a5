"""Language identification for the mixed-language detector: Lingua when installed, a script heuristic otherwise.

Lingua (``lingua-language-detector``, the optional extra ``quality``) is imported lazily and one
detector restricted to en, zh, ja, ko, fr, de, es and ru is built on first use and cached. Its language
models load on the first call (about a second); ``warm_up()`` pays that cost early, e.g. at start-up.

When Lingua is **not importable** the module falls back to a script-based heuristic: the share of CJK
(Han, with kana meaning Japanese), Hangul, Cyrillic and Latin letters decides the language, and among
Latin-script languages a small stop-word vote picks en, fr, de or es. The fallback tells scripts apart
reliably (English vs Chinese, the case that matters most for this bot) but Latin languages only roughly;
``backend()`` reports which of the two is in use. Like Lingua, neither is reliable on one or two words,
so callers only ask about sentence-length text.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

SUPPORTED: tuple[str, ...] = ("en", "zh", "ja", "ko", "fr", "de", "es", "ru")
LATIN_LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es")

NAMES = {
    "en": "English",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "ru": "Russian",
}

_LINGUA_NAMES = {
    "en": "ENGLISH",
    "zh": "CHINESE",
    "ja": "JAPANESE",
    "ko": "KOREAN",
    "fr": "FRENCH",
    "de": "GERMAN",
    "es": "SPANISH",
    "ru": "RUSSIAN",
}

_HAN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_RE = re.compile("[\u3040-\u309f\u30a0-\u30ff]")
_HANGUL_RE = re.compile("[\uac00-\ud7af\u1100-\u11ff]")
_CYRILLIC_RE = re.compile("[\u0400-\u04ff]")
_LATIN_RE = re.compile("[A-Za-z\u00c0-\u024f]")
_LATIN_WORD_RE = re.compile("[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z\u00c0-\u024f]+)?")

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is are was were of to in that it you he she i we they this with for on not be have "
        "what my your her his at as but do don't can will just so".split()
    ),
    "fr": frozenset(
        "le la les et est un une des du de je tu il elle nous vous ils que qui ne pas dans pour sur "
        "avec mais ce cette mon ton son suis es sont très oui non".split()
    ),
    "de": frozenset(
        "der die das und ist ein eine nicht ich du er sie wir ihr zu mit auf für den dem des sich "
        "auch aber was wie bin bist sind noch nur ja nein".split()
    ),
    "es": frozenset(
        "el la los las y es un una de del que no yo tú él ella nosotros en por para con pero muy "
        "está estoy eres soy sí como más mi tu su".split()
    ),
}


@dataclass(frozen=True, slots=True)
class ScriptCounts:
    """Letters per script in a text."""

    han: int = 0
    kana: int = 0
    hangul: int = 0
    cyrillic: int = 0
    latin: int = 0

    @property
    def total(self) -> int:
        return self.han + self.kana + self.hangul + self.cyrillic + self.latin

    @property
    def cjk(self) -> int:
        return self.han + self.kana


def script_counts(text: str) -> ScriptCounts:
    return ScriptCounts(
        han=len(_HAN_RE.findall(text)),
        kana=len(_KANA_RE.findall(text)),
        hangul=len(_HANGUL_RE.findall(text)),
        cyrillic=len(_CYRILLIC_RE.findall(text)),
        latin=len(_LATIN_RE.findall(text)),
    )


_forced_backend: str | None = None


def set_backend(name: Literal["auto", "lingua", "script"]) -> None:
    """Force a backend (for tests and benchmarks); "auto" uses Lingua when importable."""
    global _forced_backend
    _forced_backend = None if name == "auto" else name


_build_lock = threading.Lock()


@lru_cache(maxsize=1)
def _lingua_detector() -> Any | None:
    try:
        from lingua import Language, LanguageDetectorBuilder
    except ImportError:
        return None
    languages = [getattr(Language, _LINGUA_NAMES[code]) for code in SUPPORTED]
    return LanguageDetectorBuilder.from_languages(*languages).build()


# Short foreign phrases inside English come from more Latin-script languages than the scene languages above
# (Portuguese, Dutch, Italian, the Scandinavian ones), and a phrase of two or three words is only called when
# Lingua is sure of it among all of them: a detector restricted to en/fr/de/es would call "está bem" Spanish
# and Norwegian nothing at all.
WIDE_LATIN: tuple[str, ...] = ("en", "fr", "de", "es", "pt", "nl", "it", "nb", "da", "sv")
_WIDE_LINGUA = {"pt": "PORTUGUESE", "nl": "DUTCH", "it": "ITALIAN", "nb": "BOKMAL", "da": "DANISH", "sv": "SWEDISH"}
NAMES.update({"pt": "Portuguese", "nl": "Dutch", "it": "Italian", "nb": "Norwegian", "da": "Danish", "sv": "Swedish"})
# Languages close enough that Lingua splits its confidence between them: the group's sum is what it is sure of.
_KIN = {"nb": "nb", "da": "nb", "sv": "nb"}


@lru_cache(maxsize=1)
def _wide_detector() -> Any | None:
    try:
        from lingua import Language, LanguageDetectorBuilder
    except ImportError:
        return None
    names = [_LINGUA_NAMES.get(code) or _WIDE_LINGUA[code] for code in WIDE_LATIN]
    return LanguageDetectorBuilder.from_languages(*(getattr(Language, n) for n in names)).build()


def classify_phrase(text: str) -> tuple[str | None, float]:
    """The Latin-script language of a short phrase among ``WIDE_LATIN`` (close languages pooled, Norwegian,
    Danish and Swedish as "nb"); (None, 0) without Lingua, which a phrase is too short to vote on by stop words."""
    if _forced_backend == "script":
        return None, 0.0
    with _build_lock:
        detector = _wide_detector()
    if detector is None:
        return None, 0.0
    pooled: dict[str, float] = {}
    for value in detector.compute_language_confidence_values(text):
        code = value.language.iso_code_639_1.name.lower()
        code = _KIN.get(code, code)
        pooled[code] = pooled.get(code, 0.0) + float(value.value)
    if not pooled:
        return None, 0.0
    best = max(pooled, key=lambda c: pooled[c])
    return best, pooled[best]


def _detector() -> Any | None:
    if _forced_backend == "script":
        return None
    # A turn arriving while the start-up thread builds the detector waits for that one build
    # (lru_cache alone would let both threads build their own).
    with _build_lock:
        return _lingua_detector()


def backend() -> Literal["lingua", "script"]:
    """Which identification backend is in use."""
    return "lingua" if _detector() is not None else "script"


_warmed: list[Any] = []  # the detector whose models are loaded (a cleared cache builds a cold one)


def warm_up() -> None:
    """Build the Lingua detector and load its models now rather than on the first reply (~1.3 s).

    Lingua reads all its language models on the first classification, so one text loads them;
    idempotent and thread-safe, so start-up runs it in a worker thread (``bot.app.warm_up``).
    """
    detector = _detector()
    if detector is None or any(d is detector for d in _warmed):
        return
    detector.compute_language_confidence_values("warm up the language models")
    detector.compute_language_confidence_values("预热语言模型")
    # The phrase model of the mixed-language detector loads its ten models on first use too: without this
    # the first English reply paid ~0.6 s of CPU inside its turn (bench engine: first reply 67x the median).
    classify_phrase("warm up the phrase models")
    with _build_lock:
        wide = _wide_detector()
    _warmed[:] = [detector, wide]


def is_warm() -> bool:
    """Whether the detector in use, and the phrase model beside it, have their models loaded (true for
    the script fallback, which has none)."""
    detector = _detector()
    if detector is None:
        return True
    with _build_lock:
        wide = _wide_detector()
    return any(d is detector for d in _warmed) and any(d is wide for d in _warmed)


def classify(text: str) -> tuple[str | None, float]:
    """The language of ``text`` as an ISO 639-1 code with a confidence in [0, 1]; (None, 0) without letters.

    The script decides first (it is certain where it applies: kana means Japanese, Hangul Korean);
    Lingua, or the stop-word vote, only chooses among the Latin-script languages.
    """
    counts = script_counts(text)
    if counts.total == 0:
        return None, 0.0
    dominant = max(
        (counts.cjk, "cjk"), (counts.hangul, "ko"), (counts.cyrillic, "ru"), (counts.latin, "latin")
    )[1]
    if dominant == "cjk":
        if counts.kana and counts.kana >= 0.1 * counts.cjk:
            return "ja", 0.95
        return "zh", 0.95 if counts.han >= 2 else 0.6
    if dominant in ("ko", "ru"):
        return dominant, 0.95
    return _classify_latin(text)


def _classify_latin(text: str) -> tuple[str, float]:
    detector = _detector()
    if detector is not None:
        values = detector.compute_language_confidence_values(text)
        for value in values:
            code = value.language.iso_code_639_1.name.lower()
            if code in LATIN_LANGUAGES:
                return code, float(value.value)
        return "en", 0.0
    return _stopword_vote(text)


def _stopword_vote(text: str) -> tuple[str, float]:
    words = [w.lower().replace("’", "'") for w in _LATIN_WORD_RE.findall(text)]
    if not words:
        return "en", 0.0
    scores = {code: sum(1 for w in words if w in stop) for code, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda code: (scores[code], code == "en"))
    hits = sum(scores.values())
    if scores[best] == 0:
        return "en", 0.3
    return best, min(0.95, scores[best] / hits) if hits else 0.3


def clearly(text: str, code: str) -> bool:
    """Whether the stop words alone show that Latin-script ``text`` is in ``code`` (no model needed).

    Used to skip Lingua on the common case, a sentence in the scene's own language: at least two of the
    language's stop words and at least twice as many as any other language's.
    """
    stop = _STOPWORDS.get(code)
    if stop is None:
        return False
    words = [w.lower().replace("’", "'") for w in _LATIN_WORD_RE.findall(text)]
    own = sum(1 for w in words if w in stop)
    if own < 2:
        return False
    other = max((sum(1 for w in words if w in s) for c, s in _STOPWORDS.items() if c != code), default=0)
    return own >= 2 * other + 1 if other else True


def dominant_language(text: str, default: str = "en") -> str:
    """The language most of ``text`` is written in (CJK characters weigh as words), for scene detection."""
    counts = script_counts(text)
    latin_words = len(_LATIN_WORD_RE.findall(text))
    weights = {"cjk": counts.cjk, "ko": counts.hangul // 2, "ru": counts.cyrillic // 5, "latin": latin_words}
    top = max(weights, key=lambda k: weights[k])
    if weights[top] == 0:
        return default
    if top == "cjk":
        return "ja" if counts.kana >= 0.1 * counts.cjk else "zh"
    if top in ("ko", "ru"):
        return top
    latin_only = " ".join(_LATIN_WORD_RE.findall(text))[:4000]
    code, _ = _classify_latin(latin_only)
    return code


def language_name(code: str) -> str:
    return NAMES.get(code, code)
