"""The benchmark's per-task accounting: a task is charged its own loop CPU and queueing, not its children's."""

from __future__ import annotations

import asyncio
import time

from bot.bench import meter


def _spin(cpu_seconds: float) -> None:
    """Burn this much CPU time of the calling thread (measured on the clock the meter reads)."""
    until = time.thread_time() + cpu_seconds
    while time.thread_time() < until:
        pass


async def _metered_scene(child_cpu: float, own_cpu: float) -> tuple[meter.Meter, asyncio.Task[None]]:
    child: asyncio.Task[None] | None = None

    async def scene() -> None:
        nonlocal child

        async def background() -> None:  # like a summary the scene starts: its own task
            await asyncio.sleep(0)
            _spin(child_cpu)

        child = asyncio.create_task(background())
        await asyncio.sleep(0)
        _spin(own_cpu)
        await asyncio.sleep(0)

    task, own = meter.start_metered(scene())
    await task
    assert child is not None
    await child
    return own, child


def test_a_task_is_charged_its_own_cpu_and_not_that_of_tasks_it_starts():
    own, _ = meter.run(_metered_scene(child_cpu=0.08, own_cpu=0.03))
    assert 0.03 <= own.cpu < 0.08
    assert own.steps >= 3


def test_waiting_behind_another_task_counts_as_queued_not_as_cpu():
    async def main() -> meter.Meter:
        async def scene() -> None:
            await asyncio.sleep(0)  # ready again at once, but the hog holds the loop

        async def hog() -> None:
            _spin(0.05)

        task, own = meter.start_metered(scene())
        hogging = asyncio.get_running_loop().create_task(hog())
        await asyncio.gather(task, hogging)
        return own

    own = meter.run(main())
    assert own.queued >= 0.05
    assert own.cpu < 0.05


def test_outside_a_metered_task_there_is_no_meter():
    async def main() -> tuple[bool, bool]:
        async def probe() -> bool:
            return meter.current_meter() is not None

        task, _ = meter.start_metered(probe())
        return await task, await asyncio.create_task(probe())

    inside, outside = meter.run(main())
    assert inside and not outside
