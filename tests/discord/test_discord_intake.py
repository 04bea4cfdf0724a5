"""Intake: the pure filter (who is answered) and the per-channel queue (strict order, one at a time)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.discord_adapter.intake import ChannelQueues, MessageFacts, reason_to_ignore, typing_in

pytestmark = pytest.mark.both_databases  # the store on SQLite, then on PostgreSQL

BOT_ID = 1
PERSON = MessageFacts(author_id=7, author_is_bot=False, webhook_id=None, guild_id=100, message_type=0, content="Hi Ada")


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (PERSON, None),
        (replace(PERSON, message_type=19), None),  # a reply
        (replace(PERSON, guild_id=None), "direct message"),
        (replace(PERSON, author_id=BOT_ID, author_is_bot=True), "own message"),
        (replace(PERSON, author_id=55, author_is_bot=True, webhook_id=55), "own webhook"),
        (replace(PERSON, author_id=66, author_is_bot=True, webhook_id=66), "webhook"),
        (replace(PERSON, webhook_id=66), "webhook"),  # a proxy bot's webhook posing as a person
        (replace(PERSON, author_is_bot=True), "bot"),
        (replace(PERSON, message_type=7), "system message"),
        (replace(PERSON, content="   "), "no text"),
    ],
)
def test_reason_to_ignore(facts: MessageFacts, reason: str | None) -> None:
    assert reason_to_ignore(facts, bot_user_id=BOT_ID, own_webhook_ids={55}) == reason


async def test_queue_keeps_arrival_order_and_runs_one_item_per_channel_at_a_time() -> None:
    running: dict[str, int] = {}
    overlap: list[str] = []
    done: list[tuple[str, int]] = []

    async def handle(item: tuple[str, int]) -> None:
        channel, n = item
        running[channel] = running.get(channel, 0) + 1
        if running[channel] > 1:
            overlap.append(channel)
        await asyncio.sleep(0.01 * (3 - n))  # earlier items are slower: order must not depend on speed
        done.append(item)
        running[channel] -= 1

    queues: ChannelQueues[str, tuple[str, int]] = ChannelQueues(handle)
    for n in range(3):
        assert queues.submit("a", ("a", n))
        assert queues.submit("b", ("b", n))
    assert queues.active("a") and queues.pending("a") == 3  # the worker has not started yet
    await queues.wait_idle(timeout=5)
    assert [n for c, n in done if c == "a"] == [0, 1, 2]
    assert [n for c, n in done if c == "b"] == [0, 1, 2]
    assert not overlap and not queues.busy and not queues.active("a")


async def test_channels_run_concurrently() -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def handle(channel: str) -> None:
        started.append(channel)
        await release.wait()

    queues: ChannelQueues[str, str] = ChannelQueues(handle)
    queues.submit("a", "a")
    queues.submit("b", "b")
    for _ in range(5):
        await asyncio.sleep(0)
    assert sorted(started) == ["a", "b"]
    release.set()
    await queues.wait_idle(timeout=5)


async def test_a_failing_item_does_not_stop_its_channel() -> None:
    seen: list[int] = []

    async def handle(n: int) -> None:
        if n == 0:
            raise RuntimeError("boom")
        seen.append(n)

    queues: ChannelQueues[str, int] = ChannelQueues(handle)
    for n in range(3):
        queues.submit("a", n)
    await queues.wait_idle(timeout=5)
    assert seen == [1, 2]


async def test_queue_is_bounded_and_close_drains_then_cancels() -> None:
    gate = asyncio.Event()
    finished: list[int] = []

    async def handle(n: int) -> None:
        if n == 0:
            await gate.wait()
        finished.append(n)

    queues: ChannelQueues[str, int] = ChannelQueues(handle, max_pending=2)
    assert queues.submit("a", 0)
    await asyncio.sleep(0)  # the worker takes item 0
    assert queues.submit("a", 1) and queues.submit("a", 2)
    assert not queues.submit("a", 3)  # two already waiting
    await queues.close(grace=0.05)  # item 0 never finishes: cancelled after the grace period
    assert finished == [] and not queues.busy
    assert not queues.submit("b", 9)  # closed


async def test_close_lets_running_turns_finish() -> None:
    finished: list[int] = []

    async def handle(n: int) -> None:
        await asyncio.sleep(0.02)
        finished.append(n)

    queues: ChannelQueues[str, int] = ChannelQueues(handle)
    queues.submit("a", 1)
    queues.submit("a", 2)
    await queues.close(grace=5)
    assert finished == [1, 2]


class BrokenChannel:
    def typing(self) -> object:
        raise RuntimeError("no typing here")


async def test_typing_failure_never_fails_the_turn() -> None:
    async with typing_in(BrokenChannel()):
        ran = True
    assert ran
