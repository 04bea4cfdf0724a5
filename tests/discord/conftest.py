"""End-to-end fixtures: the real discord.py client (EnsembleBot) against the fake Discord server, the real
openai SDK against the local model server, a real SQLite file (or, in modules marked ``both_databases``, also a
real PostgreSQL database), and a small world written as YAML."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from discord_harness import API_KEY, CHARACTERS, ISLE, MANOR, Harness, make_settings
from fakes.discord_server import FakeDiscordServer

from bot.app import App, open_app
from bot.settings import Settings
from bot.testing.openai_server import OpenAIServer


@pytest.fixture
def content(tmp_path: Path) -> tuple[Path, Path]:
    characters, worlds = tmp_path / "characters", tmp_path / "worlds"
    characters.mkdir()
    worlds.mkdir()
    for cid, data in CHARACTERS.items():
        (characters / f"{cid}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (worlds / "manor.yaml").write_text(yaml.safe_dump(MANOR), encoding="utf-8")
    (worlds / "isle.yaml").write_text(yaml.safe_dump(ISLE), encoding="utf-8")
    return characters, worlds


@pytest.fixture
async def model_server() -> AsyncIterator[OpenAIServer]:
    async with OpenAIServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture
async def discord_server() -> AsyncIterator[FakeDiscordServer]:
    async with FakeDiscordServer() as server:
        yield server


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A module marked both_databases plays every test twice: the store on SQLite, then on PostgreSQL.
    if "settings" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("settings", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, content, model_server, discord_server) -> Settings:
    extra = {} if getattr(request, "param", "sqlite") == "sqlite" else {"DATABASE_URL": request.getfixturevalue("pg_migrated_url")}
    return make_settings(tmp_path, content, model_server, discord_server, **extra)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    async with open_app(settings, rng=random.Random(1)) as opened:
        yield opened
        await opened.model.aclose()  # type: ignore[attr-defined]


@pytest.fixture
async def harness(app: App, discord_server: FakeDiscordServer, model_server: OpenAIServer) -> AsyncIterator[Harness]:
    built = Harness(app, discord_server, model_server)
    try:
        yield built
    finally:
        await built.stop()
    assert not discord_server.unhandled, [(c.method, c.path) for c in discord_server.unhandled]

