"""Guards: repair, one regeneration at most, accept; the policy, the counters and the log line."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from structlog.testing import capture_logs

from bot.quality.detect import detect_all
from bot.quality.findings import ReplyContext
from bot.quality.guard import GuardPolicy, GuardStats, decide, guard_reply, repair

CTX = ReplyContext(
    npc_name="Mira", user_names=["Alex"], other_names=["Bob"], language="en", min_words=8, max_words=60
)
ZH_CTX = ReplyContext(
    npc_name="苏婉", user_names=["林夏"], other_names=["老陈"], language="zh", min_words=8, max_words=200
)

GOOD = '"Stay a while," Mira says softly, pulling a chair closer to the fire. "Tell me about the road."'
REFUSAL = "As an AI language model, I cannot continue this roleplay."


def _decide(
    reply: str, ctx: ReplyContext = CTX, policy: GuardPolicy | None = None, regenerated: bool = False
):
    return decide(detect_all(reply, ctx), policy or GuardPolicy(), regenerated, reply=reply, ctx=ctx)


class Regenerator:
    """A regenerate callback that counts its calls and returns scripted replies."""

    def __init__(self, *replies: str, fail: bool = False) -> None:
        self.replies = list(replies)
        self.calls: list[str] = []
        self.fail = fail

    async def __call__(self, instruction: str) -> str:
        self.calls.append(instruction)
        if self.fail:
            raise TimeoutError("model down")
        return self.replies.pop(0) if self.replies else GOOD


# --- repair ---------------------------------------------------------------------------------------


def test_repair_cuts_a_you_clause_and_keeps_the_npc_line() -> None:
    """Only the clause narrating the user goes; the NPC's speech and the sentence end stay."""
    reply = '"Come here," she says, and you walk over to her.'
    assert repair(reply, detect_all(reply, CTX)) == '"Come here," she says.'


def test_repair_cuts_chinese_clause() -> None:
    """A Chinese clause narrating the user is cut at its comma, the full stop stays."""
    reply = "她笑了笑，你走过去握住她的手。“今天风真大，进屋吧。”"
    findings = [f for f in detect_all(reply, ZH_CTX) if f.detector == "speaks_for_user"]
    assert repair(reply, findings) == "她笑了笑。“今天风真大，进屋吧。”"


def test_repair_returns_none_when_nothing_valid_remains() -> None:
    """Cutting every sentence leaves no reply."""
    reply = "You walk over and take her hand. You feel your heart race."
    findings = [f for f in detect_all(reply, CTX) if f.detector == "speaks_for_user"]
    assert repair(reply, findings) is None


def test_repair_strips_think_blocks_and_closes_quotes() -> None:
    """Leaked reasoning is cut and an unclosed quote or asterisk is closed at the end of its paragraph."""
    reply = '<think>The user wants comfort.</think>"Hello there, stranger," Mira says, *waving at the door'
    findings = detect_all(reply, CTX)
    assert repair(reply, findings) == '"Hello there, stranger," Mira says, *waving at the door*'
    reply = 'Mira smiles. "Come with me, the night is young.'
    assert repair(reply, detect_all(reply, CTX)) == 'Mira smiles. "Come with me, the night is young."'


def test_repair_cuts_the_turn_after_a_role_tag() -> None:
    """Text after a tag that opens the user's turn is the model writing that turn: cut to the end."""
    reply = '"Welcome back," Mira says with a warm smile. <|im_end|>\n<|im_start|>user\nThanks!'
    assert repair(reply, detect_all(reply, CTX)) == '"Welcome back," Mira says with a warm smile.'


def test_repair_cuts_other_character_lines() -> None:
    """A header of another character is cut with its lines."""
    reply = 'Mira laughs. "Fine, fine. You win this round, I suppose."\nBob: I told you so.'
    assert (
        repair(reply, detect_all(reply, CTX)) == 'Mira laughs. "Fine, fine. You win this round, I suppose."'
    )


# --- decide ---------------------------------------------------------------------------------------


