"""structlog configured once: readable console lines by default, JSON on request, secrets scrubbed.

Tracebacks are rendered to text *before* the scrubber runs, so a key inside an exception message or
a frame's repr is scrubbed like any other text; the standard library's loggers (discord.py, aiohttp)
go through the same processors.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import Any

import structlog

SECRET_KEYS = {
    "api_key", "token", "authorization", "password", "secret", "llm_api_key", "discord_token",
    "sim_api_key", "judge_api_key", "openai_api_key",
}
# Environment variables whose values are secrets, scrubbed even before the settings are read.
SECRET_VARIABLES = ("LLM_API_KEY", "OPENAI_API_KEY", "DISCORD_TOKEN", "SIM_API_KEY", "JUDGE_API_KEY")
REDACTED = "[redacted]"


class SecretScrubber:
    """A structlog processor that removes secret-looking keys and any known secret value from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: (REDACTED if str(k).lower() in SECRET_KEYS else self.scrub(v)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(v) for v in value)
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        return value

    def __call__(self, logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        return self.scrub(event_dict)


def secrets_from_environment() -> list[str]:
    """The secret values set in the environment (before ``.env`` and the settings are read)."""
    return [os.environ[name] for name in SECRET_VARIABLES if os.environ.get(name)]


def _level(level: str | int) -> int:
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    return numeric if isinstance(numeric, int) else logging.INFO


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written (tests swap it; a bound file would go stale)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _OurHandler(logging.StreamHandler):
    """The stderr handler this module installs (replaced, never stacked, when configured again)."""


def _summarise_exceptions(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Replace a traceback by one line naming the exception (for logs a player reads on a terminal)."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info is True else exc_info[1]
        if error is not None:
            event_dict["error"] = f"{type(error).__name__} (LOG_LEVEL=DEBUG shows the traceback)"
    return event_dict


def configure_logging(
    fmt: str = "console", level: str = "INFO", secrets: Iterable[str] = (), *, tracebacks: bool = True
) -> None:
    """Configure structlog and the standard library logging it routes through. Logs go to stderr.

    ``tracebacks=False`` (the terminal's ``play``) keeps tracebacks out of the log unless the level is DEBUG.
    """
    numeric = _level(level)
    tracebacks = tracebacks or numeric <= logging.DEBUG
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback)
    )
    scrubber = SecretScrubber([*secrets, *secrets_from_environment()])
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        *([] if tracebacks else [_summarise_exceptions]),
        # Text first, then scrub: the scrubber must see the traceback as the reader will.
        structlog.processors.format_exc_info,
        scrubber,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = _OurHandler(_Stderr())  # type: ignore[arg-type]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)  # configured again (tests, or a command that re-reads settings)
    root.addHandler(handler)
    # Libraries are quieter than our own events: their INFO lines (gateway chatter) only at DEBUG.
    root.setLevel(max(numeric, logging.WARNING) if numeric > logging.DEBUG else logging.DEBUG)
