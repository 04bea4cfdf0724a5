"""Fencing: a process that no longer owns a server cannot commit its turns or its world's changes.

Sharded processes (``bot.shards``) own servers through shard leases with fencing tokens. Owning is
checked where it matters, in the transaction that commits a turn: ``Store`` asks its ``fence`` (if it
has one) to ``hold`` the server's shard around the write transaction and to ``check`` inside it. A lease
that was taken over (the token moved on) or ran out makes the commit raise ``Fenced`` and roll back, so a
paused or partitioned process that wakes up mid-turn cannot write a reply its successor does not know
about. The store only knows this protocol; ``bot.shards.leases.ShardFence`` implements it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from bot.errors import StoreError
from bot.store.database import Database

# Called inside the write transaction with its handle; raises ``Fenced`` when the server is not ours.
FenceCheck = Callable[[Database], Awaitable[None]]


class Fenced(StoreError):
    """This process lost the shard of the server it was writing for: the write was rolled back."""


class WriteFence(Protocol):
    def hold(self, guild_id: str) -> AbstractAsyncContextManager[FenceCheck]:
        """Entered before the store's write transaction opens and left after it commits (or rolls back);
        yields the check to run inside it. May raise ``Fenced`` at once."""
        ...
