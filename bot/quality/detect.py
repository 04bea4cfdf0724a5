"""Run every detector over one reply: ``detect_all(reply, ctx)``; pure, no model call, a few ms per reply."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.quality.detectors import (
    assistant_voice,
    formatting,
    length,
    mixed_language,
    repetition,
    silence,
    speaks_as_other,
    speaks_for_user,
)
from bot.quality.findings import DETECTORS, DetectorName, Finding, ReplyContext
from bot.quality.text import Analysis, analyse

Detector = Callable[[str, ReplyContext, Analysis | None], list[Finding]]

REGISTRY: dict[DetectorName, Detector] = {
    "speaks_for_user": speaks_for_user.detect,
    "speaks_as_other": speaks_as_other.detect,
    "repetition": repetition.detect,
    "mixed_language": mixed_language.detect,
    "assistant_voice": assistant_voice.detect,
    "length": length.detect,
    "silence": silence.detect,
    "formatting": formatting.detect,
}
assert tuple(REGISTRY) == DETECTORS


def detect_all(reply: str, ctx: ReplyContext, only: Iterable[str] | None = None) -> list[Finding]:
    """All findings for ``reply``, ordered by position; ``only`` restricts the detector families."""
    analysis = analyse(reply, ctx.own_names)
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for name, detector in REGISTRY.items():
        if wanted is not None and name not in wanted:
            continue
        findings.extend(detector(reply, ctx, analysis))
    findings.sort(key=lambda f: (f.start, f.end, f.detector))
    return findings
