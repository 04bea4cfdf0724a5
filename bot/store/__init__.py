"""Persistence: SQLite (aiosqlite) or PostgreSQL (asyncpg) through the SQL port, numbered migrations, repositories for the engine."""

from bot.store.store import Store
from bot.store.turns import TurnStart

__all__ = ["Store", "TurnStart"]
