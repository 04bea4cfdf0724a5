"""``python -m bot export-preferences --out FILE.jsonl``: preference data from swipes (DPO / TRL format).

One JSON line per settled NPC line that players saw more than one alternative of: ``prompt`` (the
messages the model saw), ``chosen`` (the alternative on screen when the story moved on), ``rejected``
(every other alternative), with character, world, scene and time (see ``bot.quality.preferences``).
``--pairs`` writes one line per (chosen, rejected) pair instead, which ``trl.DPOTrainer`` reads as is.
Prompts come in standard roles (what a model without M2-her's roles was sent) or, with ``--roles native``,
in the engine's own roles. An export covers one server (``--guild``, needed when the database holds several) and leaves out every
scene a player who opted out (``/privacy``) took part in. Exit code 0, 2 on bad options or database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.errors import EnsembleError

COMMAND = "export-preferences"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        COMMAND,
        help="write preference pairs from swipes (DPO/TRL JSON Lines)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, type=Path, metavar="FILE.jsonl", help="where to write the records")
    parser.add_argument("--scene", default=None, metavar="NAME",
                        help="one scene: a Discord channel id, or the name given to `play --scene` (default: all)")
    parser.add_argument("--guild", default=None, metavar="ID",
                        help="the server to export (needed when the database holds more than one)")
    parser.add_argument("--pairs", action="store_true", help="one record per (chosen, rejected) pair")
    parser.add_argument("--roles", choices=("standard", "native"), default="standard",
                        help="prompt roles: standard system/user/assistant, exactly what a server without M2-her's "
                             "roles was sent (default), or the engine's own roles (user_system, group, samples)")
    parser.set_defaults(func=run)


def standard_roles(prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The engine's messages folded into standard roles, as ``bot.model.roles`` sends them to other models."""
    from bot.core.ports import ChatMessage
    from bot.model.roles import fold_roles

    return fold_roles([ChatMessage(m["role"], m["content"], m.get("name")) for m in prompt])


async def export(
    database: Path | str, *, guild: str | None, scene: str | None, pairs: bool, roles: str = "standard"
) -> tuple[list[dict[str, Any]], Any, str]:
    """The records, the tally and the server they came from; ``EnsembleError`` when the server is ambiguous."""
    from bot.quality.preferences import ExportTally, preference_records
    from bot.store import Store
    from bot.store import preferences as repo

    store = await Store.open(database)
    try:
        known = await repo.guilds(store)
        if guild is None:
            if len(known) > 1:
                listed = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
                raise EnsembleError(f"The database holds {len(known)} servers ({listed}); choose one with --guild.")
            guild = known[0] if known else ""
        elif guild not in known:
            raise EnsembleError(f"No scene of server {guild} in this database.")
        channel = None
        if scene is not None:
            channels = {r[0] for r in await store.fetch_all("SELECT channel_id FROM scenes WHERE guild_id = ?", (guild,))}
            channel = scene if scene in channels else f"play:{scene}"
            if channel not in channels:
                raise EnsembleError(f"No scene {scene!r} on this server.")
        tally = ExportTally()
        lines = await repo.swiped_lines(store, guild, channel) if guild else []
        records = preference_records(lines, await repo.opted_out(store, guild), pairs=pairs, tally=tally)
        if roles == "standard":
            for record in records:
                record["prompt"] = standard_roles(record["prompt"])
        return records, tally, guild
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    from bot.settings import load_settings

    try:
        settings = load_settings()
        records, tally, guild = asyncio.run(
            export(settings.database_target(), guild=args.guild, scene=args.scene, pairs=args.pairs, roles=args.roles)
        )
    except EnsembleError as exc:
        print(f"{COMMAND}: error: {exc.user_message}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    tmp.replace(args.out)
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(tally.skipped.items()))
    print(
        f"{len(records)} record(s) from {tally.lines} line(s) with alternatives on server {guild or '(none)'}"
        f" -> {args.out}" + (f"; left out: {skipped}" if skipped else "")
    )
    return 0
