"""Building the running parts from settings: store, content library, model and engine.

The one place where concrete classes are chosen; front ends (terminal, Discord, evaluation) ask this
module for a ready engine and own nothing else.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from bot.content.loader import Library, load_content
from bot.engine.ports import ChatModel, Clock, SystemClock
from bot.engine.scene import SceneEngine
from bot.logs import configure_logging
from bot.memory.embedding import Embedder
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
    """Configure logging once from settings (a front end may lower the default noise)."""
    level = settings.log_level
    if default_level is not None and "LOG_LEVEL" not in _env_keys():
        level = default_level
    configure_logging(settings.log_format, level, secrets=settings.secrets())


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


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    model: ChatModel | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    embedder: Embedder | None | Literal["settings"] = "settings",
) -> AsyncIterator[App]:
    """Open the store, load content, build the model and the engine; close everything on exit.

    Raises ``ConfigError`` (missing model settings), ``ContentError`` (bad content files) or
    ``StoreError`` (unusable database), each with a sentence meant for the person.
    """
    library = load_content(settings.characters_dir, settings.worlds_dir)
    model_name = ""
    narrator_model = settings.narrator_model or None
    if model is None:
        config = settings.require_model()
        model = build_model(config)
        model_name = config.model
    clock = clock or SystemClock()
    if embedder == "settings":
        from bot.model.embeddings import build_embedder

        embedder = build_embedder(settings)
    store = await Store.open(settings.database_path, clock=clock)
    engine: SceneEngine | None = None
    try:
        interrupted = await store.interrupt_all_open_turns()
        engine = SceneEngine(
            store=store,
            model=model,
            library=library,
            clock=clock,
            rng=rng or random.Random(settings.random_seed),
            model_name=model_name,
            narrator_model=narrator_model,
            embedder=embedder,
        )
        await engine.load_guild_characters()
        engine.start_background()
        yield App(settings, store, library, model, engine, interrupted)
    finally:
        if engine is not None:
            await engine.aclose()
        close = getattr(embedder, "close", None)
        if close is not None:
            close()
        await store.close()
