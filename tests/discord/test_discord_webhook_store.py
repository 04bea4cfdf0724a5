"""The adapter's repository: webhooks, notices and posts, each scoped by guild."""

from __future__ import annotations

import pytest

from bot.discord_adapter.webhook_store import WebhookStore
from bot.store.introspect import schema_shape
from bot.store.migrate import discover

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL


async def test_migration_creates_the_discord_tables(store) -> None:
    names = [m.path.name for m in discover()]
    assert any(n.endswith("_discord.sql") for n in names)
    tables = set(await schema_shape(store.database))
    assert {"discord_webhooks", "discord_notices", "discord_posts"} <= tables


async def test_webhooks_are_per_guild_and_channel(store) -> None:
    repo = WebhookStore(store)
    await repo.save_webhook(1, 10, 500)
    await repo.save_webhook(2, 10, 600)  # same channel id under another guild: a different row
    assert await repo.webhook_id(1, 10) == 500 and await repo.webhook_id(2, 10) == 600
    await repo.save_webhook(1, 10, 501)
    assert await repo.webhook_id(1, 10) == 501
    await repo.forget_webhook(2, 10)
    assert await repo.webhook_id(2, 10) is None and await repo.webhook_id(1, 10) == 501


async def test_notices_are_given_once_until_cleared(store) -> None:
    repo = WebhookStore(store)
    assert await repo.first_notice(1, 10, "missing_permissions")
    assert not await repo.first_notice(1, 10, "missing_permissions")
    assert await repo.first_notice(1, 10, "too_many_webhooks")
    assert await repo.first_notice(2, 10, "missing_permissions")  # another guild is told on its own
    await repo.clear_notices(1, 10)
    assert await repo.first_notice(1, 10, "missing_permissions")
    assert not await repo.first_notice(2, 10, "missing_permissions")


async def test_posts_map_every_part_to_the_main_message_within_the_guild(store) -> None:
    repo = WebhookStore(store)
    await repo.record_post(1, 10, [(101, 500), (102, 500), (103, None)])
    parts = await repo.post_of(1, 101)
    assert [(p.platform_message_id, p.position, p.webhook_id) for p in parts] == [(101, 0, 500), (102, 1, 500), (103, 2, None)]
    assert {p.main_message_id for p in parts} == {103}
    assert await repo.main_message_id(1, 102) == 103
    # Another guild cannot read or drop them.
    assert await repo.post_of(2, 101) == [] and await repo.main_message_id(2, 102) is None
    await repo.drop_posts(2, [101])
    await repo.forget_guild_posts(2)
    assert len(await repo.post_of(1, 103)) == 3
    await repo.drop_posts(1, [101])
    assert [p.platform_message_id for p in await repo.post_of(1, 103)] == [102, 103]
    await repo.forget_guild_posts(1)
    assert await repo.post_of(1, 103) == []
