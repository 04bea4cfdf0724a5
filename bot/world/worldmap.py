"""The world's map as a picture: places, the ways between them (open, one-way, locked, voices carry), who is where.

Worlds give no coordinates, so places are laid out by a small deterministic spring layout over the exit
graph (the same world always gives the same picture; only people move). Drawing uses matplotlib's
object API with the Agg canvas, no pyplot and no global state, so it is safe to run in a worker thread:
callers render with ``asyncio.to_thread(render_png, ...)`` and never block the event loop. Every word on
the picture comes from the world (names) or the message catalog (title, legend).
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import structlog

from bot.content.models import World
from bot.i18n import join, tr

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = structlog.get_logger("worldmap")

# Fonts with CJK glyphs, in order of preference; whichever the machine has is used after DejaVu Sans.
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "Droid Sans Fallback", "Microsoft YaHei", "PingFang SC", "SimHei", "AR PL UMing CN", "Noto Sans CJK JP",
)
PLAYERS_COLOUR = "#c0392b"
PLACE_COLOUR = "#f4f1ea"
PLAYERS_PLACE_COLOUR = "#fde9a8"
WAY_COLOUR = "#555555"
LOCKED_COLOUR = "#8e2a2a"
AUDIBLE_COLOUR = "#3b7dd8"


@dataclass(frozen=True, slots=True)
class MapScene:
    """What a map shows: the world, where the players are (and who they are), who is at each place."""

    world: World
    players_at: str
    players: Sequence[str] = ()
    people: Mapping[str, Sequence[str]] = field(default_factory=dict)  # location id -> character names


@dataclass(frozen=True, slots=True)
class Way:
    """One drawn connection between two places."""

    source: str
    target: str
    one_way: bool
    locked: bool
    audible: bool


def ways(world: World) -> list[Way]:
    """Every exit once, as the map draws it (a two-way exit written on both places is drawn once)."""
    found: dict[tuple[str, str], Way] = {}
    for loc in world.locations:
        for exit_ in loc.exits:
            pair = (loc.id, exit_.to) if exit_.one_way else tuple(sorted((loc.id, exit_.to)))
            if pair not in found:
                found[pair] = Way(loc.id, exit_.to, exit_.one_way, exit_.locked, exit_.audible)  # type: ignore[index]
    return list(found.values())


def layout(world: World, *, iterations: int = 300) -> dict[str, tuple[float, float]]:
    """Positions in [0, 1]² for every place: Fruchterman-Reingold from a circle, so it is always the same."""
    ids = [loc.id for loc in world.locations]
    n = len(ids)
    if n == 1:
        return {ids[0]: (0.5, 0.5)}
    index = {pid: i for i, pid in enumerate(ids)}
    edges = {(index[w.source], index[w.target]) for w in ways(world) if w.source in index and w.target in index}
    pos = [[math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)] for i in range(n)]
    k = math.sqrt(4.0 / n)
    temperature = 0.3
    for _ in range(iterations):
        shift = [[0.0, 0.0] for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                dx, dy = pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]
                dist = max(math.hypot(dx, dy), 1e-3)
                push = k * k / dist
                shift[i][0] += dx / dist * push
                shift[i][1] += dy / dist * push
                shift[j][0] -= dx / dist * push
                shift[j][1] -= dy / dist * push
        for i, j in edges:
            dx, dy = pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]
            dist = max(math.hypot(dx, dy), 1e-3)
            pull = dist * dist / k
            shift[i][0] -= dx / dist * pull
            shift[i][1] -= dy / dist * pull
            shift[j][0] += dx / dist * pull
            shift[j][1] += dy / dist * pull
        for i in range(n):
            length = max(math.hypot(*shift[i]), 1e-9)
            step = min(length, temperature)
            pos[i][0] += shift[i][0] / length * step
            pos[i][1] += shift[i][1] / length * step
        temperature = max(temperature * 0.985, 0.005)
    xs, ys = [p[0] for p in pos], [p[1] for p in pos]
    # Each axis stretched to the frame: the picture is wider than tall, and labels need the room.
    width, height = max(max(xs) - min(xs), 1e-9), max(max(ys) - min(ys), 1e-9)
    return {pid: ((pos[i][0] - min(xs)) / width, (pos[i][1] - min(ys)) / height) for pid, i in index.items()}


@cache
def font_families() -> tuple[str, ...]:
    """DejaVu Sans (matplotlib's own) then the first CJK font this machine has, for mixed-script labels."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans", *[name for name in CJK_FONTS if name in installed][:1])


def has_cjk_font() -> bool:
    """Whether Chinese names can be drawn (else they would come out as empty boxes)."""
    return len(font_families()) > 1


def needs_cjk(scene: MapScene) -> bool:
    words = [scene.world.name, *(loc.name for loc in scene.world.locations), *scene.players, *(n for ns in scene.people.values() for n in ns)]
    return any("\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for word in words for ch in word)


def map_figure(scene: MapScene) -> Figure:
    """The map as a matplotlib Figure (not yet rasterised, so tests can read what it says)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    world, lang = scene.world, scene.world.language
    positions = layout(world)
    n = len(world.locations)
    side = min(14.0, max(7.0, 2.4 * math.sqrt(n) + 2))
    fig = Figure(figsize=(side, side * 0.8), dpi=100)
    ax = fig.add_axes((0.02, 0.1, 0.96, 0.82))
    ax.set_xlim(-0.14, 1.14)
    ax.set_ylim(-0.12, 1.12)
    ax.axis("off")
    families = list(font_families())
    fig.suptitle(tr(lang, "map.title", world=world.name), fontsize=16, fontfamily=families)

    boxes = {}
    for loc in world.locations:
        x, y = positions[loc.id]
        here = loc.id == scene.players_at
        lines = [loc.name]
        people = list(scene.people.get(loc.id, ()))
        if people:
            lines.append(join(lang, people))
        boxes[loc.id] = ax.text(
            x, y, "\n".join(lines), ha="center", va="center", fontsize=11, fontfamily=families, zorder=4,
            bbox={
                "boxstyle": "round,pad=0.5", "facecolor": PLAYERS_PLACE_COLOUR if here else PLACE_COLOUR,
                "edgecolor": PLAYERS_COLOUR if here else "#8a8170", "linewidth": 2.4 if here else 1.0,
            },
        )
        if here:
            who = join(lang, scene.players) if scene.players else tr(lang, "map.legend.players")
            ax.text(x, y - 0.085, "★ " + who, ha="center", va="top", fontsize=12, color=PLAYERS_COLOUR,
                    fontfamily=families, zorder=5)

    for way in ways(world):
        a, b = positions[way.source], positions[way.target]
        if way.audible:
            ax.plot([a[0], b[0]], [a[1], b[1]], color=AUDIBLE_COLOUR, linewidth=9, alpha=0.22, solid_capstyle="round", zorder=1)
        ax.annotate(
            "", xy=b, xytext=a, zorder=2,
            arrowprops={
                "arrowstyle": "-|>" if way.one_way else "-",
                "color": LOCKED_COLOUR if way.locked else WAY_COLOUR,
                "linestyle": (0, (5, 3)) if way.locked else "-",
                "linewidth": 2.2 if way.locked else 1.6,
                "patchA": boxes[way.source].get_bbox_patch(), "patchB": boxes[way.target].get_bbox_patch(),
                "shrinkA": 2, "shrinkB": 2, "mutation_scale": 18,
            },
        )
        if way.locked:
            middle = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
            ax.plot(*middle, marker="s", markersize=9, color=LOCKED_COLOUR, zorder=3)

    legend = [
        Line2D([], [], color=WAY_COLOUR, linewidth=1.6, label=tr(lang, "map.legend.open")),
        Line2D([], [], color=WAY_COLOUR, linewidth=1.6, marker=">", markersize=7, label=tr(lang, "map.legend.one_way")),
        Line2D([], [], color=LOCKED_COLOUR, linewidth=2.2, linestyle=(0, (5, 3)), marker="s", markevery=[1],
               label=tr(lang, "map.legend.locked")),
        Line2D([], [], color=AUDIBLE_COLOUR, linewidth=8, alpha=0.3, label=tr(lang, "map.legend.audible")),
        Line2D([], [], color=PLAYERS_COLOUR, marker="*", linestyle="", markersize=12, label=tr(lang, "map.legend.players")),
    ]
    fig.legend(handles=legend, loc="lower center", ncol=len(legend), frameon=False, prop={"family": families, "size": 11})
    return fig


def render_png(scene: MapScene) -> bytes:
    """The map as PNG bytes. CPU-bound (tens of milliseconds to a second): run it in a worker thread."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = map_figure(scene)
    canvas = FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        if needs_cjk(scene) and not has_cjk_font():
            # Said once in the log rather than once per glyph: names come out as boxes until a font is installed.
            warnings.simplefilter("ignore", UserWarning)
            log.warning("worldmap.no_cjk_font", world=scene.world.id, fonts=", ".join(CJK_FONTS[:4]))
        canvas.draw()  # sizes the place boxes, so that the second pass clips the ways at their edges
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
