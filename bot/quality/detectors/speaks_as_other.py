"""Speaks as another character: ``Bob:`` headers, lines attributed to another character, or a switch of identity.

In a group scene each NPC writes only its own part. Narrating that another character nods is normal
staging and is not flagged; writing that character's *words* (a header, or a quote with "Bob says")
or claiming to be them ("I am Bob", "我是林夏") is.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.quality.findings import Finding, ReplyContext, make_finding
from bot.quality.text import (
    MASK,
    Analysis,
    analyse,
    header_findings,
    names_alternation,
    names_in,
    sentence_spans,
)

DETECTOR = "speaks_as_other"

_SPEECH_STEMS = (
    "say ask repl answer whisper shout mutter add call snap exclaim murmur interject laugh sigh growl continue "
    "crow grunt bark boom chuckle scoff snort hiss groan grumble drawl tease joke insist offer suggest protest "
    "retort counter agree admit announce declare demand plead beg yell scream cr roar bellow whimper sneer "
    "purr chirp sing quip observe remark note warn promise mumble stammer stutter breathe huff "
    "wheeze croak rasp gasp sob wail howl rumble snarl pipe"
).split()


def _speech_forms() -> str:
    forms = {"says", "said", "cuts in", "chimes in", "cries", "cried", "replies", "replied", "begs", "begged"}
    for stem in _SPEECH_STEMS:
        if stem in ("say", "repl", "cr", "beg"):
            continue
        forms.add(stem + ("es" if stem.endswith(("sh", "ss", "s", "x", "ch")) else "s"))
        forms.add(stem + ("d" if stem.endswith("e") else "ed"))
    forms.discard("snaped")
    forms |= {"snapped", "sang", "sings"}
    return "|".join(sorted(forms, key=len, reverse=True))


_EN_SPEECH = _speech_forms()
_ZH_SPEECH = "说|道|问|答|喊|叫|嚷|回答|开口|低语|嘀咕|补充|插嘴|笑道"


_TITLES = re.compile(
    r"^(?:the|a|an|old|young|little|mr\.?|mrs\.?|ms\.?|miss|dr\.?|doc|captain|commander|ensign|lieutenant|sergeant|"
    r"officer|detective|professor|master|lady|lord|sir|madam|madame|monsieur|uncle|aunt|auntie|grandma|grandpa|"
    r"sheriff|deputy|brother|sister|father|mother|chief|governor|mayor|king|queen|prince|princess|duke|duchess|"
    r"count|countess|baron|baroness|general|colonel|major|agent|inspector|nurse|coach|judge|saint|st\.?)\s+",
    re.IGNORECASE,
)


# Titles that name a role the scene calls the person by ("Professor Hale" -> "the professor", "Dr. Crane" ->
# "the doctor"); not forms of address that stand for nobody in particular ("the mister", "the miss").
_ROLE_TITLES = {
    t: t for t in (
        "captain commander ensign lieutenant sergeant officer detective professor sheriff deputy chief governor mayor "
        "king queen prince princess duke duchess count countess baron baroness general colonel major inspector nurse "
        "coach judge"
    ).split()
} | {"dr": "doctor", "doc": "doctor"}


# A surname and a kinship or trade term ("秦奶奶", "王师傅", "李大夫"): the term alone names the same person.
_ZH_KIN_RE = re.compile(
    r"[\u4e00-\u9fff](?:奶奶|爷爷|姥姥|姥爷|外婆|外公|阿姨|大爷|大娘|大妈|大婶|婶子|叔叔|伯伯|阿婆|阿公|师傅|大夫|掌柜|老师|"
    r"姑姑|嬷嬷|公公|婆婆|师父|师兄|师姐|老爷|夫人|少爷|娘娘|总管|管家)"
)


@lru_cache(maxsize=1024)
def _variants(names: tuple[str, ...], taken: frozenset[str]) -> tuple[str, ...]:
    """``name_variants`` kept per cast: every reply of a scene asks for the same names."""
    return tuple(name_variants(list(names), set(taken)))


def name_variants(names: list[str], taken: set[str]) -> list[str]:
    """Shorter forms other characters go by: "Ensign Pike" -> "Pike", "the Mayor" -> "Mayor",
    "熟客陈阿姨" -> "陈阿姨" (a describing prefix dropped). ``taken`` (own and user names) are never produced."""
    out: list[str] = []
    for name in names:
        forms = {name}
        bare = _TITLES.sub("", name).strip()
        if bare and bare != name:
            forms.add(bare)
            role = _ROLE_TITLES.get(name[: len(name) - len(bare)].strip().rstrip(".").casefold())
            # "Professor Hale" is "the professor" to the scene, unless this NPC or the user has the same title.
            if role and not any(t.startswith(role) for t in taken):
                forms.update({f"the {role}", f"The {role}"})
        words = name.split()
        if len(words) > 1 and not re.search(r"[\u4e00-\u9fff]", name):
            forms.add(words[-1])
            # A first and a last name: the scene calls the person by the first one too ("Leo Marchetti" ->
            # "Leo"); not a title ("Captain Ashby") or a described name ("the Grey Lady").
            if len(words) == 2 and bare == name and words[0][:1].isupper() and words[0][1:].islower():
                forms.add(words[0])
        if _ZH_KIN_RE.fullmatch(name):
            forms.add(name[1:])  # "秦奶奶" -> "奶奶": the scene calls her by the kinship term alone
        if re.fullmatch(r"[\u4e00-\u9fff]{4,6}", name):
            forms.update({name[-3:], name[-2:]} if len(name) >= 5 else {name[-2:]})
        for form in forms:
            inside_taken = any(form.casefold() in t for t in taken)
            if len(form) >= 2 and not inside_taken and form not in out:
                out.append(form)
    return out


_VENTRILOQUY = re.compile(
    r"\b(?:answers|speaks|replies|talks|responds) (?:for|on behalf of) (?:the \w+|her|him|them)\b"
    r"|\b(?:answers|replies|responds) on (?:her|his|their) behalf\b"
    r"|(?:替|代)(?:她|他|[\u4e00-\u9fff]{1,4}?)(?:接着|抢着|把话)?(?:回答|作答|(?:答|回)了?话|应答|答|说)"
)
# A dialogue script: a line-start label, an optional (aside), a colon and an opening quote.
_SCRIPT_LINE = re.compile(r"(?m)^[ \t]*(?P<name>[^\s:：*\"“「(（\[【][^:：\n\"“「*]{0,23}?)[ \t]*(?:[（(][^)）\n]{0,12}[)）])?[ \t]*[:：][ \t]*[\"“「]")


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    taken = frozenset(n.casefold() for n in (*ctx.own_names, *ctx.users))
    others = list(_variants(tuple(ctx.others), taken))
    a = analysis or analyse(reply, ctx.own_names)
    findings = _script_lines(reply, ctx) + _addressed_to_self(reply, a, ctx)
    if not others:
        return _first_per_span(findings + _framed_voice(reply, a, ctx, []))
    # Full names only: a short form as a bare header is too often a chat log ("王总：明早的会推迟").
    findings += _headers(reply, ctx, list(ctx.others))
    named = names_in(others, reply)  # a name the reply never writes matches nothing: patterns per name named
    if named:
        findings += _attributed_lines(reply, a, named)
        findings += _identity_switch(reply, a, named)
    findings += _framed_voice(reply, a, ctx, named)
    if named:
        findings += _long_attribution(reply, a, ctx, named)
        findings += _dash_lines(reply, named)
    findings += [
        make_finding(reply, DETECTOR, "high", m.start(), m.end(), "speaks for another character", code="other_line")
        for m in _VENTRILOQUY.finditer(reply)
    ]
    return _first_per_span(findings)


def _script_lines(reply: str, ctx: ReplyContext) -> list[Finding]:
    """``Label: "..."`` lines under anyone's label but this NPC's and the user's (a raider, a voice on the phone)."""
    own = {n.casefold() for n in (*ctx.own_names, *ctx.users)}
    out = []
    for m in _SCRIPT_LINE.finditer(reply):
        label = m.group("name").strip().strip("*_").strip()
        if not label or label.casefold() in own or label.casefold() in _ROLE_LABELS:
            continue
        if any(n.casefold() in label.casefold() or n.casefold().startswith(label.casefold()) for n in ctx.own_names):
            continue
        if not _LABEL_SHAPE.fullmatch(label):
            continue  # narration before a colon ("苏婉对老陈说：“…”"), not a label
        end = reply.find("\n", m.end())
        out.append(make_finding(reply, DETECTOR, "high", m.start(), len(reply) if end < 0 else end,
                                f"writes a line under another character's header ({label}:)", code="other_header",
                                replacement=""))
    return out


