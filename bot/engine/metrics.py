"""Prometheus metrics of the engine and its front ends: one registry per running app.

The engine and the Discord adapter call the small ``observe_*`` methods; ``/metrics`` renders the
registry (``bot.metrics_server``). A registry per app (not prometheus_client's global one) keeps tests
and several apps in one process apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.core.ports import Usage

# Model calls take from tens of milliseconds (a local server) to a minute (a slow provider).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)


class _QueueDepth(Collector):
    """Lines waiting per channel, read when scraped from whoever owns the queues."""

    def __init__(self) -> None:
        self.source: Callable[[], Mapping[str, int]] | None = None

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("ensemble_queue_depth", "Lines waiting to be handled, per channel", labels=["channel"])
        for channel, depth in sorted((self.source() if self.source else {}).items()):
            family.add_metric([channel], depth)
        yield family


class Metrics:
    """The counters, histogram and gauges of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter("ensemble_turns", "Committed turns, by kind (user line, chain reaction)", ["kind"], registry=r)
        self.replies = Counter("ensemble_replies", "Character replies posted", registry=r)
        self.model_calls = Counter(
            "ensemble_model_calls", "Model calls by purpose and result (ok, failed, refused by a budget)",
            ["purpose", "result"], registry=r,
        )
        self.model_tokens = Counter(
            "ensemble_model_tokens", "Model tokens by purpose and type (prompt, completion, cached)",
            ["purpose", "type"], registry=r,
        )
        self.model_latency = Histogram(
            "ensemble_model_latency_seconds", "Model call latency by purpose, all retries included",
            ["purpose"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.guard = Counter("ensemble_guard_outcomes", "Quality guard outcomes by detector", ["detector", "outcome"], registry=r)
        self.limited = Counter("ensemble_limited_lines", "Lines stored but not answered, by reason", ["reason"], registry=r)
        self.webhook_fallbacks = Counter(
            "ensemble_webhook_fallbacks", "Lines posted as the bot because a webhook could not be used", ["kind"], registry=r
        )
        self.director_ticks = Counter("ensemble_director_ticks", "Off-screen ticks, by how the plan was made", ["plan"], registry=r)
        self.gateway_ready = Gauge("ensemble_gateway_ready", "1 once the Discord gateway is ready", registry=r)
        self.queue_depth = _QueueDepth()
        r.register(self.queue_depth)

    def observe_model_call(self, purpose: str, usage: Usage | None, seconds: float, result: str = "ok") -> None:
        self.model_calls.labels(purpose, result).inc()
        if result == "refused":
            return
        self.model_latency.labels(purpose).observe(seconds)
        if usage is not None:
            self.model_tokens.labels(purpose, "prompt").inc(usage.prompt_tokens)
            self.model_tokens.labels(purpose, "completion").inc(usage.completion_tokens)
            self.model_tokens.labels(purpose, "cached").inc(usage.cached_tokens)

    def observe_reply(self, quality: Mapping[str, Mapping[str, int]]) -> None:
        """One character reply and what the guards did to it."""
        self.replies.inc()
        for detector, counters in quality.items():
            for outcome, n in counters.items():
                if n:
                    self.guard.labels(detector, outcome).inc(n)

    def render(self) -> bytes:
        """The Prometheus text format of everything."""
        return generate_latest(self.registry)
