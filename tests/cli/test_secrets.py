"""Secrets never leak: planted keys are looked for in every log line (JSON and console, DEBUG), in the
text of the exceptions a failing call raises, and in the bytes of the database file."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import pytest
import structlog
from cli.conftest import bot_env, play

from bot.errors import ModelUnavailable
from bot.logs import REDACTED, configure_logging
from bot.model.openai_chat import OpenAIChatModel
from bot.settings import Settings
from bot.testing.openai_server import OpenAIServer, ServerThread

LLM_KEY = "sk-planted-llm-9c41e7d2"
DISCORD_KEY = "planted.discord.token-77a1"
SIM_KEY = "sk-planted-sim-3b8f01"
JUDGE_KEY = "sk-planted-judge-5d2c9a"
PLANTED = (LLM_KEY, DISCORD_KEY, SIM_KEY, JUDGE_KEY)


def assert_clean(text: str | bytes, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    for key in PLANTED:
        assert key.encode() not in data, f"{key} leaked into {where}"


@pytest.fixture(autouse=True)
def restore_logging():
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers = [h for h in logging.getLogger().handlers if type(h).__name__ != "_OurHandler"]
    logging.getLogger().setLevel(logging.WARNING)


def planted_env(server: ServerThread, db: Path, **extra: str) -> dict[str, str]:
    return bot_env(
        server, db, LLM_API_KEY=LLM_KEY, DISCORD_TOKEN=DISCORD_KEY, SIM_API_KEY=SIM_KEY, JUDGE_API_KEY=JUDGE_KEY,
        LOG_LEVEL="DEBUG", **extra,
    )


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_a_scripted_scene_and_a_rejected_key_leak_nothing(tmp_path, fmt) -> None:
    """A scene played with DEBUG logs (SDK and HTTP client included), then the same key refused by the server."""
    db = tmp_path / "e.db"
    script = "/summon Mira\nMira, what is the password?\nI leave.\n/tick\n"
    with ServerThread(api_key=LLM_KEY) as accepting:
        ok = play(planted_env(accepting, db, LOG_FORMAT=fmt), script, "--world", "harbor")
    with ServerThread(api_key="another-key") as refusing:
        refused = play(planted_env(refusing, db, LOG_FORMAT=fmt), "Mira, again?\n", "--world", "harbor")
    assert ok.returncode == 0 and refused.returncode == 0, ok.stderr[-2000:] + refused.stderr[-2000:]
    assert "Mira Salt:" in ok.stdout, "the scene really ran"
    assert "model.failed" in refused.stderr and "http 401" in refused.stderr
    for name, result in (("the scene", ok), ("the refused run", refused)):
        assert_clean(result.stdout, f"stdout of {name}")
        assert_clean(result.stderr, f"the log of {name}")
    assert "model.call" in ok.stderr, "the log is really at DEBUG/INFO"
    for path in tmp_path.iterdir():
        if path.name.startswith("e.db"):
            assert_clean(path.read_bytes(), path.name)


def test_json_tracebacks_are_scrubbed(capsys) -> None:
    """The traceback is rendered before the scrubber, so a key inside an exception message is redacted."""
    configure_logging("json", "DEBUG", secrets=[LLM_KEY])
    try:
        raise ValueError(f"upstream said: bad key {LLM_KEY}")
    except ValueError:
        structlog.get_logger("t").exception("call.failed")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert "Traceback" in record["exception"] and REDACTED in record["exception"]
    assert_clean(line, "a JSON traceback")


def test_library_log_records_are_scrubbed(capsys) -> None:
    """discord.py and aiohttp log through the standard library: the same scrubber applies."""
    configure_logging("console", "DEBUG", secrets=[DISCORD_KEY])
    try:
        raise RuntimeError(f"token {DISCORD_KEY} refused")
    except RuntimeError:
        logging.getLogger("discord.http").exception("login with %s failed", DISCORD_KEY)
    err = capsys.readouterr().err
    assert "login with" in err and "Traceback" in err
    assert_clean(err, "a standard-library log record")


def test_simulator_and_judge_keys_are_secrets(monkeypatch, capsys) -> None:
    settings = Settings(_env_file=None, SIM_API_KEY=SIM_KEY, JUDGE_API_KEY=JUDGE_KEY)  # type: ignore[call-arg]
    assert {SIM_KEY, JUDGE_KEY} <= set(settings.secrets())
    for name in ("SIM_API_KEY", "JUDGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    configure_logging("json", "INFO", secrets=settings.secrets())
    structlog.get_logger("t").info("eval.endpoints", detail=f"sim {SIM_KEY} judge {JUDGE_KEY}")
    assert_clean(capsys.readouterr().err, "an eval log line")


def test_secrets_in_the_environment_are_scrubbed_before_settings_are_read(monkeypatch, capsys) -> None:
    monkeypatch.setenv("JUDGE_API_KEY", JUDGE_KEY)
    configure_logging("console", "INFO")
    structlog.get_logger("t").warning("early", text=f"key={JUDGE_KEY}")
    assert_clean(capsys.readouterr().err, "an early log line")


def test_the_exceptions_of_a_refused_key_do_not_carry_it() -> None:
    async def call() -> ModelUnavailable:
        async with OpenAIServer(api_key="the-right-key") as server:
            model = OpenAIChatModel(base_url=server.base_url, api_key=LLM_KEY, model="m", max_attempts=1)
            try:
                from bot.core.ports import ChatMessage, ChatOptions

                await model.complete([ChatMessage("user", "hi")], ChatOptions())
            except ModelUnavailable as exc:
                return exc
            finally:
                await model.aclose()
        raise AssertionError("the call should have failed")

    exc = asyncio.run(call())
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    assert len(chain) > 1, "the SDK's error is chained"
    for error in chain:
        assert_clean(f"{error!s} {error!r} {getattr(error, 'user_message', '')}", f"the text of {type(error).__name__}")
    assert sys.exc_info() == (None, None, None)
