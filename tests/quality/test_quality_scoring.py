"""The detector scorer (``python -m bot score-detectors``), per-file sidecars and length targets in characters.

The fixture in ``data/scoring`` is small and written for these tests (it is not the labelled set the
detectors are measured on): six problems the detectors find, two clean replies, and one reply labelled
``repetition`` that repeats nothing, so the scorer must count exactly one false negative.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS, lint
from bot.quality.meta import LengthTarget, parse_meta, sidecar_path
from bot.quality.scoring import DetectorScore, ScoredReply, score, score_folder
from bot.quality.transcript import TranscriptError, parse_transcript, read_transcript

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "data" / "scoring"


def reply(gold: set[str], predicted: set[str]) -> ScoredReply:
    return ScoredReply("f", 1, "npc", "text", frozenset(gold), frozenset(predicted))


def test_arithmetic_per_detector() -> None:
    """TP/FP/FN/TN per reply and detector; precision, recall and F1 from them; undefined rates are None."""
    card = score(
        [
            reply({"silence"}, {"silence"}),
            reply({"silence"}, set()),
            reply(set(), {"silence", "length"}),
            reply(set(), set()),
            reply({"repetition", "made_up"}, {"repetition"}),
        ],
        detectors=("silence", "length", "repetition", "formatting"),
    )
    silence = card.score("silence")
    assert (silence.tp, silence.fp, silence.fn, silence.tn) == (1, 1, 1, 2)
    assert silence.precision == pytest.approx(0.5) and silence.recall == pytest.approx(0.5)
    assert silence.f1 == pytest.approx(0.5)
    length = card.score("length")
    assert length.precision == 0.0 and length.recall is None and length.f1 == 0.0
    assert card.score("formatting").f1 is None  # nothing labelled, nothing flagged: no figure at all
    assert card.score("repetition").f1 == 1.0
    assert card.macro_f1 == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    assert card.unknown_labels == {"made_up": 1}
    assert [(d, k) for d, k, _ in card.errors] == [("silence", "fn"), ("silence", "fp"), ("length", "fp")]


def test_f1_is_the_harmonic_mean() -> None:
    s = DetectorScore("x", tp=3, fp=1, fn=2, tn=10)
    p, r = 3 / 4, 3 / 5
    assert s.f1 == pytest.approx(2 * p * r / (p + r))


def test_score_folder_on_the_fixture() -> None:
    """Sidecars give each file its names, language and length target; the planted miss is counted."""
    card = score_folder(FIXTURE)
    assert card.files == 2 and card.replies == 9 and card.labelled_replies == 7
    for detector in ("speaks_for_user", "speaks_as_other", "assistant_voice", "mixed_language", "length"):
        assert card.score(detector).f1 == 1.0, detector
    silence = card.score("silence")
    assert (silence.tp, silence.fp, silence.fn) == (2, 0, 0)
    repetition = card.score("repetition")
    assert (repetition.tp, repetition.fp, repetition.fn) == (0, 0, 1)
    assert card.score("formatting").f1 is None
    assert [(d, k, r.line) for d, k, r in card.errors] == [("repetition", "fn", 12)]


def test_unlabelled_replies_are_not_scored(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"role": "user", "text": "hi", "round": 1}\n'
        '{"role": "ai", "text": "As an AI language model I cannot help.", "round": 1}\n'
        '{"role": "ai", "text": "As an AI language model I cannot help.", "round": 2, "labels": ["assistant_voice"]}\n',
        encoding="utf-8",
    )
    card = score_folder(tmp_path)
    assert card.replies == 1 and card.score("assistant_voice").tp == 1


def test_bad_labels_and_empty_folders_are_errors(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="labels"):
        parse_transcript('{"role": "ai", "text": "x", "round": 1, "labels": "silence"}', "t.jsonl")
    with pytest.raises(TranscriptError, match="no transcripts"):
        score_folder(tmp_path)
    with pytest.raises(TranscriptError, match="no such folder"):
        score_folder(tmp_path / "missing")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_cli_table_and_json() -> None:
    """``python -m bot.cli.score`` is the same parser and code as ``python -m bot score-detectors``."""
    assert "bot.cli.score" in COMMANDS
    result = run_cli("-m", "bot.cli.score", str(FIXTURE), "--errors")
    assert result.returncode == 0, result.stderr
    assert "speaks_for_user" in result.stdout and "macro F1 0.86" in result.stdout
    assert "FN repetition" in result.stdout and "en_group.jsonl:12" in result.stdout
    result = run_cli("-m", "bot.cli.score", str(FIXTURE), "--json")
    doc = json.loads(result.stdout)
    assert doc["detectors"]["repetition"] == {
        "detector": "repetition", "labelled": 1, "flagged": 0, "tp": 0, "fp": 0, "fn": 1, "tn": 8,
        "precision": None, "recall": 0.0, "f1": 0.0,
    }
    assert "errors" not in doc and doc["replies"] == 9
    result = run_cli("-m", "bot.cli.score", str(FIXTURE / "nowhere"))
    assert result.returncode == 2 and "no such folder" in result.stderr and "Traceback" not in result.stderr


# --- sidecars and length in characters ---------------------------------------------------------------


def test_sidecar_shapes() -> None:
    assert sidecar_path("d/x.jsonl") == Path("d/x.meta.json")
    assert parse_meta({"length": {"unit": "chars", "min": 10, "max": 80}}).length == LengthTarget("chars", 10, 80)
    assert parse_meta({"min_words": 3, "max_words": 9}).length == LengthTarget("words", 3, 9)
    assert parse_meta({"length": {"min_chars": 1, "max_chars": 5}}).length == LengthTarget("chars", 1, 5)
    meta = parse_meta({"user_names": "Ann", "npc_names": ["Mira", " "], "language": "en", "extra": 1})
    assert meta.user_names == ("Ann",) and meta.npc_names == ("Mira",) and meta.length is None
    for bad in ({"length": {"unit": "pages", "max": 3}}, {"length": {"min": 5, "max": 2}}, {"user_names": 3}, []):
        with pytest.raises(TranscriptError):
            parse_meta(bad, "x.meta.json")


def test_lint_reads_the_sidecar() -> None:
    """The Chinese fixture's target is 15-200 characters: its 6-character reply is too short."""
    report = json.loads(run_cli("-m", "bot.cli.lint", str(FIXTURE / "zh_duo.jsonl")).stdout)
    assert report["length_target"] == {"unit": "chars", "min": 15, "max": 200}
    assert report["user_names"] == ["林夏"] and report["language"] == "zh"
    flagged = [t["line"] for t in report["turns"] if any(f["detector"] == "length" for f in t["findings"])]
    assert flagged == [4]
    ignored = json.loads(run_cli("-m", "bot.cli.lint", str(FIXTURE / "zh_duo.jsonl"), "--no-meta").stdout)
    assert ignored["length_target"] == {"unit": "words", "min": 8, "max": 140}


