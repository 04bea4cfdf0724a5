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
