"""Running ``python -m bot`` as a real subprocess against the local OpenAI-compatible server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.testing.openai_server import ServerThread

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def model_server() -> Iterator[ServerThread]:
    with ServerThread() as server:
        yield server


def bot_env(server: ServerThread, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "DISCORD_", "DATABASE_", "SHARD_"))}
    env.update(
        LLM_BASE_URL=server.base_url,
        LLM_API_KEY="test-key",
        LLM_MODEL="fake-model",
        DATABASE_PATH=str(db),
        LLM_TIMEOUT="2",
        LLM_MAX_ATTEMPTS="2",
        LLM_MAX_TOTAL_SECONDS="4",
        PYTHONUNBUFFERED="1",
        RANDOM_SEED="7",
    )
    env.update(extra)
    return env


def play(env: dict[str, str], script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a scripted ``play`` session; stdin is the script, so the transcript comes out on stdout."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "play", *args],
        input=script,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )
