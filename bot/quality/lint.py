"""A transcript's lint report: every NPC reply checked by the detectors, with counts and rates per detector.

Pure over a parsed transcript; the command line (``bot.cli.lint``) and the evaluation report
(``bot.eval.report``) both build on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.quality import language
from bot.quality.findings import DETECTORS, Finding
from bot.quality.meta import LengthTarget, TranscriptMeta
from bot.quality.replay import DEFAULT_LENGTH, lint_replies, scene_context
from bot.quality.transcript import Transcript, TranscriptLine


def lint(
    transcript: Transcript,
    *,
    user_names: Sequence[str] | None = None,
    npc_name: str | None = None,
    characters: Sequence[str] | None = None,
    scene_language: str | None = None,
    min_words: int | None = None,
    max_words: int | None = None,
    length: LengthTarget | None = None,
    meta: TranscriptMeta | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict: per-turn findings, counts and rates per detector."""
    if length is None and (min_words is not None or max_words is not None):
        length = LengthTarget(
            "words",
            DEFAULT_LENGTH.min if min_words is None else min_words,
            DEFAULT_LENGTH.max if max_words is None else max_words,
        )
    scene = scene_context(
        transcript,
        user_names=user_names,
        npc_name=npc_name,
        characters=characters,
        scene_language=scene_language,
        length=length,
        meta=meta,
    )
    counts = dict.fromkeys(DETECTORS, 0)
    replies_flagged = dict.fromkeys(DETECTORS, 0)
    turns: list[dict[str, Any]] = []
    npc_replies = 0
    for line, name, findings in lint_replies(transcript, scene):
        npc_replies += 1
        if not findings:
            continue
        for detector in {f.detector for f in findings}:
            replies_flagged[detector] += 1
        for f in findings:
            counts[f.detector] += 1
        turns.append(_turn(line, name, findings))
    rates = {d: round(counts[d] / npc_replies, 4) if npc_replies else 0.0 for d in DETECTORS}
    return {
        "file": transcript.path,
        "format": transcript.format,
        "language": scene.language,
        "language_backend": language.backend(),
        "user_names": list(scene.users),
        "length_target": {"unit": scene.length.unit, "min": scene.length.min, "max": scene.length.max},
        "npc_replies": npc_replies,
        "replies_with_findings": len(turns),
        "counts": counts,
        "rates": rates,
        "replies_flagged": replies_flagged,
        "turns": turns,
    }


def _turn(line: TranscriptLine, name: str, findings: list[Finding]) -> dict[str, Any]:
    return {
        "index": line.index,
        "line": line.line,
        "turn": line.turn,
        "speaker": name or None,
        "findings": [f.to_dict() for f in findings],
    }
