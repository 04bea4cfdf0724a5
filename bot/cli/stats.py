"""``python -m bot stats``: what the quality guards found and did, and token usage, from the database."""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.app import open_store
from bot.errors import EnsembleError
from bot.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("stats", help="quality guard counts and token usage", description=__doc__)
    parser.add_argument("--guild", default=None, help="only this server (use 'local' for terminal scenes)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run)


async def _collect(guild: str | None) -> dict[str, object]:
    settings = load_settings()
    store = await open_store(settings)
    try:
        return {"quality": await store.quality_counts(guild), "usage": await store.usage_totals()}
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    try:
        figures = asyncio.run(_collect(args.guild))
    except EnsembleError as exc:
        print(exc.user_message)
        return 2
    if args.format == "json":
        print(json.dumps(figures, indent=2))
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
    return 0