# What a speaker label looks like: up to three capitalised words, or up to five Chinese characters.
_LABEL_SHAPE = re.compile(r"(?:[A-Z][\w'’.-]*)(?: [A-Z][\w'’.-]*){0,2}|[\u4e00-\u9fff]{1,5}")
_ROLE_LABELS = frozenset({"user", "human", "assistant", "ai", "model", "system", "用户", "助手", "note", "注"})


def _first_per_span(findings: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if out and f.start < out[-1].end:
            continue
        out.append(f)
    return out


def _headers(reply: str, ctx: ReplyContext, others: list[str]) -> list[Finding]:
    return header_findings(
        reply, others, list(ctx.own_names), DETECTOR,
        "writes a line under another character's header ({name}:)", "other_header",
    )


def _attributed_lines(reply: str, a: Analysis, others: list[str]) -> list[Finding]:
    if not a.dialogue:
        return []
    view = a.narration_view
    after_quote, as_subject = _attribution_patterns(names_alternation(others))
    matches = [m for p in after_quote for m in p.finditer(view)]
    matches += [m for p in as_subject for m in p.finditer(view) if _is_subject(view, m.start("name"))]
    sentences = sentence_spans(view)
    out: list[Finding] = []
    for m in matches:
        if _STATE_CLAUSE_RE.match(view, m.end("name")) and not _quote_right_before(view, m.start("name")):
            continue  # "小满的意思很清楚：“…”": a comment on them, then the NPC's own line
        pos = m.start("name")
        s_start, s_end = next(((s, e) for s, e in sentences if s <= pos < e), (m.start(), m.end()))
        # Take the quote that the attribution belongs to as well, even across the sentence split.
        start = min(s_start, _quote_before(a, m.start("name"), s_start))
        end = max(s_end, _quote_after(a, m.end()))
        while end < len(reply) and reply[end] in " \t":
            end += 1
        out.append(
            make_finding(
                reply,
                DETECTOR,
                "high",
                start,
                end,
                f"writes dialogue for {m.group('name')}",
                code="other_line",
                replacement="",
            )
        )
    return out


def _quote_right_before(view: str, pos: int) -> bool:
    """Whether a quote ends just before ``pos`` ("“……”小满是这么说的" attributes the quote before it)."""
    return view[max(0, pos - 3):pos].rstrip(" \t,，.*").endswith(MASK)


def _is_subject(view: str, pos: int) -> bool:
    """Whether the word at ``pos`` starts a sentence or clause (so a name there is the subject).

    A subordinate clause counts ("where Bob stares and mutters", "while Bob says"), and so does a Chinese name
    under a modifier or a title ("一旁的林蔚", "班主老金")."""
    before = view[:pos].rstrip(" \t*_")
    conj = re.search(
        r"(?:\b(?:but|and|then|so|until|till|where|while|when|whereupon)|然后|可|却|就)\s*$", before
    )
    if conj:
        before = before[: conj.start()].rstrip()
    else:
        zh = _ZH_SUBJECT_PREFIX_RE.search(before)
        if zh:
            before = before[: zh.start()].rstrip(" \t*_")
    return not before or before[-1] in ".!?。！？；;,，\n" + MASK


# What may stand between a clause start and a Chinese name that is still the subject: a modifier ending in 的
# ("一旁的", "坐在角落里的") or a title ("班主", "老板娘").
_ZH_TITLES = (
    "班主|掌柜|老板娘|老板|店主|管家|总管|师父|师傅|师兄|师姐|师弟|师妹|队长|组长|经理|主任|大人|公公|嬷嬷|"
    "太监|宫女|侍卫|丫鬟|小厮|医生|大夫|护士|警官|老师|教授|同学|船长|村长|族长|将军|司机|保安|服务生"
)
# The modifier may not hold a verb or preposition aimed at the name ("看着一旁的林蔚" makes her the object).
_ZH_SUBJECT_PREFIX_RE = re.compile(
    rf"(?:[^\W\d_a-zA-Z看望瞪瞥盯瞧朝对向冲给把被让叫跟和与同拉推扶拍问听替帮]{{1,5}}的|(?:{_ZH_TITLES}))$"
)


def _quote_before(a: Analysis, pos: int, default: int) -> int:
    for start, end in a.dialogue:
        gap = a.text[end:pos]
        if end <= pos and len(gap) <= 4 and not gap.strip(" ,，"):
            return start
    return default


def _quote_after(a: Analysis, pos: int) -> int:
    for start, end in a.dialogue:
        if start <= pos <= end:
            return end
    return pos



@lru_cache(maxsize=4096)
def _attribution_patterns(alt: str) -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
    """The patterns of speech attributed to one of the names in ``alt``, compiled once per cast."""
    boundary = rf"(?<![\w'’])(?P<name>{alt})(?![A-Za-z])"
    after_quote = [
        # "...," Bob says  /  “……”林夏说
        re.compile(rf"{MASK}\.?[\s,]*{boundary}[\s,]*(?:\w+ly\s+)?(?:{_EN_SPEECH})\b", re.IGNORECASE),
        re.compile(rf"{MASK}\.?\s*(?P<name>{alt})[^，。！？\n{MASK}]{{0,8}}?(?:{_ZH_SPEECH})"),
        # "Enough!" Bob slams the table. "Shut up!"  /  “够了！”老陈一拍桌子，“都给我闭嘴！”
        re.compile(rf"{MASK}\.?\s*{boundary}\s+(?:[a-z]+\s+){{0,5}}?[a-z]+[.,:]?\s*{MASK}"),
        re.compile(rf"{MASK}\.?\s*(?P<name>{alt})[^。！？\n{MASK}]{{0,12}}?[，,：:]?\s*{MASK}"),
    ]
    as_subject = [
        # Bob says, "..."  /  林夏笑着说：“……”
        re.compile(
            rf"{boundary}\s+(?:[a-z]+\s+){{0,3}}?(?:{_EN_SPEECH})\b[^.!?\n{MASK}]{{0,30}}[,:]?\s*{MASK}"
        ),
        re.compile(rf"(?P<name>{alt})[^，。！？\n{MASK}]{{0,8}}?(?:{_ZH_SPEECH})[：:，,]?\s*{MASK}"),
        # Bob grins: "..."  /  老陈哼了一声：“……” (an action, a colon, the line)
        re.compile(rf"{boundary}[^.!?。！？，,\n{MASK}:：]{{0,24}}[:：]\*?\s*{MASK}"),
        re.compile(rf"(?P<name>{alt})[^，。！？\n{MASK}:：]{{0,12}}[:：]\*?\s*{MASK}"),
    ]
    return after_quote, as_subject

def _identity_switch(reply: str, a: Analysis, others: list[str]) -> list[Finding]:
    patterns = _identity_patterns(names_alternation(others))
    out: list[Finding] = []
    for pattern in patterns:
        for m in pattern.finditer(reply):
            if a.in_dialogue(m.start()) and _IMPRESSION_RE.search(a.narration_view[max(0, m.start() - 200):m.start()]):
                continue  # "*He puts on the croak again.* "I am the Goblin King…"": a marked impression
            out.append(
                make_finding(
                    reply,
                    DETECTOR,
                    "high",
                    m.start(),
                    m.end(),
                    f"switches identity to {m.group('name')}",
                    code="identity_switch",
                    replacement=None,
                )
            )
    return out


@lru_cache(maxsize=4096)
def _identity_patterns(alt: str) -> list[re.Pattern[str]]:
    """"I am <name>" and its kin for the names in ``alt``, compiled once per cast."""
    return [
        re.compile(rf"\b(?:I am|I['’]m|my name is|call me)\s+(?P<name>{alt})\b(?!['’]s)", re.IGNORECASE),
        re.compile(rf"(?:我是|我叫|我就是|本人是)(?P<name>{alt})(?![的之])"),
        # A humble or formal self-reference joined to another's name ("奴婢秋棠", "属下小满", "在下老陈") speaks as them.
        re.compile(rf"(?:奴婢|奴才|小的|在下|臣妾|妾身|属下|小人|老奴|末将|晚辈|小女子|民女|草民|贫道|贫僧|本宫|卑职)(?P<name>{alt})(?![的之])"),
        re.compile(
            rf"[\(（\[]\s*(?:as|speaking as|switching to|以)\s*(?P<name>{alt})\s*[\)）\]]", re.IGNORECASE
        ),
    ]


# How a reply hands the floor to a voice that is not its own: a narration clause about someone else's voice
# ("Mr. Dale's voice comes up the stairs:", "a voice crackles out of the radio:", "老刘的声音从喇叭里传出来：")
# that runs straight into a quote. The NPC's own voice ("her voice drops:") is its own line and passes; a
# pronoun's voice counts only when the narration calls the NPC by the other pronoun ("She ... His voice").
_EN_VOICE_OWNER = r"(?P<owner>(?P<name>{alt})['’]s|[Hh]is|[Hh]er|[Tt]heir|[Aa]n?|[Aa]nother|[Ss]ome(?:one|body)['’]s)"
_EN_VOICE_TAIL = r"\s+(?:[\w'’-]+,?\s+){{0,3}}?voices?\b[^.!?\n{mask}]{{0,80}}?[:,]\**\s*{mask}"
_ZH_VOICE = r"(?P<name>{alt})的声音[^。！？\n{mask}]{{0,20}}?[：:]\**\s*{mask}"
# A voice the narration introduces as a stranger's ("一个低沉的男声从直播间里传出来：", "前方传来一个粗哑的嗓音：",
# "另一个声音应道：") is by definition not the NPC's own: the Chinese form of "a voice crackles:".
_ZH_STRANGER_VOICE_RE = re.compile(
    rf"(?:一个|一道|一声|另一个|另一道|有个)[^。！？\n{MASK}：:，,]{{0,8}}?(?:声音|嗓音|嗓门|嗓子|男声|女声|童声|人声|喊声)"
    rf"[^。！？\n{MASK}：:]{{0,24}}?[：:]\**\s*{MASK}"
)
# "in a low voice", "with a rasping voice": the manner of the subject's own speech.
_MANNER_BEFORE_RE = re.compile(r"\b(?:in|with)\s+$", re.IGNORECASE)
# A sound from a person the narration names only by kind ("a woman's thin whisper:", "a child's voice calls,")
# is a stranger's line, whatever the sound is called.
_PERSON_NOUNS = (
    r"man|woman|men|women|child|children|girl|boy|kid|baby|stranger|someone|somebody|person|lady|gentleman|"
    r"old man|old woman|guard|soldier|servant|maid|crowd"
)
_EN_STRANGER_VOICE_RE = re.compile(
    rf"(?<![\w'’])(?:[Aa]n?|[Aa]nother|[Ss]ome)\s+(?:[\w-]+\s+){{0,2}}?(?:{_PERSON_NOUNS})['’]s\s+(?:[\w-]+,?\s+){{0,2}}?"
    rf"(?:voice|whisper|cry|shout|call|murmur|mutter|scream|wail|sob|hiss|croak|rasp)s?\b[^.!?\n{MASK}]{{0,60}}?"
    rf"[:,]\**\s*{MASK}"
)
# An impression the narration marks as one ("as she imagines it", "in a mock growl", "学着老刘的腔调") is the NPC's
# own performance, not the other character's line.
_IMPRESSION_RE = re.compile(
    r"\b(?:imagin\w*|impressions?|imitat\w*|mimic\w*|mock\w*|pretend\w*|parod\w*|out of (?:her|his|my|their) "
    r"(?:own )?mouth|puts? on (?:a|an|the|his|her|their|that|[\w-]+['’]s) (?:[\w-]+ ){0,2}(?:voice|accent|croak|drawl|growl|lisp|rasp)"
    r"|in (?:the |a |an )?(?:[\w-]+ ){0,2}[\w-]+['’]s (?:[\w-]+ )?voice|in (?:his|her|their|my) best (?:[\w-]+ ){0,2}voice)\b|模仿|学着|假装|装作|学[^，。！？]{0,6}的(?:口气|腔调|声音|样子)",
    re.IGNORECASE,
)
# A device that speaks with nobody of the scene holding it ("The radio crackles:", "The intercom clicks on,",
# "对讲机里传来：") hands the floor to whoever is on the other end.
_DEVICES_EN = (
    r"radio|phone|telephone|intercom|speaker|loudspeaker|receiver|handset|comms?|headset|earpiece|walkie-talkie|"
    r"tannoy|PA|line|channel|console|terminal"
)
_DEVICE_EN_RE = re.compile(
    rf"(?<![\w'’])(?:[Tt]he|[Aa])\s+(?:[\w-]+\s+){{0,2}}?(?:{_DEVICES_EN})\s+(?:crackles|buzzes|clicks|hisses|squawks|"
    rf"blares|chirps|pops|beeps|rasps|comes alive|comes to life|wakes)\b[^.!?\n{MASK}]{{0,40}}?[:,]\**\s*{MASK}"
)
_DEVICE_ZH_RE = re.compile(
    rf"(?:对讲机|电话|听筒|喇叭|广播|耳机|无线电|话筒|扩音器)(?:里|那头|那边|中)[^。！？\n{MASK}]{{0,12}}?"
    rf"(?:传来|传出|响起)[^。！？\n{MASK}]{{0,10}}?[：:]\**\s*{MASK}"
)
# Someone unnamed speaking ("Someone at the back shouts,", "有人在门外喊：") is by definition not the NPC.
_SOMEONE_EN_RE = re.compile(
    rf"(?<![\w'’])(?:[Ss]omeone|[Ss]omebody)\s+(?:[\w'’-]+,?\s+){{0,8}}?(?:{_EN_SPEECH})[,:]\**\s*{MASK}"
)
_SOMEONE_ZH_RE = re.compile(rf"有人[^。！？\n{MASK}]{{0,12}}?(?:{_ZH_SPEECH})[：:，,]\**\s*{MASK}")
_SUBJECT_PRONOUN_RE = re.compile(r"(?:^|[.!?*;]\s*|\b(?:and|then|but|as)\s+)(?P<p>[Ss]he|[Hh]e)\b")


def _framed_voice(reply: str, a: Analysis, ctx: ReplyContext, others: list[str]) -> list[Finding]:
    if not a.dialogue:
        return []
    view = a.narration_view
    en, zh = _voice_patterns(names_alternation(others))
    out: list[Finding] = []
    for m in en.finditer(view):
        if _IMPRESSION_RE.search(m.group()):
            continue
        owner = m.group("owner").casefold()
        if owner in ("a", "an") and _MANNER_BEFORE_RE.search(view, max(0, m.start() - 8), m.start()):
            continue  # "in a high quavering voice, adds:": how the subject speaks, not a second voice
        if owner in ("his", "her", "their"):
            mine = _npc_pronoun(view, m.start(), m.end())
            if mine is None or owner == "their" or (owner == "his") == (mine == "he"):
                continue
        out.append(_voice_finding(reply, a, m, m.group("name") or "another voice"))
    for m in zh.finditer(view):
        if _IMPRESSION_RE.search(m.group()):
            continue
        out.append(_voice_finding(reply, a, m, m.group("name")))
    out += [_voice_finding(reply, a, m, "a stranger") for m in _EN_STRANGER_VOICE_RE.finditer(view)
            if not _IMPRESSION_RE.search(m.group())]
    out += [_voice_finding(reply, a, m, "a stranger") for m in _ZH_STRANGER_VOICE_RE.finditer(view)
            if not _IMPRESSION_RE.search(m.group())]
    out += _newcomer_lines(reply, a, ctx)
    for pattern in (_DEVICE_EN_RE, _DEVICE_ZH_RE):
        out += [_voice_finding(reply, a, m, "the voice on the line") for m in pattern.finditer(view)]
    for pattern in (_SOMEONE_EN_RE, _SOMEONE_ZH_RE):
        out += [_voice_finding(reply, a, m, "someone") for m in pattern.finditer(view)
                if not _IMPRESSION_RE.search(m.group())]
    return out


# Someone the narration brings in by kind ("an elderly butler shuffles in", "and a guard steps through the gate")
# in the sentence right before a quote, with nobody taking the floor back after them, says that quote.
_NEWCOMER_NOUNS = (
    r"butler|maid|waiter|waitress|servant|footman|guard|soldier|officer|clerk|nurse|doctor|priest|monk|nun|"
    r"stranger|man|woman|boy|girl|child|kid|messenger|courier|porter|bartender|barmaid|attendant|steward|"
    r"stewardess|conductor|driver|vendor|merchant|peddler|sailor|knight|page|squire|herald|customer|patron|"
    r"traveller|traveler|receptionist|janitor|cop|policeman|policewoman|constable|orderly|servant girl|serving girl"
)
_NEWCOMER_RE = re.compile(
    rf"(?:^|[.!?;,*]\s*|\b(?:and|then|when|as|until|before)\s+)(?:[Aa]n?|[Aa]nother)\s+(?:[\w-]+,?\s+){{0,3}}?"
    rf"(?:{_NEWCOMER_NOUNS})\s+(?!who\b|that\b)(?P<rest>[^.!?\n{MASK}]{{0,160}}?)[.!?:,]?\**\s*(?={MASK})"
)
_ENTRANCE_RE = re.compile(
    r"\b(?:opens|\w+s open|bursts|enters|arrives|appears|emerges|(?:comes|walks|steps|shuffles|hurries|rushes|"
    r"strides|leans|pokes|barges|storms|wanders|ducks|slips|limps|marches|bustles|stumbles|staggers|runs|jogs|"
    r"climbs|trudges)\s+(?:in|into|up|through|out|over|forward)|"
    r"pushes (?:in|through|past))\b"
)
_NEWCOMER_HANDOVER_RE = re.compile(r"\b(?:she|he|I|we|they)\b|[.!?]", re.IGNORECASE)
_OWN_ATTRIBUTION_RE = re.compile(
    rf"^{MASK}*[\s,*]*(?:[Ss]he|[Hh]e|I)\s+(?:\w+ly\s+)?(?:{_EN_SPEECH})\b"
)


def _newcomer_lines(reply: str, a: Analysis, ctx: ReplyContext) -> list[Finding]:
    # An NPC's first reply often brings the NPC itself in this way ("A tall woman in black looks up.").
    if a.style != "quotes" or not ctx.recent_replies:
        return []
    view = a.narration_view
    out: list[Finding] = []
    for m in _NEWCOMER_RE.finditer(view):
        rest = m.group("rest")
        if _NEWCOMER_HANDOVER_RE.search(rest) or any(n in rest for n in ctx.own_names):
            continue
        if not _ENTRANCE_RE.search(m.group()):
            continue
        quote_start = m.end()
        if _OWN_ATTRIBUTION_RE.match(view, quote_start) or _own_name_attribution(view, quote_start, ctx):
            continue
        out.append(_voice_finding(reply, a, m, "a newcomer"))
    return out


def _own_name_attribution(view: str, quote_start: int, ctx: ReplyContext) -> bool:
    end = quote_start
    while end < len(view) and view[end] == MASK:
        end += 1
    after = view[end:end + 60].lstrip(" ,*")
    return any(after.startswith(n) for n in ctx.own_names)


def _npc_pronoun(view: str, skip_start: int, skip_end: int) -> str | None:
    """The subject pronoun the narration uses outside the voice clause ("she" or "he"), if it uses one only."""
    rest = view[:skip_start] + " . " + view[skip_end:]
    found = {m.group("p").casefold() for m in _SUBJECT_PRONOUN_RE.finditer(rest)}
    return found.pop() if len(found) == 1 else None


def _voice_finding(reply: str, a: Analysis, m: re.Match[str], who: str) -> Finding:
    return make_finding(reply, DETECTOR, "high", m.start(), _quote_after(a, m.end() - 1),
                        f"writes the words of {who}'s voice", code="other_line", replacement="")


@lru_cache(maxsize=4096)
def _voice_patterns(alt: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    never = "(?!x)x"
    alt = alt or never
    en = re.compile(r"(?<![\w'’])" + _EN_VOICE_OWNER.format(alt=alt) + _EN_VOICE_TAIL.format(mask=MASK))
    zh = re.compile(_ZH_VOICE.format(alt=alt, mask=MASK))
    return en, zh


# Another character as the subject of a longer clause that ends in a speech verb and a quote ("Rask leans out
# of the dark and snarls, \"...\"", "周砚探进头来，大声嚷道：“……”"). The clause may not hand the subject back
# to anyone else (a pronoun or the NPC's name after "and" or a comma).
_HANDOVER_EN = r"(?:\b(?:and|then|but|while|as|until|before|after)\s+|[,;]\s*)(?:she|he|I|they|we|you)\b"
_HANDOVER_ZH = r"[，,；;]\s*(?:她|他|我|你|它)"


# A clause about another character that states something about them rather than having them act: a copula or
# what they said or meant ("Odile is right:", "Odile's plan is simple:", "小满的意思是：", "小满说得对："). Their face
# or voice doing something ("奶奶的脸笑开了：") is them acting.
_STATE_CLAUSE_RE = re.compile(
    r"(?:['’]s\s+[\w-]+)?\s+(?:is|was|seems|seemed|sounds|sounded)\b(?!\s+(?:\w+\s+)?\w+ing\b)"
    r"|['’]s\s+(?:right|wrong|got|not|never|always|been)\b"
    r"|的(?:意思|话|想法|说法|态度|主意|计划|意见|道理)|是(?![你我他她])|说得(?:对|没错|好|有理)"
)


def _long_attribution(reply: str, a: Analysis, ctx: ReplyContext, others: list[str]) -> list[Finding]:
    if not a.dialogue:
        return []
    view = a.narration_view
    en, zh = _long_patterns(names_alternation(others))
    own = [n for n in (*ctx.own_names, *ctx.users) if n]
    out: list[Finding] = []
    for patterns, handover in ((en, _HANDOVER_EN), (zh, _HANDOVER_ZH)):
        for m in (m for pattern in patterns for m in pattern.finditer(view)):
            if not _is_subject(view, m.start("name")):
                continue
            clause = view[m.end("name"):m.end()]
            if re.search(handover, clause, re.IGNORECASE) or any(n in clause for n in own) or _IMPRESSION_RE.search(clause):
                continue
            if _STATE_CLAUSE_RE.match(clause):
                continue  # "Odile is right about one thing:", "小满的意思很清楚：": a comment, then the NPC's line
            out.append(make_finding(reply, DETECTOR, "high", m.start(), _quote_after(a, m.end() - 1),
                                    f"writes dialogue for {m.group('name')}", code="other_line", replacement=""))
    return out


# Verbs that do nothing but hand over speech: a sentence that ends in one ("Odile cuts in.", "Amos asks
# quietly.") and runs into a quote gives that quote to its subject. Reactions that may stand alone ("laughs",
# "sighs", "snorts") are not among them: the NPC often speaks right after another character's reaction.
# Present tense only: "just as Odile said." recalls an earlier remark before the NPC's own line.
_EN_SPEECH_ONLY = (
    r"says|asks|adds|replies|answers|cuts in|chimes in|pipes up|interjects|continues|responds|whispers|mutters|"
    r"murmurs|calls out|announces|declares|shouts|yells|speaks up"
)


@lru_cache(maxsize=4096)
def _long_patterns(alt: str) -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]:
    alt = alt or "(?!x)x"
    en = re.compile(
        rf"(?<![\w'’])(?P<name>{alt})(?![A-Za-z])\s+(?:(?:[\w'’-]+,?\s+){{1,12}}?(?:\w+ly\s+)?(?:{_EN_SPEECH})"
        rf"|(?:\w+ly\s+)?(?:{_EN_SPEECH})\b[^.!?\n{MASK}:]{{1,60}}?(?=[,:]\**\s*{MASK})"
        rf"|(?:[\w'’-]+,?\s+){{0,12}}?(?:\w+ly\s+)?(?:{_EN_SPEECH})\b[^.!?\n{MASK}:,]{{1,60}}?(?=:))"
        rf"[,:]\**\s*{MASK}"
    )
    # Another character (or a part of them: "Bob's display blinks") as the subject of a clause that ends in a
    # colon and a quote: the colon hands the quote to that subject, however long the clause before it.
    en_colon = re.compile(
        rf"(?<![\w'’])(?P<name>{alt})(?![A-Za-z])(?:['’]s\s+[\w-]+)?[^.!?;\n{MASK}:]{{1,100}}?:\**\s*{MASK}"
    )
    en_ended = re.compile(
        rf"(?<![\w'’])(?P<name>{alt})(?![A-Za-z])\s+(?:[\w'’-]+,?\s+){{0,12}}?(?:\w+ly\s+)?(?:{_EN_SPEECH_ONLY})"
        rf"(?:\s+(?:again|quietly|softly|at last|\w+ly))?\.\**\s*{MASK}"
    )
    zh = re.compile(rf"(?P<name>{alt})[^。！？\n{MASK}*]{{1,30}}?(?:{_ZH_SPEECH})[：:，,]\**\s*{MASK}")
    zh_colon = re.compile(rf"(?P<name>{alt})[^。！？；;\n{MASK}*:：]{{1,40}}?[：:]\**\s*{MASK}")
    return (en, en_colon, en_ended), (zh, zh_colon)


# A line of dialogue in the dash convention ("— Not tonight, Declan says, the van is late."): the dash makes the
# line direct speech, and an attribution inside it to another character gives the line to them. A reported
# summary in narration ("Declan says the van is late") has no dash.
_DASH_LINE_RE = re.compile(r"(?m)^[ \t*_]*(?:—|–|--)[ \t]*\S[^\n]*")


@lru_cache(maxsize=4096)
def _dash_attribution(alt: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?:[,，]\s*|^[ \t*_]*(?:—|–|--)[^\n]{{0,80}}?[.!?]\s+)(?P<name>{alt})(?![A-Za-z])\s+(?:\w+ly\s+)?(?:{_EN_SPEECH})\b"
        rf"|[,，]\s*(?:{_EN_SPEECH})\s+(?P<name2>{alt})(?![A-Za-z])"
    )


