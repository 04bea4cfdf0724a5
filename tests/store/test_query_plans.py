"""Storage stays fast for years of play: every foreign key has an index, and the queries a scene runs
(turns, chains, swipes, ticks, rewind, /why, /memory) never scan a table that grows with the story."""

from __future__ import annotations

import random
import re

from engine.conftest import WORLD, character

from bot.content.loader import Library
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.scene import SceneEngine
from bot.testing.scripted_model import ScriptedModel
from bot.world.director import Director

# Tables that stay small whatever the story's length (a row per server, channel, cast member...).
SMALL_TABLES = {"servers", "scene_members", "npc_state", "guild_characters", "discord_webhooks", "discord_notices", "quality_counts"}
SCAN = re.compile(r"^SCAN (\w+)")


async def _plan(conn, sql: str) -> list[str]:
    async with conn.execute("EXPLAIN QUERY PLAN " + sql) as cursor:
        return [row[3] for row in await cursor.fetchall()]


def _aliases(sql: str) -> dict[str, str]:
    """alias -> table, from FROM/JOIN clauses (a table without alias maps to itself)."""
    found: dict[str, str] = {}
    for table, alias in re.findall(r"(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", sql, re.IGNORECASE):
        found[table] = table
        if alias and alias.upper() not in {"WHERE", "JOIN", "ON", "SET", "ORDER", "GROUP", "LIMIT", "VALUES", "USING", "AND"}:
            found[alias] = table
    return found


async def test_every_foreign_key_has_an_index(store):
    """Deleting a parent row looks up its children through the child's foreign key column."""
    conn = store.connection
    async with conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") as cursor:
        tables = [r[0] for r in await cursor.fetchall()]
    missing = []
    for table in tables:
        async with conn.execute(f"PRAGMA foreign_key_list({table})") as cursor:
            keys = [r[3] for r in await cursor.fetchall()]
        async with conn.execute(f"PRAGMA index_list({table})") as cursor:
            indexes = [r[1] for r in await cursor.fetchall()]
        leading = set()
        for index in indexes:
            async with conn.execute(f"PRAGMA index_info({index})") as cursor:
                columns = [r[2] for r in await cursor.fetchall()]
            if columns:
                leading.add(columns[0])
        async with conn.execute(f"PRAGMA table_info({table})") as cursor:
            pk = [r[1] for r in sorted(await cursor.fetchall(), key=lambda r: r[5]) if r[5]]
        if pk:
            leading.add(pk[0])
        missing += [f"{table}.{column}" for column in keys if column not in leading]
    assert missing == [], f"foreign keys without an index: {missing}"


async def test_hot_queries_use_indexes(store, clock):
    """Play a scene with chains, swipes, a tick, /why, /memory and a rewind; no statement scans a growing table."""
    world = WORLD.model_copy(update={"settings": WORLD.settings.model_copy(update={"chain_cap": 2})})
    library = Library(characters={"ada": character("ada", "Ada", talk=0.9), "bram": character("bram", "Bram", talk=0.6)}, worlds={"manor": world})
    engine = SceneEngine(store=store, model=ScriptedModel(), library=library, clock=clock, rng=random.Random(3))
    key = SceneKey("g", "c")
    await engine.open_scene(key, "manor")
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram")
    statements: list[str] = []
    await store.connection.set_trace_callback(statements.append)
    for text in ["Ada, what news?", "Thank you, friend. Bram?", "I go to the garden.", "Ada, follow me.", "Anyone?"]:
        await engine.handle(InboundLine(key, "u", "Ann", text))
        clock.advance(30)
    await engine.regenerate(key)
    await engine.why(key)
    await engine.memory(key, "Ada")
    await engine.cast(key)
    await Director(engine, clock=clock, rng=random.Random(5), busy_window=1).tick("g", "manor")
    await engine.rewind(key, 2)
    await engine.drain()
    await store.connection.set_trace_callback(None)

    tables = {r[0] for r in await store.connection.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    checked, scans = 0, []
    for sql in dict.fromkeys(statements):
        if not re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT\s+INTO\s+\w+\s*(\(.*?\))?\s*SELECT)", sql, re.IGNORECASE | re.DOTALL):
            continue
        checked += 1
        aliases = _aliases(sql)
        for detail in await _plan(store.connection, sql):
            match = SCAN.match(detail)
            if match is None or "VIRTUAL TABLE" in detail:
                continue
            table = aliases.get(match.group(1), match.group(1))
            if table not in tables:
                continue  # a subquery in FROM (its own tables are reported on their own lines)
            if table not in SMALL_TABLES:
                scans.append(f"{detail} :: {sql[:160]}")
    assert checked > 20, "the scene ran too few queries to mean anything"
    assert scans == [], "\n".join(scans)
