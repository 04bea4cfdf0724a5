"""Assistant voice: disclaimers and meta talk that break character ("As an AI", "I cannot roleplay", policy talk).

The patterns name the assistant's own situation (a language model, content policy, role-play as an
activity, notes to the reader) rather than the words "AI" or "cannot" alone, so that an android
character saying "As the ship's AI, I cannot open that door" stays in character. Weak patterns
(refusals, sign-offs) are ignored inside quoted speech, where a character may refuse or apologise.
Each pattern carries gate words, one of which must occur in the reply before the pattern runs.
"""

from __future__ import annotations

import re

from bot.quality.detectors import assistant_register
from bot.quality.findings import Finding, ReplyContext, make_finding
from bot.quality.text import Analysis, analyse, sentence_spans

DETECTOR = "assistant_voice"

_EN = [
    (
        r"\bas an? (?:AI|artificial intelligence)(?: language)? (?:model|assistant|chatbot)\b",
        "AI disclaimer",
        ("as a",),
    ),
    (
        r"\b(?:I['’]m|I am) (?:just |only |merely )?an? (?:AI|artificial intelligence)(?: language)? (?:model|assistant|chatbot)\b",
        "AI disclaimer",
        (" ai", "artificial"),
    ),
    (r"\b(?:large )?language model\b", "talks about being a language model", ("language model",)),
    (
        r"\bAI assistant\b|\bvirtual assistant\b|\bhelpful assistant\b",
        "talks about being an assistant",
        ("assistant",),
    ),
    (r"\b(?:ChatGPT|OpenAI|Anthropic)\b", "names an AI vendor", ("chatgpt", "openai", "anthropic")),
    (
        r"\bas an AI\b[^.!?\n]{0,40}\b(?:I (?:don['’]t|do not|cannot|can['’]t|am (?:not )?able to|am unable to))\s+"
        r"(?:have|feel|experience|roleplay|role-play|engage|continue|generate|create|write|provide|produce|assist|help)",
        "AI self-disclaimer",
        ("as an ai",),
    ),
    (
        r"\bI (?:cannot|can['’]t|can ?not|won['’]t|will not|am (?:not )?able to|am unable to|must decline to)\s+"
        r"(?:continue |engage in |participate in |do |write |generate |take part in )?(?:this |that |the |such )?"
        r"(?:role-?play|roleplay|role play|scenario|story ?line|kind of content|type of content|request)",
        "refuses the role-play",
        ("role", "scenario", "story", "content", "request"),
    ),
    (
        r"\b(?:I['’]m|I am) (?:sorry|afraid),? but I (?:can['’]t|cannot|won['’]t|am not able to|am unable to)\b",
        "refusal",
        ("sorry", "afraid"),
    ),
    (r"\bI apologi[sz]e,? but\b", "refusal", ("apologi",)),
    (
        r"\b(?:I['’]m|I am) (?:sorry|afraid),? (?:but )?I (?:can['’]t|cannot|won['’]t|am unable to|am not able to) "
        r"(?:write|generate|create|produce|continue|comply|assist|provide|engage|fulfil|fulfill)\b",
        "refusal",
        ("sorry", "afraid"),
    ),
    (
        r"\b(?:anything|something) else (?:I can|I could|I may) (?:help|assist)\b",
        "assistant sign-off",
        (" else ",),
    ),
    (
        r"\bthis (?:response|reply|output|continuation|roleplay|role-play)\b",
        "meta talk",
        (
            "this response",
            "this reply",
            "this output",
            "this continuation",
            "this roleplay",
            "this role-play",
        ),
    ),
    (
        r"\b(?:in line with|according to|following|per) (?:the|my|content|usage) guidelines\b",
        "policy talk",
        ("guidelines",),
    ),
    (
        r"\b(?:I['’]m|I am|I['’]d|I would) (?:not|not be|be un)? ?comfortable (?:continuing|with|engaging|writing|"
        r"portraying|doing)\b[^.!?\n]{0,30}\b(?:role-?play|roleplay|scenario|story ?line|content|request|scene)",
        "refuses the role-play",
        ("comfortable",),
    ),
    (
        r"\b(?:explore|try|write|take) (?:a|another|some) (?:different|other) (?:storyline|scenario|topic|prompt)\b",
        "assistant framing",
        ("different", "other"),
    ),
    (
        r"\b(?:content|usage|safety) (?:policy|policies|guidelines)\b",
        "policy talk",
        ("policy", "policies", "guidelines"),
    ),
    (
        r"\b(?:my|these|OpenAI['’]s|community) guidelines\b|\bagainst my (?:programming|guidelines|principles)\b",
        "policy talk",
        ("guidelines", "against my"),
    ),
    (
        r"\b(?:break(?:ing)?|stay(?:ing)?|step(?:ping)?) (?:out of |in )?character\b|\bout of character\b",
        "meta talk",
        ("character",),
    ),
    (r"[\(\[]{1,2}\s*OOC\b|\bOOC\s*:", "out-of-character note", ("ooc",)),
    (
        r"[\(\[][^()\[\]\n]{0,40}\b(?:role-?play|roleplay|in character|as an AI)\b[^()\[\]\n]{0,40}[\)\]]",
        "out-of-character note",
        ("role", "in character", "as an ai"),
    ),
    (
        r"(?m)^\s*[*_]*\s*[\[(]?\s*(?:\*\*)?(?:(?:Please )?note|Author['’]s note|Disclaimer|(?:Content|Trigger|Reader) "
        r"(?:warning|note|advisory)|(?-i:CW|TW))(?:\*\*)?\s*:",
        "note to the reader",
        ("note", "disclaimer", "warning", "advisory", "cw", "tw"),
    ),
    # The reply talking about itself as a text for a reader: what "the following" contains, what "this
    # portrayal" is simplified for, that it is not advice. Weak: a lawyer may say "this is not legal advice" and
    # a storyteller "this story features a dragon" in their own lines; outside speech only the writer does.
    (
        r"\b(?:(?:reader|viewer|audience) discretion\b|(?:the following(?: [\w-]+){0,2}|this (?:scene|chapter|story|passage|portrayal|depiction|reply|response|content|roleplay|"
        r"role-play|fiction|narrative|account))\s+(?:(?:may|might|will)\s+)?(?:contains?|includes?|depicts?|features?|"
        r"deals? with|is (?:simplified|fictional|dramati[sz]ed|for (?:entertainment|storytelling|illustrative))|"
        r"has been (?:simplified|dramati[sz]ed))\b)"
        r"|\bfor (?:storytelling|entertainment|dramatic|narrative) purposes(?: only)?\b"
        r"|\b(?:should not|shouldn['’]t) be (?:taken|construed|considered|treated) as\s+(?:\w+\s+)?advice\b"
        r"|\b(?:is|are|does) not (?:constitute |intended as |meant as )?(?:legal|medical|financial|professional|"
        r"investment|psychological) advice\b",
        "talks about the text",
        ("following", "this ", "purposes", "advice", "discretion"),
    ),
    (r"\b(?:content|trigger|reader) (?:warning|advisory|advisories|warnings)\b", "talks about the text", ("warning", "advisor")),
    (r"\bI hope (?:this|that) (?:helps|works|is what you)\b", "assistant sign-off", ("i hope",)),
    # "I hope this information has been helpful", "I hope my answer was useful": the answer judged as an answer.
    (r"\bI hope (?:this|that|my|the|these)(?: [\w-]+){0,6} (?:has been|have been|was|were|is|will be) "
     r"(?:helpful|useful|of (?:some )?help|informative|clear)\b", "assistant sign-off", ("i hope",)),
    (r"\bI(?:['’]m| am) (?:sorry|afraid),? but I (?:can['’]t|cannot|am unable to|am not able to) (?:assist|help) with\b|"
     r"\bif you or someone you know\b", "assistant register", ("sorry", "afraid", "someone you know")),
    (
        r"\b(?:Let me know|Feel free to (?:let me know|ask|tell me)) (?:if|whether|what|how) (?:you['’]d|you would|you want|you need|I should)\b",
        "assistant sign-off",
        ("let me know", "feel free"),
    ),
    (
        r"\b(?:Here(?:['’]s| is) (?:the|a|my|your) (?:continuation|response|reply|next (?:part|scene|reply)|roleplay|role-play)\b)",
        "assistant framing",
        ("here",),
    ),
    (
        r"\b(?:Sure|Certainly|Of course|Absolutely)[!,.] (?:Here(?:['’]s| is)|I(?:['’]ll| will) (?:continue|write|play))\b",
        "assistant framing",
        ("sure", "certainly", "of course", "absolutely"),
    ),
    (
        r"\b(?:Shall|Should) I continue(?: the (?:story|role-?play|scene))?\?",
        "assistant framing",
        ("continue",),
    ),
    (r"\b(?:the )?user['’]s (?:request|message|prompt|input)\b", "talks about 'the user'", ("user",)),
    # The helpful-assistant register: question praise, tip lists, support talk, safety advice, option menus.
    (r"\b(?:great|good|excellent|wonderful|interesting) question\b", "assistant register", ("question",)),
    (
        r"\bhere(?:['’]s| is| are) (?:a |an |some |the )?(?:\w+[ -]){0,3}(?:tips|options|suggestions|recommendations|"
        r"steps|considerations|guide|recap|summary|ideas|pointers)\b",
        "assistant register",
        ("here",),
    ),
    (r"\b(?:step-by-step (?:plan|guide|list)|quick recap|to summari[sz]e what we know)\b", "assistant register",
     ("step-by-step", "recap", "summari")),
    (r"\bI(?:['’]m| am) (?:always )?here to (?:help|support|assist|listen)\b", "assistant register", ("here to",)),
    (r"\bI(?:['’]d| would) be (?:happy|glad|delighted) to (?:help|assist|continue|provide|answer)\b",
     "assistant register", ("happy to", "glad to", "delighted to")),
    (r"\b(?:completely|totally|perfectly) (?:normal|okay|ok|natural) to\b|\bit['’]s important to (?:prioriti[sz]e|remember|note|recogni[sz]e|acknowledge)\b",
     "assistant register", ("normal to", "okay to", "ok to", "natural to", "important to")),
    (r"\bI (?:just )?want to (?:acknowledge|validate|make sure you(?:['’]re| are) comfortable)\b",
     "assistant register", ("acknowledge", "validate", "comfortable")),
    (r"\byour (?:safety|well-being|wellbeing|comfort)(?: and [\w-]+)? (?:is|are) (?:important|my priority|our priority)\b",
     "assistant register", ("safety", "well-being", "wellbeing", "comfort")),
    (r"\bif (?:at any point )?you (?:ever )?feel (?:unsafe|uncomfortable|overwhelmed)\b|\bviolence is never\b|"
     r"\b(?:seek|consult) (?:with )?(?:a |an |your )?(?:qualified |licensed |certified |local |mental health |healthcare |"
     r"health care |medical |legal )?"
     r"(?:professional|medical|doctor|physician|therapist|vet|attorney|lawyer|solicitor|counsel+or|healthcare provider|"
     r"financial advis[eo]r)",
     "assistant register", ("unsafe", "uncomfortable", "overwhelmed", "violence is never", "seek", "consult")),
    (r"\b(?:if you(?:['’]d| would) like, I can|would you like me to (?:continue|describe|outline|write|summari[sz]e|explain|generate))\b",
     "assistant register", ("like, i can", "would you like me to")),
    (r"\bif you have (?:any )?(?:other |more |further )?questions\b|\bI can['’]t share personal information\b",
     "assistant register", ("questions", "personal information")),
    # Counselling talk: thanks for "sharing", a referral to someone qualified, a crisis line.
    (r"\bI (?:really )?appreciate you (?:sharing|opening up|reaching out|being (?:so )?honest|telling me)\b",
     "assistant register", ("appreciate you",)),
    (r"\b(?:it (?:might|may|could|would) (?:be helpful|help) to|you (?:might|may) (?:want to )?consider) "
     r"(?:speak|talk|reach|consult)(?:ing)? (?:with |to |out to )?(?:a |an |your )?(?:[\w-]+ ){0,4}(?:or )?(?:a |an )?"
     r"(?:professional|counsel+or|therapist)s?\b",
     "assistant register", ("helpful to", "help to", "consider")),
    (r"\b(?:crisis|suicide|mental health) (?:hotline|helpline|line|text line)\b|\bsupport (?:hotline|helpline)\b|"
     r"\breaching out (?:for help )?is a sign of strength\b", "assistant register",
     ("hotline", "helpline", " line", "sign of strength")),
]

