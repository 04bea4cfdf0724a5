"""Shared text analysis for the detectors: words, quoted speech vs narration, sentences, names.

Role-play text mixes three styles, and which parts are the character's *speech* decides what the
detectors may flag:

- ``quotes``: speech inside ``"…"``, ``“…”``, ``「…」``, ``『…』`` or ``«…»``; everything else is narration.
- ``asterisks``: no quotes, actions inside ``*…*`` (or parentheses); the unmarked rest is speech.
- ``plain``: neither; the whole reply is narration when it talks about someone in the third person
  and never says "I"/"我", speech otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.quality.findings import DetectorName, Finding, make_finding

CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u309f\u30a0-\u30ff"
CJK_CHAR_RE = re.compile(f"[{CJK_RANGES}]")
_LETTERS = "A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\uac00-\ud7af"
WORD_RE = re.compile(f"[{CJK_RANGES}]|[{_LETTERS}]+(?:['’][{_LETTERS}]+)*|\\d+(?:[.,:]\\d+)*")
TOKEN_RE = WORD_RE

MASK = "\x00"

QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』", "«": "»", "﹁": "﹂"}
QUOTE_CLOSERS = set(QUOTE_PAIRS.values())

_STAR_SPAN_RE = re.compile(r"(?<![\\*])(\*{1,3})(?=[^\s*])([^*\n]*?[^\s*\\])\1(?!\*)")
_PAREN_SPAN_RE = re.compile(r"\([^()\n]{2,}\)|（[^（）\n]{2,}）")
_FIRST_PERSON_RE = re.compile(r"\b(?:I|I['’](?:m|ll|ve|d)|me|my|mine|myself|we|our|us)\b|我")
_THIRD_PERSON_RE = re.compile(r"\b(?:[Ss]he|[Hh]e|[Hh]er|[Hh]is|[Hh]im|[Tt]hey|[Tt]hem|[Tt]heir)\b|[她他它]")
_SECOND_PERSON_RE = re.compile(r"\b(?:[Yy]ou|[Yy]our|[Yy]ours)\b|你")
_SENTENCE_RE = re.compile(r"[^.!?。！？…\n]*?(?:[.!?。！？…]+[\"”」』'’)\]*_]*(?=\s|$|[^\s.!?。！？…])|\n|$)")


def word_count(text: str) -> int:
    """Words in ``text``; every CJK character counts as one word."""
    return len(WORD_RE.findall(text))  # the pattern has no capturing group: one string per word, in C


def char_count(text: str) -> int:
    """Characters in ``text`` other than whitespace: the unit of Chinese length targets (字数)."""
    return sum(1 for ch in text if not ch.isspace())


def length_of(text: str, unit: str = "words") -> int:
    """``text``'s length in ``unit``: ``"words"`` (``word_count``) or ``"chars"`` (``char_count``)."""
    return char_count(text) if unit == "chars" else word_count(text)


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Lower-cased word tokens (one per CJK character) with their character spans."""
    return [(m.group().lower().replace("’", "'"), m.start(), m.end()) for m in WORD_RE.finditer(text)]


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def is_cjk(ch: str) -> bool:
    return bool(CJK_CHAR_RE.match(ch))


def cjk_share(text: str) -> float:
    """Share of words that are CJK characters (0 for text without words)."""
    total = cjk = 0
    for m in WORD_RE.finditer(text):
        total += 1
        if is_cjk(m.group()[0]):
            cjk += 1
    return cjk / total if total else 0.0


def quote_spans(text: str) -> list[tuple[int, int]]:
    """Outermost quoted-speech spans, quote marks included.

    A quote left open ends at the end of its line: a line break is where role-play text most often
    forgets the closing mark, and narration usually resumes after it.
    """
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if ch == "\n":
            if stack:
                spans.append((stack[0][1], i))
                stack.clear()
            continue
        if ch == '"':
            if stack and stack[-1][0] == '"':
                _, start = stack.pop()
                if not stack:
                    spans.append((start, i + 1))
            else:
                stack.append(('"', i))
        elif ch in QUOTE_PAIRS:
            stack.append((QUOTE_PAIRS[ch], i))
        elif ch in QUOTE_CLOSERS and any(c == ch for c, _ in stack):
            while stack:
                closer, start = stack.pop()
                if closer == ch:
                    break
            if not stack:
                spans.append((start, i + 1))
    if stack:
        spans.append((stack[0][1], len(text)))
    return sorted(spans)


def star_spans(text: str) -> list[tuple[int, int]]:
    """``*action*`` / ``**bold**`` spans, markers included."""
    return [(m.start(), m.end()) for m in _STAR_SPAN_RE.finditer(text)]


def complement(spans: Sequence[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = 0
    for start, end in sorted(spans):
        if start > pos:
            out.append((pos, start))
        pos = max(pos, end)
    if pos < length:
        out.append((pos, length))
    return out


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans with surrounding whitespace trimmed; closing quotes stay with their sentence."""
    out: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _SENTENCE_RE.match(text, pos)
        end = m.end() if m and m.end() > pos else pos + 1
        start, stop = pos, end
        while start < stop and text[start].isspace():
            start += 1
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if stop > start:
            out.append((start, stop))
        pos = end
    return out


def paragraph_end(text: str, pos: int) -> int:
    """Index of the end of the paragraph containing ``pos`` (before its trailing whitespace)."""
    nl = text.find("\n", pos)
    end = len(text) if nl < 0 else nl
    while end > pos and text[end - 1].isspace():
        end -= 1
    return end


@dataclass(frozen=True, slots=True)
class Analysis:
    """One reply taken apart once and shared by all detectors."""

    text: str
    style: str  # "quotes" | "asterisks" | "plain"
    dialogue: tuple[tuple[int, int], ...]
    narration: tuple[tuple[int, int], ...]
    narration_view: str  # the text with dialogue replaced by MASK characters, offsets unchanged
    words: int

    def in_dialogue(self, pos: int) -> bool:
        return any(start <= pos < end for start, end in self.dialogue)

    def dialogue_text(self) -> str:
        return " ".join(self.text[s:e] for s, e in self.dialogue)


def analyse(text: str, own_names: Sequence[str] = ()) -> Analysis:
    """Split ``text`` into speech and narration (see the module docstring for the three styles)."""
    quotes = quote_spans(text)
    if quotes:
        style = "quotes"
        dialogue = [s for s in quotes if has_letters(text[s[0] : s[1]])]
    else:
        marked = merge_spans(star_spans(text) + [(m.start(), m.end()) for m in _PAREN_SPAN_RE.finditer(text)])
        if marked:
            style = "asterisks"
            dialogue = [s for s in complement(marked, len(text)) if has_letters(text[s[0] : s[1]])]
        else:
            style = "plain"
            dialogue = [] if _plain_is_narration(text, own_names) else ([(0, len(text))] if text else [])
    view = list(text)
    for start, end in dialogue:
        view[start:end] = MASK * (end - start)
        # A quote that ends its sentence ends the narration sentence around it too.
        inner = text[start:end].rstrip('"”」』»﹂ \t')
        if inner and inner[-1] in ".!?。！？…" and end - start >= 2:
            view[end - 1] = "."
    narration = [s for s in complement(dialogue, len(text)) if has_letters(text[s[0] : s[1]])]
    return Analysis(
        text=text,
        style=style,
        dialogue=tuple(dialogue),
        narration=tuple(narration),
        narration_view="".join(view),
        words=word_count(text),
    )


def _plain_is_narration(text: str, own_names: Sequence[str]) -> bool:
    if _FIRST_PERSON_RE.search(text):
        return False
    if _THIRD_PERSON_RE.search(text) or any(name_regex(name).search(text) for name in own_names):
        return True
    # No one is named: words to "you" are speech, a bare description of the scene is narration.
    return not _SECOND_PERSON_RE.search(text)


