"""Facts pulled out of lines by cheap rules: who is who, promises, possessions, secrets, injuries, decisions.

Extraction runs on every committed line (it costs microseconds), so a fact exists from the turn it
was said; each fact is known only by those who heard the line. Importance (1-10) follows the kind:
a secret or a promise matters more later than an everyday decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")
MAX_FACT_CHARS = 300

KINDS: tuple[tuple[str, int, re.Pattern[str]], ...] = (
    (
        "secret",
        8,
        re.compile(r"\b(secret|don'?t tell|nobody knows|no one knows|between us|hid|hidden|hide)\b|秘密|别告诉|不要告诉|没人知道|藏", re.I),
    ),
    ("promise", 7, re.compile(r"\b(promise|swear|vow|i'?ll|i will|i shall|we will|you have my word)\b|答应|保证|发誓|一定会", re.I)),
    ("injury", 7, re.compile(r"\b(hurt|wound(ed)?|bleed(ing)?|injur(ed|y)|broken|scar|poison(ed)?|sick)\b|受伤|流血|伤口|中毒|骨折", re.I)),
    (
        "identity",
        6,
        re.compile(
            r"\b(my name is|call me|i am (the|a|an)\b|is my (sister|brother|mother|father|wife|husband|son|daughter|friend|master|captain))\b"
            r"|我叫|我是|是我的(姐姐|妹妹|哥哥|弟弟|母亲|父亲|师父|朋友)",
            re.I,
        ),
    ),
    (
        "possession",
        5,
        re.compile(r"\b(i have|i've got|i carry|i own|gave (you|her|him)|give (you|her|him)|stole|keep (it|this))\b|给你|拿着|偷了|我有", re.I),
    ),
    ("decision", 5, re.compile(r"\b(decide[ds]?|we go|let'?s go|plan is|from now on)\b|决定|打算|从今以后", re.I)),
)
EMPHASIS = re.compile(r"!|！|\b(never|always|must|swear)\b|千万|一定", re.I)


@dataclass(frozen=True, slots=True)
class FactDraft:
    """A fact found in a line, before it is stored."""

    kind: str
    text: str
    importance: int


def extract_facts(speaker: str, text: str) -> list[FactDraft]:
    """The facts in one line, one per sentence at most, attributed to the speaker."""
    found: list[FactDraft] = []
    for match in SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if len(sentence) < 6:
            continue
        for kind, importance, pattern in KINDS:
            if pattern.search(sentence):
                bonus = 1 if EMPHASIS.search(sentence) else 0
                body = sentence if len(sentence) <= MAX_FACT_CHARS else sentence[: MAX_FACT_CHARS - 1] + "…"
                found.append(FactDraft(kind, f"{speaker}: {body}", min(10, importance + bonus)))
                break
    return found