_ZH = [
    (
        r"作为(?:一个|一名|一款)?(?:AI|人工智能|ＡＩ)(?:语言模型|模型|助手|助理|程序)",
        "AI disclaimer",
        ("作为",),
    ),
    (
        r"作为(?:一个|一名|一款)?(?:AI|人工智能|ＡＩ)[，,]\s*我(?:并|其实|本身)?(?:无法|不能|没有|不具备|不会有|不具有)"
        r"(?:扮演|继续|提供|生成|创作|拥有|体验|真正|真实|个人|自己|自我|任何|情感|感情|感受|情绪|意识|观点|经历|记忆|身体)",
        "AI self-disclaimer",
        ("作为",),
    ),
    (
        r"我(?:只)?是(?:一个|一名)?(?:AI|人工智能)(?:语言模型|助手|程序|模型)",
        "AI disclaimer",
        ("ai", "人工智能"),
    ),
    (r"语言模型|AI助手|人工智能助手|智能助手", "talks about being a language model", ("模型", "助手")),
    (
        r"我(?:无法|不能|不可以|没办法)(?:继续)?(?:进行|参与|扮演|完成)?(?:这个|这种|此类|该)?(?:角色扮演|扮演|请求|场景)",
        "refuses the role-play",
        ("无法", "不能", "不可以", "没办法"),
    ),
    (
        r"(?:抱歉|对不起)[，,]?\s*(?:但)?我(?:无法|不能|没办法)(?:继续|提供|回答|满足|完成)",
        "refusal",
        ("抱歉", "对不起"),
    ),
    (
        r"(?:内容|使用|安全|社区)(?:政策|准则|规范)|违反(?:相关)?(?:规定|政策|准则|法律法规)",
        "policy talk",
        ("政策", "准则", "规范", "违反"),
    ),
    (r"(?:跳出|脱离|打破|保持)角色|出戏", "meta talk", ("角色", "出戏")),
    (r"[（(]\s*OOC|OOC\s*[:：]", "out-of-character note", ("ooc",)),
    (
        r"[（(【\[][^（）()【】\[\]\n]{0,30}(?:角色扮演|扮演内容|以下为|续写)[^（）()【】\[\]\n]{0,30}[）)】\]]",
        "out-of-character note",
        ("扮演", "以下为", "续写"),
    ),
    (r"(?m)^\s*[*_]*\s*[\[(（【]?\s*(?:注|备注|注意|说明|请注意|免责声明|(?:内容|阅读)(?:预警|警告|提示))\s*[:：]",
     "note to the reader", ("注", "说明", "声明", "预警", "警告", "提示")),
    (
        r"(?:以下|下面|本(?:章|回|段|文|故事|回复))(?:的)?内容(?:可能)?(?:包含|含有|涉及|描写)|"
        r"(?:仅|只)(?:为|是)?(?:剧情|故事|创作|娱乐)(?:需要|目的)|纯属虚构|"
        r"(?:不构成|并非|不能作为|不应被?视为|不应作为)(?:任何)?(?:法律|医疗|医学|投资|理财|专业|心理)(?:上的)?(?:建议|意见)",
        "talks about the text",
        ("内容", "需要", "目的", "虚构", "建议", "意见"),
    ),
    (r"(?:内容|阅读|雷点|剧情|观看)预警|本(?:章|回|段|文)(?:含有|包含|涉及)", "talks about the text", ("预警", "本")),
    (
        r"(?:还有)?(?:什么|其他)(?:我)?(?:可以|能)(?:帮|为)(?:你|您)",
        "assistant sign-off",
        ("帮你", "帮您", "为你", "为您"),
    ),
    (
        r"希望(?:这|以上)?(?:对你|能)?有(?:所)?帮助|如果你(?:还)?有(?:其他|任何)(?:问题|需要|想法)",
        "assistant sign-off",
        ("帮助", "如果你"),
    ),
    (r"以下是(?:续写|我的回复|回复|故事的?(?:继续|后续)|角色扮演)", "assistant framing", ("以下是",)),
    (
        r"(?:好的|当然)[！!，,。]\s*(?:以下是|下面是|我来|我将)(?:续写|继续|扮演)",
        "assistant framing",
        ("好的", "当然"),
    ),
    (r"用户(?:的(?:请求|要求|消息|指令))", "talks about 'the user'", ("用户",)),
    (r"这是一个很?(?:好|有趣|棒|不错)的问题", "assistant register", ("问题",)),
    (
        r"以下(?:是)?(?:一些|几[点种个条])?[^。！？\n]{0,10}?(?:建议|要点|注意事项|措施|情况|看法|信息|步骤|方法|技巧)",
        "assistant register",
        ("以下",),
    ),
    (r"希望[^。！？\n]{0,16}?(?:有所帮助|有帮助|能帮助你|能帮助您|能帮到你|能帮到您)", "assistant register", ("希望",)),
    (
        r"(?:如有任何|如需进一步|如果(?:您|你)?还有(?:其他|任何)|有任何问题随时|请?随时(?:与我)?联系|欢迎随时|随时可以问我)",
        "assistant register",
        ("如有", "如需", "如果", "任何", "随时"),
    ),
    (r"建议(?:您|你)?(?:直接)?(?:咨询|询问相关|前往医院)|请?及时就医|咨询专业", "assistant register",
     ("建议", "就医", "咨询")),
    (r"(?:心理|援助|求助|危机|干预|救助)热线|寻求(?:专业)?(?:的)?帮助(?:是|并不)|(?:正在)?经历[^。！？\n]{0,6}(?:心理危机|情绪危机)",
     "assistant register", ("热线", "寻求", "危机")),
    (r"感谢您(?:一直以来)?的(?:支持|理解|耐心)|祝您(?:生活愉快|平安|和家人)|期待您的再次光临|温馨提示",
     "assistant register", ("感谢您", "祝您", "期待您", "温馨提示")),
]

