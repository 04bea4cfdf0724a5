"""Per-transcript context from a ``NAME.meta.json`` sidecar: who is who, the language and the length target.

A transcript alone does not say which names are the user's, which characters exist but never speak, or
how long replies are meant to be, and the detectors need all three (a Chinese scene's target is in
characters, an English one's in words). The sidecar sits next to the transcript (``scene.jsonl`` ->
``scene.meta.json``) and holds a JSON object::

    {"language": "en" | "zh", "setting": "one-on-one" | "group" | ...,
     "user_names": [str], "npc_names": [str], "other_names": [str],
     "npc_languages": [str],                      # optional: languages a character speaks on purpose
     "length": {"unit": "words" | "chars", "min": int, "max": int}}

The length target may also be given flat (``min_words``/``max_words`` or ``min_chars``/``max_chars``) or
as ``"length": {"min_chars": .., "max_chars": ..}``. Unknown keys are ignored; a field of the wrong type
raises ``TranscriptError`` naming the file and the field.
"""

from __future__ import annotations

import json
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
    )


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
