"""Who answers a line: a pure choice among the characters who can hear it.

The foundation rule: the characters a line addresses (by name, alias or a reply to their message)
answer, in the order they were named; if nobody is addressed, the most fitting present character
answers, judged by talkativeness and by how long it has been quiet. Ties break on an injected random
source so that a scene replays identically.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Candidate:
    """A character who could answer: present, and able to hear the line."""

    character_id: str
    talkativeness: float
    lines_since_spoke: int
    addressed_at: int | None = None
    replied_to: bool = False


@dataclass(frozen=True, slots=True)
class SpeakerChoice:
    """The chosen speakers in order, with a score and a reason per candidate (for logs and /why)."""

    speakers: tuple[str, ...]
    scores: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


FAIRNESS_SATURATION = 6


def choose_speakers(
    candidates: Sequence[Candidate], *, max_speakers: int, rng: random.Random
) -> SpeakerChoice:
    """Pick up to ``max_speakers`` speakers; addressed ones first, else the single best fit."""
    if not candidates or max_speakers <= 0:
        return SpeakerChoice(())
    scores: dict[str, float] = {}
    reasons: dict[str, str] = {}
    addressed = [c for c in candidates if c.replied_to or c.addressed_at is not None]
    for c in candidates:
        fairness = min(c.lines_since_spoke, FAIRNESS_SATURATION) / FAIRNESS_SATURATION
        score = 0.6 * c.talkativeness + 0.4 * fairness + rng.random() * 0.01
        why = [f"talkativeness {c.talkativeness:.2f}", f"quiet for {c.lines_since_spoke} lines"]
        if c.replied_to:
            score += 10.0
            why.insert(0, "the line replies to its message")
        if c.addressed_at is not None:
            score += 5.0
            why.insert(0, "named in the line")
        scores[c.character_id] = round(score, 4)
        reasons[c.character_id] = ", ".join(why)
    if addressed:
        ordered = sorted(
            addressed,
            key=lambda c: (not c.replied_to, c.addressed_at if c.addressed_at is not None else 1 << 30),
        )
        chosen = tuple(c.character_id for c in ordered[:max_speakers])
    else:
        best = max(candidates, key=lambda c: scores[c.character_id])
        chosen = (best.character_id,)
    return SpeakerChoice(chosen, scores, reasons)