# Only these reasons are unambiguous inside quoted speech too; a character may well refuse a part
# ("导演，我无法扮演这个角色！") or apologise in dialogue, but no character talks about its language model.
_STRONG = {
    # "As an AI, I don't have real feelings, but…" is the model's formula, not an android's in-world line.
    "AI self-disclaimer",
    # A note about the text for its reader is never a character's line, quoted or not.
    "note to the reader",
    "talks about being a language model",
    "talks about being an assistant",
    "names an AI vendor",
    "policy talk",
    "out-of-character note",
    # Models slip into it inside quoted speech too; no character praises the question or lists tips.
    "assistant register",
    "assistant sign-off",
}


_PATTERNS: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = [
    (re.compile(p, re.IGNORECASE), r, g) for p, r, g in _EN
] + [(re.compile(p), r, g) for p, r, g in _ZH]


_THINK_RE = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.IGNORECASE | re.DOTALL)


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    hits: list[tuple[int, int, str]] = []
    a = analysis
    # A leaked reasoning block is formatting's finding; what it says about "the user" is not the character's.
    original, reply = reply, _THINK_RE.sub(lambda m: " " * len(m.group()), reply)
    if reply != original:
        a = None
    lowered = reply.lower()
    for pattern, reason, gate in _PATTERNS:
        if not any(word in lowered for word in gate):
            continue  # the cheap test first: every pattern needs one of its gate words
        for m in pattern.finditer(reply):
            if reason == "meta talk" and _acted_out(reply, m.start()):
                continue
            if reason not in _STRONG:
                a = a or analyse(reply, ctx.own_names)
                if (
                    a.style == "quotes"
                    and a.in_dialogue(m.start())
                    and not _strong_inside(reply, m.start(), m.end())
                ):
                    continue
            hits.append((m.start(), m.end(), reason))
    if not hits:
        return _register(original, reply)
    sentences = sentence_spans(reply)
    out: list[Finding] = []
    for start, end, reason in sorted(hits):
        s_start, s_end = _enclosing(sentences, start, end, reply)
        if out and s_start < out[-1].end:
            continue
        while s_end < len(reply) and reply[s_end] in " \t":
            s_end += 1
        out.append(
            make_finding(
                original,
                DETECTOR,
                "high",
                s_start,
                s_end,
                f"breaks character: {reason}",
                code=_code(reason),
                replacement="",
            )
        )
    return out


