"""``python -m bot lint-transcript FILE``: run the role-play quality detectors over a transcript.

Reads Role-Play Bench dialogues or the bot's own ``/export`` (see ``bot.quality.transcript``), checks
every NPC reply with the context the transcript gives (speaker names, this NPC's recent replies, the
scene's language) and prints findings per turn and rates per detector (findings per NPC reply), as
JSON or, with ``--format table``, for people. Exit code 0 whatever it finds; 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from bot.quality import language
from bot.quality.detect import detect_all
from bot.quality.findings import DETECTORS, Finding, ReplyContext
from bot.quality.text import word_count
from bot.quality.transcript import Transcript, TranscriptError, TranscriptLine, read_transcript

COMMAND = "lint-transcript"
RECENT_REPLIES = 5
DESCRIPTION = (
    "Check the NPC replies of a transcript (Role-Play Bench JSON Lines or the bot's /export) for role-play "
    "quality problems; print findings per turn and rates per detector. Exit code 0 whatever it finds, "
    "2 when the file cannot be read."
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        COMMAND,
        help="check a transcript for role-play quality problems",
        description=DESCRIPTION,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", help="transcript: JSON Lines (Role-Play Bench or /export) or a JSON array"
    )
    parser.add_argument(
        "--format", choices=("json", "table"), default="json", help="output format (default: json)"
    )
    parser.add_argument(
        "--user-name",
        action="append",
        default=None,
        metavar="NAME",
        help="the user's character name (repeatable); default: the user lines' speaker fields, else 'user'",
    )
    parser.add_argument(
        "--npc-name", default=None, metavar="NAME", help="the NPC's name when lines have no speaker"
    )
    parser.add_argument(
        "--character",
        action="append",
        default=None,
        metavar="NAME",
        help="another character's name (repeatable); NPC speakers in the transcript are added automatically",
    )
    parser.add_argument(
        "--language",
        choices=("en", "zh", "auto"),
        default="auto",
        help="the scene's language (default: auto, the transcript's dominant language)",
    )
    parser.add_argument(
        "--min-words", type=int, default=8, metavar="N", help="target reply length, lower bound (default 8)"
    )
    parser.add_argument(
        "--max-words",
        type=int,
        default=140,
        metavar="N",
        help="target reply length, upper bound (default 140)",
    )


def run(args: argparse.Namespace) -> int:
    if args.min_words < 0 or args.max_words < 1 or args.max_words < args.min_words:
        print(f"{COMMAND}: error: need 0 <= --min-words <= --max-words", file=sys.stderr)
        return 2
    try:
        transcript = read_transcript(args.file)
    except TranscriptError as exc:
        print(f"{COMMAND}: error: {exc.user_message}", file=sys.stderr)
        return 2
    report = lint(
        transcript,
        user_names=args.user_name,
        npc_name=args.npc_name,
        characters=args.character,
        scene_language=None if args.language == "auto" else args.language,
        min_words=args.min_words,
        max_words=args.max_words,
    )
    if args.format == "table":
        sys.stdout.write(render_table(report))
    else:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


def lint(
    transcript: Transcript,
    *,
    user_names: Sequence[str] | None = None,
    npc_name: str | None = None,
    characters: Sequence[str] | None = None,
    scene_language: str | None = None,
    min_words: int = 8,
    max_words: int = 140,
) -> dict[str, Any]:
    """The report as a JSON-ready dict: per-turn findings, counts and rates per detector."""
    lang = scene_language or language.dominant_language("\n".join(line.text for line in transcript.lines))
    users = list(
        user_names
        or transcript.user_speakers
        or ([transcript.user_name] if transcript.user_name else ["user"])
    )
    npcs = list(dict.fromkeys([*transcript.npc_speakers, *(characters or [])]))
    history: dict[str, list[str]] = {}
    counts = dict.fromkeys(DETECTORS, 0)
    replies_flagged = dict.fromkeys(DETECTORS, 0)
    turns: list[dict[str, Any]] = []
    npc_replies = 0
    for line in transcript.npc_lines():
        name = line.speaker or npc_name or transcript.ai_name or ""
        key = name or "ai"
        past = history.setdefault(key, [])
        ctx = ReplyContext(
            npc_name=name,
            user_names=users,
            other_names=[n for n in npcs if n != name],
            language=lang,
            recent_replies=past[-RECENT_REPLIES:],
            min_words=min_words,
            max_words=max_words,
            previous_lengths=[word_count(t) for t in past],
        )
        findings = detect_all(line.text, ctx)
        past.append(line.text)
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
        "language": lang,
        "language_backend": language.backend(),
        "user_names": users,
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


def render_table(report: dict[str, Any]) -> str:
    """A plain-text report for people."""
    rows = [("turn", "line", "speaker", "detector", "code", "sev", "excerpt", "reason")]
    for turn in report["turns"]:
        for f in turn["findings"]:
            rows.append(
                (
                    str(turn["turn"]),
                    str(turn["line"]),
                    turn["speaker"] or "-",
                    f["detector"],
                    f["code"] or "-",
                    f["severity"],
                    _short(f["excerpt"], 48),
                    f["reason"],
                )
            )
    out: list[str] = []
    if len(rows) > 1:
        out += _columns(rows)
        out.append("")
    summary = [("detector", "count", "per reply", "replies")]
    for detector in DETECTORS:
        summary.append(
            (
                detector,
                str(report["counts"][detector]),
                f"{report['rates'][detector]:.3f}",
                str(report["replies_flagged"][detector]),
            )
        )
    out += _columns(summary)
    out.append("")
    out.append(
        f"{report['npc_replies']} NPC replies, {report['replies_with_findings']} with findings "
        f"({report['file']}, {report['format']}, language {report['language']} via {report['language_backend']})"
    )
    return "\n".join(out) + "\n"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if "\u2e80" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m bot {COMMAND}", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
