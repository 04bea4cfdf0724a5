"""Start-up loads the language models before the first turn, so no turn waits for a model file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import open_app
from bot.quality import language
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cold_detector():
    pytest.importorskip("lingua")
    language._lingua_detector.cache_clear()
    language._wide_detector.cache_clear()
    yield
    language._lingua_detector.cache_clear()
    language._wide_detector.cache_clear()


async def test_open_app_hands_out_the_app_with_lingua_loaded(tmp_path, cold_detector):
    assert not language.is_warm()
    settings = Settings(
        DATABASE_PATH=tmp_path / "app.db", CHARACTERS_DIR=ROOT / "characters", WORLDS_DIR=ROOT / "worlds",
        LLM_BASE_URL="http://127.0.0.1:9/v1", LLM_API_KEY="local", LLM_MODEL="fake-model",
    )
    async with open_app(settings) as app:
        assert language.is_warm()
        assert app.engine.library is app.library


async def test_a_failed_start_still_reports_its_own_error(tmp_path, cold_detector):
    settings = Settings(
        DATABASE_PATH=tmp_path / "app.db", CHARACTERS_DIR=ROOT / "characters", WORLDS_DIR=ROOT / "worlds",
        LLM_BASE_URL="http://127.0.0.1:9/v1", LLM_API_KEY="local",
    )
    from bot.errors import ConfigError

    with pytest.raises(ConfigError):
        async with open_app(settings):
            pass


async def test_open_app_keeps_numpys_blas_to_one_thread(tmp_path):
    """A threaded BLAS waited on the busy other core in every dense search (see ``bot.app.one_blas_thread``)."""
    from threadpoolctl import threadpool_info

    settings = Settings(
        DATABASE_PATH=tmp_path / "app.db", CHARACTERS_DIR=ROOT / "characters", WORLDS_DIR=ROOT / "worlds",
        LLM_BASE_URL="http://127.0.0.1:9/v1", LLM_API_KEY="local", LLM_MODEL="fake-model", EMBEDDINGS="off",
    )
    async with open_app(settings):
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(pool["num_threads"] == 1 for pool in blas)
