"""Repetition: overlap with this NPC's recent replies, and loops inside one reply.

Tokens are lower-cased words, one per CJK character. Across replies the signals are a sentence
repeated verbatim from a recent reply, a reply whose n-grams mostly occur in one recent reply
(n = 4 words, or 6 for mostly-CJK text), and the same opening words as several recent replies.
Inside a reply they are a sentence said twice and a phrase repeated three or more times in a row.
Humans repeat a whole sentence consecutively about 0.02% of the time, so these are rare in good text.
A short line (three or four words) counts when it comes back three times in one reply, or twice in a row.
A phrase said twice inside a sentence does not: quoting the user ("'来不及了来不及了'"), reading a line
aloud and "forty minutes. Forty minutes, enough to…" are how people talk.

Status lines in brackets (a HUD such as ``[HULL 61% / O2 44%]`` or ``【电量 12%】``) are the form of the
reply, repeated on purpose every turn; they are blanked before any comparison.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache

from bot.quality.findings import Finding, ReplyContext, make_finding
from bot.quality.text import Analysis, analyse, cjk_share, is_cjk, sentence_spans, tokens

DETECTOR = "repetition"

RECENT_WINDOW = 8
# A re-send can come from much further back (the opening reply again, fourteen replies on). Beyond the recent
# window only a near-whole re-send counts: this share of the reply's n-grams in one older reply.
OLDER_WINDOW = 24
RESENT = 0.8
NEAR_DUPLICATE = 0.5
# Chinese shares more 6-grams by chance (set phrases, names, particles) than English shares 4-grams.
NEAR_DUPLICATE_CJK = 0.6
MIN_SENTENCE_TOKENS = 5
SHORT_LOOP_TOKENS = 3
# Across replies a short sentence said again is usually a callback or a catchphrase ("Make them taste like
# summer."), not a loop: only sentences of this many words count there.
MIN_RECENT_SENTENCE_TOKENS = 8
REPEATED_SHARE = 0.3
# A re-send keeps the old reply's words in their order even where an edit breaks every n-gram around it:
# this share of the reply's words, in runs of three or more, found in order in one recent reply.
CONTAINED = 0.7
# A stutter ("我……想过……可……") re-renders the reply before it through ellipses; that garbling is
# formatting's finding, and it is a re-send only when it keeps (nearly) every word.
CONTAINED_STUTTER = 0.95
MIN_CONTAINED_TOKENS = 10
_ELLIPSIS_RE = re.compile(r"…+|\.{3,}|。{2,}")
_HUD_RE = re.compile(
    r"[\[【〔][^\]】〕\n]{0,100}?(?:\d|%)[^\]】〕\n]{0,100}?[\]】〕]"
    # A status tag in angle brackets with a field name ("⟨mood: quiet⟩", "〈信号：弱〉") has no digits to show it.
    r"|[⟨〈<][ \t]*[^\W\d][\w -]{0,20}[:：][^⟩〉>\n]{1,80}[⟩〉>]"
)


def blank_hud(text: str) -> str:
    """``text`` with bracketed status blocks (digits or % inside) replaced by spaces, offsets unchanged."""
    return _HUD_RE.sub(lambda m: " " * len(m.group()), text)


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    findings: list[Finding] = []
    original = reply
    reply = blank_hud(reply)
    toks = tokens(reply)
    if len(toks) < 3:
        return findings
    findings += _loops(reply, toks)
    history = [blank_hud(r) for r in list(ctx.recent_replies)[-(RECENT_WINDOW + OLDER_WINDOW):] if r and r.strip()]
    recent, older = history[-RECENT_WINDOW:], history[:-RECENT_WINDOW]
    if recent:
        findings += _against_recent(reply, toks, recent)
    if older and not _is_stutter(reply, len(toks)) and not any(f.code == "near_duplicate" for f in findings):
        findings += _resent_from_long_ago(reply, toks, older)
    findings.sort(key=lambda f: f.start)
    out: list[Finding] = []
    for f in findings:
        if out and f.start < out[-1].end and f.end <= out[-1].end:
            continue
        out.append(f)
    if original is not reply:
        out = [make_finding(original, DETECTOR, f.severity, f.start, f.end, f.reason, code=f.code,
                            replacement=f.replacement) for f in out]
    return out


def _n_for(text: str) -> int:
    return 6 if cjk_share(text) > 0.5 else 4


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@lru_cache(maxsize=256)
def _recent_profile(text: str, n: int) -> tuple[frozenset[tuple[str, ...]], tuple[str, ...]]:
    """The n-grams and the opening words of a recent reply (cached: the same replies recur every turn)."""
    words = [t for t, _, _ in tokens(text)]
    return frozenset(_ngrams(words, n)), tuple(words[:6])


@lru_cache(maxsize=256)
def _sentence_keys(text: str, minimum: int = MIN_SENTENCE_TOKENS) -> tuple[tuple[tuple[str, ...], int, int], ...]:
    out = []
    for start, end in sentence_spans(text):
        key = tuple(t for t, _, _ in tokens(text[start:end]))
        if len(key) >= minimum:
            out.append((key, start, end))
    return tuple(out)


def _spoken(reply: str, pos: int) -> bool:
    return analyse(reply).in_dialogue(pos)


def _short_loops(reply: str) -> list[Finding]:
    """Short sentences said three times, or twice in a row ("We have him. We have him.")."""
    keys = [k for k in _sentence_keys(reply, SHORT_LOOP_TOKENS) if len(k[0]) < MIN_SENTENCE_TOKENS]
    everything = _sentence_keys(reply, 1)
    out: list[Finding] = []
    counts: dict[tuple[str, ...], int] = {}
    for key, _, _ in keys:
        counts[key] = counts.get(key, 0) + 1
    flagged: set[tuple[str, ...]] = set()
    for i, (key, start, end) in enumerate(everything):
        if len(key) < SHORT_LOOP_TOKENS or len(key) >= MIN_SENTENCE_TOKENS or key in flagged:
            continue
        before = everything[i - 1] if i else ((), 0, 0)
        # Twice in a row, both spoken or both narrated (reading a chat line aloud is not a loop).
        again = (
            len(key) >= SHORT_LOOP_TOKENS
            and before[0][-len(key):] == key
            and _spoken(reply, before[2] - 1) == _spoken(reply, start)
        )
        if counts.get(key, 0) >= 3 or again:
            flagged.add(key)
            out.append(make_finding(reply, DETECTOR, "medium", start, end, "says the same short line again and again",
                                    code="loop"))
    return out


# A loop with small variations ("It's on. It's on, look, it's on, it's on"): one phrase comes back again and
# again in a stretch where it is most of what is said, with a word or a comma changed between the repeats.
# (phrase length, least repeats, least share of the stretch's words the repeats cover)
_VARIED_LOOPS = ((1, 6, 0.5), (2, 4, 0.5), (3, 3, 0.6), (4, 3, 0.6), (5, 3, 0.6), (6, 3, 0.6))


def _varied_loops(reply: str, toks: list[tuple[str, int, int]]) -> list[Finding]:
    words = [t for t, _, _ in toks]
    out: list[Finding] = []
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    # A phrase can only come back as often as its first word does: most positions are out at once.
    starts = [i for i, w in enumerate(words) if counts[w] >= 3]
    for size, least, share in _VARIED_LOOPS:
        where: dict[tuple[str, ...], list[int]] = {}
        for i in starts:
            if i + size > len(words) or counts[words[i]] < least:
                continue
            key = tuple(words[i : i + size])
            hits = where.setdefault(key, [])
            if not hits or i >= hits[-1] + size:  # non-overlapping occurrences
                hits.append(i)
        for key, hits in where.items():
            if len(hits) < least:
                continue
            if size < 3 and all(is_cjk(w[0]) for w in key):
                continue  # one or two CJK characters are one or two words, which a chant may repeat
            run = _densest_run(words, hits, size, least, share)
            if run is None:
                continue
            first, last, count = run
            start, end = toks[first][1], toks[last + size - 1][2]
            # Parted by ellipses (at half of the joins or more) it is a stutter, formatting's finding.
            if len(_ELLIPSIS_RE.findall(reply, start, end)) >= max(1, (count - 1) // 2):
                continue
            out.append(make_finding(reply, DETECTOR, "high", start, end,
                                    f"says \"{' '.join(key)}\" again and again with small changes", code="loop"))
            return out
    return out


def _densest_run(
    words: list[str], hits: list[int], size: int, least: int, share: float
) -> tuple[int, int, int] | None:
    """The longest run of repeats that covers ``share`` of its stretch, where the few words between the repeats
    recur themselves ("look, it's on, look"); new words between them ("the critic is waiting, and my reputation
    is waiting") make it a figure of speech. Returns its first and last start and the number of repeats."""
    for i in range(len(hits)):
        for j in range(len(hits) - 1, i + least - 2, -1):
            count = j - i + 1
            stretch = hits[j] + size - hits[i]
            if count * size < share * stretch:
                continue
            inside = {k for h in hits[i : j + 1] for k in range(h, h + size)}
            between = {words[k] for k in range(hits[i], hits[j] + size) if k not in inside}
            if len(between) <= max(1, count // 2):
                return hits[i], hits[j], count
    return None


def _loops(reply: str, toks: list[tuple[str, int, int]]) -> list[Finding]:
    out: list[Finding] = _short_loops(reply)
    out += _varied_loops(reply, toks)
    seen: dict[tuple[str, ...], int] = {}
    for key, start, end in _sentence_keys(reply):
        if key in seen:
            cut_end = end
            while cut_end < len(reply) and reply[cut_end] in " \t":
                cut_end += 1
            out.append(
                make_finding(
                    reply,
                    DETECTOR,
                    "high",
                    start,
                    cut_end,
                    "repeats a sentence from earlier in the same reply",
                    code="loop",
                    replacement="",
                )
            )
        else:
            seen[key] = start
    words = [t for t, _, _ in toks]
    n = len(words)
    i = 0
    while i < n:
        found = False
        for size in range(2, min(12, (n - i) // 2) + 1):
            if words[i + size] != words[i]:
                continue  # cheap test before comparing whole blocks
            block = words[i : i + size]
            reps = 1
            while words[i + reps * size : i + (reps + 1) * size] == block:
                reps += 1
            # Three times for a phrase of three words or more. Two words four times count in alphabetic
            # text when commas or stops part them ("keep walking, keep walking, …"); parted by ellipses it is
            # a stutter (formatting's), and two CJK characters are one word, which a child may chant.
            two_word_loop = (
                size == 2
                and reps >= 4
                and not any(cjk_share(w) for w in block)
                and not _ELLIPSIS_RE.search(reply, toks[i][1], toks[i + reps * size - 1][2])
            )
            if (size >= 3 and reps >= 3 and size * reps >= 8) or two_word_loop:
                start = toks[i + size][1]
                end = toks[i + reps * size - 1][2]
                out.append(
                    make_finding(
                        reply,
                        DETECTOR,
                        "high",
                        start,
                        end,
                        f"repeats the same phrase {reps} times in a row",
                        code="loop",
                        replacement="",
                    )
                )
                i += reps * size
                found = True
                break
        if not found:
            i += 1
    return out


def _against_recent(reply: str, toks: list[tuple[str, int, int]], recent: list[str]) -> list[Finding]:
    out: list[Finding] = []
    recent_keys = {key for r in recent for key, _, _ in _sentence_keys(r, MIN_RECENT_SENTENCE_TOKENS)}
    repeated = [(s, e) for key, s, e in _sentence_keys(reply, MIN_RECENT_SENTENCE_TOKENS) if key in recent_keys]
    # One old sentence in an otherwise new reply is a character's habit (a grandmother's story opener);
    # it takes two, or a quarter of the reply, to be a loop.
    if len(repeated) == 1 and _covers(repeated, toks) < REPEATED_SHARE * len(toks):
        repeated = []
    for start, end in repeated:
        out.append(
            make_finding(
                reply,
                DETECTOR,
                "medium",
                start,
                end,
                "repeats a sentence from a recent reply",
                code="repeated_sentence",
                replacement="",
            )
        )
    words = [t for t, _, _ in toks]
    n = _n_for(reply)
    grams = _ngrams(words, n)
    if len(grams) >= 4:
        best = 0.0
        best_contained = 0.0
        stutter = _is_stutter(reply, len(words))
        for r in recent:
            other = _recent_profile(r, n)[0]
            if other:
                share = len(grams & other) / len(grams)
                best = max(best, share)
                if share >= 0.2 and len(words) >= MIN_CONTAINED_TOKENS:  # the cheap test before aligning
                    best_contained = max(best_contained, _contained(tuple(words), r))
        if stutter:
            hit = best_contained >= CONTAINED_STUTTER
        else:
            hit = best >= (NEAR_DUPLICATE_CJK if n == 6 else NEAR_DUPLICATE) or best_contained >= CONTAINED
        if hit and not (repeated and _covers(repeated, toks) >= 0.8 * len(toks)):
            reason = (
                f"{best:.0%} of its {n}-grams occur in one recent reply"
                if best >= (NEAR_DUPLICATE_CJK if n == 6 else NEAR_DUPLICATE) and not stutter
                else f"{best_contained:.0%} of its words occur, in order, in one recent reply"
            )
            out.append(make_finding(reply, DETECTOR, "high", 0, len(reply), reason, code="near_duplicate"))
    width = 6 if n == 6 else 4
    opening = tuple(words[:width])
    if len(opening) == width and not repeated:
        same = sum(1 for r in recent if _recent_profile(r, n)[1][:width] == opening)
        if same >= 2:
            out.append(
                make_finding(
                    reply,
                    DETECTOR,
                    "low",
                    toks[0][1],
                    toks[width - 1][2],
                    f"opens like {same} of the last {len(recent)} replies",
                    code="same_opening",
                )
            )
    return out


def _resent_from_long_ago(reply: str, toks: list[tuple[str, int, int]], older: list[str]) -> list[Finding]:
    words = [t for t, _, _ in toks]
    n = _n_for(reply)
    grams = _ngrams(words, n)
    if len(grams) < 4:
        return []
    best = max((len(grams & _recent_profile(r, n)[0]) / len(grams) for r in older), default=0.0)
    if best < RESENT:
        return []
    return [make_finding(reply, DETECTOR, "high", 0, len(reply),
                         f"{best:.0%} of its {n}-grams occur in one reply from further back", code="near_duplicate")]


def _is_stutter(reply: str, words: int) -> bool:
    """Whether the reply is garbled: ellipses every few words (four or more, one per six words), or brackets
    and quotes opened and never closed. Such a reply re-renders another through damage (formatting's finding)."""
    breaks = len(_ELLIPSIS_RE.findall(reply))
    if breaks >= 4 and breaks * 6 >= words:
        return True
    return any(reply.count(o) != reply.count(c) for o, c in _PAIRS)


_PAIRS = (("“", "”"), ("「", "」"), ("（", "）"), ("【", "】"), ("(", ")"), ("[", "]"))


def _contained(words: tuple[str, ...], recent: str) -> float:
    """The share of ``words`` found in order in ``recent``, in runs of three words or more."""
    other = [t for t, _, _ in tokens(recent)]
    matcher = SequenceMatcher(None, words, other, autojunk=False)
    return sum(b.size for b in matcher.get_matching_blocks() if b.size >= 3) / len(words)


def _covers(spans: list[tuple[int, int]], toks: list[tuple[str, int, int]]) -> int:
    return sum(1 for _, s, e in toks if any(a <= s and e <= b for a, b in spans))
