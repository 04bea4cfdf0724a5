"""The terminal's log: a player sees which error happened, the traceback only at LOG_LEVEL=DEBUG; the
operator's log (``run``) keeps tracebacks."""

from __future__ import annotations

import logging

import pytest
import structlog

from bot.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_logging():
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers = [h for h in logging.getLogger().handlers if type(h).__name__ != "_OurHandler"]
    logging.getLogger().setLevel(logging.WARNING)


def failing_turn() -> None:
    try:
        raise RuntimeError("a bug in a turn")
    except RuntimeError:
        structlog.get_logger("engine").exception("turn.failed", code="E-ABC123")
        logging.getLogger("aiohttp.client").exception("a library's own error")


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_the_terminal_log_names_the_error_without_a_traceback(capsys, fmt) -> None:
    configure_logging(fmt, "WARNING", tracebacks=False)
    failing_turn()
    err = capsys.readouterr().err
    assert "turn.failed" in err and "E-ABC123" in err and "RuntimeError" in err
    assert "a library's own error" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback_on_the_terminal(capsys) -> None:
    configure_logging("console", "DEBUG", tracebacks=False)
    failing_turn()
    assert capsys.readouterr().err.count("Traceback") == 2


def test_the_operators_log_keeps_tracebacks(capsys) -> None:
    configure_logging("json", "INFO")
    failing_turn()
    assert capsys.readouterr().err.count("Traceback") == 2
