"""``python -m bot score-detectors DIR``: precision, recall and F1 of every detector on a labelled folder.

Reads every transcript under DIR (Role-Play Bench JSON Lines whose NPC records carry ``"labels"``, each
with its ``NAME.meta.json`` sidecar, see ``bot.quality.meta``), runs the detectors exactly as
``lint-transcript`` does, and prints a table per detector (``--json`` for machines; ``--errors`` lists
every false positive and false negative with its reasons). Exit code 0 whatever the scores; 2 when
the folder or a file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.quality import language
from bot.quality.scoring import Scorecard, score_folder
from bot.quality.transcript import TranscriptError

COMMAND = "score-detectors"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        COMMAND,
        help="precision/recall/F1 of the quality detectors on a labelled folder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="DIR", help="folder of labelled transcripts (searched recursively)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--errors", action="store_true", help="list every false positive and false negative")


def run(args: argparse.Namespace) -> int:
    try:
        card = score_folder(args.folder)
    except TranscriptError as exc:
        print(f"{COMMAND}: error: {exc.user_message}", file=sys.stderr)
        return 2
    if args.json:
        doc = card.to_dict(with_errors=args.errors)
        doc["folder"] = str(args.folder)
        doc["language_backend"] = language.backend()
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(render(card, str(args.folder), errors=args.errors))
    return 0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def render(card: Scorecard, folder: str, *, errors: bool = False) -> str:
    """The scorecard as a table for people."""
    rows = [("detector", "labelled", "flagged", "TP", "FP", "FN", "precision", "recall", "F1")]
    for s in card.scores:
        rows.append(
            (s.detector, str(s.tp + s.fn), str(s.tp + s.fp), str(s.tp), str(s.fp), str(s.fn),
             _pct(s.precision), _pct(s.recall), _pct(s.f1))
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    out.append("")
    out.append(
        f"{card.files} files, {card.replies} labelled NPC replies ({card.labelled_replies} with a problem), "
        f"macro F1 {_pct(card.macro_f1)}; {folder}, language identification via {language.backend()}"
    )
    if card.unknown_labels:
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(card.unknown_labels.items()))
        out.append(f"labels that are no detector's name (not scored): {listed}")
    if errors and card.errors:
        out.append("")
        for detector, kind, reply in card.errors:
            why = "; ".join(r for d, _, r in reply.reasons if d == detector) or "-"
            text = " ".join(reply.text.split())
            text = text if len(text) <= 160 else text[:159] + "…"
            out.append(f"{kind.upper()} {detector} {reply.file}:{reply.line} [{reply.speaker}] {why}\n    {text}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m bot {COMMAND}", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
