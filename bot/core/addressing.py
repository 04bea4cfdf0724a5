"""Who a line names: pure matching of character names and aliases, CJK included.

SillyTavern matches names with an ASCII word regex, so CJK names never match there; here a name
with any CJK character matches as a plain substring (CJK text has no spaces between words), and any
other name matches on word boundaries, case-insensitively.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache


def has_cjk(text: str) -> bool:
    """True when the text holds a Chinese, Japanese or Korean character."""
    for ch in text:
        name = unicodedata.name(ch, "")
        if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")):
            return True
    return False


_LATIN_WORD = r"[0-9A-Za-z_\u00C0-\u024F]"


@lru_cache(maxsize=4096)
def _pattern(name: str) -> re.Pattern[str]:
    if has_cjk(name):
        return re.compile(re.escape(name))
    # Latin letters and digits bound a word; a CJK character next to a Latin name does not.
    return re.compile(rf"(?<!{_LATIN_WORD}){re.escape(name)}(?!{_LATIN_WORD})", re.IGNORECASE)


@lru_cache(maxsize=1024)
def _vocative(title: str) -> re.Pattern[str]:
    """A title used as a form of address without its article: "Captain, ..." or "..., Captain?" for an
    alias "the captain" (nobody says "The captain, what do you think?" to her face)."""
    word = re.escape(title)
    return re.compile(
        rf"^\s*(?:\*[^*]*\*\s*)?(?P<a>{word})\s*[,!]|[,，]\s*(?P<b>{word})\s*[.!?…]*\s*$", re.IGNORECASE
    )


@dataclass(frozen=True, slots=True)
class Mention:
    """A character named in a line, where the first name or alias of it starts."""

    character_id: str
    position: int
    matched: str


def find_mentions(text: str, names: Mapping[str, Iterable[str]]) -> list[Mention]:
    """Characters named in ``text``, in order of first appearance.

    ``names`` maps a character id to its name and aliases. Longer names win over shorter ones that
    they contain ("Old Tom" is not also a mention of a character called "Tom" at that spot). An alias
    with an article ("the captain") also names its character when the bare title is a form of address
    ("Captain, ...", "..., Captain?").
    """
    spans: list[tuple[int, int, str, str]] = []
    for character_id, aliases in names.items():
        for alias in aliases:
            alias = alias.strip()
            if not alias:
                continue
            for match in _pattern(alias).finditer(text):
                spans.append((match.start(), match.end(), character_id, match.group(0)))
            if alias.lower().startswith("the ") and len(alias) > 4:
                for match in _vocative(alias[4:]).finditer(text):
                    group = "a" if match.group("a") is not None else "b"
                    spans.append((match.start(group), match.end(group), character_id, match.group(group)))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    taken: list[tuple[int, int]] = []
    first: dict[str, Mention] = {}
    for start, end, character_id, matched in spans:
        if any(start < t_end and end > t_start for t_start, t_end in taken):
            continue
        taken.append((start, end))
        if character_id not in first:
            first[character_id] = Mention(character_id, start, matched)
    return sorted(first.values(), key=lambda m: m.position)


QUESTION = re.compile(r"[?？]\s*[\"'”’」』)]*\s*$|[?？]")


def is_question(text: str) -> bool:
    """True when the line asks something (a question mark, Western or full-width)."""
    return bool(QUESTION.search(text))
