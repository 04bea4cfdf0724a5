"""Per-transcript context from a ``NAME.meta.json`` sidecar: who is who, the language and the length target.

A transcript alone does not say which names are the user's, which characters exist but never speak, or
how long replies are meant to be, and the detectors need all three (a Chinese scene's target is in
characters, an English one's in words). The sidecar sits next to the transcript (``scene.jsonl`` ->
``scene.meta.json``) and holds a JSON object::

    {"language": "en" | "zh", "setting": "one-on-one" | "group" | ...,
     "user_names": [str], "npc_names": [str], "other_names": [str],
     "npc_languages": [str],                      # optional: languages a character speaks on purpose
     "cards": {name: str},                        # optional: one line of each character's sheet
     "length": {"unit": "words" | "chars", "min": int, "max": int}}

A card that says a character mixes in another language ("mixes Korean words", "中英夹杂", "bilingual ...
Mandarin") lets that character use it (``card_languages``): the same permission a character sheet gives
the live bot through ``npc_languages``.

The length target may also be given flat (``min_words``/``max_words`` or ``min_chars``/``max_chars``) or
as ``"length": {"min_chars": .., "max_chars": ..}``. Unknown keys are ignored; a field of the wrong type
raises ``TranscriptError`` naming the file and the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.quality.transcript import TranscriptError

Unit = Literal["words", "chars"]


@dataclass(frozen=True, slots=True)
class LengthTarget:
    """A reply length range in words or in characters (whitespace not counted)."""

    unit: Unit
    min: int
    max: int


@dataclass(frozen=True, slots=True)
class TranscriptMeta:
    """What a sidecar says about its transcript; every field is optional."""

    language: str | None = None
    setting: str | None = None
    user_names: tuple[str, ...] = ()
    npc_names: tuple[str, ...] = ()
    other_names: tuple[str, ...] = ()
    npc_languages: tuple[str, ...] = ()
    length: LengthTarget | None = None
    cards: tuple[tuple[str, str], ...] = ()

    def languages_of(self, name: str) -> tuple[str, ...]:
        """Languages ``name`` may speak besides the scene's: the sidecar's list and what its card allows."""
        card = dict(self.cards).get(name, "")
        return tuple(dict.fromkeys([*self.npc_languages, *card_languages(card)]))


_LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("english", "英文", "英语", "中英"),
    "zh": ("chinese", "mandarin", "cantonese", "中文", "汉语", "普通话", "中英"),
    "ko": ("korean", "韩语", "韩文"),
    "ja": ("japanese", "日语", "日文"),
    "fr": ("french", "法语"),
    "de": ("german", "德语"),
    "es": ("spanish", "西班牙语"),
    "ru": ("russian", "俄语"),
}
_ONLY_RE = re.compile(r"\b(?:speaks?|talks?) only (\w+)|\bonly (?:speaks?|talks?) (\w+)|只(?:说|讲)(\w{2,3})", re.I)


def card_languages(card: str) -> tuple[str, ...]:
    """Languages a one-line character card names; "speaks only X" (or 只说X) narrows it to X."""
    text = card.lower()
    only = _ONLY_RE.search(text)
    if only:
        text = next(g for g in only.groups() if g)
    return tuple(code for code, words in _LANGUAGE_WORDS.items() if any(w in text for w in words))


def sidecar_path(transcript: str | Path) -> Path:
    """``dir/name.jsonl`` -> ``dir/name.meta.json`` (any transcript suffix)."""
    p = Path(transcript)
    return p.with_name(f"{p.stem}.meta.json") if p.suffix else p.with_name(f"{p.name}.meta.json")


def read_meta_for(transcript: str | Path) -> TranscriptMeta | None:
    """The sidecar of ``transcript`` if there is one, else ``None``."""
    path = sidecar_path(transcript)
    return read_meta(path) if path.is_file() else None


def read_meta(path: str | Path) -> TranscriptMeta:
    """Parse a sidecar file."""
    name = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise TranscriptError(f"{name}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"{name}: invalid JSON ({exc})") from None
    return parse_meta(data, name)


def parse_meta(data: Any, name: str = "<meta>") -> TranscriptMeta:
    if not isinstance(data, dict):
        raise TranscriptError(f"{name}: expected a JSON object")
    return TranscriptMeta(
        language=_opt_str(data, "language", name),
        setting=_opt_str(data, "setting", name),
        user_names=_names(data, "user_names", name),
        npc_names=_names(data, "npc_names", name),
        other_names=_names(data, "other_names", name),
        npc_languages=_names(data, "npc_languages", name),
        length=_length(data, name),
        cards=_cards(data, name),
    )


def _cards(data: dict[str, Any], name: str) -> tuple[tuple[str, str], ...]:
    value = data.get("cards")
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TranscriptError(f'{name}: field "cards" must map names to strings')
    return tuple((str(k), v) for k, v in value.items())


def _opt_str(data: dict[str, Any], key: str, name: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TranscriptError(f'{name}: field "{key}" must be a string')
    return value.strip() or None


def _names(data: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TranscriptError(f'{name}: field "{key}" must be a list of strings')
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def _int(value: Any, key: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TranscriptError(f'{name}: field "{key}" must be a non-negative integer')
    return value


def _length(data: dict[str, Any], name: str) -> LengthTarget | None:
    block = data.get("length")
    if block is None:
        block = {k: data[k] for k in ("min_words", "max_words", "min_chars", "max_chars") if k in data}
        if not block:
            return None
    if not isinstance(block, dict):
        raise TranscriptError(f'{name}: field "length" must be an object')
    for unit, short in (("words", "words"), ("chars", "chars"), ("characters", "chars")):
        lo, hi = block.get(f"min_{unit}"), block.get(f"max_{unit}")
        if lo is not None or hi is not None:
            return _target(short, lo, hi, name)  # type: ignore[arg-type]
    unit = block.get("unit", "words")
    unit = {"characters": "chars", "character": "chars", "char": "chars", "word": "words"}.get(unit, unit)
    if unit not in ("words", "chars"):
        raise TranscriptError(f'{name}: field "length.unit" must be "words" or "chars"')
    return _target(unit, block.get("min"), block.get("max"), name)


def _target(unit: Unit, lo: Any, hi: Any, name: str) -> LengthTarget:
    low = 0 if lo is None else _int(lo, "length.min", name)
    if hi is None:
        raise TranscriptError(f'{name}: the length target needs a maximum')
    high = _int(hi, "length.max", name)
    if high < max(low, 1):
        raise TranscriptError(f"{name}: the length target's maximum is below its minimum")
    return LengthTarget(unit, low, high)