def test_lint_max_chars_flag_wins_over_the_sidecar() -> None:
    """--max-chars 20: the 33-character first reply is now too long; the message counts characters."""
    report = json.loads(run_cli("-m", "bot.cli.lint", str(FIXTURE / "zh_duo.jsonl"), "--max-chars", "20").stdout)
    assert report["length_target"] == {"unit": "chars", "min": 0, "max": 20}
    first = next(t for t in report["turns"] if t["line"] == 2)
    reason = next(f["reason"] for f in first["findings"] if f["detector"] == "length")
    assert "characters, above the target of 0-20" in reason


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--max-chars", "20", "--max-words", "9"), "not both"),
        (("--min-chars", "5"), "--min-chars needs --max-chars"),
        (("--min-words", "9", "--max-words", "3"), "need 0 <= --min-words <= --max-words"),
    ],
)
def test_length_flags_are_checked(args: tuple[str, ...], message: str) -> None:
    result = run_cli("-m", "bot.cli.lint", str(FIXTURE / "zh_duo.jsonl"), *args)
    assert result.returncode == 2 and message in result.stderr


def test_counting_characters_not_words_in_process() -> None:
    """The same reply is in range in characters and out of range in words (CJK counts one word a character)."""
    transcript = read_transcript(FIXTURE / "zh_duo.jsonl")
    in_chars = lint.lint(transcript, length=LengthTarget("chars", 1, 120), scene_language="zh")
    in_words = lint.lint(transcript, length=LengthTarget("words", 1, 20), scene_language="zh")
    assert in_chars["counts"]["length"] == 0
    assert in_words["counts"]["length"] >= 1
