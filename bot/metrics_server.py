"""``/metrics`` (Prometheus text) and ``/healthz`` over HTTP, for ``run`` with ``METRICS_PORT`` set.

``/healthz`` answers 200 once the front end says it is ready (the Discord gateway is connected) and
503 before or while it is not, so an orchestrator can tell a live bot from a starting or stuck one.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.engine.metrics import Metrics


class MetricsServer:
    """A small aiohttp server; ``start``/``stop`` from the running event loop."""

    def __init__(self, metrics: Metrics, ready: Callable[[], bool], *, host: str, port: int) -> None:
        self.metrics = metrics
        self.ready = ready
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # an ephemeral port (tests): report the real one
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        if self.ready():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="starting: the Discord gateway is not ready\n")
