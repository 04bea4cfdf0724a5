"""``python -m bot migrate-db --to postgresql://...``: copy the SQLite database (``DATABASE_PATH``, or
``--from``) into an empty PostgreSQL database, for moving a community onto the database several bot
processes share. Stop the bot first; the SQLite file is only read (and migrated to this version's schema,
as any start would). The copy is all or nothing."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.errors import ConfigError
from bot.store.database import is_postgres_url, redacted


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("migrate-db", help="copy the SQLite database into an empty PostgreSQL database", description=__doc__)
    parser.add_argument("--to", required=True, metavar="URL", help="postgresql://user:password@host:5432/database (empty)")
    parser.add_argument("--from", dest="source", default=None, metavar="PATH", help="the SQLite file (default: DATABASE_PATH)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.logs import configure_logging
    from bot.settings import load_settings
    from bot.store.copy import copy_sqlite_to_postgres

    if not is_postgres_url(args.to):
        raise ConfigError("--to must be a postgresql://user:password@host:5432/database URL.")
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    source = Path(args.source) if args.source else settings.database_path

    def progress(table: str, rows: int) -> None:
        print(f"  {table}: {rows}", file=sys.stderr)

    print(f"Copying {source} into {redacted(args.to)}...", file=sys.stderr)
    report = asyncio.run(copy_sqlite_to_postgres(source, args.to, progress=progress))
    print(
        f"Copied {report.total} rows in {len(report.rows)} tables (schema version {report.version}) into {redacted(args.to)}; "
        "set DATABASE_URL to it to run the bot there."
    )
    return 0
