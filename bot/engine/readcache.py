"""A bounded read-through cache for rows the engine reads on every line but writes rarely and itself.

Personas (``bot.engine.personas``) and the table's rules (``bot.engine.table``) are read on every line
and every prompt and written only through their service, in this process (the bot is the one process
writing its database). Two rules keep the copy true:

- **A write invalidates before and after.** ``written`` is entered around every write: the key is
  dropped and the write count moves before the write starts and again after it ends.
- **A read only keeps what no write overtook.** ``fill`` is given the write count noted before the
  read started; if any write began or ended meanwhile the value is returned but not kept (it may be
  the old one), so a slow read can never put back what a write just replaced.

Least recently used keys go first beyond ``capacity``, so memory stays bounded however many players
or scenes pass through.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReadCache(Generic[K, V]):
    """Keys to values (``None`` is a value: "known to have none"), least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._values: OrderedDict[K, V] = OrderedDict()
        self._writes = 0

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    @property
    def writes(self) -> int:
        """Note this before a read; hand it to ``fill`` after."""
        return self._writes

    def lookup(self, key: K) -> tuple[bool, V | None]:
        """(True, the kept value) with the key marked as recently used, else (False, None)."""
        if key not in self._values:
            return False, None
        self._values.move_to_end(key)
        return True, self._values[key]

    def fill(self, key: K, value: V, noted_writes: int) -> None:
        """Keep a value read from the store, unless a write began or ended since ``noted_writes``."""
        if noted_writes != self._writes:
            return
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.capacity:
            self._values.popitem(last=False)

    @contextmanager
    def written(self, key: K) -> Iterator[None]:
        """Around a write of ``key``: the key is forgotten, and reads in flight are not kept."""
        self._writes += 1
        self._values.pop(key, None)
        try:
            yield
        finally:
            self._writes += 1
            self._values.pop(key, None)


__all__ = ["ReadCache"]
