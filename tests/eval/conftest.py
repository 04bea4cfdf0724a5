"""Fixtures for the evaluation harness: shipped content, a scripted model server, the three models."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from eval_support import responder

from bot.content.loader import Library, load_content
from bot.eval.runner import EvalModels
from bot.model.openai_chat import OpenAIChatModel
from bot.testing.openai_server import OpenAIServer, ServerThread

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "eval" / "scenarios" / "harbor-newcomer.yaml"
SEEDS = ROOT / "eval" / "seeds" / "sample.jsonl"


@pytest.fixture(scope="session")
def library() -> Library:
    return load_content(ROOT / "characters", ROOT / "worlds")


@pytest.fixture
async def server() -> AsyncIterator[OpenAIServer]:
    async with OpenAIServer(responder=responder) as running:
        yield running


@pytest.fixture
async def models(server: OpenAIServer) -> AsyncIterator[EvalModels]:
    def make(name: str) -> OpenAIChatModel:
        return OpenAIChatModel(base_url=server.base_url, api_key="test", model=name, max_attempts=2, base_delay=0.01)

    npc, simulator, judge = make("fake-model"), make("fake-model"), make("fake-model")
    yield EvalModels(npc, simulator, judge, npc_model="fake-model", info={"npc": {"model": "fake-model", "base_url": server.base_url}})
    for model in (npc, simulator, judge):
        await model.aclose()


@pytest.fixture
def thread_server():
    with ServerThread(responder=responder) as running:
        yield running


def eval_env(server: ServerThread, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "SIM_", "JUDGE_", "DISCORD_"))}
    env.update(
        LLM_BASE_URL=server.base_url,
        LLM_API_KEY="test-key",
        LLM_MODEL="fake-model",
        LLM_TIMEOUT="5",
        LLM_MAX_ATTEMPTS="2",
        LLM_MAX_TOTAL_SECONDS="10",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