@lru_cache(maxsize=512)
def name_regex(name: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """A pattern matching ``name`` as a whole word (CJK names have no word boundaries)."""
    escaped = re.escape(name)
    if CJK_CHAR_RE.search(name):
        pattern = escaped
    else:
        pattern = rf"(?<![\w'’]){escaped}(?![\w])"
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


# A template placeholder the front end was meant to fill ("{{user}}", "{{char}}", "{user}", "{{random::a,b}}"):
# formatting flags it, and mixed_language blanks it so that "{{user}}" in a Chinese scene is not English.
TEMPLATE_PLACEHOLDER = (
    r"\{\{[^{}\n]{1,40}\}\}|\{(?:user|char|character|bot|npc|persona|name|username|user_name|char_name)\}"
)


def names_in(names: Sequence[str], text: str) -> list[str]:
    """The ``names`` that occur in ``text``, ignoring case: the only ones a pattern built from names can match.

    A detector that builds its patterns from these rather than from everyone present compiles one set per
    name (or pair) that replies actually mention, not one per combination of characters in the room: a new
    combination (someone walks in, another scene's cast) cost ~25 ms of regex compiling inside that turn,
    and the alternations it searches stay short. Both case mappings are tried so that every match
    ``re.IGNORECASE`` could make is kept.
    """
    if not names:
        return []
    folded, lowered = text.casefold(), text.lower()
    return [n for n in names if n.casefold() in folded or n.lower() in lowered]


def names_alternation(names: Sequence[str]) -> str:
    """A regex alternation of ``names``, longest first."""
    return _alternation(tuple(names))


@lru_cache(maxsize=4096)
def _alternation(names: tuple[str, ...]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


def header_regex(names: Sequence[str]) -> re.Pattern[str] | None:
    """Line-start speaker headers such as ``Name:``, ``**Name**:``, ``[Name]:``, ``Name (softly):``."""
    return _header_regex(tuple(names))


# Compiled once per set of names (re's own cache holds only 512 patterns for the whole process, and
# a busy process has more scenes than that).
@lru_cache(maxsize=4096)
def _header_regex(names: tuple[str, ...]) -> re.Pattern[str] | None:
    if not names:
        return None
    alt = names_alternation(names)
    return re.compile(
        rf"(?m)^[ \t>]*(?:\*\*|__|\*)?\[?(?P<name>{alt})\]?(?:\*\*|__|\*)?"
        rf"[ \t]*(?:\([^)\n]{{0,40}}\)|（[^）\n]{{0,20}}）)?[ \t]*(?:\*\*)?[:：](?:\*\*)?",
        re.IGNORECASE,
    )


def header_findings(
    reply: str,
    names: Sequence[str],
    stop_names: Sequence[str],
    detector: DetectorName,
    reason: str,
    code: str,
) -> list[Finding]:
    """A finding per ``Name:`` header of ``names``, spanning to the next header of ``stop_names`` (or the end).

    ``reason`` is formatted with ``{name}``; the repair cuts the whole span.
    """
    pattern = header_regex(names_in(names, reply))
    if pattern is None:
        return []
    stop = header_regex(names_in(stop_names, reply))
    out: list[Finding] = []
    for m in pattern.finditer(reply):
        if in_document(reply, m.start(), m.end()):
            continue
        nxt = stop.search(reply, m.end()) if stop is not None else None
        end = nxt.start() if nxt else len(reply)
        out.append(
            make_finding(reply, detector, "high", m.start(), end, reason.format(name=m.group("name")), code=code, replacement="")
        )
    return out


# An in-story document that quotes people under their names (a group chat, a channel, a message on a phone)
# is not the NPC writing their lines (LABELS: chat logs, WeChat threads, client messages). Such a block is a
# run of unquoted ``Name: text`` lines set off by a title line of its own ("【光影电影社（23）】", "#eng-alerts")
# or by narration just before it that shows a screen or a message.
_HEADER_LINE_RE = re.compile(r"^[ \t>*]*[^\s:：\"“「*][^:：\n\"“「]{0,23}[:：]")
_TITLE_LINE_RE = re.compile(r"^[ \t]*(?:【[^】\n]{1,40}】|\[[^\]\n]{1,40}\]|[#＃][^\s#＃]{1,40})[ \t]*$")
_SCREEN_RE = re.compile(
    r"\b(?:phones?|screens?|laptops?|tablets?|monitors?|messages?|texts?|chats?|threads?|inbox|notifications?|"
    r"logs?|DMs?|group chat)\b|手机|屏幕|群里|群聊|消息|聊天|记录|微信|短信|电脑",
    re.IGNORECASE,
)


def in_document(reply: str, start: int, colon_end: int) -> bool:
    """Whether the header line at ``start`` is a line of an in-story document (see ``_SCREEN_RE`` above)."""
    line_end = reply.find("\n", colon_end)
    rest = reply[colon_end : len(reply) if line_end < 0 else line_end]
    if re.match(r"\s*\**\s*[\"“「『]", rest):
        return False  # ``Name: "…"`` is a script line, not a log entry
    lines = reply[:start].split("\n")[:-1]
    for line in reversed(lines):
        if not line.strip() or _HEADER_LINE_RE.match(line) and not _TITLE_LINE_RE.match(line):
            continue
        return bool(_TITLE_LINE_RE.match(line) or _SCREEN_RE.search(line[-120:]))
    return False
