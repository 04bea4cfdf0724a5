"""Silence: narration only, no dialogue and nothing that invites the user to reply.

A reply with any line of speech is not silent, nor one with a question or a hook aimed at the user (a
look that waits for an answer, something held out, a gesture to follow). In a group scene a
character may sometimes just act, so the default policy only counts this finding.
"""

from __future__ import annotations

import re

from bot.quality.detectors.repetition import blank_hud
from bot.quality.findings import Finding, ReplyContext, make_finding
from bot.quality.text import Analysis, analyse, has_letters, name_regex

DETECTOR = "silence"

_HOOKS_EN = re.compile(
    r"\?|\b(?:expectantly|beckons?|beckoning|waits?|waiting)\b|"
    r"\b(?:holds?|holding|held) (?:out|up)\b|\b(?:offers?|offering|offered|hands?|handing|handed|passes|slides|tosses) (?:you|it to you)\b|"
    r"\bextends? (?:her|his|their|a) hand\b|\b(?:turns?|looks?|glances?|gazes?|peers?|nods?|gestures?|smiles?|winks?) "
    r"(?:up |over |back )?(?:at|to|toward|towards) you\b|\b(?:toward|towards) you\b|\bmeets? your (?:eyes|gaze)\b|\b(?:for|to) you to\b|"
    r"\braises? (?:an|one|her|his) eyebrow\b|\btilts? (?:her|his|their) head\b|"
    r"\b(?:pats?|patting|taps?) (?:the|a) (?:seat|spot|bench|space|cushion|bed|stool|chair)\b|"
    r"\b(?:motions?|gestures?|beckons?|waves?) (?:for|to) (?:you|follow)\b|\bcrooks? (?:a|her|his) finger\b|"
    r"\bopens? (?:her|his|their) arms\b|\b(?:steps?|moves?) aside\b|\bmakes? room\b|"
    r"\b(?:jerks?|tilts?|nods?|juts?|points?) (?:her|his|their) (?:chin|head|thumb) (?:toward|towards|at|to)\b",
    re.IGNORECASE,
)
_HOOKS_ZH = re.compile(
    r"[?？]|等(?:着|待)?你|看向你|望向你|看着你|盯着你|朝你|冲你|向你(?:伸|递|招|示意|点头|眨)|递给你|塞给你|"
    r"示意你|期待|挑(?:了挑)?眉|歪(?:着|了歪)?头|伸出手|招手|示意|"
    r"拍了?拍(?:身旁|身边|旁边|床边|椅子|座位)|让出|张开(?:双臂|手臂)|勾了?勾手指|让开|"
    r"努了?努嘴|抬了?抬下巴|使了?个眼色|扬了?扬下巴"
)


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    if not reply.strip():
        return [make_finding(reply, DETECTOR, "medium", 0, len(reply), "empty reply", code="empty")]
    hud = blank_hud(reply)
    if hud != reply:  # a status line the card asks for is not speech
        a = analyse(hud, ctx.own_names)
    else:
        a = analysis or analyse(reply, ctx.own_names)
    if any(has_letters(hud[s:e]) for s, e in a.dialogue):
        return []
    if _HOOKS_EN.search(reply) or _HOOKS_ZH.search(reply):
        return []
    for name in ctx.users:
        if name_regex(name).search(reply) and re.search(
            rf"\b(?:to|at|toward|towards)\s+{re.escape(name)}|(?:向|对|朝|冲|看着|等着){re.escape(name)}",
            reply,
        ):
            return []
    return [
        make_finding(
            reply,
            DETECTOR,
            "medium",
            0,
            len(reply),
            "narration only: no dialogue and nothing that invites a reply",
            code="narration_only",
        )
    ]
