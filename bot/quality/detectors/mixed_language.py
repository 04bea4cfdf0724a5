"""Mixed language: passages in a language other than the scene's, beyond names and deliberate foreign words.

Names (the NPC's, the user's, the cast's), mentions, URLs, markup and tags are blanked out first. The
rest is cut into runs of one script (CJK, Hangul, Cyrillic, Latin) and Latin runs further into
sentences; each piece is identified with ``bot.quality.language`` (Lingua when installed). A piece in
another language is a finding when it is long enough to be more than a deliberate word or phrase
(five words, or three when most of the reply is foreign) and the character does not speak that
language on purpose (``ReplyContext.npc_languages``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.quality import language
from bot.quality.findings import Finding, ReplyContext, make_finding
from bot.quality.text import Analysis, names_alternation, sentence_spans, word_count

DETECTOR = "mixed_language"

MIN_FOREIGN_WORDS = 5
MIN_FOREIGN_WORDS_WHEN_DOMINANT = 3
LATIN_CONFIDENCE = 0.75

_NOISE_RE = re.compile(
    r"https?://\S+|<[@#][!&]?\d+>|<a?:\w+:\d+>|:[a-z0-9_+-]+:|</?[A-Za-z|][^>\n]{0,40}>|`[^`\n]*`"
    r"|\b[A-Z]{2,}s?\b|\b\w*\d\w*\b"
)
_OPENERS = '"“「『«(（*'
_LETTER_RUN_RE = re.compile(
    "(?P<cjk>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u309f\u30a0-\u30ff]+)"
    "|(?P<hangul>[\uac00-\ud7af\u1100-\u11ff]+)"
    "|(?P<cyrillic>[\u0400-\u04ff]+)"
    "|(?P<latin>[A-Za-z\u00c0-\u024f]+)"
)


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    scene = (ctx.language or "en").lower()
    masked = _mask(reply, ctx)
    total = word_count(masked)
    if total == 0:
        return []
    allowed = {scene, *(code.lower() for code in ctx.npc_languages)}
    pieces: list[tuple[int, int, str, int]] = []
    for start, end, script in _script_runs(masked):
        if script == "latin":
            for s, e in sentence_spans(masked[start:end]):
                pieces.append((start + s, start + e, script, 0))
        else:
            pieces.append((start, end, script, 0))
    foreign: list[tuple[int, int, str, int]] = []
    for start, end, script, _ in pieces:
        text = masked[start:end]
        words = word_count(text)
        if words == 0:
            continue
        if script == "latin" and scene in language.LATIN_LANGUAGES:
            if words < MIN_FOREIGN_WORDS_WHEN_DOMINANT or language.clearly(text, scene):
                continue
            code, confidence = language.classify(text)
            if confidence < LATIN_CONFIDENCE:
                continue
        else:
            code, _ = language.classify(text)
        if code is None or code in allowed:
            continue
        foreign.append((start, end, code, words))
    if not foreign:
        return []
    foreign_words = sum(w for *_, w in foreign)
    dominant = foreign_words / total >= 0.5
    threshold = MIN_FOREIGN_WORDS_WHEN_DOMINANT if dominant else MIN_FOREIGN_WORDS
    out: list[Finding] = []
    for start, end, code, words in _merge(masked, foreign):
        if words < threshold:
            continue
        out.append(
            make_finding(
                reply,
                DETECTOR,
                "high" if dominant else "medium",
                start,
                end,
                f"{language.language_name(code)} in a {language.language_name(scene)} scene ({words} words)",
                code=code,
            )
        )
    return out


def _mask(reply: str, ctx: ReplyContext) -> str:
    chars = list(reply)

    def blank(start: int, end: int) -> None:
        chars[start:end] = " " * (end - start)

    for m in _NOISE_RE.finditer(reply):
        blank(m.start(), m.end())
    pattern = _names_pattern(ctx.all_names)
    if pattern is not None:
        for m in pattern.finditer(reply):
            blank(m.start(), m.start() + len(m.group(1)))
    return "".join(chars)


@lru_cache(maxsize=4096)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """Every occurrence of a name or a word of one, overlapping ones included, in one compiled pattern.

    A zero-width lookahead finds a match at every position, and the alternation is longest first, so
    each position blanks the longest name starting there: the union of all occurrences of all parts.
    """
    parts = {part for name in names for part in (name, *name.split()) if len(part) >= 2}
    if not parts:
        return None
    return re.compile(f"(?=({names_alternation(sorted(parts))}))")


def _script_runs(text: str) -> list[tuple[int, int, str]]:
    """Maximal runs of one script; spaces, digits and punctuation join the run they sit in."""
    runs: list[tuple[int, int, str]] = []
    current: str | None = None
    start = 0
    last_letter = 0
    for m in _LETTER_RUN_RE.finditer(text):
        script = m.lastgroup
        if script != current:
            if current is not None:
                runs.append((start, last_letter, current))
                start = last_letter
            current = script
        last_letter = m.end()
    if current is not None:
        runs.append((start, len(text), current))
    return runs


def _merge(text: str, pieces: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str, int]]:
    """Join neighbouring foreign pieces of the same language (a paragraph, not one finding a sentence)."""
    out: list[tuple[int, int, str, int]] = []
    for start, end, code, words in pieces:
        if out and out[-1][2] == code and word_count(text[out[-1][1] : start]) == 0:
            s, _, c, w = out[-1]
            out[-1] = (s, end, c, w + words)
        else:
            out.append((start, end, code, words))
    trimmed = []
    for start, end, code, words in out:
        while start < end and not (text[start].isalnum() or text[start] in _OPENERS):
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        trimmed.append((start, end, code, words))
    return trimmed