def test_decide_repairs_when_the_rest_stands() -> None:
    """speaks_for_user: the cut is enough, no model call is asked for."""
    reply = 'Mira sets down the lantern and looks around the empty hall. "We should go before the guards return." You nod and follow her.'
    d = _decide(reply)
    assert d.action == "repair" and d.instruction is None
    assert (
        d.text
        == 'Mira sets down the lantern and looks around the empty hall. "We should go before the guards return."'
    )
    assert d.actions == ("repair",)


def test_decide_regenerates_when_cutting_leaves_too_little() -> None:
    """speaks_for_user: when the cut leaves a stub, regenerate with a corrective instruction."""
    d = _decide('Mira nods. "Fine." You take her hand and pull her close, your heart racing.')
    assert d.action == "regenerate"
    assert d.instruction is not None
    assert "Write only as Mira" in d.instruction and "Alex" in d.instruction


def test_decide_after_regeneration_repairs_or_accepts() -> None:
    """With the regeneration spent, a repairable finding is repaired, an unrepairable one accepted."""
    d = _decide(
        'Mira nods. "Fine." You take her hand and pull her close, your heart racing.', regenerated=True
    )
    assert d.action == "repair" and d.text == 'Mira nods. "Fine."'
    d = _decide(REFUSAL, regenerated=True)
    assert d.action == "accept" and d.text == REFUSAL and set(d.actions) == {"accept"}


@pytest.mark.parametrize(
    ("reply", "detector"),
    [
        (REFUSAL, "assistant_voice"),
        ('Mira smiles. "Let\'s go. 我们走吧，外面要下雨了，别再磨蹭了。"', "mixed_language"),
        (
            '"I love you. I love you. I love you. I love you." Mira whispers, her voice breaking.',
            "repetition",
        ),
    ],
)
def test_decide_regenerates_by_default(reply: str, detector: str) -> None:
    """assistant_voice, mixed_language and repetition ask for one regeneration by default."""
    d = _decide(reply)
    assert d.action == "regenerate"
    assert detector in {f.detector for f in d.findings}


def test_decide_accepts_silence_and_short_replies() -> None:
    """Silence and a too-short reply are only counted."""
    d = _decide("She stares out of the window, silent, the rain tapping against the glass.")
    assert d.action == "accept" and d.actions == ("accept",)
    d = _decide('"Fine."')
    assert d.action == "accept"


def test_decide_trims_a_too_long_reply() -> None:
    """length: trimmed at the last sentence boundary within range."""
    reply = " ".join(
        f"Mira tells you about harbour number {i}, and the ships that came in every spring." for i in range(8)
    )
    reply = '"Listen," Mira says. ' + reply
    d = _decide(reply)
    assert d.action == "repair"
    assert len(d.text.split()) <= 60
    assert d.text.endswith("spring.")


def test_policy_overrides_per_world() -> None:
    """A world may accept what the defaults repair, or never regenerate."""
    reply = 'Mira sets down the lantern. "We should go before the guards return." You nod and follow her.'
    assert _decide(reply, policy=GuardPolicy(speaks_for_user="accept")).action == "accept"
    assert _decide(REFUSAL, policy=GuardPolicy(allow_regenerate=False)).action == "accept"
    relaxed = GuardPolicy(act_on="high", if_repair_fails={"speaks_for_user": "accept"})
    assert relaxed.if_repair_fails["assistant_voice"] == "regenerate"
    clause = '"Come here," she says, smiling as the fire crackles in the hearth, and you walk over to her.'
    assert _decide(clause).action == "repair"
    assert _decide(clause, policy=relaxed).action == "accept"


def test_policy_forbids_unknown_keys_and_actions() -> None:
    """A typo in a world's guard policy is an error that names the field."""
    with pytest.raises(ValidationError, match="speaks_for_usr"):
        GuardPolicy.model_validate({"speaks_for_usr": "repair"})
    with pytest.raises(ValidationError):
        GuardPolicy.model_validate({"silence": "ignore"})
    with pytest.raises(ValidationError):
        GuardPolicy.model_validate({"if_repair_fails": {"nonsense": "accept"}})


