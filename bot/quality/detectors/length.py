"""Length out of range: the world's target range (CJK characters count as words), and drift over a session.

A reply that is too long can be repaired by trimming it at the last sentence boundary that keeps it in
range (the finding's span is the part that would go). Drift compares this reply and the recent ones
with the session's early replies: growing replies are the "performance wall" users notice after
turn 20, well before any single reply is out of range.
"""

from __future__ import annotations

from statistics import median

from bot.quality.findings import Finding, ReplyContext, make_finding
from bot.quality.text import Analysis, quote_spans, sentence_spans, word_count

DETECTOR = "length"

DRIFT_MIN_HISTORY = 6
DRIFT_RATIO = 1.75
DRIFT_MIN_WORDS = 25


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    words = analysis.words if analysis is not None else word_count(reply)
    out: list[Finding] = []
    if words > ctx.max_words:
        cut = _trim_point(reply, ctx.min_words, ctx.max_words)
        start = cut if cut is not None else 0
        out.append(
            make_finding(
                reply,
                DETECTOR,
                "high" if words > 2 * ctx.max_words else "medium",
                start,
                len(reply),
                f"{words} words, above the target of {ctx.min_words}-{ctx.max_words}",
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
                f"{words} words, below the target of {ctx.min_words}-{ctx.max_words}",
                code="too_short",
            )
        )
    drift = _drift(words, ctx)
    if drift:
        out.append(make_finding(reply, DETECTOR, "low", 0, len(reply), drift[1], code=drift[0]))
    return out


def _trim_point(reply: str, min_words: int, max_words: int) -> int | None:
    """The end of the last sentence that keeps the reply within ``max_words`` (not inside a quote if possible)."""
    quotes = quote_spans(reply)
    best: int | None = None
    best_in_quote: int | None = None
    count = 0
    pos = 0
    for _, end in sentence_spans(reply):
        count += word_count(reply[pos:end])
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
    if words >= baseline * DRIFT_RATIO and recent >= baseline * 1.5 and words - baseline >= DRIFT_MIN_WORDS:
        return (
            "drift_longer",
            f"replies have grown from about {baseline:.0f} to {recent:.0f} words this session",
        )
    if words <= baseline / DRIFT_RATIO and recent <= baseline / 1.5 and baseline - words >= DRIFT_MIN_WORDS:
        return (
            "drift_shorter",
            f"replies have shrunk from about {baseline:.0f} to {recent:.0f} words this session",
        )
    return None