# "*跳出角色，拍了一下桌子*", "*steps out of character and claps once*": stepping out of a part is an action the
# narration gives the character (a coach ending a mock debate, an actor in rehearsal) when it opens an asterisk
# action span; a model that breaks character says so in a note or in its own words, which other patterns catch.
_ACTION_OPEN_RE = re.compile(r"\*[ \t]*(?:[\w\u4e00-\u9fff]{1,12}[ \t]+){0,2}$")


def _acted_out(reply: str, start: int) -> bool:
    line_start = reply.rfind("\n", 0, start) + 1
    before = reply[line_start:start]
    if not _ACTION_OPEN_RE.search(before) or before.count("*") % 2 != 1:
        return False
    close = reply.find("*", start)
    return close > 0 and "\n" not in reply[start:close]


def _register(original: str, reply: str) -> list[Finding]:
    """One finding over the whole reply when no named phrase matched but its register is the assistant's.

    Nothing can be cut out of a reply whose whole manner is wrong, so the finding has no replacement
    and the guard's policy (regenerate by default) decides.
    """
    found = assistant_register.in_register(reply)
    if not found:
        return []
    kinds = ", ".join(f.kind for f in found)
    return [
        make_finding(
            original,
            DETECTOR,
            "high",
            0,
            len(original),
            f"breaks character: assistant register ({kinds})",
            code="register",
        )
    ]


