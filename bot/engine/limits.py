"""Per-player and per-server limits: the pure decisions, and the small service that applies them.

- Lines per player per minute (``USER_LINES_PER_MINUTE``): a line past the limit is stored like any
  other (nothing is lost, characters remember it) but not answered; the player is told at most once a
  minute, quietly, and other players are not affected.
- Model tokens per server per day (``SERVER_TOKENS_PER_DAY``, UTC days) and per chain
  (``TOKENS_PER_CHAIN``: one line and the reactions it set off): when a server's day is spent, its
  characters fall silent (one notice per channel, one for its admins, per day) and the director skips
  it; when a chain's tokens are spent the chain stops. A budget is checked before each call, so the
  last call of a day may go past it by its own size.
- Admins override the first two per server (``/limits``); 0 means no limit.

Every model call of the engine goes through :class:`MeteredModel`, which checks the budget, counts
the tokens, feeds the metrics and records the calls no turn records (narrator, director, summary).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from bot.core.ports import ChatMessage, ChatModel, ChatOptions, ChatResult, Clock, monotonic
from bot.engine.lines import Notice
from bot.engine.metrics import Metrics
from bot.errors import ModelUnavailable
from bot.i18n import tr
from bot.store.usage import GuildLimitRow, UsageStore

log = structlog.get_logger("limits")

RATE_LIMITED = "rate_limited"
BUDGET_SPENT = "budget_spent"
BUDGET_SPENT_ADMINS = "budget_spent_admins"
WINDOW = timedelta(minutes=1)
# Purposes whose usage the turn's own commit records (with its turn id); the rest is recorded here.
TURN_RECORDED = ("npc", "guard")




@dataclass(frozen=True, slots=True)
class LimitSettings:
    """Limits in force; 0 or ``None`` means no limit."""

    lines_per_minute: int = 0
    tokens_per_day: int | None = None
    tokens_per_chain: int | None = None

    def merged(self, own: GuildLimitRow) -> LimitSettings:
        """These defaults with a server's own values on top."""
        return LimitSettings(
            lines_per_minute=self.lines_per_minute if own.lines_per_minute is None else own.lines_per_minute,
            tokens_per_day=self.tokens_per_day if own.tokens_per_day is None else own.tokens_per_day,
            tokens_per_chain=self.tokens_per_chain,
        )


# -- pure decisions -----------------------------------------------------------------------------


def within_rate(recent: Sequence[datetime], now: datetime, per_minute: int) -> bool:
    """True when one more line now stays within ``per_minute`` lines in the last minute (0: no limit)."""
    if per_minute <= 0:
        return True
    return sum(1 for t in recent if now - t < WINDOW) < per_minute


def is_spent(used: int, limit: int | None) -> bool:
    """A budget is spent once usage reaches it; no limit is never spent."""
    return bool(limit) and used >= int(limit or 0)


def should_tell(last_told: datetime | None, now: datetime) -> bool:
    """A quiet notice at most once a minute."""
    return last_told is None or now - last_told >= WINDOW


def day_of(now: datetime) -> str:
    """The budget day (UTC) of a moment."""
    return now.astimezone(UTC).date().isoformat()


def day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)


def describe_limits(settings: LimitSettings, used_today: int, language: str | None = None) -> str:
    """The limits in force and today's usage, in words (``/limits`` in the world's language, ``python -m bot stats``)."""
    lines = (
        tr(language, "limits.lines", n=settings.lines_per_minute) if settings.lines_per_minute
        else tr(language, "limits.lines_unlimited")
    )
    if settings.tokens_per_day:
        left = max(0, settings.tokens_per_day - used_today)
        tokens = tr(language, "limits.tokens", used=f"{used_today:,}", limit=f"{settings.tokens_per_day:,}", left=f"{left:,}")
    else:
        tokens = tr(language, "limits.tokens_unlimited", used=f"{used_today:,}")
    chain = (
        tr(language, "limits.chain", tokens=f"{settings.tokens_per_chain:,}") if settings.tokens_per_chain
        else tr(language, "limits.chain_unlimited")
    )
    return tr(language, "limits.summary", lines=lines, tokens=tokens, chain=chain)


class BudgetSpent(ModelUnavailable):
    """A call refused because the server's daily model budget is spent (its message is English; front
    ends tell it as ``limits.spent`` in the reader's language)."""


