"""``python -m bot run``: the Discord bot, until stopped (Ctrl+C or SIGTERM).

Needs DISCORD_TOKEN and the model settings. DISCORD_API_BASE and DISCORD_GATEWAY_URL point it at a
Discord-compatible server other than Discord's own (tests use a local fake). Problems a person must fix
(no token, a rejected token, the Message Content intent not enabled) are one sentence and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator

import discord
import structlog
import yarl

from bot.app import open_app, setup_logging
from bot.core.ports import ChatModel, SystemClock
from bot.errors import ConfigError, EnsembleError
from bot.failures import network_problem
from bot.settings import Settings, load_settings
from bot.shards.plan import ShardPlan

log = structlog.get_logger("discord")

NO_TOKEN = (
    "DISCORD_TOKEN is not set: create a bot in the Discord Developer Portal (see docs/discord.md), "
    "copy its token and put DISCORD_TOKEN=... in .env or the environment."
)
BAD_TOKEN = (
    "Discord rejected DISCORD_TOKEN: copy the token again from the Developer Portal "
    "(your application -> Bot -> Reset Token) and update .env."
)
NO_INTENT = (
    "Discord refused the Message Content intent: enable it in the Developer Portal "
    "(your application -> Bot -> Privileged Gateway Intents -> Message Content Intent), then start again."
)
EXIT_USAGE = 2
AUTH_FAILED = 4004


def run(args: argparse.Namespace | None = None) -> int:
    """Load settings, start the bot, and turn the problems a person must fix into one sentence and exit 2."""
    try:
        settings = load_settings()
    except EnsembleError as exc:
        print(exc.user_message, file=sys.stderr)
        return EXIT_USAGE
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        print(NO_TOKEN, file=sys.stderr)
        return EXIT_USAGE
    try:
        ShardPlan.of(settings)
        settings.database_target()
    except EnsembleError as exc:
        print(exc.user_message, file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # mapped to a sentence, or left to the command-line guard
        message = explain(exc, settings)
        if message is None:
            raise
        log.debug("discord.start_failed", shown=message, exc_info=exc)
        print(message, file=sys.stderr)
        return EXIT_USAGE
    return 0


def explain(exc: BaseException, settings: Settings | None = None) -> str | None:
    """The sentence for a start-up failure a person must fix, or ``None`` for anything else."""
    api_base = settings.discord_api_base if settings is not None else "Discord"
    if isinstance(exc, discord.GatewayNotFound):
        return f"Discord's gateway could not be found from {api_base}: Discord may be down; start again later."
    network = network_problem("Discord", "DISCORD_API_BASE", api_base, exc)
    if network is not None:
        return network
    if isinstance(exc, discord.HTTPException) and exc.status >= 500:
        return f"Discord answered {exc.status} at start: it may be having trouble; start again in a few minutes."
    if isinstance(exc, discord.LoginFailure):
        return BAD_TOKEN
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return NO_INTENT
    if isinstance(exc, discord.ConnectionClosed) and exc.code == AUTH_FAILED:
        return BAD_TOKEN
    if isinstance(exc, EnsembleError):
        return exc.user_message
    return None


@contextlib.contextmanager
def discord_endpoints(api_base: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py's REST and gateway at the configured server; restore the old values on exit.

    ``Route.BASE`` is read whenever a request is built, so it stays set for the bot's whole life (and
    after anything that calls ``discord.http._set_api_version``, which resets it).
    """
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


async def serve(settings: Settings, *, model: ChatModel | None = None, **bot_options: object) -> None:
    """Open the app, start the bot, and run until it is closed; SIGTERM closes it cleanly.

    With ``SHARD_COUNT`` set the bot is discord.py's ``AutoShardedClient`` for ``SHARD_IDS``, started only
    once this process holds every one of those shards' leases (``bot.shards``); losing one closes the bot
    and ends with a ``ShardLost`` sentence.
    """
    from bot.discord_adapter.client import EnsembleBot, ShardedEnsembleBot
    from bot.shards.runtime import ShardRuntime, shard_runtime

    assert settings.discord_token is not None
    token = settings.discord_token.get_secret_value().strip()
    plan = ShardPlan.of(settings)
    shards: ShardRuntime | None = None
    clock = SystemClock()
    with discord_endpoints(settings.discord_api_base, settings.discord_gateway_url):
        async with contextlib.AsyncExitStack() as stack:
            loop = asyncio.get_running_loop()
            if plan is not None:
                # The leases first: a process that must wait for a shard touches no scene meanwhile, and
                # start-up recovery then marks only its own servers' open turns interrupted.
                shards = await stack.enter_async_context(shard_runtime(settings.database_target(), plan, clock=clock))
                log.info("discord.sharded", shard_count=plan.shard_count, shard_ids=list(plan.shard_ids))
            app = await stack.enter_async_context(
                open_app(
                    settings, model=model, clock=clock,
                    owns_guild=shards.owns_guild if shards is not None else None,
                    # Every turn's commit checks the lease of its server's shard (bot.store.fencing).
                    fence=shards.fence_for(settings.database_target()) if shards is not None else None,
                )
            )
            if shards is not None:
                assert plan is not None
                bot: EnsembleBot = ShardedEnsembleBot(
                    app,
                    dev_guild_id=settings.discord_dev_guild,
                    sharding=shards,
                    shard_count=plan.shard_count,
                    shard_ids=list(plan.shard_ids),
                    **bot_options,
                )
                runtime = shards

                def lost(shard_id: int) -> None:
                    runtime.lost.append(shard_id)
                    loop.create_task(bot.close())

                shards.keeper.on_lost = lost
            else:
                bot = EnsembleBot(app, dev_guild_id=settings.discord_dev_guild, **bot_options)
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                # Not on Windows or off the main thread; Ctrl+C still works there.
                loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(bot.close()))
            metrics = None
            if settings.metrics_port is not None:
                from bot.metrics_server import MetricsServer

                metrics = MetricsServer(app.engine.metrics, bot.is_ready, host=settings.metrics_host, port=settings.metrics_port)
                try:
                    await metrics.start()
                except OSError as exc:
                    raise ConfigError(
                        f"Cannot serve metrics on {settings.metrics_host}:{settings.metrics_port} "
                        f"({exc.strerror or exc}): choose another METRICS_PORT or stop what uses it."
                    ) from exc
                log.info("metrics.serving", host=settings.metrics_host, port=metrics.port)
            try:
                async with bot:
                    await bot.start(token)
            finally:
                if metrics is not None:
                    await metrics.stop()
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(signal.SIGTERM)
                closer = getattr(app.model, "aclose", None) if model is None else None
                if closer is not None:
                    await closer()
    if shards is not None and (error := shards.lost_error()) is not None:
        raise error
