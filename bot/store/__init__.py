"""Persistence: SQLite through aiosqlite, numbered migrations, repositories for the engine."""

from bot.store.store import Store, TurnStart

__all__ = ["Store", "TurnStart"]
