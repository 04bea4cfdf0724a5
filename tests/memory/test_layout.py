"""Prompt layout: stability order, byte-identical prefix, and a budget that holds under adversarial input."""

from __future__ import annotations

import random

from engine.conftest import WORLD, character

from bot.content.models import LoreEntry
from bot.memory.layout import Line, PromptInputs, assemble
from bot.memory.prompting import PresentCharacter, TurnContext
from bot.memory.retrieval import Recalled
from bot.memory.tokens import TokenCounter

ADA = character("ada", "Ada")


def inputs(lines, *, now=None, budget=6000, recalled=(), notes=(), lore=(), present=(), summary=None, window_start=None, told=(), held_memory=None):
    return PromptInputs(
        character=ADA,
        world=WORLD,
        scene_name="Manor",
        lines=lines,
        turn=TurnContext(WORLD.location("hall"), list(present), "calm", 0.3, ["Ann"]),
        now_seq=now if now is not None else (lines[-1].turn_seq if lines else 0),
        budget=budget,
        summary=summary,
        recalled=recalled,
        notes=notes,
        lore=lore,
        window_start=window_start,
        told=told,
        held_memory=held_memory,
        rng=random.Random(0),
    )


def talk(n: int, start: int = 0) -> list[Line]:
    return [Line(i + 1, (i + start) // 2, "Ann" if i % 2 == 0 else "Ada", f"line {i} about the weather", own=i % 2 == 1) for i in range(n)]


def test_sections_in_stability_order():
    """static (system, group, samples) -> memory -> history -> director."""
    built = assemble(inputs(talk(6), summary="They met in the hall."))
    roles = [(m.role, m.name) for m in built.messages]
    assert roles[0] == ("system", None) and roles[1][0] == "group"
    memory_at = roles.index(("system", "memory"))
    assert all(r[0] in ("user", "assistant") for r in roles[memory_at + 1 : -1])
    assert roles[-1] == ("system", "director")


def test_a_rewritten_summary_waits_for_the_window_to_jump():
    """While the window stays put, a new summary does not change the prompt before the tail; something
    newly witnessed off-screen does; once the window jumps, the new summary is shown."""
    counter = TokenCounter()
    first = assemble(inputs(talk(10), summary="They met in the hall."), counter)
    held = first.held_memory
    second = assemble(inputs(talk(12), summary="They met in the hall and argued.", window_start=first.window_start, held_memory=held), counter)
    assert second.window_start == first.window_start
    assert second.messages[: len(first.messages) - 1] == first.messages[:-1]
    assert "argued" not in "\n".join(m.content for m in second.messages)
    witnessed = assemble(
        inputs(talk(12), summary="They met in the hall and argued.", told=["Bram left for the garden."], window_start=first.window_start, held_memory=held),
        counter,
    )
    memory = next(m.content for m in witnessed.messages if m.name == "memory")
    assert "argued" in memory and "garden" in memory
    previous, start, lines = first, first.window_start, 10
    while start == first.window_start:  # talk until the window jumps
        lines += 6
        previous = assemble(inputs(talk(lines), summary="They met in the hall and argued.", window_start=start, held_memory=previous.held_memory), counter)
        start = previous.window_start
    assert "argued" in next(m.content for m in previous.messages if m.name == "memory")


def test_consecutive_calls_share_the_whole_prefix():
    """Appending lines keeps every earlier message byte-identical; only the tail changes."""
    counter = TokenCounter()
    first = assemble(inputs(talk(10)), counter)
    second = assemble(inputs(talk(14), window_start=first.window_start), counter)
    assert second.messages[: len(first.messages) - 1] == first.messages[:-1]


def test_window_moves_in_jumps_not_every_turn():
    """Once full, the history window jumps to about half and then stays put for many turns."""
    counter = TokenCounter()
    lines = talk(3000)
    starts = []
    window = None
    for end in range(1200, 3000, 2):
        built = assemble(inputs(lines[:end], budget=3000, window_start=window), counter)
        window = built.window_start
        starts.append(window)
    moves = sum(1 for a, b in zip(starts, starts[1:], strict=False) if a != b)
    assert 0 < moves < len(starts) / 20


def test_budget_holds_for_a_huge_message_many_npcs_and_huge_lore():
    """A 20,000-character line, 30 NPCs present, 200 lore entries that all fire: never over budget."""
    huge = Line(999, 50, "Ann", "word " * 4000)
    present = [PresentCharacter(f"Npc{i}", "calm", "an old friend with a long story " * 3) for i in range(30)]
    lore = [LoreEntry(keys=["word"], content=f"Lore entry {i}: " + "history " * 80, order=i) for i in range(200)]
    recalled = [Recalled(5000 + i, i, "Ann", f"I promise word {i} " + "detail " * 400, "user", 1.0 / (i + 1)) for i in range(300)]
    notes = [f"Ann promised word {i} " + "detail " * 40 for i in range(300)]
    for budget in (1000, 2500, 6000):
        built = assemble(inputs([*talk(40), huge], budget=budget, recalled=recalled, notes=notes, lore=lore, present=present, summary="s " * 3000))
        assert built.tokens <= budget, (budget, built.tokens, built.sections)
    assert "…[cut]" in "\n".join(m.content for m in built.messages)


def test_notes_sit_in_the_slow_block_and_recollections_not_in_the_window_in_the_tail():
    """Written-down facts are in the memory block; recalled lines come in the tail, oldest first, and a
    recalled line that is already in the history window is not repeated (its slot goes to the next one)."""
    notes = ["Ann's uncle repairs clocks in Wexmoor.", "Ann fears deep water."]
    lines = [*talk(4), Line(90, 40, "Ann", "Ada, where is the silver locket?")]
    recalled = [
        Recalled(3, 1, "Ann", "line 2 about the weather", "user", 0.9),  # in the window already
        Recalled(-7, 30, "", "Ann hid the silver locket under the chapel floorboard.", "note", 0.8),
        Recalled(1001, 12, "Ann", "I buried my brother's boots by the mill.", "user", 0.7),
    ]
    built = assemble(inputs(lines, now=40, notes=notes, recalled=recalled))
    slow = next(m.content for m in built.messages if m.name == "memory")
    tail = built.messages[-1].content
    assert all(n in slow for n in notes)
    assert "chapel floorboard" in tail and "(turn 12) Ann: I buried" in tail
    assert tail.index("(turn 12)") < tail.index("chapel floorboard")
    assert "line 2 about the weather" not in tail
    assert built.memory_ids == {-7, 1001}


def test_a_recalled_line_that_only_repeats_what_is_shown_is_left_out():
    """A character's refrain recalled again and again adds nothing: a recalled line whose every sentence the
    history window or a better-ranked recalled line already shows gets no slot; one new sentence keeps it."""
    refrain = "*She ties off a knot.* Slack water is at midnight. Ask me again then."
    lines = [*talk(4), Line(50, 20, "Mira", refrain), Line(90, 40, "Ann", "Ada, when does the tide turn?")]
    recalled = [
        Recalled(700, 10, "Mira", "Slack water is at midnight! *She ties off a knot.* Ask me again then.", "user", 0.9),
        Recalled(701, 11, "Mira", "Slack water is at midnight. My brother drowned at the Gannet rocks.", "user", 0.8),
        Recalled(702, 12, "Mira", "My brother drowned at the Gannet rocks. Ask me again then.", "user", 0.7),
        Recalled(703, 13, "Ann", "I keep my father's compass in my left boot.", "user", 0.6),
    ]
    built = assemble(inputs(lines, now=40, recalled=recalled))
    tail = built.messages[-1].content
    assert "(turn 10)" not in tail  # every sentence is in the window's refrain
    assert "(turn 11)" in tail and "Gannet rocks" in tail
    assert "(turn 12)" not in tail  # said by the better-ranked turn-11 line and the window
    assert "(turn 13)" in tail and built.memory_ids == {701, 703}


def test_the_history_uses_the_space_a_short_memory_block_leaves():
    """The history is budgeted with the memory block as shown, not with the block's cap: a two-line summary
    leaves its unused space to the history (the prompt stays within budget either way)."""
    counter = TokenCounter()
    lines = talk(2004)[:2000]
    short = assemble(inputs(lines, budget=4000, summary="They met in the hall."), counter)
    long = assemble(inputs(lines, budget=4000, summary="They met in the hall. " * 80), counter)
    assert short.tokens <= 4000 and long.tokens <= 4000
    assert short.sections["slow"] < long.sections["slow"]
    # a fresh window is filled to a share of its budget (REFILL), so a third of the difference shows
    assert short.sections["history"] - long.sections["history"] >= (long.sections["slow"] - short.sections["slow"]) / 3
    # held with its window, the history budget stays put: the next call keeps the window start
    nxt = assemble(inputs(talk(2004), budget=4000, summary="New.", window_start=short.window_start, held_memory=short.held_memory), counter)
    assert nxt.window_start == short.window_start
    assert nxt.messages[: len(short.messages) - 1] == short.messages[:-1]


def _play(speaker: str, turns: int, *, budget: int, summary_at=lambda t: "They met.", recalled_at=lambda t: ()):
    """Consecutive calls of one NPC as a scene grows: each call's Assembled, in order."""
    counter = TokenCounter()
    lines, built, previous = [], [], None
    for i in range(turns * 2):
        lines.append(Line(i + 1, i // 2, speaker if i % 2 == 0 else "Ada", f"line {i} about the weather and the sea today", own=i % 2 == 1))
        if i % 2 == 0:
            continue
        t = i // 2
        previous = assemble(
            inputs(list(lines), budget=budget, summary=summary_at(t), recalled=list(recalled_at(t)),
                   window_start=previous.window_start if previous else None, held_memory=previous.held_memory if previous else None),
            counter,
        )
        built.append(previous)
    return built


def test_between_jumps_the_prefix_holds_whatever_the_names_and_a_full_tail():
    """Each history line is budgeted at what its message costs (a long or Chinese speaker name included) and the
    tail at what the director message costs, so no call is trimmed line by line: while the window stays, every
    message before the tail is the previous call's."""
    def full_tail(t):
        return [Recalled(10_000 + t * 20 + j, max(0, t - 50 - j), "Ann", f"Fact {t}-{j}: the keeper hid a brass key under step {j}.", "user", 0.9 - j / 100) for j in range(10)]

    for speaker in ("Bartholomew Fitzgerald", "老周先生", "老周"):
        built = _play(speaker, 300, budget=3000, recalled_at=full_tail)
        assert all(b.tokens <= int(3000 * 0.94) for b in built)
        kept = [(a, b) for a, b in zip(built, built[1:], strict=False) if a.window_start == b.window_start]
        assert kept and all(b.messages[: len(a.messages) - 1] == a.messages[:-1] for a, b in kept), speaker
        assert len(kept) > len(built) * 0.8


def test_a_rebuilt_memory_block_comes_with_the_jump_that_pays_for_it():
    """When the window jumps, the memory block is rebuilt and the history is fitted from the jump's start: a
    much shorter new summary must not let the old start fit again (which would change the block, breaking the
    cached prefix, without moving the window, and bring the next jump close)."""
    built = _play("Ann", 200, budget=3000, summary_at=lambda t: "They met in the hall. " * (40 if t < 100 else 1))
    for a, b in zip(built, built[1:], strict=False):
        if a.sections["slow"] != b.sections["slow"]:
            assert b.window_start != a.window_start, "the block changed without a jump"


def test_a_cut_recalled_line_does_not_stand_for_what_was_cut():
    """A long recalled line is cut to its first tokens; a better-ranked line judged on its whole text would hide
    a later line that says what the cut removed. Novelty is judged on what the prompt shows."""
    story = " ".join(f"Sentence number {i} of my long story about the old harbour." for i in range(40))
    recalled = [
        Recalled(700, 5, "Mira", story + " The key is under the third step.", "user", 0.9),
        Recalled(701, 6, "Mira", "The key is under the third step.", "user", 0.8),
    ]
    built = assemble(inputs(talk(6, start=20), recalled=recalled))
    tail = built.messages[-1].content
    assert "…[cut]" in tail and "third step" in tail and built.memory_ids == {700, 701}


def test_a_held_block_is_not_rebuilt_because_the_calibration_moved():
    """The counter's ratio moves a little with every reported usage; a memory block written just under its cap
    stays held (rebuilt, it would bring a newer summary and break the cached prefix without a jump)."""
    counter = TokenCounter()
    lines = talk(40)
    first = assemble(inputs(lines, budget=3000, summary="They met in the hall. " * 200), counter)
    counter.ratio = 1.05
    second = assemble(
        inputs(talk(42), budget=3000, summary="A newer summary.", window_start=first.window_start, held_memory=first.held_memory), counter
    )
    memory = next(m.content for m in second.messages if m.name == "memory")
    assert "They met in the hall." in memory and "newer" not in memory
