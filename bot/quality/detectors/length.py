"""Length out of range: the world's target range, and drift over a session.

The target counts words (every CJK character a word) or, with ``ReplyContext.length_unit == "chars"``,
characters other than whitespace, the unit Chinese writers and Chinese length targets use.

A reply that is too long can be repaired by trimming it at the last sentence boundary that keeps it in
range (the finding's span is the part that would go). Drift compares this reply and the recent ones
with the session's early replies: growing replies are the "performance wall" users notice after
turn 20, well before any single reply is out of range.
"""

from __future__ import annotations

from statistics import median

from bot.quality.findings import Finding, ReplyContext, make_finding
from bot.quality.text import Analysis, length_of, quote_spans, sentence_spans

DETECTOR = "length"

DRIFT_MIN_HISTORY = 6
DRIFT_RATIO = 1.75
DRIFT_MIN_WORDS = 25
# In characters the same drift needs a larger absolute change (about two characters a word in Chinese).
DRIFT_MIN_CHARS = 50


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    unit = ctx.length_unit
    if unit == "words" and analysis is not None:
        words = analysis.words
    else:
        words = length_of(reply, unit)
    label = "characters" if unit == "chars" else "words"
    out: list[Finding] = []
    if words > ctx.max_words:
        cut = _trim_point(reply, ctx.min_words, ctx.max_words, unit)
        start = cut if cut is not None else 0
        out.append(
            make_finding(
                reply,
                DETECTOR,
                "high" if words > 2 * ctx.max_words else "medium",
                start,
                len(reply),
                f"{words} {label}, above the target of {ctx.min_words}-{ctx.max_words}",
                code="too_long",
                replacement="" if cut is not None else None,
            )
        )
    elif words < ctx.min_words:
        out.append(
            make_finding(
                reply,
                DETECTOR,
                "medium" if words < max(1, ctx.min_words // 2) else "low",
                0,
                len(reply),
                f"{words} {label}, below the target of {ctx.min_words}-{ctx.max_words}",
                code="too_short",
            )
        )
    drift = _drift(words, ctx)
    if drift:
        out.append(make_finding(reply, DETECTOR, "low", 0, len(reply), drift[1], code=drift[0]))
    return out


def _trim_point(reply: str, min_words: int, max_words: int, unit: str = "words") -> int | None:
    """The end of the last sentence that keeps the reply within ``max_words`` (not inside a quote if possible)."""
    quotes = quote_spans(reply)
    best: int | None = None
    best_in_quote: int | None = None
    count = 0
    pos = 0
    for _, end in sentence_spans(reply):
        count += length_of(reply[pos:end], unit)
        pos = end
        if count > max_words:
            break
        if count < min_words or end >= len(reply.rstrip()):
            continue
        if any(s < end < e for s, e in quotes):
            best_in_quote = end
        else:
            best = end
    return best if best is not None else best_in_quote


def _drift(words: int, ctx: ReplyContext) -> tuple[str, str] | None:
    history = list(ctx.previous_lengths or [])
    if len(history) < DRIFT_MIN_HISTORY:
        return None
    early = history[: max(3, min(10, len(history) // 2))]
    baseline = median(early)
    recent = median([*history[-4:], words])
    if baseline <= 0:
        return None
    unit = "characters" if ctx.length_unit == "chars" else "words"
    floor = DRIFT_MIN_CHARS if ctx.length_unit == "chars" else DRIFT_MIN_WORDS
    if words >= baseline * DRIFT_RATIO and recent >= baseline * 1.5 and words - baseline >= floor:
        return (
            "drift_longer",
            f"replies have grown from about {baseline:.0f} to {recent:.0f} {unit} this session",
        )
    if words <= baseline / DRIFT_RATIO and recent <= baseline / 1.5 and baseline - words >= floor:
        return (
            "drift_shorter",
            f"replies have shrunk from about {baseline:.0f} to {recent:.0f} {unit} this session",
        )
    return None
