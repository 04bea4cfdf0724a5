"""Which servers a process owns, and the lease and IDENTIFY decisions: pure functions, no I/O, no clock.

Discord splits a bot's servers over gateway shards by a fixed rule, ``shard = (guild_id >> 22) %
shard_count``; a process started with ``SHARD_COUNT`` and ``SHARD_IDS`` connects those shards and owns
exactly their servers: their scenes, their director ticks, their outbox. Two processes must never own
the same shard at once (each would answer every line: duplicate replies, a world moved twice), so
ownership is a lease row per shard in the shared database, with a holder, a fencing token that grows
whenever the shard changes hands, and an expiry the holder keeps pushing forward. The rules for taking,
keeping and losing a lease are here; ``bot.shards.leases`` runs them against the database.

Discord also allows only ``max_concurrency`` IDENTIFYs per 5 seconds per bot (bucket ``shard_id %
max_concurrency``), across all its processes: ``identify_wait`` says how long a shard must wait for its
bucket's next slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import ConfigError
from bot.settings import Settings

# Discord's window for max_concurrency IDENTIFYs.
IDENTIFY_WINDOW = 5.0
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def shard_of(guild_id: int | str, shard_count: int) -> int:
    """The shard Discord delivers a server's events on."""
    return (int(guild_id) >> 22) % shard_count


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0,1"``, ``"0-3"`` or a mix (``"0-2,5"``) as sorted shard ids; a malformed list is a ``ConfigError``."""
    ids: set[int] = set()
    for part in text.split(","):
        match = _RANGE.match(part)
        if not match:
            raise ConfigError(f"SHARD_IDS must list shard numbers like 0,1 or 0-3, not {text!r}.")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ConfigError(f"SHARD_IDS has the range {part.strip()} backwards: write it low-high, like 0-3.")
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


@dataclass(frozen=True)
class ShardPlan:
    """The shards this process runs, out of how many in all."""

    shard_count: int
    shard_ids: tuple[int, ...]

    @classmethod
    def of(cls, settings: Settings) -> ShardPlan | None:
        """The shards this process runs (``SHARD_COUNT``, ``SHARD_IDS``), ``None`` for one unsharded process."""
        return cls.from_settings(settings.shard_count, settings.shard_ids)

    @classmethod
    def from_settings(cls, shard_count: int | None, shard_ids: str | None) -> ShardPlan | None:
        """The plan ``SHARD_COUNT``/``SHARD_IDS`` describe, ``None`` when unsharded, or one sentence saying what is wrong."""
        if shard_count is None:
            if shard_ids:
                raise ConfigError("SHARD_IDS needs SHARD_COUNT too: set SHARD_COUNT to the number of shards in all.")
            return None
        if shard_count < 1:
            raise ConfigError(f"SHARD_COUNT must be 1 or more, not {shard_count}.")
        ids = parse_shard_ids(shard_ids) if shard_ids else tuple(range(shard_count))
        outside = [i for i in ids if i >= shard_count]
        if outside:
            raise ConfigError(
                f"SHARD_IDS names shard {outside[0]}, but with SHARD_COUNT={shard_count} shards are 0-{shard_count - 1}."
            )
        return cls(shard_count, ids)

    def owns(self, guild_id: int | str) -> bool:
        """Whether a server's events come to this process."""
        return shard_of(guild_id, self.shard_count) in self.shard_ids


# -- leases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """A lease row as stored."""

    shard_id: int
    shard_count: int
    holder: str
    token: int
    expires_at: float


@dataclass(frozen=True)
class Take:
    """Write this lease (insert when ``replaces`` is None, else compare-and-set on the old token)."""

    lease: Lease
    replaces: int | None


@dataclass(frozen=True)
class Wait:
    """Someone else holds the shard; try again once its lease has run out."""

    holder: str
    retry_in: float


@dataclass(frozen=True)
class Refuse:
    """The shard cannot be taken by waiting: the sentence says what the operator must change."""

    reason: str


LeaseDecision = Take | Wait | Refuse


def decide_acquire(
    current: Lease | None,
    live_counts: set[int],
    *,
    shard_id: int,
    shard_count: int,
    holder: str,
    now: float,
    ttl: float,
) -> LeaseDecision:
    """What to do to own ``shard_id``, given its lease row and the shard counts of all live leases.

    A live lease under another ``SHARD_COUNT`` refuses: shard 1 of 2 and shard 1 of 4 are different sets of
    servers that overlap, so a resharding waits until every process of the old count has stopped.
    """
    other_counts = live_counts - {shard_count}
    if other_counts:
        return Refuse(
            f"Other processes run with SHARD_COUNT={min(other_counts)} (this one has {shard_count}): stop them "
            "before starting with a new shard count, so no server is handled twice."
        )
    expires = now + ttl
    if current is None:
        return Take(Lease(shard_id, shard_count, holder, 1, expires), replaces=None)
    if current.holder == holder and current.expires_at > now:
        return Take(Lease(shard_id, shard_count, holder, current.token, expires), replaces=current.token)
    if current.expires_at <= now:
        return Take(Lease(shard_id, shard_count, holder, current.token + 1, expires), replaces=current.token)
    return Wait(current.holder, max(current.expires_at - now, 0.0))


def renewal_due(lease: Lease, now: float, ttl: float) -> bool:
    """Renew when a third of the lease is used up: two missed heartbeats still leave it held."""
    return lease.expires_at - now <= ttl * 2 / 3


# -- IDENTIFY ---------------------------------------------------------------------------------------


def identify_bucket(shard_id: int, max_concurrency: int) -> int:
    """Discord's rate-limit key for a shard's IDENTIFY."""
    return shard_id % max(max_concurrency, 1)


def identify_wait(next_free_at: float | None, now: float) -> float:
    """Seconds until the bucket may IDENTIFY again (0: go now and push its next slot a window ahead)."""
    if next_free_at is None:
        return 0.0
    return max(next_free_at - now, 0.0)
