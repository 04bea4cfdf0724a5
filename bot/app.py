"""Building the running parts from settings: store, content library, model and engine.

The one place where concrete classes are chosen; front ends (terminal, Discord, evaluation) ask this
module for a ready engine and own nothing else.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from bot.content.loader import Library, load_content
from bot.core.ports import ChatModel, Clock, SystemClock
from bot.engine.limits import LimitSettings
from bot.engine.scene import SceneEngine
from bot.errors import StoreError
from bot.failures import database_problem
from bot.logs import configure_logging
from bot.memory.embedding import Embedder
from bot.settings import ModelConfig, Settings
from bot.store import Store
from bot.store.fencing import WriteFence


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
    """Open and migrate the database (``DATABASE_URL``'s PostgreSQL, else the SQLite file at
    ``DATABASE_PATH``); a folder, file or server that cannot be used is one ``StoreError`` sentence."""
    try:
        return await Store.open(settings.database_target(), clock=clock)
    except (OSError, sqlite3.Error) as exc:
        raise _unusable(settings, exc) from exc


def _unusable(settings: Settings, exc: BaseException) -> StoreError:
    return StoreError(database_problem(settings.database_path, exc) or str(exc), detail=repr(exc))


# Modules the HTTP stack imports on its first request (anyio's asyncio backend and streams).
_FIRST_REQUEST_MODULES = ("anyio._backends._asyncio", "anyio.streams.memory", "anyio.streams.stapled")


def warm_up(library: Library | None = None, embedder: object | None = None) -> None:
    """Load now what would otherwise load inside the first turn, so no turn waits for it.

    Lingua's language models (~1.3 s); the modules the HTTP stack imports on its first request and the
    SDK's response models; the patterns compiled once per name or key and cached: lore keys, mentions of
    every cast member and place, the detectors' patterns for each character of each world; the bundled
    embedder's query model. Run in a worker thread by ``open_app`` while the model and the store are
    prepared, and awaited before the app is handed out. Not warmed: the patterns built for a name a reply
    writes (``bot.quality.text.names_in``), ~25 ms once per name per process; warming every name and short
    form of a large cast would hold start-up for seconds.
    """
    import importlib

    from bot.model.openai_chat import warm_response_models
    from bot.quality import language

    language.warm_up()
    warm_response_models()
    for module in _FIRST_REQUEST_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:  # another HTTP stack: nothing to preload
            pass
    if library is not None:
        _compile_patterns(library)
    warm = getattr(embedder, "warm", None)
    if warm is not None:  # the bundled embedder's query model (an endpoint has nothing to load)
        from bot.memory.embedding import EmbedderUnavailable

        try:
            warm()
        except EmbedderUnavailable:
            pass  # recall goes by words; the failure is logged by the first recall


def _compile_patterns(library: Library) -> None:
    from bot.core.addressing import find_mentions
    from bot.memory.lore import matches
    from bot.quality.detect import detect_all
    from bot.quality.findings import ReplyContext
    from bot.world.movement import place_names

    sample = '*looks up* "Evening," she says. "The tide is turning."'
    for world in library.worlds.values():
        cast = library.cast_of(world.id)
        find_mentions(sample, {c.id: c.all_names() for c in cast})
        find_mentions(sample, place_names(world))
        for entry in [*world.lore, *(e for c in cast for e in c.lore)]:
            matches(entry, sample)
        for character in cast:
            others = [n for c in cast if c.id != character.id for n in c.all_names()]
            context = ReplyContext(
                npc_name=character.name, npc_aliases=character.aliases, other_names=others, language=world.language
            )
            detect_all(sample, context)


def one_blas_thread() -> None:
    """Keep numpy's BLAS to one thread in this process.

    numpy's OpenBLAS starts a thread per core. Memory's dense search (a few thousand vectors per character
    late in a scene) is big enough for it to split the product across threads, and the other core is busy
    with the embedder (or another process): the loop then waits for a thread that is not running. Measured
    in ``bench engine``: the search went from 0.3 to 5.6 ms per reply between turn 20 and turn 1,000; a
    single thread does the same product in ~0.2 ms. The engine's other numpy work is small too.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    model: ChatModel | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    embedder: Embedder | None | Literal["settings"] = "settings",
    owns_guild: Callable[[str], bool] | None = None,
    fence: WriteFence | None = None,
) -> AsyncIterator[App]:
    """Open the store, load content, build the model and the engine; close everything on exit.

    A sharded process passes ``owns_guild`` (start-up recovery then marks only its own servers' open
    turns interrupted) and the store's ``fence`` (turn commits check the shard lease).

    Raises ``ConfigError`` (missing model settings), ``ContentError`` (bad content files) or
    ``StoreError`` (unusable database), each with a sentence meant for the person.
    """
    one_blas_thread()
    library = load_library(settings)
    if embedder == "settings":
        from bot.model.embeddings import build_embedder

        embedder = build_embedder(settings)
    engine: SceneEngine | None = None
    warming = asyncio.create_task(asyncio.to_thread(warm_up, library, embedder), name="warm-up")
    try:
        narrator_model = settings.narrator_model or None
        config = settings.require_model() if model is None else None
        clock = clock or SystemClock()
        store = await open_store(settings, clock)
        store.fence = fence
    except BaseException:
        await asyncio.gather(warming, return_exceptions=True)  # the start-up error is the one to report
        raise
    try:
        try:
            # The first write: a database another process holds locked fails here, not at open.
            interrupted = await store.interrupt_open_turns(owns_guild)
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
            embedder=embedder,
        )
        await engine.load_guild_characters()
        await warming
        engine.start_background()
        yield App(settings, store, library, model, engine, interrupted)
    finally:
        if engine is not None:
            await engine.aclose()
        close = getattr(embedder, "close", None)
        if close is not None:
            close()
        await store.close()