def _dash_lines(reply: str, others: list[str]) -> list[Finding]:
    if "—" not in reply and "–" not in reply and "--" not in reply:
        return []
    pattern = _dash_attribution(names_alternation(others))
    out = []
    for line in _DASH_LINE_RE.finditer(reply):
        m = pattern.search(line.group())
        if m:
            name = m.group("name") or m.group("name2")
            out.append(make_finding(reply, DETECTOR, "high", line.start(), line.end(), f"writes dialogue for {name}",
                                    code="other_line", replacement=""))
    return out


# A quote that opens by calling the NPC by its own name ("Pell! My pearls.", "Rosa? Rosa, pick up.", "老崔！") is
# somebody else talking to the NPC: a character does not hail itself. An impression the narration marks as one
# stays the NPC's own performance.
def _addressed_to_self(reply: str, a: Analysis, ctx: ReplyContext) -> list[Finding]:
    if a.style != "quotes":
        return []
    own = names_alternation(_own_forms(ctx.own_names))
    pattern = _self_address_pattern(own)
    if pattern is None:
        return []
    vocative = _vocative_pattern(own)
    out: list[Finding] = []
    for start, end in a.dialogue:
        if not pattern.match(reply, start + 1, end):
            # The name as a vocative later in the quote ("Tell her, Sal.", "走吧，老崔！"), outside a quote inside it.
            hail = vocative.search(reply, start + 1, end)
            if hail is None or _INNER_QUOTE_RE.search(reply, start + 1, hail.start()):
                continue
            sentence = _SENTENCE_END_RE.split(reply[start + 1:hail.start()])[-1]
            if "," in sentence or "，" in sentence:
                continue  # "Clerk, second class, Wren.": a list that ends in the NPC's own name introduces it
        before = a.narration_view[max(0, start - 200):start]
        if _IMPRESSION_RE.search(before[-80:]) or _RECORDING_RE.search(before):
            continue
        if _READ_ALOUD_RE.search(before[-120:]):
            continue  # "*She reads the note out.* "Nine o'clock, Wren. Come alone."": a letter read aloud
        if _SELF_TALK_RE.search(a.narration_view[max(0, start - 80):min(len(reply), end + 60)]):
            continue  # "*she tells herself*": a character may talk to itself by name
        out.append(make_finding(reply, DETECTOR, "high", start, end, "writes a line that hails this NPC by name",
                                code="other_line", replacement=""))
    return out


