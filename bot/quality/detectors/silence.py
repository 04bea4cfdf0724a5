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

# A hook is aimed at the user: a question, a look or a gesture toward "you", something held out to them.
# Gestures with no one on the other end ("she waits", "他示意", "tilts her head") are description: in
# narration-only replies they decide nothing, because a waiting character still says nothing.
_HOOKS_EN = re.compile(
    r"\?|\bexpectantly\b|\bbeckons?\b|\bbeckoning\b|"
    r"\bwait(?:s|ing)? (?:for (?:you|your|an answer|a reply|a response|the answer)|on you)\b|"
    r"\b(?:holds?|holding|held) (?:out|up) [^.!?\n]{0,30}\b(?:to|toward|towards|for) you\b|\b(?:holds?|holding|held) out\b|"
    r"\b(?:offers?|offering|offered|hands?|handing|handed|passes|slides|tosses) (?:you|it to you)\b|"
    r"\bextends? (?:her|his|their|a) hand\b|\b(?:turns?|looks?|glances?|gazes?|peers?|nods?|gestures?|smiles?|winks?) "
    r"(?:up |over |back )?(?:at|to|toward|towards) you\b|\b(?:toward|towards) you\b|\bmeets? your (?:eyes|gaze)\b|\b(?:for|to) you to\b|"
    r"\b(?:pats?|patting|taps?) (?:the|a) (?:seat|spot|bench|space|cushion|bed|stool|chair)\b|"
    r"\b(?:motions?|gestures?|beckons?|waves?) (?:for|to) (?:you|follow)\b|\bcrooks? (?:a|her|his) finger\b|"
    r"\bopens? (?:her|his|their) arms\b|\bmakes? room\b|\bat you\b|"
    r"\b(?:jerks?|tilts?|nods?|juts?|points?) (?:her|his|their) (?:chin|head|thumb) (?:toward|towards|at|to)\b|"
    r"\b(?:nods?|points?|gestures?) (?:toward|towards|to|at) (?:the|a)\b|"
    # Mouthed words are words: spoken without a sound, still said to someone.
    r"\bmouth(?:s|ed|ing)? (?:a |the |one |two |three )?(?:single )?(?:words?|something|a name|thank you|sorry)\b|\bmouths?:",
    re.IGNORECASE,
)
_HOOKS_ZH = re.compile(
    # A look ends its clause to wait on the user ("看着你。", "盯着你的眼睛"); "看着你们劈蝙蝠" watches them act.
    r"[?？]|等(?:着|待)?你|(?:看向|望向|看着|盯着)你们?(?=[，。！…—*\s）)]|$|的(?:眼睛|脸|双眼))|朝你|冲你|向你(?:伸|递|招|示意|点头|眨)|递给你|塞给你|"
    r"示意你|期待地|伸出手|招手|拍了?拍(?:身旁|身边|旁边|床边|椅子|座位)|让出|张开(?:双臂|手臂)|勾了?勾手指|让开|"
    r"努了?努嘴|抬了?抬下巴|使了?个眼色|扬了?扬下巴|你面前|到你(?:手里|手中|跟前)|(?:做|用)(?:了个)?口型|无声地说"
)
# Speech written without quotes or asterisks: chat-style lines in lower case, interjections, words to
# someone. A plain reply with any of these is speech, whatever its person.
_PLAIN_SPEECH_RE = re.compile(
    r"^\s*(?-i:[a-z])|\b(?:ok|okay|yeah|yep|nope|yes|no|hey|hi|lol|hmm+|uh|um|copy|roger|sure|thanks|sorry|please)\b[,.!?]?|!"
    r"|[嗯啊呀吧呢嘛哈哦喂][。！？，…]|[！]"
    # A short sentence that ends by calling someone ("Brace, Pilot." "Hold still, Doctor."): a vocative.
    r"|(?:^|[.!?]\s+)(?:[A-Za-z'’]+\s+){0,3}[A-Za-z'’]+,\s*(?-i:[A-Z][a-z]+)[.!?]",
    re.IGNORECASE,
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
    if a.style == "plain" and _PLAIN_SPEECH_RE.search(hud):
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