@dataclass(frozen=True, slots=True)
class Held:
    """Why a line is stored but not answered, and the notices to give (possibly none)."""

    reason: str
    notices: tuple[Notice, ...] = ()


@dataclass
class _Counters:
    lines: dict[tuple[str, str], deque[datetime]] = field(default_factory=dict)
    told_rate: dict[tuple[str, str], datetime] = field(default_factory=dict)
    used: dict[tuple[str, str], int] = field(default_factory=dict)
    told_spent: set[tuple[str, str, str]] = field(default_factory=set)
    told_admins: set[tuple[str, str]] = field(default_factory=set)
    chain: dict[int, int] = field(default_factory=dict)


class Limits:
    """Applies the limits; counters in memory, seeded from and persisted to the store."""

    def __init__(self, store: UsageStore, clock: Clock, defaults: LimitSettings | None = None, metrics: Metrics | None = None) -> None:
        self.usage = store
        self.clock = clock
        self.defaults = defaults or LimitSettings()
        self.metrics = metrics
        self._own: dict[str, LimitSettings] = {}
        self._c = _Counters()

    async def for_guild(self, guild_id: str) -> LimitSettings:
        if guild_id not in self._own:
            self._own[guild_id] = self.defaults.merged(await self.usage.guild_limits(guild_id))
        return self._own[guild_id]

    async def set_for_guild(self, guild_id: str, *, lines_per_minute: int | None = None, tokens_per_day: int | None = None) -> LimitSettings:
        """An admin's change: ``None`` keeps the current value of that limit."""
        current = await self.usage.guild_limits(guild_id)
        row = GuildLimitRow(
            current.lines_per_minute if lines_per_minute is None else lines_per_minute,
            current.tokens_per_day if tokens_per_day is None else tokens_per_day,
        )
        await self.usage.set_guild_limits(guild_id, row, self.clock.now().isoformat())
        self._own.pop(guild_id, None)
        self._c.told_spent = {t for t in self._c.told_spent if t[0] != guild_id}
        self._c.told_admins = {t for t in self._c.told_admins if t[0] != guild_id}
        log.info("limits.changed", guild=guild_id, lines_per_minute=row.lines_per_minute, tokens_per_day=row.tokens_per_day)
        return await self.for_guild(guild_id)

    async def used_today(self, guild_id: str) -> int:
        now = self.clock.now()
        key = (guild_id, day_of(now))
        if key not in self._c.used:
            self._c.used = {k: v for k, v in self._c.used.items() if k[1] == key[1]}
            self._c.used[key] = await self.usage.tokens_since(guild_id, day_start(now).isoformat())
        return self._c.used[key]

    async def spent(self, guild_id: str) -> bool:
        """Whether the server's model budget for today is used up (its characters and director rest)."""
        return is_spent(await self.used_today(guild_id), (await self.for_guild(guild_id)).tokens_per_day)

    async def check(self, guild_id: str) -> None:
        """Before a model call: ``BudgetSpent`` if the server's day is spent."""
        if await self.spent(guild_id):
            raise BudgetSpent(tr("en", "limits.spent"), detail=f"daily budget of guild {guild_id} spent")

    async def record(self, guild_id: str, scene_id: int | None, tokens: int) -> None:
        """After a model call: its tokens count toward the server's day and the scene's chain."""
        await self.used_today(guild_id)
        self._c.used[(guild_id, day_of(self.clock.now()))] += tokens
        if scene_id is not None:
            self._c.chain[scene_id] = self._c.chain.get(scene_id, 0) + tokens

    def start_chain(self, scene_id: int) -> None:
        self._c.chain[scene_id] = 0

    def chain_allows(self, scene_id: int) -> bool:
        """Whether the chain of the scene's current line may go on (its tokens not spent)."""
        return not is_spent(self._c.chain.get(scene_id, 0), self.defaults.tokens_per_chain)

    async def hold(self, guild_id: str, channel_id: str, author_id: str, language: str | None = None) -> Held | None:
        """Whether a line arriving now is held (stored, not answered), with the notices to give (in
        ``language``, the scene's world's)."""
        now = self.clock.now()
        if await self.spent(guild_id):
            return Held(BUDGET_SPENT, await self._spent_notices(guild_id, channel_id, now, language))
        settings = await self.for_guild(guild_id)
        key = (guild_id, author_id)
        recent = self._c.lines.setdefault(key, deque())
        while recent and now - recent[0] >= WINDOW:
            recent.popleft()
        allowed = within_rate(recent, now, settings.lines_per_minute)
        recent.append(now)  # held lines count too: a flood stays held while it lasts
        if allowed:
            return None
        if self.metrics is not None:
            self.metrics.limited.labels(RATE_LIMITED).inc()
        if not should_tell(self._c.told_rate.get(key), now):
            return Held(RATE_LIMITED)
        self._c.told_rate[key] = now
        log.info("limits.rate_limited", guild=guild_id, author=author_id, per_minute=settings.lines_per_minute)
        return Held(RATE_LIMITED, (Notice(tr(language, "limits.slow_down"), RATE_LIMITED),))

    async def _spent_notices(
        self, guild_id: str, channel_id: str, now: datetime, language: str | None
    ) -> tuple[Notice, ...]:
        if self.metrics is not None:
            self.metrics.limited.labels(BUDGET_SPENT).inc()
        day = day_of(now)
        notices = []
        if (guild_id, channel_id, day) not in self._c.told_spent:
            self._c.told_spent.add((guild_id, channel_id, day))
            notices.append(Notice(tr(language, "limits.spent"), BUDGET_SPENT))
        if (guild_id, day) not in self._c.told_admins:
            self._c.told_admins.add((guild_id, day))
            limit = (await self.for_guild(guild_id)).tokens_per_day or 0
            used = await self.used_today(guild_id)
            log.warning("limits.budget_spent", guild=guild_id, used=used, limit=limit)
            said = tr(language, "limits.spent_admins", bot="Ensemble", guild=guild_id, used=f"{used:,}", limit=f"{limit:,}")
            notices.append(Notice(said, BUDGET_SPENT_ADMINS))
        return tuple(notices)

    def metered(self, model: ChatModel, guild_id: str, purpose: str, scene_id: int | None = None) -> MeteredModel:
        return MeteredModel(model, self, guild_id, purpose, scene_id)


