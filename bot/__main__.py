"""The composition root: ``python -m bot <command>``. Builds settings, store, model and engine."""

from __future__ import annotations

import argparse
import importlib
import sys

from bot.cli import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command module."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Ensemble: multi-character group role-play with a living world.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
