"""Interrupts are a count of waiting lines, and the director draws from its own random source."""

from __future__ import annotations

import asyncio

import pytest
from engine.conftest import WORLD
from world.test_knowledge_and_chains import chain_engine, said

from bot.engine.scheduler import SchedulerSettings
from bot.world.director import Director, director_random

pytestmark = pytest.mark.both_databases  # every test with the store: on SQLite and on PostgreSQL


def certain_chains(engine, cap: int = 5) -> None:
    engine.scheduler_settings = lambda world: SchedulerSettings(max_speakers=1, chain_cap=cap, chain_base=1.0, chain_decay=1.0)


async def test_a_line_queued_behind_the_next_one_still_stops_its_chain(store, library, clock, key):
    """Lines 2 and 3 arrive during line 1's chain: line 2 is answered without a chain, since line 3 waits."""
    engine, _ = chain_engine(store, library, clock, cap=5)
    await engine.open_scene(key, "manor")
    for name in ("Ada", "Bram"):
        await engine.summon(key, name)
    certain_chains(engine)
    first_reply = asyncio.Event()

    async def on_outcome(outcome):
        if outcome.utterances:
            first_reply.set()

    first = asyncio.create_task(engine.handle(said(key, "Ada?"), on_outcome=on_outcome))
    await first_reply.wait()
    second = asyncio.create_task(engine.handle(said(key, "Bram, a word.")))
    await asyncio.sleep(0)
    third = asyncio.create_task(engine.handle(said(key, "And then?")))
    await asyncio.sleep(0)
    assert engine.lines_waiting(key) == 2
    assert len((await first).utterances) < 6
    assert len((await second).utterances) == 1, "line 2's chain ran while line 3 was waiting"
    assert len((await third).utterances) == 6, "the last line, with nothing behind it, gets its whole chain"
    assert engine.lines_waiting(key) == 0


async def test_an_announced_line_stops_a_chain_until_it_is_handled_or_withdrawn(store, library, clock, key):
    """A front end announces a queued line (Discord's intake): the chain stops; a withdrawn one stops nothing."""
    engine, _ = chain_engine(store, library, clock, cap=3)
    await engine.open_scene(key, "manor")
    for name in ("Ada", "Bram"):
        await engine.summon(key, name)
    certain_chains(engine, 3)
    engine.interrupt(key)  # this line, queued by the front end...
    engine.interrupt(key)  # ...and one behind it
    assert len((await engine.handle(said(key, "Ada?"))).utterances) == 1
    assert engine.lines_waiting(key) == 1
    engine.withdraw_interrupt(key)  # the one behind was not for a role-play channel after all
    assert engine.lines_waiting(key) == 0
    assert len((await engine.handle(said(key, "Ada, again?"))).utterances) == 4


async def test_ticks_never_shift_the_engines_draws(engine, key, clock):
    """The director has its own source: the engine's random state is the same with or without ticks,
    and two directors from one seed plan the same."""
    await engine.summon(key, "Bram", "garden")
    before = engine.rng.getstate()
    reports = []
    for _ in range(2):
        director = Director(engine, clock=clock, rng=director_random(42), per_tick=3)
        reports.append(director.next_delay())
    assert engine.rng.getstate() == before
    assert reports[0] == reports[1]
    await Director(engine, clock=clock, rng=director_random(42)).tick("guild-1", "manor")
    assert engine.rng.getstate() == before
    assert director_random(None).random() != director_random(None).random()
    assert WORLD.id == "manor"
