"""Message intake: which messages the bot answers (a pure filter) and the per-channel queue that keeps
turns strictly in arrival order, one at a time, with a typing indicator while a turn runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import discord
import structlog

log = structlog.get_logger("discord.intake")

# Message types people write: a plain message and a reply. Joins, pins, thread starters... are not lines.
TEXT_MESSAGE_TYPES = frozenset({0, 19})


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What the filter needs to know about a message, taken from discord.py's ``Message``."""

    author_id: int
    author_is_bot: bool
    webhook_id: int | None
    guild_id: int | None
    message_type: int
    content: str

    @classmethod
    def of(cls, message: discord.Message) -> MessageFacts:
        return cls(
            author_id=message.author.id,
            author_is_bot=message.author.bot,
            webhook_id=message.webhook_id,
            guild_id=message.guild.id if message.guild else None,
            message_type=message.type.value,
            content=message.content,
        )


def reason_to_ignore(facts: MessageFacts, *, bot_user_id: int | None, own_webhook_ids: Collection[int] = ()) -> str | None:
    """Why the bot must not answer this message, or ``None`` when it is a person's line in a server.

    Everything a bot or a webhook wrote is ignored: the bot's own messages and its webhook lines come
    back as MESSAGE_CREATE, and answering other bots or proxy bots (PluralKit, Tupperbox...) loops.
    Whether the channel has role-play enabled is asked later, from the store.
    """
    if facts.guild_id is None:
        return "direct message"
    if bot_user_id is not None and facts.author_id == bot_user_id:
        return "own message"
    if facts.webhook_id is not None:
        return "own webhook" if facts.webhook_id in own_webhook_ids else "webhook"
    if facts.author_is_bot:
        return "bot"
    if facts.message_type not in TEXT_MESSAGE_TYPES:
        return "system message"
    if not facts.content.strip():
        return "no text"
    return None


KeyT = TypeVar("KeyT", bound=Hashable)
ItemT = TypeVar("ItemT")


class ChannelQueues(Generic[KeyT, ItemT]):
    """One FIFO per channel, drained by one worker task per busy channel.

    ``submit`` is synchronous, so items enter their queue in the order events arrive; the worker awaits
    ``handler`` for one item at a time, so two turns of a channel never overlap and replies are posted
    in order. Different channels run concurrently. Workers end when their queue is empty; ``close``
    cancels the ones still running.
    """

    def __init__(
        self,
        handler: Callable[[ItemT], Awaitable[None]],
        *,
        max_pending: int = 20,
        name: str = "intake",
    ) -> None:
        self._handler = handler
        self._max_pending = max_pending
        self._name = name
        self._queues: dict[KeyT, deque[ItemT]] = {}
        self._workers: dict[KeyT, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def submit(self, key: KeyT, item: ItemT) -> bool:
        """Queue ``item`` for its channel; False (nothing queued) when the channel already has too many."""
        if self._closed:
            return False
        queue = self._queues.setdefault(key, deque())
        if len(queue) >= self._max_pending:
            return False
        queue.append(item)
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.create_task(self._work(key), name=f"{self._name}-{key}")
        return True

    def pending(self, key: KeyT) -> int:
        """Items waiting (not counting the one being handled)."""
        return len(self._queues.get(key, ()))

    def depths(self) -> dict[KeyT, int]:
        """Items waiting per key, for the queue-depth metric."""
        return {key: len(queue) for key, queue in list(self._queues.items())}

    def active(self, key: KeyT) -> bool:
        """Whether a worker is handling this channel's lines right now."""
        return key in self._workers

    @property
    def busy(self) -> bool:
        return bool(self._workers)

    async def _work(self, key: KeyT) -> None:
        queue = self._queues[key]
        try:
            while queue:
                item = queue.popleft()
                try:
                    await self._handler(item)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one bad turn must not stop the channel
                    log.exception("intake.handler_failed", channel=str(key))
        finally:
            # No await between the empty check above and here: a submit cannot slip in unseen.
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)
            if not self._workers:
                self._idle.set()

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until every queue is drained (for shutdown and tests)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking items, give queued ones ``grace`` seconds to finish, then cancel what still runs.

        Cancelling mid-turn is safe for the story (the line is stored first and its turn is marked
        interrupted at the next start) but a turn that finishes is better, hence the grace period.
        """
        self._closed = True
        workers = list(self._workers.values())
        if workers:
            _, still_running = await asyncio.wait(workers, timeout=grace)
            dropped = sum(len(q) for q in self._queues.values())
            if still_running:
                log.warning("intake.cancelled_on_close", workers=len(still_running), dropped=dropped)
            for task in still_running:
                task.cancel()
            for task in still_running:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._queues.clear()


@contextlib.asynccontextmanager
async def typing_in(channel: Any) -> AsyncIterator[None]:
    """Show "typing..." in ``channel`` while the block runs; a failure to show it never fails the turn."""
    typing = None
    try:
        typing = channel.typing()
        await typing.__aenter__()
    except Exception:  # missing permission, a hiccup: the turn matters more than the indicator
        log.debug("intake.typing_failed", exc_info=True)
        typing = None
    try:
        yield
    finally:
        if typing is not None:
            with contextlib.suppress(Exception):
                await typing.__aexit__(None, None, None)