def test_instruction_in_chinese_for_chinese_scenes() -> None:
    """The corrective instruction speaks the scene's language."""
    d = decide(
        detect_all("作为一个AI语言模型，我无法继续这个角色扮演。", ZH_CTX),
        GuardPolicy(),
        reply="x",
        ctx=ZH_CTX,
    )
    assert d.action == "regenerate"
    assert d.instruction is not None and "苏婉" in d.instruction


# --- guard_reply: the one place that calls the model again -----------------------------------------


async def test_clean_reply_costs_no_call() -> None:
    regen = Regenerator()
    out = await guard_reply(GOOD, CTX, GuardPolicy(), regen)
    assert out.text == GOOD and out.action == "accept" and out.extra_calls == 0 and regen.calls == []


async def test_repairable_reply_costs_no_call() -> None:
    regen = Regenerator()
    reply = '"Come here," she says, smiling as the fire crackles in the hearth, and you walk over to her.'
    out = await guard_reply(reply, CTX, GuardPolicy(), regen)
    assert out.action == "repair" and regen.calls == []
    assert out.text == '"Come here," she says, smiling as the fire crackles in the hearth.'


async def test_one_regeneration_replaces_the_reply() -> None:
    regen = Regenerator(GOOD)
    out = await guard_reply(REFUSAL, CTX, GuardPolicy(), regen)
    assert len(regen.calls) == 1 and "Stay in character as Mira" in regen.calls[0]
    assert out.text == GOOD and out.regenerated and out.extra_calls == 1 and out.final_findings == ()


async def test_never_more_than_one_extra_call() -> None:
    """A second bad reply is repaired or accepted, never regenerated again."""
    regen = Regenerator(REFUSAL, REFUSAL, REFUSAL)
    out = await guard_reply(REFUSAL, CTX, GuardPolicy(), regen)
    assert len(regen.calls) == 1 and out.extra_calls == 1
    assert out.text == REFUSAL and out.final_findings


async def test_second_reply_is_repaired_after_regeneration() -> None:
    """Whatever remains after the regeneration is repaired when it can be."""
    second = '"Come with me," Mira says, and you follow her into the dark corridor. "Quietly now."'
    regen = Regenerator(second)
    out = await guard_reply(REFUSAL, CTX, GuardPolicy(), regen)
    assert len(regen.calls) == 1
    assert out.regenerated and out.text == '"Come with me," Mira says. "Quietly now."'


async def test_worse_second_reply_keeps_the_repaired_first() -> None:
    """If the regeneration is worse, the repaired first reply is kept."""
    ctx = ReplyContext(npc_name="Mira", user_names=["Alex"], min_words=20, max_words=140)
    first = "Mira nods slowly, eyes on the door. You take her hand."
    regen = Regenerator(REFUSAL)
    out = await guard_reply(first, ctx, GuardPolicy(), regen)
    assert len(regen.calls) == 1 and not out.regenerated
    assert out.text == "Mira nods slowly, eyes on the door."


async def test_failed_regeneration_falls_back_to_the_first_reply() -> None:
    stats = GuardStats()
    regen = Regenerator(fail=True)
    out = await guard_reply(REFUSAL, CTX, GuardPolicy(), regen, stats=stats)
    assert len(regen.calls) == 1 and out.text == REFUSAL and not out.regenerated
    assert stats.regeneration_failures == 1 and stats.counts["assistant_voice"]["accepted"] == 1


async def test_without_a_callback_nothing_is_regenerated() -> None:
    out = await guard_reply(REFUSAL, CTX, GuardPolicy(), None)
    assert out.extra_calls == 0 and out.action == "accept"


POOL = [
    GOOD,
    REFUSAL,
    "You walk over and take her hand. You feel your heart race.",
    '"Come here," she says, and you walk over to her.',
    "<think>hmm</think>",
    "She stares out of the window, silent, the rain tapping against the glass.",
    'Mira laughs. "Fine."\nBob: I told you so.',
    '"I love you. I love you. I love you. I love you." Mira whispers.',
    "",
    'Mira smiles. "Let\'s go. 我们走吧，外面要下雨了，别再磨蹭了。"',
]


