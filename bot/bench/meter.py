"""Per-task accounting on the event loop: CPU of the loop thread and time spent ready but not running.

A benchmark cannot read one asyncio task's CPU from the operating system: all tasks share the loop
thread. But every step of a task runs as a callback that the loop schedules with ``call_soon`` and
the task's own ``contextvars.Context``. :class:`MeteredLoop` wraps exactly those callbacks whose
context is a metered one and adds, per step, the loop thread's CPU time (``time.thread_time``) and
the wait between becoming ready and running (queueing behind other scenes) to that task's
:class:`Meter`. Tasks the metered task starts (background summaries) run in a *copy* of its context,
so their work is never charged to it; I/O callbacks of the selector belong to no task and show up
only in the loop thread's total.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

_METER: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("bench_meter", default=None)


@dataclass
class Meter:
    """Running totals for one metered task (seconds): loop CPU, queueing, and time waiting on the model."""

    context: contextvars.Context = field(default_factory=contextvars.Context)
    cpu: float = 0.0
    queued: float = 0.0
    steps: int = 0
    model_wait: float = 0.0
    model_calls: int = 0
    task: asyncio.Task[Any] | None = None

    def snapshot(self) -> tuple[float, float, float, int, float]:
        """(wall clock, cpu, queued, model calls, model wait): subtract two to get a segment."""
        return time.perf_counter(), self.cpu, self.queued, self.model_calls, self.model_wait


def current_meter() -> Meter | None:
    """The meter of the running task, only if this task is the metered one (not a task it started)."""
    meter = _METER.get()
    if meter is None or meter.task is not asyncio.current_task():
        return None
    return meter


def start_metered(coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> tuple[asyncio.Task[Any], Meter]:
    """Run ``coro`` as a task whose steps are charged to a new :class:`Meter` (needs a MeteredLoop)."""
    meter = Meter()
    meter.context.run(_METER.set, meter)
    task = asyncio.get_running_loop().create_task(coro, name=name, context=meter.context)
    meter.task = task
    return task, meter


class MeteredLoop(asyncio.SelectorEventLoop):
    """A selector loop that charges the steps of metered tasks to their meters (see the module doc)."""

    def call_soon(
        self, callback: Callable[..., object], *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.Handle:
        if context is not None:
            meter = context.get(_METER)
            if meter is not None and meter.context is context:
                return super().call_soon(_charged, meter, time.perf_counter(), callback, *args, context=context)
        return super().call_soon(callback, *args, context=context)


def _charged(meter: Meter, ready: float, callback: Callable[..., object], *args: Any) -> None:
    meter.queued += time.perf_counter() - ready
    started = time.thread_time()
    try:
        callback(*args)
    finally:
        meter.cpu += time.thread_time() - started
        meter.steps += 1


def run(main: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run`` on a :class:`MeteredLoop`."""
    with asyncio.Runner(loop_factory=MeteredLoop) as runner:
        return runner.run(main)
