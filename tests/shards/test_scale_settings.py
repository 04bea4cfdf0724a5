"""DATABASE_URL, SHARD_COUNT and SHARD_IDS: defaults, validation, and the password kept out of logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings
from bot.shards.plan import ShardPlan


@pytest.fixture(autouse=True)
def empty_environment(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "DATABASE_PATH", "SHARD_COUNT", "SHARD_IDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_defaults_are_one_unsharded_process_on_the_sqlite_file():
    s = settings()
    assert ShardPlan.of(s) is None
    assert s.database_target() == str(Path("data/ensemble.db"))
    assert settings(DATABASE_PATH="/srv/bot.db", DATABASE_URL="  ").database_target() == "/srv/bot.db"


def test_a_postgres_url_is_the_shared_database_and_its_password_is_a_secret():
    s = settings(DATABASE_URL="postgresql://bot:pa55word@db:5432/ensemble", SHARD_COUNT=4, SHARD_IDS="2-3")
    assert s.database_target() == "postgresql://bot:pa55word@db:5432/ensemble"
    assert "pa55word" in s.secrets()
    assert "pa55word" not in repr(s)
    assert ShardPlan.of(s) == ShardPlan(4, (2, 3))


def test_a_url_of_another_database_is_refused_in_one_sentence():
    with pytest.raises(ConfigError) as caught:
        settings(DATABASE_URL="sqlite:///data/x.db").database_target()
    assert caught.value.user_message.startswith("DATABASE_URL must be a postgresql://")


def test_shard_count_alone_runs_every_shard():
    assert ShardPlan.of(settings(SHARD_COUNT=3)) == ShardPlan(3, (0, 1, 2))