@settings(max_examples=60, deadline=None)
@given(
    first=st.sampled_from(POOL),
    seconds=st.lists(st.sampled_from(POOL), min_size=1, max_size=3),
    fail=st.booleans(),
    allow=st.booleans(),
)
def test_the_extra_call_bound_holds_for_any_replies(
    first: str, seconds: list[str], fail: bool, allow: bool
) -> None:
    """Whatever the replies, the regenerate callback runs at most once and the outcome says so."""
    regen = Regenerator(*seconds, fail=fail)
    stats = GuardStats()
    out = asyncio.run(guard_reply(first, CTX, GuardPolicy(allow_regenerate=allow), regen, stats=stats))
    assert len(regen.calls) <= 1
    assert out.extra_calls == len(regen.calls) == stats.regenerations
    if not allow:
        assert regen.calls == []


# --- counters and logs ------------------------------------------------------------------------------


async def test_stats_count_findings_and_actions() -> None:
    stats = GuardStats()
    await guard_reply(
        '"Come here," she says, smiling as the fire crackles, and you walk over to her.',
        CTX,
        GuardPolicy(),
        Regenerator(),
        stats=stats,
    )
    await guard_reply(REFUSAL, CTX, GuardPolicy(), Regenerator(GOOD), stats=stats)
    await guard_reply(
        "She stares out of the window, silent, the rain tapping against the glass.",
        CTX,
        GuardPolicy(),
        Regenerator(),
        stats=stats,
    )
    data = stats.to_dict()
    assert data["replies"] == 3 and data["regenerations"] == 1
    assert data["detectors"]["speaks_for_user"] == {
        "found": 1,
        "repaired": 1,
        "regenerated": 0,
        "accepted": 0,
    }
    assert data["detectors"]["assistant_voice"] == {
        "found": 1,
        "repaired": 0,
        "regenerated": 1,
        "accepted": 0,
    }
    assert data["detectors"]["silence"] == {"found": 1, "repaired": 0, "regenerated": 0, "accepted": 1}
    again = GuardStats.from_dict(data)
    assert again.to_dict() == data
    again.merge(stats)
    assert again.to_dict()["detectors"]["silence"]["accepted"] == 2 and again.replies == 6


async def test_guard_logs_counts_not_text() -> None:
    with capture_logs() as logs:
        await guard_reply(REFUSAL, CTX, GuardPolicy(), Regenerator(GOOD))
    (entry,) = [e for e in logs if e["event"] == "quality.guard"]
    assert entry["findings"] == {"assistant_voice": 1} and entry["extra_calls"] == 1
    assert all("language model" not in str(v) for v in entry.values())


def test_repair_seams_respect_each_language() -> None:
    """Chinese pieces join without a space; an ellipsis after a cut sentence is kept."""
    zh = "她看了看窗外。你走过去握住她的手。“今天风真大，进屋吧。”"
    findings = [f for f in detect_all(zh, ZH_CTX) if f.detector == "speaks_for_user"]
    assert repair(zh, findings) == "她看了看窗外。“今天风真大，进屋吧。”"
    en = 'You nod. ...Fine, she says. "Go."'
    findings = [f for f in detect_all(en, CTX) if f.detector == "speaks_for_user"]
    assert repair(en, findings) == '...Fine, she says. "Go."'


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(list('ab You you 你她"“”「」*.,!?。，\n<think>/:MiraBob')), max_size=120
    )
)
def test_repair_never_raises(text: str) -> None:
    """Repair of any text with all its findings gives a string with letters, or None."""
    result = repair(text, detect_all(text, CTX))
    assert result is None or any(ch.isalpha() for ch in result)
    decision = decide(detect_all(text, CTX), GuardPolicy(), reply=text, ctx=CTX)
    assert decision.action in ("accept", "repair", "regenerate")


def test_repair_cuts_the_users_quoted_line_with_its_attribution() -> None:
    """'"I'm fine," you say.' is the user's line: quote and attribution go together."""
    reply = '"I\'m fine," you say. Mira frowns, unconvinced. "Are you sure?"'
    assert repair(reply, detect_all(reply, CTX)) == 'Mira frowns, unconvinced. "Are you sure?"'
