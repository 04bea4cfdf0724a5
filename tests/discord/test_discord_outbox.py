"""End to end: story lines go through the outbox: a failing webhook and a failing fallback are retried until
Discord heals, a line given up is not remembered by anyone, and lines left in the outbox by a stop are
posted after the restart."""

from __future__ import annotations

import asyncio

import pytest
from discord_harness import Harness

from bot.store.outbox import OutboxStore

pytestmark = pytest.mark.both_databases  # the store on SQLite, then on PostgreSQL

WEBHOOK_EXECUTE = "/webhooks/{id}/{token}"
BOT_MESSAGE = "/channels/{c}/messages"


def fast_retries(harness: Harness) -> list[float]:
    """Retries without waiting (the pauses are recorded instead)."""
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    assert harness.bot is not None
    harness.bot.poster.sleep = sleep
    return pauses


async def _scene_id(harness: Harness) -> int:
    scene = await harness.app.store.get_scene(str(harness.layout.guild_id), str(harness.layout.roleplay_id))
    assert scene is not None
    return scene.id


async def test_webhook_and_fallback_both_fail_then_heal(harness: Harness) -> None:
    """The webhook is refused and the bot's own message fails too, twice; the third attempt posts the line,
    once, and the next line follows it in order."""
    await harness.start()
    pauses = fast_retries(harness)
    await harness.setup_scene()
    await harness.summon("ada")
    server = harness.server
    server.fail_next("POST", WEBHOOK_EXECUTE, 403, 50013, "Missing Permissions")
    # The admin notice, then the line as the bot, at the first attempt; the line again at the second.
    # (4xx: discord.py retries 5xx itself, for seconds, before the poster would see them.)
    server.fail_next("POST", BOT_MESSAGE, 400, 50035, "Invalid Form Body", times=3)
    harness.model.enqueue("Through the storm.", "And after it.")
    await harness.say("Ada, hello.")
    line = await harness.npc_line()
    assert line["_source"] == "bot" and line["content"] == "**Ada**: Through the storm."
    assert pauses == [1.0, 2.0]
    await harness.say("Ada, again.")
    await harness.npc_line(after=int(line["id"]))
    posted = [m["content"] for m in server.bot_messages(harness.layout.roleplay_id) if m.get("components")]
    assert posted == ["**Ada**: Through the storm.", "**Ada**: And after it."]
    rows = await harness.app.store.transcript(await _scene_id(harness))
    repo = OutboxStore(harness.app.store)
    assert [await repo.status_of(r.id) for r in rows if r.kind == "npc"] == ["posted", "posted"]
    assert all(r.platform_message_id for r in rows if r.kind == "npc")


async def test_a_line_that_cannot_be_posted_is_not_remembered(harness: Harness) -> None:
    """Every attempt fails: the line is marked failed, and Ada's next prompt does not contain it."""
    await harness.start()
    fast_retries(harness)
    await harness.setup_scene()
    await harness.summon("ada")
    server = harness.server
    server.fail_next("POST", WEBHOOK_EXECUTE, 403, 50013, "Missing Permissions")
    server.fail_next("POST", BOT_MESSAGE, 400, 50035, "Invalid Form Body", times=5)  # the notice and 4 attempts
    harness.model.enqueue("My secret: the key is under the third rose.", "What secret?")
    await harness.say("Ada, tell me a secret.")
    await harness.idle()
    scene_id = await _scene_id(harness)
    lost = next(r for r in await harness.app.store.transcript(scene_id) if r.kind == "npc")
    assert await OutboxStore(harness.app.store).status_of(lost.id) == "failed"
    assert not [m for m in server.messages_in(harness.layout.roleplay_id) if "third rose" in m["content"]]
    assert not [f for f in await harness.app.store.known_facts(scene_id, "ada") if "third rose" in f[2]]
    await harness.say("Ada, what did you say?")
    answer = await harness.npc_line()
    assert answer["content"] == "**Ada**: What secret?"
    prompt = " ".join(str(m.get("content")) for m in harness.model.requests[-1].body["messages"])
    assert "third rose" not in prompt, "a line nobody saw is still remembered"


async def test_lines_left_in_the_outbox_are_posted_after_a_restart(harness: Harness) -> None:
    """The bot stops while a line waits for its retry; after the restart it is posted, through the webhook."""
    await harness.start()
    assert harness.bot is not None
    stuck = asyncio.Event()

    async def wait_forever(seconds: float) -> None:
        stuck.set()
        await asyncio.Event().wait()

    harness.bot.poster.sleep = wait_forever
    await harness.setup_scene()
    await harness.summon("ada")
    server = harness.server
    # Not a 5xx: discord.py would retry those itself, for seconds, before the poster sees anything.
    server.fail_next("POST", WEBHOOK_EXECUTE, 400, 50035, "Invalid Form Body")
    harness.model.enqueue("Wait for me.")
    await harness.say("Ada, are you there?")
    await asyncio.wait_for(stuck.wait(), 30)
    await harness.bot.intake.wait_idle(timeout=10)
    assert not harness.replies()
    repo = OutboxStore(harness.app.store)
    assert await repo.channels_with_pending() == [(str(harness.layout.guild_id), str(harness.layout.roleplay_id))]
    await harness.restart()
    line = await harness.npc_line()
    assert line["content"] == "Wait for me." and line["_source"] == "webhook"
    assert await repo.channels_with_pending() == []
