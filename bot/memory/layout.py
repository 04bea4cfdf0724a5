"""Prompt assembly under a token budget, in stability order, so that prompts stay small and cacheable.

Sections, first to last:
1. static: world rules, the card, voice, sample exchanges: byte-identical turn after turn;
2. slow (``system``/``memory``): the rolling summary and the facts the summary job wrote down, constant
   lore and what the NPC witnessed off-screen. It is held (``HeldMemory``) for as long as the history
   window does not move: a summary is rewritten every few turns, and each rewrite used to make the
   whole window after it uncacheable (the tune scene of ``bench memory``: 163 of 1,124 prompts
   diverged there). Nothing is lost by holding it: a summary says what has left the window, and
   nothing leaves the window until it jumps. Something newly witnessed off-screen refreshes it at once;
3. history: the lines the NPC heard, from a window start aligned to a multiple of ``WINDOW_CHUNK``
   turns, so the window only moves in jumps and consecutive calls share their whole history prefix;
4. tail (``system``/``director``): what the line in front of the NPC brings to mind (recalled lines
   and facts that are not already in the history window), triggered lore, who is here, moods and the
   instruction: everything that changes every turn.
The budget is never exceeded. Each section has a cap; what goes first when space is short is decided
by rules (the least relevant recollections, then highest-order lore, then the oldest history), never
by cutting the end of the prompt.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.content.models import Character, LoreEntry, World
from bot.core.ports import ChatMessage
from bot.memory.lore import triggered
from bot.memory.novelty import Shown
from bot.memory.prompting import TurnContext, sample_messages, static_system_prompt, turn_instruction
from bot.memory.retrieval import Recalled
from bot.memory.tokens import TokenCounter

WINDOW_CHUNK = 8
REFILL = 0.45
STATIC_SHARE = 0.4
SLOW_SHARE = 0.15
TAIL_SHARE = 0.12
# The estimate runs a few percent under a real BPE count on Chinese prompts (cl100k: 5,793 content
# tokens where it said 5,468 on the zh scene of bench memory), and message framing is approximate.
SAFETY = 0.06
NOTES = 8
# Recalled lines in the tail (within its share of the budget; the lowest-ranked go first when it is full):
# ten, not six, because a paraphrased fact often ranks 7th to 10th (bench memory, tune scene).
RECALLED = 10
# A recalled line longer than this is cut to it: the tail holds several, and a long reply's point is
# rarely at its end.
RECALLED_TOKENS = 110
CUT = " …[cut]"


@dataclass(frozen=True, slots=True)
class Line:
    """A line the NPC heard (or said), with the turn it belongs to."""

    id: int
    turn_seq: int
    speaker: str
    text: str
    own: bool = False


@dataclass(frozen=True, slots=True)
class HeldMemory:
    """The memory block shown with a window start, reused until the window jumps or the NPC witnesses
    something new off-screen (the engine keeps the last one per scene and character, and forgets it on
    rewinds, resets and edits)."""

    window_start: int
    told: tuple[str, ...]
    text: str


@dataclass
class PromptInputs:
    """Everything one NPC call is built from; gathered by the engine, assembled here without I/O."""

    character: Character
    world: World
    scene_name: str
    lines: Sequence[Line]
    turn: TurnContext
    now_seq: int
    budget: int
    summary: str | None = None
    notes: Sequence[str] = ()
    recalled: Sequence[Recalled] = ()
    told: Sequence[str] = ()
    lore: Sequence[LoreEntry] = ()
    persona: str | None = None  # the players this NPC hears, as their personas describe them (``user_system``)
    persona_name: str | None = None  # the persona's name when there is one player, else None (a list)
    window_start: int | None = None
    held_memory: HeldMemory | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))


@dataclass
class Assembled:
    """The messages, their token count per section, and what was left out."""

    messages: list[ChatMessage]
    tokens: int
    sections: dict[str, int]
    dropped: dict[str, int]
    memory_ids: set[int]
    window_start: int
    held_memory: HeldMemory


def _clip(counter: TokenCounter, text: str, limit: int) -> str:
    """Cut a text to ``limit`` tokens at a stable place (the same text always cuts the same way)."""
    if limit <= 0:
        return ""
    if counter.text(text) <= limit:
        return text
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if counter.text(text[:mid] + CUT) <= limit:
            low = mid
        else:
            high = mid - 1
    return text[:low] + CUT if low else ""


def _static(inputs: PromptInputs, counter: TokenCounter, cap: int) -> tuple[list[ChatMessage], int]:
    character = inputs.character
    system = static_system_prompt(character, inputs.world)
    samples = sample_messages(character)
    head = []
    if inputs.persona:
        head.append(ChatMessage("user_system", inputs.persona, name=inputs.persona_name))
    head.append(ChatMessage("group", inputs.scene_name))
    dropped = 0
    while samples and counter.messages([ChatMessage("system", system), *head, *samples]) > cap:
        samples = samples[:-2]
        dropped += 1
    messages = [ChatMessage("system", system), *head, *samples]
    over = counter.messages(messages) - cap
    if over > 0:
        messages[0] = ChatMessage("system", _clip(counter, system, counter.text(system) - over - 8))
    return messages, dropped


def _slow(inputs: PromptInputs, counter: TokenCounter, cap: int, constant: Sequence[LoreEntry]) -> tuple[str, int]:
    """The memory block; parts are dropped from the least important up until it fits.

    It changes only when the summary job writes (every ``summary_every`` turns), since the notes are
    the ones written with the summary; everything newer reaches the prompt through the tail.
    """
    name = inputs.character.name
    parts: list[tuple[str, list[str]]] = []
    if inputs.summary:
        parts.append(("So far", [inputs.summary]))
    if inputs.notes:
        parts.append(("Known", list(inputs.notes)[-NOTES:]))
    if inputs.told:
        parts.append(("You witnessed", list(inputs.told)))
    if constant:
        parts.append(("Lore", [e.content for e in constant]))

    def render(sections: list[tuple[str, list[str]]]) -> str:
        body = [f"[What {name} remembers; bring it up when it fits]"]
        for title, items in sections:
            if title == "So far":
                body.append(f"{title}: {items[0]}")
            elif items:
                body.append(f"{title}:\n" + "\n".join(f"- {i}" for i in items))
        return "\n".join(body) if len(body) > 1 else ""

    def cost(text: str) -> int:
        return counter.message(ChatMessage("system", text, name="memory"))

    dropped = 0
    text = render(parts)
    # Drop from the end of each list, lore first, then witnessed, then facts; the summary is clipped last.
    for title in ("Lore", "You witnessed", "Known"):
        for section in parts:
            while section[0] == title and section[1] and cost(text) > cap:
                section[1].pop()
                dropped += 1
                text = render(parts)
    if cost(text) > cap:
        text = _clip(counter, text, cap - (cost(text) - counter.text(text)))
    return text, dropped


def _tail(
    inputs: PromptInputs, counter: TokenCounter, cap: int, fired: Sequence[LoreEntry], window: Sequence[Line]
) -> tuple[str, set[int], int]:
    """The per-turn block, within ``cap`` as a message (``director``). A recalled line already in the history
    ``window``, or saying, as far as it is shown, only what the window or a better-ranked recalled line says
    (``bot.memory.novelty``), is left out."""
    in_window = {line.id for line in window}
    shown = Shown(line.text for line in window)
    facts: list[Recalled] = []
    rendered: dict[int, str] = {}
    for r in inputs.recalled:
        if len(facts) >= RECALLED:
            break
        if r.item_id in in_window:
            continue
        text = _clip(counter, r.render(), RECALLED_TOKENS)
        # judged on what the prompt will show of it: a cut line must not stand for the part that was cut
        if shown.adds(text[len(r.render()) - len(r.text):].removesuffix(CUT)):
            facts.append(r)
            rendered[r.item_id] = text
    lore = list(fired)
    instruction = turn_instruction(inputs.character, inputs.world, inputs.turn)

    def render() -> str:
        blocks = []
        if facts:
            # Oldest first, as a memory reads; the order does not change which are kept when space is short.
            ordered = sorted(facts, key=lambda r: (r.turn_seq, r.item_id))
            blocks.append("[You recall]\n" + "\n".join(f"- {rendered[r.item_id]}" for r in ordered))
        if lore:
            blocks.append("[Lore]\n" + "\n".join(f"- {e.content}" for e in lore))
        blocks.append(instruction)
        return "\n".join(blocks)

    def cost(text: str) -> int:
        return counter.message(ChatMessage("system", text, name="director"))

    dropped = 0
    text = render()
    while cost(text) > cap and (lore or facts):
        if lore:
            lore.pop()  # the highest order goes first: the author ranked it last
        else:
            facts.pop()
        dropped += 1
        text = render()
    if cost(text) > cap:
        instruction = _clip(counter, instruction, cap - (cost(instruction) - counter.text(instruction)))
        text = instruction
    return text, {r.item_id for r in facts}, dropped


def _message(line: Line) -> ChatMessage:
    """A history line as the model sees it: the NPC's own lines as its turns, everyone else's by name."""
    return ChatMessage("assistant", line.text) if line.own else ChatMessage("user", line.text, name=line.speaker)


def _window(
    lines: Sequence[Line], counter: TokenCounter, budget: int, previous_start: int | None
) -> tuple[list[Line], int, int]:
    """The history window: (lines, lines left out, start turn).

    The start stays where it was while the window still fits (so consecutive calls share their whole
    history); when it overflows it jumps to the chunk-aligned turn that leaves the window about half
    full, so the next jump is far away. Over-long lines are clipped to a quarter of the budget.
    """
    limit = max(64, budget // 4)
    clipped: list[Line] = []
    costs: list[int] = []  # exactly what each history message costs (``counter.message(_message(line))``)
    for line in lines:
        tokens = counter.text(line.text)
        if tokens > limit:
            line = Line(line.id, line.turn_seq, line.speaker, _clip(counter, line.text, limit), line.own)
            tokens = counter.text(line.text)
        clipped.append(line)
        costs.append(counter.entry(tokens, None if line.own else line.speaker))
    if not clipped:
        return [], 0, previous_start or 0
    suffix = [0] * (len(clipped) + 1)
    for i in range(len(clipped) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + costs[i]

    def first_at(seq: int) -> int:
        for index, line in enumerate(clipped):
            if line.turn_seq >= seq:
                return index
        return len(clipped)

    if previous_start is not None and previous_start >= clipped[0].turn_seq:
        first = first_at(previous_start)
        if suffix[first] <= budget:
            return clipped[first:], first, previous_start
    if suffix[0] <= budget and previous_start is None:
        start = clipped[0].turn_seq - clipped[0].turn_seq % WINDOW_CHUNK
        return clipped, 0, start
    target = budget * REFILL
    seq = clipped[0].turn_seq - clipped[0].turn_seq % WINDOW_CHUNK
    last_seq = clipped[-1].turn_seq
    while seq <= last_seq:
        first = first_at(seq)
        if suffix[first] <= target:
            return clipped[first:], first, seq
        seq += WINDOW_CHUNK
    first = len(clipped) - 1
    return clipped[first:], first, clipped[-1].turn_seq


def assemble(inputs: PromptInputs, counter: TokenCounter | None = None) -> Assembled:
    """Build one NPC call's messages within ``inputs.budget`` tokens."""
    counter = counter or TokenCounter()
    budget = int(inputs.budget * (1 - SAFETY))
    scan = "\n".join(line.text for line in list(inputs.lines)[-4:])
    constant, fired = triggered(list(inputs.lore), scan, inputs.rng)

    static, dropped_samples = _static(inputs, counter, int(budget * STATIC_SHARE))
    # The history gets what the static part, the memory block as shown and the tail's cap leave. The
    # memory block is held until the window jumps, so between jumps the history budget does not wobble
    # from turn to turn and move the window (which would break the cached prefix); when the block is
    # rebuilt, the window is fitted to the new block. Reserving the block's cap instead, as before, left
    # the space a short summary does not use empty in every prompt (tune scene of bench memory: a
    # 170-token block against an 850-token cap, prompts at 74% of their budget).
    static_tokens = counter.messages(static)
    tail_cap = int(budget * TAIL_SHARE)
    slow_cap = int(budget * SLOW_SHARE)

    def slow_cost(slow_text: str) -> int:
        return counter.message(ChatMessage("system", slow_text, name="memory")) if slow_text else 0

    def fitted(slow_text: str, previous_start: int | None) -> tuple[list[Line], int, int]:
        return _window(inputs.lines, counter, max(0, budget - static_tokens - slow_cost(slow_text) - tail_cap), previous_start)

    held = inputs.held_memory
    previous_start = inputs.window_start
    dropped_slow = 0
    # a held block is shown again while the window stays put, nothing new was witnessed and it still leaves the
    # tail its room (checked against the whole budget, not the block's cap: the counter's calibration moves a
    # little every call, and a block written just under its cap must not be rebuilt, with a newer summary,
    # because of that; it does stop a block written for a larger budget than this call's)
    if held is not None and held.told == tuple(inputs.told) and static_tokens + slow_cost(held.text) + tail_cap <= budget:
        window, dropped_lines, start = fitted(held.text, previous_start)
        slow_text = held.text
        if start != held.window_start:
            # the window jumped: the block is rebuilt, and the history is fitted to it from the jump's start
            # (fitted from the old start, a smaller new block could let the old start fit again, changing the
            # block without the jump that pays for it)
            previous_start = start
            held = None
    else:
        held = None
    if held is None:
        slow_text, dropped_slow = _slow(inputs, counter, slow_cap, constant)
        window, dropped_lines, start = fitted(slow_text, previous_start)
    tail_text, recalled_ids, dropped_tail = _tail(inputs, counter, tail_cap, fired, window)

    slow = [ChatMessage("system", slow_text, name="memory")] if slow_text else []
    tail = [ChatMessage("system", tail_text, name="director")]
    history = [_message(line) for line in window]
    messages = [*static, *slow, *history, *tail]
    total = counter.messages(messages)
    while total > budget and history:
        history.pop(0)
        dropped_lines += 1
        messages = [*static, *slow, *history, *tail]
        total = counter.messages(messages)
    sections = {
        "static": counter.messages(static),
        "slow": counter.messages(slow) if slow else 0,
        "history": counter.messages(history) if history else 0,
        "tail": counter.messages(tail),
    }
    return Assembled(
        messages=messages,
        tokens=total,
        sections=sections,
        dropped={"samples": dropped_samples, "slow": dropped_slow, "tail": dropped_tail, "history_lines": dropped_lines},
        memory_ids=recalled_ids,
        window_start=start,
        held_memory=HeldMemory(start, tuple(inputs.told), slow_text),
    )