def _strong_inside(reply: str, start: int, end: int) -> bool:
    """Whether a strong pattern matches inside a weak match ("As an AI language model" in quotes)."""
    return any(reason in _STRONG and pattern.search(reply, start, end) for pattern, reason, _ in _PATTERNS)


def _enclosing(sentences: list[tuple[int, int]], start: int, end: int, reply: str) -> tuple[int, int]:
    """The sentence(s) around a hit; a parenthesised OOC note is cut up to its closing bracket."""
    paren = re.match(r"[\(\[（]{1,2}", reply[start:])
    if paren:
        close = min(
            (i for i in (reply.find(")", end), reply.find("]", end), reply.find("）", end)) if i >= 0),
            default=-1,
        )
        if close >= 0:
            while close + 1 < len(reply) and reply[close + 1] in ")]）":
                close += 1
            return start, close + 1
    s_start = next((s for s, e in sentences if s <= start < e), start)
    s_end = next((e for s, e in reversed(sentences) if s < end <= e), end)
    return s_start, max(s_end, end)


def _code(reason: str) -> str:
    return {
        "AI disclaimer": "ai_disclaimer",
        "AI self-disclaimer": "ai_disclaimer",
        "refuses the role-play": "refusal",
        "refusal": "refusal",
        "policy talk": "policy",
        "out-of-character note": "ooc_note",
        "note to the reader": "note",
        "talks about the text": "note",
    }.get(reason, "meta")