class MeteredModel:
    """A ``ChatModel`` view for one server and purpose: budget checked, tokens counted and recorded."""

    def __init__(self, inner: ChatModel, limits: Limits, guild_id: str, purpose: str, scene_id: int | None = None) -> None:
        self.inner = inner
        self.limits = limits
        self.guild_id = guild_id
        self.purpose = purpose
        self.scene_id = scene_id

    async def complete(self, messages: Sequence[ChatMessage], options: ChatOptions) -> ChatResult:
        metrics = self.limits.metrics
        try:
            await self.limits.check(self.guild_id)
        except BudgetSpent:
            if metrics is not None:
                metrics.observe_model_call(self.purpose, None, 0.0, "refused")
            raise
        started = monotonic()
        try:
            result = await self.inner.complete(messages, options)
        except ModelUnavailable:
            if metrics is not None:
                metrics.observe_model_call(self.purpose, None, monotonic() - started, "failed")
            raise
        seconds = monotonic() - started
        await self._count(result, options, seconds)
        return result

    def stream(self, messages: Sequence[ChatMessage], options: ChatOptions) -> AsyncIterator[str]:
        return self._stream(messages, options)

    async def _stream(self, messages: Sequence[ChatMessage], options: ChatOptions) -> AsyncIterator[str]:
        await self.limits.check(self.guild_id)
        started = monotonic()
        inner = self.inner.stream(messages, options)
        async for delta in inner:
            yield delta
        result = getattr(inner, "result", None)
        if isinstance(result, ChatResult):
            await self._count(result, options, monotonic() - started)

    async def _count(self, result: ChatResult, options: ChatOptions, seconds: float) -> None:
        usage = result.usage
        await self.limits.record(self.guild_id, self.scene_id, usage.prompt_tokens + usage.completion_tokens)
        if self.limits.metrics is not None:
            self.limits.metrics.observe_model_call(self.purpose, usage, seconds)
        if self.purpose not in TURN_RECORDED:
            await self.limits.usage.record(
                self.guild_id, self.purpose, result.model or options.model or "", usage.prompt_tokens,
                usage.completion_tokens, usage.cached_tokens, round(seconds * 1000, 3), self.limits.clock.now().isoformat(),
            )
