"""``python -m bot run``: the Discord bot. The work is in ``bot.discord_adapter.runner``, the only place that
imports discord, so the other commands start without loading it."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run the Discord bot", description=__doc__)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace | None = None) -> int:
    from bot.discord_adapter.runner import run as run_bot

    return run_bot(args)
