"""Lorebook triggering, as users know it from World Info: keys, secondary keys with selective logic,
constant entries, probability, case sensitivity and whole-word matching. Pure; chance is injected."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from bot.content.models import LoreEntry
from bot.core.addressing import has_cjk


@lru_cache(maxsize=8192)
def _key_pattern(key: str, case_sensitive: bool, whole_word: bool) -> re.Pattern[str]:
    flags = 0 if case_sensitive else re.IGNORECASE
    if whole_word and not has_cjk(key):
        return re.compile(rf"(?<![0-9A-Za-z_]){re.escape(key)}(?![0-9A-Za-z_])", flags)
    return re.compile(re.escape(key), flags)


def _hits(keys: Iterable[str], text: str, entry: LoreEntry) -> list[bool]:
    return [bool(_key_pattern(k, entry.case_sensitive, entry.whole_word).search(text)) for k in keys]


def matches(entry: LoreEntry, text: str) -> bool:
    """Whether an entry's keys fire on the scanned text (constant entries always do)."""
    if not entry.enabled:
        return False
    if entry.constant:
        return True
    if not any(_key_pattern(k, entry.case_sensitive, entry.whole_word).search(text) for k in entry.keys):
        return False  # (lazily: the first key that fires settles it)
    if not entry.secondary_keys:
        return True
    secondary = _hits(entry.secondary_keys, text, entry)
    logic = entry.selective_logic
    if logic == "and_any":
        return any(secondary)
    if logic == "and_all":
        return all(secondary)
    if logic == "not_any":
        return not any(secondary)
    return not all(secondary)  # not_all


def triggered(entries: Sequence[LoreEntry], scan: str, rng: random.Random) -> tuple[list[LoreEntry], list[LoreEntry]]:
    """(constant entries, keyword-triggered entries), each in insertion order; probability rolled once each."""
    constant: list[LoreEntry] = []
    fired: list[LoreEntry] = []
    for entry in entries:
        if not matches(entry, scan):
            continue
        if entry.probability < 100 and rng.randrange(100) >= entry.probability:
            continue
        (constant if entry.constant else fired).append(entry)
    key = lambda e: e.order  # noqa: E731 - stable sort by the author's order
    return sorted(constant, key=key), sorted(fired, key=key)
