"""``python -m bot stats``: what the quality guards found and did, token usage by purpose, and each
server's usage today against its limits, from the database."""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.app import limit_settings, open_store
from bot.core.ports import SystemClock
from bot.engine.limits import Limits, day_start, describe_limits
from bot.settings import load_settings
from bot.store.usage import UsageStore


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("stats", help="quality guard counts, token usage and limits", description=__doc__)
    parser.add_argument("--guild", default=None, help="only this server (use 'local' for terminal scenes)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run)


async def _collect(guild: str | None) -> dict[str, object]:
    settings = load_settings()
    store = await open_store(settings)
    try:
        clock = SystemClock()
        usage = UsageStore(store)
        limits = Limits(usage, clock, limit_settings(settings))
        today = day_start(clock.now()).isoformat()
        guilds = [guild] if guild is not None else sorted(
            {*await usage.guilds_since(today), *(await usage.all_guild_limits())}
        )
        servers = {}
        for guild_id in guilds:
            own = await limits.for_guild(guild_id)
            servers[guild_id] = {
                "tokens_today": await limits.used_today(guild_id),
                "tokens_per_day": own.tokens_per_day or None,
                "lines_per_minute": own.lines_per_minute or None,
                "tokens_per_chain": own.tokens_per_chain or None,
                "summary": describe_limits(own, await limits.used_today(guild_id)),
            }
        return {
            "quality": await store.quality_counts(guild),
            "usage": await store.usage_totals(),
            "by_purpose": await usage.by_purpose(guild),
            "limits": servers,
        }
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    figures = asyncio.run(_collect(args.guild))
    if args.format == "json":
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        return 0
    quality: dict[str, dict[str, int]] = figures["quality"]  # type: ignore[assignment]
    print(f"{'detector':<18}{'found':>8}{'repaired':>10}{'regenerated':>13}{'accepted':>10}")
    for detector, counts in sorted(quality.items()):
        print(
            f"{detector:<18}{counts.get('found', 0):>8}{counts.get('repaired', 0):>10}"
            f"{counts.get('regenerated', 0):>13}{counts.get('accepted', 0):>10}"
        )
    if not quality:
        print("(no findings recorded yet)")
    usage: dict[str, int] = figures["usage"]  # type: ignore[assignment]
    print(
        f"\nmodel calls: {usage['calls']}, prompt tokens: {usage['prompt_tokens']}, "
        f"completion tokens: {usage['completion_tokens']}, cached: {usage['cached_tokens']}"
    )
    purposes: dict[str, dict[str, int]] = figures["by_purpose"]  # type: ignore[assignment]
    for purpose, row in purposes.items():
        print(f"  {purpose:<10} calls {row['calls']:>6}  prompt {row['prompt_tokens']:>9}  completion {row['completion_tokens']:>8}")
    servers: dict[str, dict[str, object]] = figures["limits"]  # type: ignore[assignment]
    print("\nservers today:" if servers else "\n(no server used the model today)")
    for guild_id, row in servers.items():
        print(f"  {guild_id}: {row['summary']}")
    return 0
