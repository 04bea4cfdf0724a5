"""``python -m bot lint-transcript FILE``: run the role-play quality detectors over a transcript.

Reads Role-Play Bench dialogues or the bot's own ``/export`` (see ``bot.quality.transcript``), checks
every NPC reply with the context the transcript gives (speaker names, this NPC's recent replies, the
scene's language, and the length target in words or characters; a ``NAME.meta.json`` sidecar
supplies them per file, see ``bot.quality.meta``) and prints findings per turn and rates per detector (findings per NPC reply), as
JSON or, with ``--format table``, for people. Exit code 0 whatever it finds; 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.quality.findings import DETECTORS
from bot.quality.lint import lint
from bot.quality.meta import LengthTarget, read_meta, read_meta_for
from bot.quality.replay import DEFAULT_LENGTH
from bot.quality.transcript import TranscriptError, read_transcript

COMMAND = "lint-transcript"
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
        "--min-words", type=int, default=None, metavar="N", help="target reply length in words, lower bound (default 8)"
    )
    parser.add_argument(
        "--max-words",
        type=int,
        default=None,
        metavar="N",
        help="target reply length in words, upper bound (default 140)",
    )
    parser.add_argument(
        "--min-chars",
        type=int,
        default=None,
        metavar="N",
        help="target reply length in characters (whitespace not counted), lower bound; for Chinese",
    )
    parser.add_argument(
        "--max-chars", type=int, default=None, metavar="N", help="target reply length in characters, upper bound"
    )
    parser.add_argument(
        "--meta",
        default=None,
        metavar="FILE",
        help="per-file context (names, language, length target); default: FILE's NAME.meta.json when present",
    )
    parser.add_argument("--no-meta", action="store_true", help="ignore the NAME.meta.json sidecar")


def length_target(args: argparse.Namespace) -> LengthTarget | None:
    """The length target given on the command line, or ``None``; ``ValueError`` says what is wrong."""
    words = (args.min_words, args.max_words)
    chars = (args.min_chars, args.max_chars)
    if any(v is not None for v in words) and any(v is not None for v in chars):
        raise ValueError("give the length target in words or in characters, not both")
    unit, (low, high) = ("chars", chars) if any(v is not None for v in chars) else ("words", words)
    if low is None and high is None:
        return None
    default_low, default_high = (DEFAULT_LENGTH.min, DEFAULT_LENGTH.max) if unit == "words" else (0, None)
    low = default_low if low is None else low
    high = default_high if high is None else high
    flag = "chars" if unit == "chars" else "words"
    if high is None:
        raise ValueError("--min-chars needs --max-chars")
    if low < 0 or high < 1 or high < low:
        raise ValueError(f"need 0 <= --min-{flag} <= --max-{flag}")
    return LengthTarget(unit, low, high)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    try:
        target = length_target(args)
    except ValueError as exc:
        print(f"{COMMAND}: error: {exc}", file=sys.stderr)
        return 2
    try:
        transcript = read_transcript(args.file)
        meta = None
        if not args.no_meta:
            meta = read_meta(args.meta) if args.meta else read_meta_for(args.file)
    except TranscriptError as exc:
        print(f"{COMMAND}: error: {exc.user_message}", file=sys.stderr)
        return 2
    report = lint(
        transcript,
        user_names=args.user_name,
        npc_name=args.npc_name,
        characters=args.character,
        scene_language=None if args.language == "auto" else args.language,
        length=target,
        meta=meta,
    )
    if args.format == "table":
        sys.stdout.write(render_table(report))
    else:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


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
