"""The helpful-assistant register, scored from several weak features rather than named phrases.

A phrase list ("Great question!", "希望对你有帮助") knows the sign-offs it was written from and misses the
next wording. What stays the same across wordings is the *register*: the assistant advises the reader
("make sure to", "建议"), praises the question, offers service ("feel free", "随时"), cheers the reader on
("You've got this", "祝你顺利"), sets out tips as a list or an ordinal sequence ("首先……其次……最后"),
and leans on a hedge or a summary ("仅供参考", "In summary"). A character can do any one of these in
its own voice (an in-world AI reads out a list of sensor data, a mentor says "Remember that tomorrow"),
so one feature never decides; a reply is in the assistant register when features of at least two
different kinds occur, weighed by how rarely a character in a story uses them.

Every pattern is compiled once at import, and the whole check is a handful of ``search`` calls over
the reply: it runs on every live reply through the guard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THRESHOLD = 2.0


@dataclass(frozen=True, slots=True)
class Feature:
    """One kind of assistant-register evidence: its weight and the first place it occurs."""

    kind: str
    weight: float
    start: int
    end: int


# (kind, weight, English pattern, Chinese pattern). A kind counts once per reply, at its first match.
_KINDS: list[tuple[str, float, str, str]] = [
    (
        "advice vocabulary",
        1.0,
        r"\b(?:(?:some|a few|few|these|those|helpful|quick|useful|simple|top|practical|\d+) tips|tips (?:for|to|on)|suggestions|recommendations|strategies|considerations|key (?:points|takeaways|factors)"
        r"|pointers|guidelines|precautions|step-by-step|action items"
        r"|(?:several|various|many|multiple|a few|some) factors)\b"
        r"|(?:^|[.!?\"“*]\s*)(?:just )?remember(?:[,:]| to (?:breathe|stay|take|be|keep|have|focus|drink|rest))|\b(?:make sure (?:to|you)|be sure to|don['’]t forget to|keep in mind|it['’]s (?:always )?(?:a good idea|important|essential"
        r"|crucial|helpful|wise|best|recommended|advisable) to|it is (?:important|essential|crucial|advisable|recommended) to"
        r"|(?:I(?:['’]d| would| strongly)? (?:recommend|suggest|advise))|what I(?:['’]d| would) (?:suggest|recommend)|my (?:suggestion|recommendation|advice) (?:is|would be)"
        r"|consider (?:using|trying|taking|talking|reaching|seeking)|(?:communication|teamwork|preparation|consistency|patience|balance|practice) is (?:the )?key)\b",
        r"建议|注意事项|要点|小贴士|小技巧|温馨提示|友情提示|请注意|务必|多种因素|以下几|几点(?:建议|看法|要求|想法)|"
        r"注意(?:安全|休息|身体)|保持(?:冷静|良好|积极|耐心)|循序渐进|适量|切记|请(?:确保|保证|记得)|请勿|如遇|"
        r"为(?:您|你)推荐|我(?:的)?建议是",
    ),
    (
        "praise of the question",
        1.5,
        r"\b(?:(?:great|good|excellent|wonderful|fantastic|interesting|thoughtful|insightful|brilliant|astute|fair|smart)"
        r" (?:question|point|idea|thought|insight|catch|suggestion|thinking))s?\b[^.!?\n]{0,12}[!.]"
        r"|\bwhat an? (?:great|wonderful|fantastic|thoughtful|lovely|brilliant|insightful|interesting|excellent) (?:question|idea|thought)\b"
        r"|\b(?:that['’]s|this is|you['’]ve raised|you raise) (?:a |an )?(?:really |very |such an? )?(?:great|good|excellent"
        r"|thoughtful|insightful|interesting|valid|important) (?:question|point|concern)\b",
        r"(?:好|有趣|棒|不错|深刻|关键|重要)的问题|问得(?:好|很好|真好|非常好)|好问题|(?:很|非常|真)(?:好|棒)的(?:想法|观察|建议|问题)"
        r"|观察得(?:很|非常|真)(?:仔细|敏锐)|你的(?:想法|观察|问题)(?:很|非常|真)(?:好|棒|有价值|敏锐)",
    ),
    (
        "service offer",
        1.5,
        r"\b(?:feel free to (?:ask|reach|let me|contact|share|tell me)|don['’]t hesitate to|let me know (?:if|whether|what|how|which)|just let me know|happy to help"
        r"|glad to help|(?:I['’]m|I am) (?:always )?here (?:to|for you)|hope (?:this|that|it) (?:helps|helped|was helpful|is helpful|clears|clarifies|makes sense|answers)"
        r"|(?:any|other|further|more) questions|reach out (?:to|if)|(?:how|what) (?:else )?can I (?:help|assist)"
        r"|(?:help|assist) you (?:with|find|plan|prepare)|I can (?:help|assist) (?:you )?with"
        r"|would you like (?:me to (?:continue|explain|list|outline|summari[sz]e|suggest|provide|describe|recommend|adjust|elaborate|go over)|more (?:tips|ideas|suggestions|recommendations|information|details))"
        r"|do you want me to (?:continue|explain|list|outline|summari[sz]e|suggest)|I (?:can|could) (?:also )?(?:suggest|recommend|outline|provide)"
        r"|thank you for (?:sharing|asking|your (?:question|patience|understanding|feedback)|reaching out|letting me know)"
        r"|I['’]d (?:love|be glad|be happy) to help|is there (?:something|anything) (?:specific|particular|else) (?:you['’]d|you would) like"
        r"|let me know your|(?:ensure|make sure) you have the best)\b",
        r"随时[^。！？\n]{0,4}(?:联系|告诉|问|找|吩咐|欢迎)|欢迎随时|感谢(?:您|你)的(?:支持|理解|耐心|信任)|如有(?:任何|其他|疑问|需要)|如需|有任何(?:问题|疑问|需要)|乐意(?:为|帮)|"
        r"为(?:您|你)(?:提供|解答|服务|效劳)|协助(?:您|你)|帮(?:您|你)(?:解答|梳理|整理|分析)|希望(?:以上|这些|这|我的)?[^。！？\n]{0,12}(?:帮助|帮到|有用)|"
        r"请告诉我(?:你|您)(?:更)?(?:想|希望|需要)|感谢(?:你|您)的(?:提问|分享|反馈|耐心)|很(?:高兴|乐意)(?:能)?为(?:你|您)|"
        r"我(?:可以|能)为(?:你|您)(?:详细)?(?:介绍|解答|讲解|推荐)|欢迎(?:品尝|光临|惠顾|选购)|还有(?:什么|其他)(?:需要|问题|想了解|疑问)|有什么(?:我)?(?:可以|能)(?:帮|为)",
    ),
    (
        "cheerleading",
        1.0,
        r"\b(?:you['’]ve (?:totally |so |definitely )?got this|you got this|let['’]s work together|the best [\w-]+ ever|you can do (?:it|this)|I believe in you|best of luck|good luck with"
        r"|have fun|every expert was once|don['’]t give up|keep up the (?:great|good) work|stay (?:safe|positive|hydrated)"
        r"|take care of yourself|self-care|you['’]re doing (?:great|amazing)|proud of you for)\b",
        r"祝(?:你|您|大家)[^。！？\n]{0,10}(?:顺利|成功|愉快|好成绩|平安|健康|快乐|如意)|加油哦|你一定可以|相信你(?:一定|可以)|"
        r"生活愉快|期待(?:您|你)的再次|(?:一切)?顺顺利利",
    ),
    (
        "hedge or summary",
        1.0,
        r"\b(?:in summary|to summari[sz]e|to recap|in conclusion|overall,|ultimately,|(?:here['’]s|here is) (?:a |the )?(?:breakdown|summary|overview|recap)"
        r"|(?:it['’]s|it is) (?:completely|totally|perfectly|entirely) (?:normal|okay|ok|natural|understandable|valid)"
        r"|it['’]s understandable|I understand (?:that|your|how|this)|it sounds like you|please (?:note|remember|keep in mind)\b|\bnote that"
        r"|this is (?:not|no) (?:professional|medical|legal|financial) advice|for (?:informational|general) purposes)\b",
        r"仅供参考|总(?:而言|的来说|之)|综上|以上(?:就是|是|仅|内容|建议|信息)|具体(?:情况|结论)?(?:请|以)|请以[^。！？\n]{0,8}为准|"
        r"可能(?:有|的原因有|存在)以下|取决于(?:多种|很多|许多|以下)",
    ),
    (
        "assistant opener",
        0.5,
        r"^[\s\"“*]*(?:absolutely|certainly|of course|sure thing|sure)[!,]",
        r"^[\s\"“*]*(?:当然可以|好的呢|好的|没问题|当然)[！!，,]",
    ),
    (
        "scripted empathy",
        1.0,
        r"\bI (?:completely |totally |fully |really )?understand (?:how you feel|how hard|that this|your (?:concern|frustration|feelings))"
        r"|\bit['’]s (?:natural|normal|okay|ok|understandable|valid) to (?:feel|be)\b|\byour feelings are (?:valid|important)"
        r"|\bI['’]m (?:so )?sorry (?:to hear|you['’]re going through)|\bthere['’]s no (?:right|wrong) way to (?:feel|grieve)",
        r"(?:感受|心情|担心|顾虑)(?:是)?(?:完全)?可以理解|我(?:完全)?理解(?:你|您)的(?:感受|心情|担心)|(?:感到|觉得)[^。！？\n]{0,6}是很?正常的",
    ),
    (
        "safety advice",
        1.0,
        r"\b(?:professional|qualified|medical|mental health) (?:help|support|advice)|\b(?:emergency services|local authorities|hotline)\b"
        r"|\bfor your (?:own )?safety\b|\b(?:talk|speak)(?:ing)? to (?:someone you trust|a professional|a counselor|a counsellor)",
        r"为了(?:您|你)的(?:安全|健康)|紧急情况|报警电话|急救电话|专业(?:人士|人员|机构|医生)|心理(?:咨询|医生|援助)",
    ),
    (
        "enumerated advice",
        1.0,
        # Ordinal sequences written inline: "First, … Second, … Finally", "首先……其次……最后", "第一，……第二，".
        r"\b(?:first(?:ly)?|to begin with),[^\n]{3,}?\b(?:second(?:ly)?|next|then|also),[^\n]{3,}?\b(?:third(?:ly)?|finally|lastly|last),",
        r"首先[^\n]{2,}?其次|第一[，,、：:][^\n]{2,}?第二[，,、：:]|一是[^\n]{2,}?二是",
    ),
    (
        "menu of continuations",
        1.5,
        r"\b(?:would you (?:like|prefer) (?:me )?to|shall we|we (?:can|could) (?:either )?)[^?\n]{0,80}\bor\b[^?\n]{0,80}\b(?:scene|story|plot|"
        r"continue|next part|skip ahead|jump (?:straight )?(?:in|into|ahead|to))\b"
        r"|\b(?:continue|advance|move) the (?:scene|story|plot|role-?play)\b|\bwhich (?:option |one |approach )?would you (?:prefer|like|choose)\b"
        r"|\bwhat would you like to (?:do|explore|try) next\b|\boption (?:1|one|a)\b[^\n]{0,80}\n[^\n]{0,10}\boption (?:2|two|b)\b",
        r"(?:推进|继续|接着)(?:剧情|故事|情节)|跳到[^。！？\n]{0,10}(?:剧情|当天|之后)|(?:你|您)更(?:想要|希望|倾向)哪(?:一)?种",
    ),
]

# Markup the assistant uses to set out advice: several list items, or a markdown table.
_LIST_ITEM_RE = re.compile(
    r"(?m)^[ \t]*[“\"「*]*[ \t]*(?:(?:[-•·▪◦●*+]|\d{1,2}[.)]|[（(]\d{1,2}[)）])[ \t]+"
    "|\\d{1,2}[、．][ \t]*|[①-⑩🔹🔸▶➤👉🧧⭐✨📌\U0001f300-\U0001faff]\ufe0f?[ \t]*)\\S"
)
_INLINE_MARKERS_RE = re.compile(r"([🔹🔸▶➤👉🧧•])[^\n🔹🔸▶➤👉🧧•]{2,}\1")
_TABLE_RE = re.compile(r"(?m)^\s*\|[^\n]*\|\s*\n\s*\|[\s:|-]*-{3}[\s:|-]*\|")
_BOLD_LABEL_RE = re.compile(r"\*\*[^*\n]{1,30}[:：]?\*\*\s*[:：]?")
_EMOJI_RE = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")

_COMPILED = [
    (kind, weight, re.compile(en, re.IGNORECASE), re.compile(zh)) for kind, weight, en, zh in _KINDS
]


def features(text: str) -> list[Feature]:
    """The assistant-register features in ``text``, one per kind, in order of appearance."""
    found: list[Feature] = []
    for kind, weight, en, zh in _COMPILED:
        m = en.search(text) or zh.search(text)
        if m:
            found.append(Feature(kind, weight, m.start(), m.end()))
            if kind == "service offer":
                # Offering service twice over ("Thank you for asking! … is there anything else you'd like")
                # is the support desk's habit, not a character's: the second offer counts as a kind of its own.
                again = en.search(text, m.end()) or zh.search(text, m.end())
                if again:
                    found.append(Feature("service offered again", 1.0, again.start(), again.end()))
    items = _LIST_ITEM_RE.findall(text)
    inline = _INLINE_MARKERS_RE.search(text)
    table = _TABLE_RE.search(text)
    if len(items) >= 2 or inline or table:
        m = table or inline or _LIST_ITEM_RE.search(text)
        assert m is not None
        found.append(Feature("advice laid out as a list", 1.0, m.start(), m.end()))
    bold = _BOLD_LABEL_RE.search(text)
    if bold:
        found.append(Feature("bold headings", 0.5, bold.start(), bold.end()))
    emoji = _EMOJI_RE.search(text)
    if emoji:
        found.append(Feature("emoji", 0.5, emoji.start(), emoji.end()))
    found.sort(key=lambda f: f.start)
    return found


def score(found: list[Feature]) -> float:
    """The register score: the sum of the weights of the kinds found (each kind once)."""
    return sum(f.weight for f in found)


def in_register(text: str) -> list[Feature]:
    """The features when ``text`` reads as the assistant register, else ``[]``.

    It takes two kinds of weight 1 or more and a score of ``THRESHOLD``: the light features (an opener
    such as "Certainly!", bold headings, an emoji) add to the score but never make a second kind, since
    any character may open with "Of course!".
    """
    found = features(text)
    if sum(1 for f in found if f.weight >= 1.0) >= 2 and score(found) >= THRESHOLD:
        return found
    return []
