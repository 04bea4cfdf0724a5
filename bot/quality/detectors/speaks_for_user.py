"""Speaks for the user: the reply narrates the user's actions, words, thoughts or feelings.

Only narration is examined: quoted speech (and, in ``*action*`` style, the unmarked speech) is
masked first, so "You look tired," she said. is fine while "You walk over and take her hand." is not.
A second-person subject at the start of a clause followed by a verb is the signal; "you" as an
object ("she hands you the cup"), inside a subordinate clause ("as you sit down, she ...") or after a
verb of perception ("she notices you hesitate") is the NPC reacting to the user, which users accept.
The same checks run for the user's name ("Alex walks over", "林夏走过去") and for ``Alex:`` headers
or speech attributed to the user.
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
    word_count,
)

DETECTOR = "speaks_for_user"

# Words that may follow a clause-initial "you" without making it the subject of an action.
_NON_VERBS = frozenset(
    """
    both all two three alone too guys people there here again now instead yourself and or nor who
    that which as to in on at with for from by of a an the back closer away up down out off over
    inside outside my her his their its our your this these those included especially either neither
    seem seems appear appears are were is was have has had will would shall should may might must
    could can if so not no yes please sir ma'am
    """.split()
)
_ADVERBS = frozenset(
    """
    just still finally suddenly slowly quickly also then now only almost barely nearly even never
    always instinctively immediately gently quietly silently softly carefully hesitantly reluctantly
    nervously absently simply already again soon
    """.split()
)
_LOOK_ACTIONS = frozenset(
    "at around up down away back over into out toward towards to through past behind".split()
)
_MODAL_ACTIONS = frozenset(
    "help feel see hear sense taste smell tell barely hardly almost only stop resist bring keep".split()
)
_FEELING_ADJ = frozenset(
    """
    tired nervous scared afraid embarrassed flustered speechless breathless frozen stunned dizzy
    angry furious happy sad relieved terrified overwhelmed
    """.split()
)
_BODY = (
    r"heart|pulse|breath|breathing|cheeks?|face|eyes|hands?|fingers|knees|legs|stomach|mind|thoughts|"
    r"voice|throat|chest|skin|body|lips|head|gaze|mouth|ears|jaw|shoulders?|brows?|forehead|fists?|teeth|"
    r"neck|spine|arms?|feet|grip|smile|expression|posture|nerves|resolve|temper|blood|tears|"
    r"eyebrows?|nose|palms?|back"
)
# Perceiving the scene: "You hear boots on the stairs" is a game master's description of what is there to
# hear or see and decides nothing for the user, so the guard must not cut it (LABELS.md calls sensory lines
# borderline; the one in the tune half is labelled clean). Feelings ("you feel the knot loosen") are not in
# this list, and a second clause ("and you open the door") is still checked on its own.
_PERCEPTION = frozenset("hear see smell notice spot glimpse".split())
_THIRD_COPULA = frozenset("is was seems appears has had looks sounds".split())

_YOU_RE = re.compile(r"\b(?P<you>[Yy]ou(?:['’](?:re|ve|ll|d))?|[Yy]our)\b")
_WORD_AFTER_RE = re.compile(r"[ \t]+(?P<w>[A-Za-z]+(?:['’][a-z]+)?)")
_CONJ_RE = re.compile(r"(?:^|(?<=[\s,;]))(?:and|then|but|so|yet|and then|but then)\s*$")
_BOUNDARY_CHARS = ".!?…:;\n" + MASK + "—–)"
_STRIP_CHARS = " \t*_\"“”「」『』'‘’"

_ZH_CONJ = ("然后", "于是", "接着", "随后", "而后", "便", "就", "却", "而")
_ZH_BOUNDARY = "。！？；，、：…—\n" + MASK + "）)*（(【"
_ZH_BODY = (
    "心跳|心脏|心里|心中|心头|内心|脸颊|脸|手指|指尖|双手|手心|手|眼眶|眼睛|双眼|眼神|目光|视线|呼吸|声音|"
    "喉咙|嗓音|身体|全身|嘴角|嘴唇|耳朵|耳根|胸口|腿|膝盖|脑海|脑中|思绪|胃|后背|额头|肩膀|拳头|牙关|眉头|"
    "眉心|脸色|神情|表情|笑容|鼻子|鼻尖|脚步|掌心|泪水|眼泪|血液|神经"
)
# A sentence that opens with a condition is a hypothetical: "If he grabs you, you lose", "要是你走了，你就……".
_CONDITIONAL_RE = re.compile(
    r"^[\s*_\"“”「」'‘’(（]*(?:(?:if|unless|should you|in case|suppose|supposing|imagine|what if)\b"
    r"|(?:如果|要是|假如|假使|倘若|万一|除非|只要|若是|若))",
    re.IGNORECASE,
)
# A line set off as an in-story document (a chat or log line, a message read out, a quoted line):
# "【妈妈】…", "[18:52] okafor: …", "> …". Its "you" belongs to whoever wrote it. (A bare "Name:" line
# is left to the header checks: "林夏笑着说：" starts a line the same way.)
_DOCUMENT_LINE_RE = re.compile(
    r"(?m)^[ \t]*(?:>|【[^】\n]{1,16}】|〔[^〕\n]{1,16}〕|\[[^\]\n]{1,24}\])"
)
_ZH_NOT_SUBJECT = set("是好这那或")
_ZH_SPEECH = "说|道|问|答|喊|叫|嚷|回答|开口|低语|嘀咕|补充|笑道|轻声道|低声道"


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    a = analysis or analyse(reply, ctx.own_names)
    findings: list[Finding] = []
    findings += _headers(reply, ctx)
    view = a.narration_view
    names = [n for n in ctx.users if n.casefold() not in _GENERIC_ROLES]
    name_re = _user_name_pattern(names_alternation(names)) if names else None
    named = names_alternation(names_in(names, view))  # the sensation pattern per user name the reply writes
    if a.narration:
        documents = _document_lines(reply)
        for s_start, s_end in sentence_spans(view):
            sentence = view[s_start:s_end]
            if sentence.rstrip(_STRIP_CHARS + MASK).endswith(("?", "？")):
                continue  # a narrated question asks the user something; it does not answer for them
            if _CONDITIONAL_RE.match(sentence):
                continue  # a hypothetical, not a fact about the user
            if any(d_start <= s_start < d_end for d_start, d_end in documents):
                continue
            hit = _second_person_en(view, s_start, s_end) or _second_person_zh(view, s_start, s_end)
            if hit:
                start, code, reason = hit
                findings.append(_finding(reply, view, s_start, s_end, start, code, reason))
                continue
            hit = _user_name_narration(view, s_start, s_end, name_re) if name_re else None
            if hit:
                start, code, reason = hit
                findings.append(_finding(reply, view, s_start, s_end, start, code, reason))
                continue
            sensation = _sensation_pattern(named).search(view, s_start, s_end)
            if sensation:
                findings.append(_finding(reply, view, s_start, s_end, s_start, "second_person",
                                         "narrates a sensation in the user's body"))
                continue
            turn = _pronoun_turn(view, s_start, s_end, name_re, ctx) if name_re else None
            if turn is not None:
                findings.append(_finding(reply, view, s_start, s_end, s_start, "user_name",
                                         "narrates what the user feels or decides"))
    return _dedupe(findings)


def _pronoun_turn(view: str, s_start: int, s_end: int, name_re: re.Pattern[str], ctx: ReplyContext) -> int | None:
    """Where a sentence that opens on the user's name turns to that person's feelings by pronoun."""
    lead = re.match(r"[\s*_(\"“]*", view[s_start:s_end])
    head = s_start + (lead.end() if lead else 0)
    m = name_re.match(view, head)
    if m is None or _WORDS_OF_USER_RE.match(view, m.end()):
        return None  # "Sam's question hangs there, and she realizes...": the NPC reacting to what the user said
    turn = _PRONOUN_TURN_RE.search(view, m.end(), s_end)
    if turn is None:
        return None
    between = view[m.end():turn.start()]
    if any(n in between for n in (*ctx.own_names, *ctx.others)):
        return None  # someone else came in between: the pronoun may be theirs
    return turn.start()


def _document_lines(reply: str) -> list[tuple[int, int]]:
    """Spans of the lines that are in-story documents (see ``_DOCUMENT_LINE_RE``)."""
    out = []
    for m in _DOCUMENT_LINE_RE.finditer(reply):
        end = reply.find("\n", m.start())
        out.append((m.start(), len(reply) if end < 0 else end))
    return out


def _finding(reply: str, view: str, s_start: int, s_end: int, clause: int, code: str, reason: str) -> Finding:
    """Cut the whole sentence, or only the clause when the NPC's own clause or line precedes it.

    A quote followed directly by "you say" is the user's line: the quote goes with the attribution.
    """
    words_before = word_count(view[s_start:clause].replace(MASK, " "))
    if clause > s_start and words_before and (words_before >= 3 or MASK in view[s_start:clause]):
        end = s_end
        while end > clause and reply[end - 1] in '.!?。！？…"”」』*_ ':
            end -= 1
        severity = "medium"
        start = clause
    else:
        start, end = s_start, s_end
        while end < len(reply) and reply[end] in " \t":
            end += 1
        severity = "high"
    return make_finding(reply, DETECTOR, severity, start, end, reason, code=code, replacement="")


def _clause_start(view: str, s_start: int, pos: int) -> int | None:
    """Where the clause containing ``pos`` starts if ``pos`` is its first word, else None."""
    prefix = view[s_start:pos]
    stripped = prefix.rstrip(_STRIP_CHARS)
    if not stripped.strip():
        return s_start
    if stripped[-1] in _BOUNDARY_CHARS:
        return s_start + len(stripped)
    if stripped[-1] in ",-":
        return s_start + len(stripped) - 1
    m = _CONJ_RE.search(stripped)
    if m:
        head = stripped[: m.start()].rstrip()
        return s_start + len(head) - (1 if head.endswith(",") else 0)
    return None


def _second_person_en(view: str, s_start: int, s_end: int) -> tuple[int, str, str] | None:
    for m in _YOU_RE.finditer(view, s_start, s_end):
        clause = _clause_start(view, s_start, m.start())
        if clause is None:
            continue
        you = m.group("you").lower().replace("’", "'")
        words = _following_words(view, m.end(), s_end, 3)
        if not words:
            continue
        if you == "your":
            if re.fullmatch(_BODY, words[0]) and _body_acts(_following_words(view, m.end(), s_end, 4)[1:]):
                return (
                    clause,
                    "second_person",
                    f"narrates the user's body or feelings ('your {words[0]} {words[1]}')",
                )
            continue
        if you in ("you'll", "you'd"):
            continue
        if you in ("you're",) or words[0] in ("are", "were"):
            rest = words[1:] if words[0] in ("are", "were") else words
            if rest and (rest[0].endswith("ing") or rest[0] in _FEELING_ADJ):
                return clause, "second_person", "narrates the user's state as fact"
            continue
        if you == "you've":
            # "You've got this", "you've got a visitor": possession or encouragement, not something the user did.
            if words[0].endswith(("ed", "en", "t")) and words[0] not in ("got", "gotten"):
                return clause, "second_person", "narrates what the user has done or felt"
            continue
        verb = _skip_adverbs(words)
        if verb is None:
            continue
        if verb in ("look", "looks"):
            nxt = words[words.index(verb) + 1] if words.index(verb) + 1 < len(words) else ""
            if nxt in _LOOK_ACTIONS:
                return clause, "second_person", "narrates the user's action ('you look …')"
            continue
        if verb in ("can", "could", "cannot", "can't", "couldn't", "can’t"):
            idx = words.index(verb)
            nxt = words[idx + 1] if idx + 1 < len(words) else ""
            if nxt in _PERCEPTION:
                continue  # "you can hear the gulls" is the scene, as "you hear the gulls" is
            if nxt in _MODAL_ACTIONS or verb in ("cannot", "can't", "couldn't") and nxt == "help":
                return clause, "second_person", "narrates what the user perceives or feels"
            continue
        if verb in ("do", "don't", "did", "didn't", "does"):
            return clause, "second_person", "narrates the user's thoughts or actions"
        if verb in _NON_VERBS or not verb.isascii() or not verb[0].islower():
            continue
        if verb in _PERCEPTION:
            continue  # "You hear boots on the stairs" describes the scene to the user; it decides nothing for them
        return clause, "second_person", f"narrates the user's action or feeling ('you {verb}')"
    return None


def _following_words(view: str, pos: int, end: int, n: int) -> list[str]:
    words: list[str] = []
    while len(words) < n:
        m = _WORD_AFTER_RE.match(view, pos, end)
        if not m:
            break
        words.append(m.group("w").replace("’", "'"))
        pos = m.end()
    return words


def _skip_adverbs(words: list[str]) -> str | None:
    for w in words:
        lw = w.lower()
        if lw in _ADVERBS or (lw.endswith("ly") and lw not in ("fly", "reply", "rely", "apply")):
            continue
        return w
    return None


def _second_person_zh(view: str, s_start: int, s_end: int) -> tuple[int, str, str] | None:
    pos = view.find("你", s_start, s_end)
    while pos >= 0:
        clause = _zh_clause_start(view, s_start, pos)
        if clause is not None:
            rest = view[pos + 1 : s_end]
            if rest.startswith("们"):
                rest = rest[1:]
            if rest.startswith("的"):
                if re.match(f"的(?:{_ZH_BODY})", rest):
                    return clause, "second_person", "narrates the user's body or feelings (你的…)"
            elif rest[:1] and rest[0] not in _ZH_NOT_SUBJECT and "\u4e00" <= rest[0] <= "\u9fff":
                return clause, "second_person", f"narrates the user's action or feeling (你{rest[:3]}…)"
        pos = view.find("你", pos + 1, s_end)
    return None


def _zh_clause_start(view: str, s_start: int, pos: int) -> int | None:
    prefix = view[s_start:pos].rstrip(" \t*_")
    if not prefix:
        return s_start
    if prefix[-1] in _ZH_BOUNDARY:
        return s_start + len(prefix) - (1 if prefix[-1] in "，、" else 0)
    for conj in _ZH_CONJ:
        if prefix.endswith(conj):
            head = prefix[: -len(conj)].rstrip()
            if not head:
                return s_start
            if head[-1] in _ZH_BOUNDARY:
                return s_start + len(head) - (1 if head[-1] in "，、" else 0)
    return None


def _user_name_narration(
    view: str, s_start: int, s_end: int, pattern: re.Pattern[str]
) -> tuple[int, str, str] | None:
    for m in pattern.finditer(view, s_start, s_end):
        name = m.group()
        rest = view[m.end() : s_end]
        if "\u4e00" <= name[-1] <= "\u9fff" or rest[:1] and "\u4e00" <= rest[0] <= "\u9fff":
            clause = _zh_clause_start(view, s_start, m.start())
            if clause is None:
                continue
            if re.match(f"(?:[^，。！？“”「」\n]{{0,6}}?(?:{_ZH_SPEECH}))[：:，,]?\\s*{MASK}", rest):
                return clause, "user_line", f"writes {name}'s words"
            if rest.startswith("的"):
                if re.match(f"的(?:{_ZH_BODY})", rest):
                    return clause, "user_name", f"narrates {name}'s body or feelings"
                continue
            if rest[:1] and rest[0] not in _ZH_NOT_SUBJECT and "\u4e00" <= rest[0] <= "\u9fff":
                return clause, "user_name", f"narrates {name}'s action ({name}{rest[:3]}…)"
            continue
        title = _TITLE_BEFORE_RE.search(view, max(s_start, m.start() - 24), m.start())
        clause = _clause_start(view, s_start, title.start() if title else m.start())
        if clause is None:
            continue
        if re.match(r"['’]s\s", rest):
            words = _following_words(view, m.end() + 2, s_end, 4)
            if words and re.fullmatch(_BODY, words[0]) and _body_acts(words[1:]):
                return clause, "user_name", f"narrates {name}'s body or feelings"
            continue
        after = m.end()
        aside = _ASIDE_RE.match(view, after, s_end)
        if aside:  # "Rowan, tired of arguing, gives in": the verb comes after the aside
            after = aside.end()
        words = _following_words(view, after, s_end, 3)
        verb = _skip_adverbs(words)
        if verb in ("can", "could", "cannot", "can't", "couldn't") and words.index(verb) + 1 < len(words):
            if words[words.index(verb) + 1] in _MODAL_ACTIONS:  # "Rowan can't help smiling"
                return clause, "user_name", f"narrates what {name} perceives or feels"
        if verb in ("looks", "looked") and words.index(verb) + 1 < len(words):
            if words[words.index(verb) + 1] in _LOOK_ACTIONS:  # "Sam looks down": an action, not "looks tired"
                return clause, "user_name", f"narrates {name}'s action ('{name} {verb} …')"
        if verb is None or verb in _NON_VERBS or verb in _THIRD_COPULA or not verb[0].islower():
            continue
        if verb in _SPEECH_VERBS:
            return clause, "user_line", f"writes {name}'s words ('{name} {verb}')"
        if verb.endswith("s") and not verb.endswith("ss") or verb.endswith("ed") or verb in _IRREGULAR_PAST:
            return clause, "user_name", f"narrates {name}'s action ('{name} {verb}')"
    return None


# A title or a form of address in front of the user's name ("Miss Clara says", "young Tam runs", "Dr. Osei
# nods"): the name with its title opens the clause.
_TITLE_BEFORE_RE = re.compile(
    r"(?<![\w'’])(?:(?:[Tt]he|[Oo]ur|[Pp]oor|[Dd]ear)\s+)?(?:Mister|Missus|Miss|Mrs?\.?|Ms\.?|Mx\.?|Dr\.?|Doc|Lady|Lord|Sir|Dame|Madam|"
    r"Madame|Mademoiselle|Monsieur|Señora?|Señorita|Master|Mistress|Professor|Prof\.?|Captain|Capt\.?|Detective|Officer|"
    r"Agent|Inspector|Sergeant|Sgt\.?|Lieutenant|Commander|Colonel|General|Judge|Nurse|Sister|Brother|Father|Mother|"
    r"Auntie|Aunt|Uncle|Cousin|Granny|Grandma|Grandpa|[Yy]oung|[Ll]ittle|[Pp]oor|[Oo]ld)\s+$"
)


# A short aside between the user's name and the verb, set off by commas: ", for his part,", "，犹豫片刻，"; a
# relative clause may run longer (", who has been dreading this all week,").
_ASIDE_RE = re.compile(
    r",[ \t]*(?:(?:[A-Za-z'’-]+[ \t]+){0,5}|(?:who|whose)[ \t]+(?:[A-Za-z'’-]+[ \t]+){0,12})[A-Za-z'’-]+,"
)


def _body_acts(words: list[str]) -> bool:
    """Whether the words after a body part make it act: "pounds", "is racing", "are shaking" (not "is red")."""
    if not words:
        return False
    if words[0] in ("is", "are", "was", "were"):
        state = _skip_adverbs(words[1:])  # "are already shaking", "is suddenly hot"
        return state is not None and (state.endswith("ing") or state in _FEELING_ADJ)
    return words[0] not in _NON_VERBS


# A sensation that runs through the user's body ("A chill runs down your spine", "a jolt of panic shoots through
# Mara's chest") is a feeling the user never wrote, though the sensation is the grammatical subject.
_SENSATION = (
    r"chill|shiver|shudder|warmth|heat|jolt|thrill|tingle|flush|ache|wave|surge|pang|rush|knot|spark|prickle"
)
_SENSATION_VERBS = (
    r"runs?|ran|races?|raced|creeps?|crept|shoots?|shot|spreads?|goes|went|rushes|rushed|floods?|flooded|climbs?|"
    r"climbed|crawls?|crawled|prickles?|washes|washed|settles?|settled|blooms?|bloomed|rises?|rose|tightens?|"
    r"tightened|grips?|gripped|seizes?|seized|twists?|twisted|curls?|curled"
)


@lru_cache(maxsize=4096)
def _sensation_pattern(alt: str) -> re.Pattern[str]:
    owner = rf"(?:[Yy]our|(?:{alt})['’]s)" if alt else r"(?:[Yy]our)"
    return re.compile(
        rf"\b(?:{_SENSATION})(?:\s+of\s+[\w-]+)?\s+(?:[\w-]+\s+)?(?:{_SENSATION_VERBS})\s+"
        rf"(?:(?:down|up|through|over|across|into|in|along|around|at)\s+)?{owner}\s+(?:{_BODY})\b",
        re.IGNORECASE,
    )


# A sentence that opens on the user ("Evelyn's pulse is racing, and she makes up her mind...") goes on about the
# user when a later clause's pronoun turns to what that person feels, wants or decides.
_INNER_STATE = (
    r"feels|felt|thinks|thought|knows|knew|realizes|realises|realized|realised|wonders|wondered|decides|decided|"
    r"makes up (?:his|her|their) mind|made up (?:his|her|their) mind|wants|wanted|wishes|wished|hopes|hoped|fears|"
    r"feared|dreads|dreaded|regrets|resolves|resolved|vows|vowed|is falling|falls for|fell for|can['’]t help|"
    r"cannot help|is too proud|would never admit"
)
_WORDS_OF_USER_RE = re.compile(
    r"['’]s\s+(?:\w+\s+)?(?:question|questions|words|answer|reply|request|story|idea|plan|point|joke|line|comment|"
    r"message|offer|suggestion|remark|confession|name|letter|note)\b"
)
_PRONOUN_TURN_RE = re.compile(
    rf"(?:[;,]\s*|\b(?:and|but|then|as|so)\s+)(?:she|he)(?:['’]s)?\s+(?:(?:already|suddenly|quietly|secretly|"
    rf"finally|now|just|still)\s+)?(?:{_INNER_STATE})\b"
)

_IRREGULAR_PAST = frozenset(
    "said took went came felt thought knew saw gave made ran sat stood held told began drew fell "
    "caught brought left kept put got".split()
)
_SPEECH_VERBS = frozenset(
    "says said asks asked replies replied answers answered whispers whispered shouts shouted mutters "
    "muttered adds added calls called tells told exclaims exclaimed murmurs murmured".split()
)
_GENERIC_ROLES = frozenset({"user", "human", "assistant", "system", "ai", "model"})


def _headers(reply: str, ctx: ReplyContext) -> list[Finding]:
    """``Alex:`` headers: the model continued the chat as the user; cut up to the NPC's own next header."""
    users = [n for n in ctx.users if n.casefold() not in _GENERIC_ROLES]
    return header_findings(
        reply, users, [*ctx.own_names, *ctx.others], DETECTOR, "writes a line as the user ({name}:)", "user_header"
    )


def _dedupe(findings: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if out and f.start < out[-1].end and f.end <= out[-1].end:
            continue
        out.append(f)
    return out


@lru_cache(maxsize=4096)
def _user_name_pattern(alt: str) -> re.Pattern[str]:
    """The user's names as whole words, compiled once per set of names."""
    return re.compile(rf"(?<![\w'’])(?:{alt})(?![A-Za-z])")
