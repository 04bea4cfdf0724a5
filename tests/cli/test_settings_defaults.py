"""Every default and fallback of the README's configuration table, one test each, from an empty environment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import build_model, limit_settings
from bot.cli.eval import EvalSettings
from bot.core.ports import ChatMessage, ChatOptions
from bot.model.roles import is_native_model
from bot.settings import DISCORD_API_BASE, DISCORD_GATEWAY_URL, Settings
from bot.shipped import shipped_folder

VARIABLES = (
    "LLM_BASE_URL", "OPENAI_BASE_URL", "LLM_API_KEY", "OPENAI_API_KEY", "LLM_MODEL", "NARRATOR_MODEL",
    "LLM_NATIVE_ROLES", "LLM_TIMEOUT", "LLM_MAX_ATTEMPTS", "LLM_MAX_TOTAL_SECONDS", "DATABASE_PATH",
    "CHARACTERS_DIR", "WORLDS_DIR", "LOG_FORMAT", "LOG_LEVEL", "DISCORD_TOKEN", "DISCORD_DEV_GUILD",
    "DISCORD_API_BASE", "DISCORD_GATEWAY_URL", "DIRECTOR_INTERVAL", "DIRECTOR_IDLE_AFTER", "MEANWHILE",
    "RANDOM_SEED", "SIM_BASE_URL", "SIM_API_KEY", "SIM_MODEL", "JUDGE_BASE_URL", "JUDGE_API_KEY", "JUDGE_MODEL",
    "USER_LINES_PER_MINUTE", "SERVER_TOKENS_PER_DAY", "TOKENS_PER_CHAIN", "METRICS_PORT", "METRICS_HOST",
)


@pytest.fixture(autouse=True)
def empty_environment(monkeypatch, tmp_path):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env, no ./characters


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_no_base_url_uses_the_sdks_default_endpoint() -> None:
    """LLM_BASE_URL and OPENAI_BASE_URL unset: the model is built (no crash) and talks to api.openai.com."""
    config = settings(LLM_API_KEY="k", LLM_MODEL="gpt-4.1").require_model()
    assert config.base_url is None
    model = build_model(config)
    try:
        assert str(model._client.base_url) == "https://api.openai.com/v1/"
    finally:
        asyncio.run(model.aclose())


def test_openai_base_url_is_the_fallback_of_llm_base_url(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8089/v1")
    assert settings(LLM_API_KEY="k", LLM_MODEL="m").require_model().base_url == "http://127.0.0.1:8089/v1"
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9000/v1")
    assert settings(LLM_API_KEY="k", LLM_MODEL="m").require_model().base_url == "http://127.0.0.1:9000/v1"


def test_openai_api_key_is_the_fallback_of_llm_api_key(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-variable")
    assert settings(LLM_MODEL="m").require_model().api_key == "sk-from-openai-variable"


def test_narrator_model_defaults_to_the_main_model() -> None:
    config = settings(LLM_API_KEY="k", LLM_MODEL="main-model", LLM_BASE_URL="http://127.0.0.1:1/v1").require_model()
    assert config.narrator_model is None
    model = build_model(config)
    try:
        params = model.build_params([ChatMessage("user", "x")], ChatOptions(model=config.narrator_model), stream=False)
        assert params["model"] == "main-model"
    finally:
        asyncio.run(model.aclose())


def test_native_roles_are_automatic() -> None:
    assert settings().llm_native_roles is None
    assert is_native_model("M2-her", None) and not is_native_model("gpt-4.1", None)


def test_timeouts_and_attempts_defaults_reach_the_model() -> None:
    config = settings(LLM_API_KEY="k", LLM_MODEL="m", LLM_BASE_URL="http://127.0.0.1:1/v1").require_model()
    assert (config.request_timeout, config.max_attempts, config.max_total_seconds) == (60.0, 4, 90.0)
    model = build_model(config)
    try:
        assert model.request_timeout == 60.0 and model.max_total_seconds == 90.0
        assert model._policy.max_attempts == 4
    finally:
        asyncio.run(model.aclose())


def test_database_path_default() -> None:
    assert settings().database_path == Path("data/ensemble.db")


def test_content_folders_default_to_the_shipped_ones_from_an_empty_folder() -> None:
    characters, worlds = settings().content_folders()
    assert characters == [shipped_folder("characters")] and worlds == [shipped_folder("worlds")]


def test_content_folders_pick_up_local_folders_when_present(tmp_path) -> None:
    (tmp_path / "characters").mkdir()
    characters, worlds = settings().content_folders()
    assert characters == [shipped_folder("characters"), Path("characters")]
    assert worlds == [shipped_folder("worlds")]


def test_content_folders_set_are_added_after_the_shipped_ones(tmp_path) -> None:
    characters, worlds = settings(CHARACTERS_DIR=tmp_path / "c", WORLDS_DIR=tmp_path / "w").content_folders()
    assert characters == [shipped_folder("characters"), tmp_path / "c"]
    assert worlds == [shipped_folder("worlds"), tmp_path / "w"]


def test_log_defaults() -> None:
    s = settings()
    assert s.log_format == "console" and s.log_level == "INFO"


def test_discord_endpoints_default_to_discords_own() -> None:
    s = settings()
    assert s.discord_api_base == DISCORD_API_BASE == "https://discord.com/api/v10"
    assert s.discord_gateway_url == DISCORD_GATEWAY_URL and s.discord_dev_guild is None


def test_director_defaults() -> None:
    s = settings()
    assert (s.director_interval, s.director_idle_after, s.meanwhile) == (900.0, 21600.0, True)


def test_random_seed_defaults_to_random() -> None:
    assert settings().random_seed is None


def test_simulator_and_judge_fall_back_to_the_npc_endpoint() -> None:
    npc = settings(LLM_API_KEY="npc-key", LLM_MODEL="m", LLM_BASE_URL="http://127.0.0.1:1/v1").require_model()
    extra = EvalSettings(_env_file=None)  # type: ignore[call-arg]
    for endpoint in (extra.simulator(npc), extra.judge(npc)):
        assert (endpoint.base_url, endpoint.api_key, endpoint.model) == (npc.base_url, "npc-key", "m")


def test_limit_defaults() -> None:
    limits = limit_settings(settings())
    assert (limits.lines_per_minute, limits.tokens_per_day, limits.tokens_per_chain) == (8, None, None)


def test_metrics_are_off_by_default_and_local_when_on() -> None:
    s = settings()
    assert s.metrics_port is None and s.metrics_host == "127.0.0.1"
