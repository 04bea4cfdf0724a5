"""The composition root: ``python -m bot <command>``. Builds settings, store, model and engine.

Every command runs inside one guard: whatever it fails with reaches the person as one sentence on
stderr and exit code 2, never a traceback; the traceback goes to the log at debug level
(``LOG_LEVEL=DEBUG`` shows it).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sqlite3
import sys
import threading
from typing import Any

import structlog

from bot.cli import COMMANDS
from bot.errors import EnsembleError
from bot.logs import configure_logging

EXIT_FAILED = 2
log = structlog.get_logger("cli")


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


def failure_sentence(exc: BaseException) -> str:
    """What the person reads when a command fails: the domain message, or what to do, or a short code."""
    if isinstance(exc, EnsembleError):
        return exc.user_message
    if isinstance(exc, sqlite3.Error):
        return f"The database failed ({exc}); check DATABASE_PATH and that no other process holds it."
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"Cannot use the file{where}: {exc.strerror or exc}."
    from bot.engine.scene import error_code

    return f"Something went wrong ({error_code(exc)}); run again with LOG_LEVEL=DEBUG to see the details."


def _thread_failed(args: Any) -> None:
    """A library's worker thread failing (aiosqlite's after a failed open, at shutdown): debug log only."""
    logging.getLogger("bot.threads").debug(
        "thread %s failed", getattr(args.thread, "name", "?"), exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
    )


def _unraisable(args: Any) -> None:
    """An exception Python cannot raise (in a finaliser): debug log only, never printed to the person."""
    logging.getLogger("bot.unraisable").debug(
        "ignored in %r: %s", args.object, args.err_msg or "exception",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback) if args.exc_value is not None else None,
    )


def main(argv: list[str] | None = None) -> int:
    threading.excepthook = _thread_failed
    sys.unraisablehook = _unraisable
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last guard: one sentence for the person, the traceback in the debug log
        sentence = failure_sentence(exc)
        if not structlog.is_configured():  # the command failed before configuring logging
            configure_logging(os.environ.get("LOG_FORMAT", "console"), os.environ.get("LOG_LEVEL", "WARNING"))
        log.debug("cli.failed", command=args.command, shown=sentence, exc_info=exc)
        print(sentence, file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