# A recording plays back someone's words on purpose (LABELS: a recorded voice message is an in-story document).
_RECORDING_RE = re.compile(
    r"\b(?:record\w*|tapes?|cassettes?|voicemails?|playback|plays? back|messages?)\b|录音|留言|语音|磁带|回放",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def _own_forms(own: tuple[str, ...]) -> tuple[str, ...]:
    forms = set(own)
    for name in own:
        bare = _TITLES.sub("", name).strip()
        if bare:
            forms.add(bare)
    return tuple(f for f in forms if len(f) >= 2)


# Reading a written text aloud: a letter, a note, a sign, a telegram (LABELS: in-story documents are not the NPC
# writing someone's lines).
_READ_ALOUD_RE = re.compile(
    r"\b(?:reads?|reading|recites?|reciting)\b|\b(?:letter|note|telegram|postcard|card|sign|inscription|scroll|"
    r"envelope|page|label|placard|poster|notice)\b[^.!?\n]{0,40}\b(?:says|said|reads|read|goes)\b|"
    r"念(?:道|着|出|了|起)|读(?:道|着|出|了|起)|信(?:上|里|中|纸)|来信|纸条|字条|电报|写着|上面写",
    re.IGNORECASE,
)
_SELF_TALK_RE = re.compile(
    r"\bto (?:himself|herself|itself|themselves|myself)\b|\b(?:tells|told|reminds|reminded|scolds|scolded) "
    r"(?:himself|herself|itself|themselves|myself)\b|自言自语|对自己|喃喃自语|暗暗(?:告诉|提醒)自己",
    re.IGNORECASE,
)


_INNER_QUOTE_RE = re.compile(r"[‘『]|(?:^|\s)'")
_SENTENCE_END_RE = re.compile(r"[.!?。！？…]")


@lru_cache(maxsize=4096)
def _vocative_pattern(alt: str) -> re.Pattern[str]:
    """``alt`` (the NPC's own forms) as a vocative inside a quote; only called with a non-empty ``alt``."""
    # After a Chinese name only "！" or "？" (or a clause going on) make it a call: "峨眉，俗家弟子，苏晚晴。" is the
    # NPC introducing itself.
    return re.compile(
        rf"[,，]\s*(?:{alt})(?<![\u4e00-\u9fff])(?![A-Za-z])(?=\s*(?:[.!?…]|[,，]\s*\w))"
        rf"|[,，]\s*(?:{alt})(?<=[\u4e00-\u9fff])(?=\s*(?:[!?！？]|[,，]\s*[\u4e00-\u9fff]))"
    )


@lru_cache(maxsize=4096)
def _self_address_pattern(alt: str) -> re.Pattern[str] | None:
    if not alt:
        return None
    return re.compile(rf"\s*(?:{alt})(?:[!?！？]|[,，](?=\s*\S)|啊[，！？])")
