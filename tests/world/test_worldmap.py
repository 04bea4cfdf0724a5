"""The world map: what it says (places, ways by kind, who is where, in the world's language) and that it moves."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from engine.conftest import WORLD

from bot.content.loader import load_content
from bot.engine.maps import render_scene_map, scene_map
from bot.world.worldmap import MapScene, layout, map_figure, render_png, ways

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def shipped():
    return load_content(ROOT / "characters", ROOT / "worlds")


def texts(fig) -> list[str]:
    """Every piece of text on the figure: title, place boxes, the players' mark, the legend."""
    found = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        found += [t.get_text() for t in ax.texts]
    for legend in fig.legends:
        found += [t.get_text() for t in legend.get_texts()]
    return [t for t in found if t]


def arrows(fig) -> list[dict]:
    """The drawn ways: each annotation's arrow style, colour and line style."""
    ax = fig.axes[0]
    return [
        {"style": type(a.arrow_patch.get_arrowstyle()).__name__, "dashed": a.arrow_patch.get_linestyle() != "-"}
        for a in ax.texts if getattr(a, "arrow_patch", None) is not None
    ]


def test_each_exit_is_drawn_once_with_its_kind():
    """Two-way exits once, one-way kept directed; locked and audible flags carried to the drawing."""
    drawn = {(w.source, w.target): w for w in ways(WORLD)}
    assert set(drawn) == {("hall", "garden"), ("hall", "cellar"), ("garden", "orchard")}
    assert drawn[("hall", "cellar")].locked and drawn[("garden", "orchard")].audible
    assert not drawn[("hall", "garden")].one_way


def test_layout_is_deterministic_and_fills_the_frame(shipped):
    world = shipped.worlds["harbor"]
    first, again = layout(world), layout(world)
    assert first == again and set(first) == {loc.id for loc in world.locations}
    xs, ys = [p[0] for p in first.values()], [p[1] for p in first.values()]
    assert min(xs) == min(ys) == 0.0 and max(xs) == max(ys) == 1.0
    assert len({(round(x, 2), round(y, 2)) for x, y in first.values()}) == len(first), "no two places on one spot"


def test_harbour_map_shows_places_people_and_ways_by_kind(shipped):
    world = shipped.worlds["harbor"]
    fig = map_figure(MapScene(world, "quay", ("Ann",), {"quay": ["Mira Salt"], "salt-and-lantern": ["Old Tom Gannet"]}))
    said = texts(fig)
    assert "Gannet's Reach: who is where" in said
    assert "Lantern Quay\nMira Salt" in said and "The Salt & Lantern\nOld Tom Gannet" in said and "★ Ann" in said
    assert {"open way", "one way", "locked", "voices carry", "players"} <= set(said)
    kinds = arrows(fig)
    assert any(a["style"] == "CurveFilledB" for a in kinds), "a one-way exit has an arrow head"
    assert any(a["dashed"] for a in kinds), "a locked exit is dashed"
    assert len(kinds) == len(ways(world))


def test_chinese_world_map_speaks_chinese(shipped):
    world = shipped.worlds["jianghu"]
    said = texts(map_figure(MapScene(world, "ferry", ("阿安",), {"inn": ["林晚"]})))
    assert "落雁镇：谁在哪里" in said and "听雨楼\n林晚" in said and "★ 阿安" in said
    assert {"通路", "单向", "锁着", "听得见", "玩家"} <= set(said)


async def test_the_map_changes_when_someone_moves(engine, key):
    """Ada summoned to the hall, then walking to the garden with Ann: the map shows both moves."""
    await engine.summon(key, "Ada")
    before = await scene_map(engine, key, ["Ann"])
    png_before = await render_scene_map(engine, key, ["Ann"])
    await engine.go(key, "garden", "Ann")
    await engine.summon(key, "Ada", "garden")
    after = await scene_map(engine, key, ["Ann"])
    png_after = await render_scene_map(engine, key, ["Ann"])
    assert (before.players_at, dict(before.people)) == ("hall", {"hall": ["Ada"]})
    assert (after.players_at, dict(after.people)) == ("garden", {"garden": ["Ada"]})
    assert "Garden\nAda" in texts(map_figure(after)) and "Great Hall" in texts(map_figure(after))
    assert png_before.startswith(PNG_SIGNATURE) and png_after.startswith(PNG_SIGNATURE)
    assert png_before != png_after


async def test_rendering_runs_off_the_event_loop(engine, key, monkeypatch):
    """The drawing happens in a worker thread: the loop's thread never rasterises."""
    threads: list[threading.Thread] = []
    import bot.engine.maps as maps

    def spy(scene):
        threads.append(threading.current_thread())
        return render_png(scene)

    monkeypatch.setattr(maps, "render_png", spy)
    ticks = 0

    async def heartbeat():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beat = asyncio.create_task(heartbeat())
    png = await render_scene_map(engine, key, ["Ann"])
    beat.cancel()
    assert png.startswith(PNG_SIGNATURE)
    assert threads and threads[0] is not threading.main_thread()
    assert ticks > 1, "the loop kept running while the map was drawn"
