"""Precision, recall and F1 of the detectors against a labelled set of transcripts.

A labelled transcript is a Role-Play Bench dialogue whose NPC records carry ``"labels"``: the detector
names a careful reader says apply to that reply (``[]`` for a clean one). A detector "says" a label
when it reports at least one finding on the reply. Per detector the unit is the reply: a true positive
is a labelled reply it flags, a false positive an unlabelled one it flags, a false negative a labelled
one it misses. The arithmetic here is pure; reading files and running the detectors is
``score_folder``'s job, through the same ``lint_replies`` the linter uses, so the figures describe
exactly what ``lint-transcript`` reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.quality.findings import DETECTORS
from bot.quality.meta import read_meta_for
from bot.quality.replay import lint_replies, scene_context
from bot.quality.transcript import TranscriptError, read_transcript

TRANSCRIPT_SUFFIXES = (".jsonl", ".json")


@dataclass(frozen=True, slots=True)
class ScoredReply:
    """One labelled reply: what the labels say, what the detectors said, and why."""

    file: str
    line: int
    speaker: str
    text: str
    gold: frozenset[str]
    predicted: frozenset[str]
    reasons: tuple[tuple[str, str, str], ...] = ()  # (detector, code, reason) per finding


@dataclass(frozen=True, slots=True)
class DetectorScore:
    """Counts and rates of one detector; a rate is ``None`` when nothing defines it."""

    detector: str
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "labelled": self.tp + self.fn,
            "flagged": self.tp + self.fp,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
        }


@dataclass(frozen=True, slots=True)
class Scorecard:
    """Every detector's score over a set of replies, and the replies it got wrong."""

    replies: int
    labelled_replies: int
    scores: tuple[DetectorScore, ...]
    errors: tuple[tuple[str, str, ScoredReply], ...]  # (detector, "fp" | "fn", reply)
    files: int = 0
    unknown_labels: dict[str, int] = field(default_factory=dict)

    @property
    def macro_f1(self) -> float | None:
        values = [s.f1 for s in self.scores if s.f1 is not None]
        return sum(values) / len(values) if values else None

    def score(self, detector: str) -> DetectorScore:
        return next(s for s in self.scores if s.detector == detector)

    def to_dict(self, *, with_errors: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "files": self.files,
            "replies": self.replies,
            "replies_with_labels": self.labelled_replies,
            "detectors": {s.detector: s.to_dict() for s in self.scores},
            "macro_f1": _round(self.macro_f1),
            "unknown_labels": dict(self.unknown_labels),
        }
        if with_errors:
            out["errors"] = [
                {
                    "detector": detector,
                    "kind": kind,
                    "file": reply.file,
                    "line": reply.line,
                    "speaker": reply.speaker,
                    "gold": sorted(reply.gold),
                    "predicted": sorted(reply.predicted),
                    "text": reply.text,
                    "reasons": [list(r) for r in reply.reasons if r[0] == detector],
                }
                for detector, kind, reply in self.errors
            ]
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def score(replies: Iterable[ScoredReply], detectors: Sequence[str] = DETECTORS) -> Scorecard:
    """The scorecard of ``replies`` (pure)."""
    items = list(replies)
    scores = []
    errors: list[tuple[str, str, ScoredReply]] = []
    for detector in detectors:
        tp = fp = fn = tn = 0
        for reply in items:
            said, truth = detector in reply.predicted, detector in reply.gold
            if said and truth:
                tp += 1
            elif said:
                fp += 1
                errors.append((detector, "fp", reply))
            elif truth:
                fn += 1
                errors.append((detector, "fn", reply))
            else:
                tn += 1
        scores.append(DetectorScore(detector, tp, fp, fn, tn))
    unknown: dict[str, int] = {}
    for reply in items:
        for label in reply.gold - set(detectors):
            unknown[label] = unknown.get(label, 0) + 1
    return Scorecard(
        replies=len(items),
        labelled_replies=sum(1 for r in items if r.gold),
        scores=tuple(scores),
        errors=tuple(errors),
        unknown_labels=unknown,
    )


def transcript_files(folder: str | Path) -> list[Path]:
    """The transcripts under ``folder`` (recursively, sorted), sidecars left out."""
    root = Path(folder)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise TranscriptError(f"{folder}: no such folder")
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix in TRANSCRIPT_SUFFIXES and not p.name.endswith(".meta.json")
    )


def scored_replies(path: Path) -> list[ScoredReply]:
    """Run the linter's detectors over one labelled transcript (its sidecar gives the context)."""
    transcript = read_transcript(path)
    scene = scene_context(transcript, meta=read_meta_for(path))
    out = []
    for line, name, findings in lint_replies(transcript, scene):
        if line.labels is None:
            continue
        out.append(
            ScoredReply(
                file=str(path),
                line=line.line,
                speaker=name,
                text=line.text,
                gold=frozenset(line.labels),
                predicted=frozenset(f.detector for f in findings),
                reasons=tuple((f.detector, f.code, f.reason) for f in findings),
            )
        )
    return out


def score_folder(folder: str | Path) -> Scorecard:
    """Score every labelled transcript under ``folder``; ``TranscriptError`` if one cannot be read."""
    files = transcript_files(folder)
    if not files:
        raise TranscriptError(f"{folder}: no transcripts (*.jsonl, *.json)")
    replies = [reply for path in files for reply in scored_replies(path)]
    card = score(replies)
    return Scorecard(
        replies=card.replies,
        labelled_replies=card.labelled_replies,
        scores=card.scores,
        errors=card.errors,
        files=len(files),
        unknown_labels=card.unknown_labels,
    )
