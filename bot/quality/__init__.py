"""Role-play quality: fast detectors of misaligned replies, run-time guards, and transcript linting.

Detectors are pure functions over a reply and its ``ReplyContext`` (no model call, a few ms per reply);
``detect_all`` runs them all. ``bot.quality.guard`` turns findings into repair / one regeneration /
accept according to a per-world ``GuardPolicy``; ``bot.quality.transcript`` reads transcripts for
``python -m bot lint-transcript``.
"""

from bot.quality.detect import detect_all
from bot.quality.findings import DETECTORS, DetectorName, Finding, ReplyContext, Severity
from bot.quality.guard import (
    GuardDecision,
    GuardOutcome,
    GuardPolicy,
    GuardStats,
    corrective_instruction,
    decide,
    guard_reply,
    repair,
)

__all__ = [
    "DETECTORS",
    "DetectorName",
    "Finding",
    "GuardDecision",
    "GuardOutcome",
    "GuardPolicy",
    "GuardStats",
    "ReplyContext",
    "Severity",
    "corrective_instruction",
    "decide",
    "detect_all",
    "guard_reply",
    "repair",
]
