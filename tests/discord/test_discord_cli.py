"""``python -m bot run``: starts against the fake Discord, stops on SIGTERM, and turns the problems a person
must fix (no token, a rejected token, the Message Content intent refused) into one sentence and exit 2."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from discord_harness import API_KEY
from fakes.discord_server import FakeDiscordServer

from bot.__main__ import main
from bot.discord_adapter import runner as run_module
from bot.discord_adapter.runner import BAD_TOKEN, NO_INTENT, NO_TOKEN
from bot.testing.openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[2]


def bot_env(tmp_path: Path, content: tuple[Path, Path], model: OpenAIServer, server: FakeDiscordServer) -> dict[str, str]:
    return {
        "DATABASE_PATH": str(tmp_path / "data" / "ensemble.db"),
        "CHARACTERS_DIR": str(content[0]),
        "WORLDS_DIR": str(content[1]),
        "LLM_BASE_URL": model.base_url,
        "LLM_API_KEY": API_KEY,
        "LLM_MODEL": "fake-model",
        "DISCORD_TOKEN": server.token,
        "DISCORD_API_BASE": server.api_base,
        "DISCORD_GATEWAY_URL": server.gateway_url,
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def env(tmp_path, content, model_server, discord_server, monkeypatch) -> Iterator[dict[str, str]]:
    """The bot's settings in the environment, and a working directory without a .env file."""
    monkeypatch.chdir(tmp_path)
    values = bot_env(tmp_path, content, model_server, discord_server)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DISCORD_DEV_GUILD", raising=False)
    # In-process, configuring logging would bind it to pytest's captured stderr, closed after this test
    # (the subprocess test runs the real set-up).
    monkeypatch.setattr(run_module, "setup_logging", lambda settings: None)
    yield values
    assert not discord_server.unhandled


def test_missing_token_is_one_sentence_and_exit_2(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "")
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == NO_TOKEN and "\n" not in err


async def run_in_thread() -> int:
    """``python -m bot run`` in-process (its own event loop in a thread, so the fakes keep serving)."""
    return await asyncio.wait_for(asyncio.to_thread(main, ["run"]), 20)


async def test_token_refused_at_login_exits_2(env, monkeypatch, capsys, discord_server) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-the-token")
    assert await run_in_thread() == 2
    assert capsys.readouterr().err.strip() == BAD_TOKEN
    assert discord_server.calls[0].status == 401


async def test_token_refused_by_the_gateway_exits_2(env, capsys, discord_server) -> None:
    discord_server.refuse_gateway_token = True
    assert await run_in_thread() == 2
    assert capsys.readouterr().err.strip() == BAD_TOKEN


async def test_message_content_intent_refused_exits_2(env, capsys, discord_server) -> None:
    discord_server.allowed_privileged_intents = 0
    assert await run_in_thread() == 2
    err = capsys.readouterr().err.strip()
    assert err == NO_INTENT and "Message Content" in err


async def test_run_command_starts_syncs_and_stops_on_sigterm(env, discord_server, tmp_path) -> None:
    """The real command in a subprocess: logs in, syncs commands, becomes ready, and exits 0 on SIGTERM."""
    child_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=tmp_path, env=child_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await discord_server.wait_until(
            lambda: discord_server.ready_count >= 1 and discord_server.synced_commands(), timeout=20, what="READY"
        )
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert {c["name"] for c in discord_server.synced_commands()} >= {"summon", "world", "scene"}
    assert (tmp_path / "data" / "ensemble.db").exists()
