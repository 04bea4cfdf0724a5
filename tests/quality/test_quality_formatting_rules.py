"""Formatting: a bracket opened and never closed (a status line cut off) is broken; smileys, list markers and
asides over several paragraphs are not.

The examples are written for this test, not taken from the labelled sets in ``data/``.
"""

from __future__ import annotations

import pytest

from bot.quality.detectors import formatting
from bot.quality.findings import ReplyContext

CTX = ReplyContext(npc_name="Quill", user_names=("Ines",))
CTX_ZH = ReplyContext(npc_name="老周", user_names=("阿宁",), language="zh")


def codes(text: str, ctx: ReplyContext) -> list[str]:
    return [f.code for f in formatting.detect(text, ctx)]


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        ("【电量 40% / 信号 弱 “前面就是隧道口了。”*老周把车灯调亮。*", CTX_ZH),
        ('[DEPTH 120 m | AIR 61%\n"Keep breathing slow, Ines."', CTX),
        ('"Left at the fork." *Quill checks the map (the old one, with the coffee stain.*', CTX),
        ("“就这儿。”）*老周把伞收了起来。*", CTX_ZH),
    ],
)
def test_an_unclosed_or_unopened_bracket_is_flagged(text: str, ctx: ReplyContext) -> None:
    assert "unbalanced_brackets" in codes(text, ctx)


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        ('[DEPTH 120 m | AIR 61% | ETA 00:38]\n"Keep breathing slow, Ines."', CTX),
        ('"You did it :) I knew you would." *Quill grins.*', CTX),
        ('"Two ways out:\n1) the hatch\n2) the vent. Pick one." *Quill waits.*', CTX),
        ("“设成新函数g(x)，求最小值就行。”*老周在纸上画了一条线。*", CTX_ZH),
        ("（我先把话说在前头：\n\n明天的船不等人。）“记住了？”", CTX_ZH),
    ],
)
def test_balanced_brackets_smileys_and_lists_are_not_flagged(text: str, ctx: ReplyContext) -> None:
    assert "unbalanced_brackets" not in codes(text, ctx)


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        ('```\n*Quill taps the chart twice.* "North, then."\n```', CTX),
        ('"Hold the lamp." \n```\n*Quill climbs down the ladder.*\n```\n"Still there?"', CTX),
        ("```\n（老周把伞收起来。）“雨停了，走吧。”\n```", CTX_ZH),
    ],
)
def test_the_story_wrapped_in_a_code_block_is_flagged(text: str, ctx: ReplyContext) -> None:
    found = [f for f in formatting.detect(text, ctx) if f.code == "markup"]
    assert found
    assert "```" not in (found[0].replacement or "")


@pytest.mark.parametrize(
    "text",
    [
        '*Quill turns the terminal around.*\n```\n> scan --deep sector7\nNO SIGNAL\n```\n"Nothing out there."',
        '"The code is `4471`." *Quill slides the note across.*',
    ],
)
def test_a_terminal_readout_in_a_code_block_is_not_flagged(text: str) -> None:
    assert "markup" not in codes(text, CTX)


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        ('# Part Two: The Harbour\n*Quill ties off the line.* "Tide\'s turning."', CTX),
        ('*Quill ties off the line.*\n\n### Interlude\n"Tide\'s turning."', CTX),
        ("## 第七章　雨夜\n“前面就是隧道口了。”*老周把车灯调亮。*", CTX_ZH),
    ],
)
def test_a_markdown_heading_is_flagged(text: str, ctx: ReplyContext) -> None:
    assert "markup" in codes(text, ctx)


@pytest.mark.parametrize(
    "text",
    [
        '*Quill points at the board.* "Post it in #dock-crew, not here."',
        '"Pier #4, by the red crane." *Quill waves at it.*',
        '*The sign on the hatch reads* "#12 — CREW ONLY".',
    ],
)
def test_channel_names_and_numbers_are_not_headings(text: str) -> None:
    assert "markup" not in codes(text, CTX)


@pytest.mark.parametrize(
    ("text", "ctx", "fill"),
    [
        ('*Quill hands {{user}} the oar.* "Row."', CTX, "Ines"),
        ('"I\'m {{char}}, and this is my boat."', CTX, "Quill"),
        ("*老周把{{user}}拉到身后。*“别动。”", CTX_ZH, "阿宁"),
        ('*{user} is already at the door.* "Wait."', CTX, "Ines"),
        ('"Take {{random::the left|the right}} passage." *Quill shrugs.*', CTX, None),
    ],
)
def test_an_unfilled_template_placeholder_is_flagged(text: str, ctx: ReplyContext, fill: str | None) -> None:
    found = [f for f in formatting.detect(text, ctx) if f.code == "placeholder"]
    assert found and found[0].replacement == fill


@pytest.mark.parametrize(
    "text",
    [
        '"The set is {1, 2, 3}, Ines." *Quill chalks it up.*',
        '*Quill scribbles* "f(x) = {x | x > 0}" *on the slate.*',
    ],
)
def test_braces_that_are_not_placeholders_are_not_flagged(text: str) -> None:
    assert "placeholder" not in codes(text, CTX)


@pytest.mark.parametrize(
    "text",
    [
        '*Quill turns the laptop.*\n```python\nprint("hello world")\nx = a * b * c\n```\n"See? It runs."',
        '"Here\'s the config." \n```\nname = "harbour relay"\nretries = 3\n```',
        '*Quill types.*\n```\ndef f(*args, **kwargs):\n    return None\n```',
    ],
)
def test_code_with_string_literals_in_a_code_block_is_not_story_text(text: str) -> None:
    assert "markup" not in codes(text, CTX)


@pytest.mark.parametrize(
    ("text", "ctx", "fill"),
    [
        ('"Welcome aboard, [Your Name]." *Quill bows.*', CTX, "Ines"),
        ('*Quill signs the log:* "[Character Name] was here."', CTX, "Quill"),
        ('"Dear [insert recipient here], the boat is late."', CTX, None),
        ("“欢迎你，【用户名】。”*老周拱了拱手。*", CTX_ZH, "阿宁"),
    ],
)
def test_a_bracketed_template_slot_is_a_placeholder(text: str, ctx: ReplyContext, fill: str | None) -> None:
    found = [f for f in formatting.detect(text, ctx) if f.code == "placeholder"]
    assert found and found[0].replacement == fill


@pytest.mark.parametrize(
    "text",
    [
        '[SLATE: ASK THE USHER]\n*Quill wipes the chalk off.*',
        '*The badge reads* "[NAME TAG: Ines]". *Quill squints at it.*',
        '"Your name?" *Quill holds the pen over the form.* "[Name] goes in the top box, I mean."',
    ],
)
def test_bracketed_status_lines_and_labels_are_not_placeholders(text: str) -> None:
    assert "placeholder" not in codes(text, CTX)


def test_a_fence_on_the_same_line_as_the_story_is_flagged() -> None:
    assert "markup" in codes('```*Quill ties off the line.*``` "Tide\'s turning."', CTX)
