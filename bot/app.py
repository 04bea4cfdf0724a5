"""Building the running parts from settings: store, content library, model and engine.

The one place where concrete classes are chosen; front ends (terminal, Discord, evaluation) ask this
module for a ready engine and own nothing else.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.content.loader import Library, load_content
from bot.engine.limits import LimitSettings
from bot.engine.ports import ChatModel, Clock, SystemClock
from bot.engine.scene import SceneEngine
from bot.errors import StoreError
from bot.failures import database_problem
from bot.logs import configure_logging
from bot.settings import ModelConfig, Settings
from bot.store import Store


@dataclass
class App:
    """The assembled application: what a front end needs."""

    settings: Settings
    store: Store
    library: Library
    model: ChatModel
    engine: SceneEngine
    interrupted_turns: int = 0


def setup_logging(settings: Settings, *, default_level: str | None = None) -> None:
    """Configure logging once from settings.

    A terminal front end (``play``, ``eval``) lowers the default noise, and its person sees no traceback
    in the log unless LOG_LEVEL=DEBUG; ``run``'s log is the operator's and keeps them.
    """
    level = settings.log_level
    if default_level is not None and "LOG_LEVEL" not in _env_keys():
        level = default_level
    configure_logging(settings.log_format, level, secrets=settings.secrets(), tracebacks=default_level is None)


def _env_keys() -> set[str]:
    import os

    return set(os.environ)


def build_model(config: ModelConfig) -> ChatModel:
    """The model backend for these settings (imported here: the openai SDK takes a second to load)."""
    from bot.model.openai_chat import OpenAIChatModel

    return OpenAIChatModel(
        base_url=config.base_url,
        api_key=config.api_key,
        model=config.model,
        request_timeout=config.request_timeout,
        max_attempts=config.max_attempts,
        max_total_seconds=config.max_total_seconds,
        native_roles=config.native_roles,
    )


def limit_settings(settings: Settings) -> LimitSettings:
    """The operator's limits (admins may override the first two per server)."""
    return LimitSettings(
        lines_per_minute=settings.user_lines_per_minute,
        tokens_per_day=settings.server_tokens_per_day,
        tokens_per_chain=settings.tokens_per_chain,
    )


def load_library(settings: Settings) -> Library:
    """The shipped worlds and characters, with the operator's folders added on top."""
    return load_content(*settings.content_folders())


async def open_store(settings: Settings, clock: Clock | None = None) -> Store:
    """Open and migrate the database; a folder or file that cannot be used is one ``StoreError`` sentence."""
    try:
        return await Store.open(settings.database_path, clock=clock)
    except (OSError, sqlite3.Error) as exc:
        raise _unusable(settings, exc) from exc


def _unusable(settings: Settings, exc: BaseException) -> StoreError:
    return StoreError(database_problem(settings.database_path, exc) or str(exc), detail=repr(exc))


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    model: ChatModel | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> AsyncIterator[App]:
    """Open the store, load content, build the model and the engine; close everything on exit.

    Raises ``ConfigError`` (missing model settings), ``ContentError`` (bad content files) or
    ``StoreError`` (unusable database), each with a sentence meant for the person.
    """
    library = load_library(settings)
    narrator_model = settings.narrator_model or None
    config = settings.require_model() if model is None else None
    clock = clock or SystemClock()
    store = await open_store(settings, clock)
    try:
        try:
            # The first write: a database another process holds locked fails here, not at open.
            interrupted = await store.interrupt_all_open_turns()
        except sqlite3.Error as exc:
            raise _unusable(settings, exc) from exc
        model_name = ""
        if config is not None:
            # Built once the database is known to work, so a failed start leaves no open HTTP client.
            model = build_model(config)
            model_name = config.model
        assert model is not None
        engine = SceneEngine(
            store=store,
            model=model,
            library=library,
            clock=clock,
            rng=rng or random.Random(settings.random_seed),
            model_name=model_name,
            narrator_model=narrator_model,
            limits=limit_settings(settings),
        )
        await engine.load_guild_characters()
        yield App(settings, store, library, model, engine, interrupted)
    finally:
        await store.close()
