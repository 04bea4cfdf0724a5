"""The poster: delivers the outbox's lines per channel, in order, with retries, after restarts too.

A turn commits its lines to the outbox in its own transaction and wakes the poster; the poster runs in
its own task per channel, so posting never holds a scene's lock or the world's gate (a slow or failing
Discord never stalls the story). Each line is tried ``attempts`` times with a growing pause; one that
still fails is marked failed (inside the world's gate, since it changes what characters know) and is
no longer part of what anyone heard; the lines after it go on. The front end supplies ``deliver``:
the terminal prints, Discord posts through the webhook or, failing that, as the bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from bot.engine.lines import Narration, SceneKey, Utterance
from bot.store.outbox import OutboxLine, OutboxStore

if TYPE_CHECKING:
    from bot.engine.scene import SceneEngine

log = structlog.get_logger("outbox")

Deliver = Callable[[OutboxLine, Utterance | Narration], Awaitable[None]]


class OutboxPoster:
    """One worker per channel with pending lines; ``flush`` delivers a channel's lines right now."""

    def __init__(
        self,
        engine: SceneEngine,
        deliver: Deliver,
        *,
        attempts: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.repo = OutboxStore(engine.store)
        self.deliver = deliver
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self._workers: dict[SceneKey, asyncio.Task[None]] = {}
        self._locks: dict[SceneKey, asyncio.Lock] = {}
        # Sharded processes: lines of servers this process does not own are another process's to post.
        self.owns_guild: Callable[[str], bool] = lambda guild_id: True

    def output_of(self, line: OutboxLine) -> Utterance | Narration:
        """How the line is shown: a character's utterance (name, face, swipe position) or narration."""
        if line.kind == "npc" and line.character_id in self.engine.library.characters:
            character = self.engine.library.characters[line.character_id]
            return self.engine.utterance(line.message_id, character, line.text, line.swipe_index, line.swipe_count)
        world = self.engine.library.worlds.get(line.world_id)
        avatar = world.narrator.avatar_url if world else None
        return Narration(line.text, line.message_id, line.speaker, avatar)

    def wake(self, key: SceneKey) -> None:
        """Lines were committed for this channel: make sure a worker delivers them."""
        if not self.owns_guild(key.guild_id):
            return
        worker = self._workers.get(key)
        if worker is None or worker.done():
            task = asyncio.create_task(self.flush(key), name=f"outbox-{key.guild_id}-{key.channel_id}")
            self._workers[key] = task
            task.add_done_callback(lambda t, k=key: self._workers.pop(k, None) if self._workers.get(k) is t else None)

    async def resume(self) -> int:
        """At start: wake every channel of ours that still has lines waiting (from before a restart)."""
        channels = [(g, c) for g, c in await self.repo.channels_with_pending() if self.owns_guild(g)]
        for guild_id, channel_id in channels:
            self.wake(SceneKey(guild_id, channel_id))
        return len(channels)

    async def flush(self, key: SceneKey) -> None:
        """Deliver every pending line of a channel, in order (one flush per channel at a time)."""
        async with self._locks.setdefault(key, asyncio.Lock()):
            while True:
                lines = await self.repo.pending(key.guild_id, key.channel_id)
                if not lines:
                    return
                for line in lines:
                    await self._deliver_one(line)

    async def _deliver_one(self, line: OutboxLine) -> None:
        attempts = line.attempts
        while True:
            try:
                await self.deliver(line, self.output_of(line))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed post is retried, then given up; the story goes on
                error = f"{type(exc).__name__}: {exc}"
                attempts += 1
                if attempts >= self.attempts:
                    async with self.engine.gate.hold(line.guild_id, line.world_id):
                        await self.repo.mark_failed(line.id, error)
                    log.warning("outbox.gave_up", guild=line.guild_id, channel=line.channel_id, message=line.message_id, error=error[:200])
                    return
                await self.repo.mark_attempt(line.id, error)
                log.info("outbox.retry", channel=line.channel_id, message=line.message_id, attempt=attempts, error=error[:200])
                await self.sleep(self.backoff * 2 ** (attempts - 1))
                continue
            await self.repo.mark_posted(line.id)
            return

    async def drain(self) -> None:
        """Until every worker is done (tests, and the terminal before it quits)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop delivering (shutdown); pending lines stay in the outbox for the next start."""
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)


__all__ = ["Deliver", "OutboxPoster"]
