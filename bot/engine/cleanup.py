"""Light clean-up of a model reply before any guard looks at it: labels and other speakers' lines.

Models continue a transcript: they often prefix the reply with the speaker's own name, and sometimes
run on into another character's ``Name:`` line. The first is cosmetic; the second is the model
speaking for someone else, so everything from that line on is cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from bot.quality.text import names_in


def _label_for(names: Iterable[str], text: str) -> re.Pattern[str] | None:
    """The label pattern for those of ``names`` that ``text`` writes (the others cannot match): compiled once
    per name or pair a reply uses, not once per set of characters present."""
    return _label(tuple(sorted(set(names_in([n.strip() for n in names if n and n.strip()], text)))))


@lru_cache(maxsize=4096)
def _label(alternatives: tuple[str, ...]) -> re.Pattern[str] | None:
    if not alternatives:
        return None
    joined = "|".join(re.escape(n) for n in sorted(alternatives, key=len, reverse=True))
    return re.compile(rf"^\s*(?:\*\*)?(?:{joined})(?:\*\*)?\s*[:：]\s*", re.IGNORECASE | re.MULTILINE)


def strip_own_label(text: str, own_names: Iterable[str]) -> str:
    """Remove a leading ``Name:`` that repeats the speaker's own name."""
    pattern = _label_for(own_names, text)
    if pattern is None:
        return text.strip()
    match = pattern.match(text)
    return text[match.end() :].strip() if match else text.strip()


def cut_other_speakers(text: str, other_names: Iterable[str]) -> str:
    """Cut the reply where a line starts with another speaker's ``Name:`` label."""
    pattern = _label_for(other_names, text)
    if pattern is None:
        return text.strip()
    match = pattern.search(text)
    return text[: match.start()].strip() if match else text.strip()


def clean_reply(text: str, own_names: Iterable[str], other_names: Iterable[str]) -> str:
    """Both clean-ups, in the order that keeps the NPC's own words."""
    return cut_other_speakers(strip_own_label(text, own_names), other_names)
