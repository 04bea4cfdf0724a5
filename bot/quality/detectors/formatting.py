"""Formatting glitches: leaked <think> blocks and chat-template role tags, unbalanced quotes or asterisks,
broken markup, garbled characters, ellipsis abuse, and the NPC's own ``Name:`` header.

Every finding carries the edit that repairs it: a leaked block is cut, an unclosed quote or ``*`` is
closed at the end of its paragraph (or a stray closing one removed), an HTML tag becomes Markdown.
Text after a tag that starts another role's turn (``<|im_start|>user``, ``User:``) is the model
writing the next turn, so it is cut to the end.
"""

from __future__ import annotations

import re

from bot.quality.findings import Finding, ReplyContext, make_finding
from bot.quality.text import QUOTE_PAIRS, TEMPLATE_PLACEHOLDER, Analysis, header_regex, word_count

DETECTOR = "formatting"

_THINK_TAGS = r"think|thinking|reasoning|reflection|thought|scratchpad"
_THINK_BLOCK_RE = re.compile(rf"<(?P<tag>{_THINK_TAGS})>.*?</(?P=tag)>\s*", re.IGNORECASE | re.DOTALL)
_THINK_OPEN_RE = re.compile(rf"<(?:{_THINK_TAGS})>", re.IGNORECASE)
_THINK_CLOSE_RE = re.compile(rf"</(?:{_THINK_TAGS})>\s*", re.IGNORECASE)

_ASSISTANT_ROLES = r"assistant|ai|model|bot|gpt|character|npc|char"
_TAG_RE = re.compile(
    r"<\|(?P<special>[a-z_]+)\|>(?:[ \t]*(?P<role>[A-Za-z_]+)\b)?[ \t]*\n?"
    r"|(?P<inst>\[/?INST\]|<</?SYS>>|\[/?SYS\])"
    r"|(?P<bos></?s>)"
    r"|<(?P<gemma>start_of_turn|end_of_turn)>(?:[ \t]*(?P<grole>[A-Za-z_]+)\b)?[ \t]*\n?"
    r"|(?m:^[ \t]*###[ \t]*(?P<hash>Instruction|Input|Response|User|Assistant|System|Human)\b[^\n]*\n?)"
    r"|(?m:^[ \t]*(?:\*\*)?(?P<line>User|Human|Assistant|AI|Model|用户|助手)(?:\*\*)?[ \t]*[:：](?:\*\*)?[ \t]*)"
    r"|(?P<xml></?(?P<xrole>assistant|user|system|human|bot|model)>)"
    r"|(?P<rolebr>\[/?ROLE(?:[:：][^\]\n]{0,30})?\])",
    re.IGNORECASE,
)
# A line-start ``Label:`` of anyone (a name, a chat handle): a reply with such lines is a script or a log.
_ANY_HEADER_RE = re.compile(
    r"(?m)^[ \t>]*(?:\*\*)?[^\s:：*\"“「(（\[][^:：\n\"“「*]{0,23}?(?:\*\*)?[ \t]*(?:[（(][^)）\n]{0,12}[)）])?[:：]"
)
_END_TURN = {"im_end", "eot_id", "endoftext", "end", "eom_id", "end_of_text", "eos"}

_HTML_RE = re.compile(
    r"</?(?P<tag>i|b|em|strong|u|s|del|br|p|span|div|font|center|small|big|sup|sub|blockquote|h[1-6])\b[^<>]{0,80}>",
    re.IGNORECASE,
)
_HTML_REPLACEMENT = {"i": "*", "em": "*", "b": "**", "strong": "**", "br": "\n", "p": "\n"}
_GARBLED_RE = re.compile(r"\ufffd+|(?:锟斤拷|烫烫烫|屯屯屯)+|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")
_MOJIBAKE_RE = re.compile("(?:Ã[\u0080-\u00bf]|â€[\u0080-\u00ff™œ“”˜]){2,}")
# One mis-decoded character per word ("Itâ€™s", "cafÃ©"): twice in a reply is mojibake, not a stray letter.
_MOJIBAKE_ONE_RE = re.compile("Ã[\u0080-\u00bf]|â€[\u0080-\u00ff™œ“”˜]")
# The writer stepping out of the story in a bracket ("[Author's note: ...]", "(A/N: ...)", "【作者注：…】",
# "[Next scene: ...]"): a note to the reader, not part of the reply.
_WRITER_NOTE_RE = re.compile(
    r"[\[(（【]\s*(?:\*\*)?(?:(?:author|writer)['’]?s?\s+notes?|A/N|notes? from the (?:author|writer)"
    r"|next (?:scene|chapter|reply)|scene (?:break|change)|作者(?:注|按|的话)|下一(?:幕|章|场))(?:\*\*)?\s*[:：]"
    r"[^\]）)】\n]*[\]）)】]?",
    re.IGNORECASE,
)
_ELLIPSIS_RUN_RE = re.compile(r"\.{6,}|…{3,}|。{3,}")
_ELLIPSIS_RE = re.compile(r"\.{3,}|…+")
_FENCE_RE = re.compile(r"```")
# A fenced block that holds the story itself (an *action*, speech in quotes, a (stage direction), a Chinese
# sentence): Discord shows it as a grey code box, markup around the reply rather than part of it. A fence
# around a terminal readout or a HUD the card asks for holds none of these.
_FENCED_BLOCK_RE = re.compile(r"```[\w+-]*[ \t]*\n?(?P<body>.*?)```[ \t]*\n?", re.DOTALL)
# A string literal in code ("print(\"hi\")", "x = \"a b\"") is no speech: speech is a sentence, ending in its
# punctuation inside the quote mark. An action is words between asterisks ("a * b" and "**kwargs" are not).
_STORY_IN_BLOCK_RE = re.compile(
    r"\*(?=[A-Za-z\u4e00-\u9fff])[^*\n]*\s[^*\n]*(?<=[\w.!?,，。！？…])\*"
    r"|(?<![\w(=\[,:])\"[^\"\n]*\s[^\"\n]*[.!?,…]\"|“[^”\n]+”|[「『（][^」』）\n]+[」』）]|[\u4e00-\u9fff][。！？]"
)
# A Markdown heading ("## Chapter Two", "### 第三回"): a chat reply has no headings, and Discord prints it as a
# banner. "#general" or "#3" (no space after the mark) is a channel or a number, not a heading.
_HEADING_RE = re.compile(r"(?m)^[ \t]*#{1,6}[ \t]+\S[^\n]*\n*")
# A template placeholder the front end was meant to fill (``TEMPLATE_PLACEHOLDER``), or a bracketed slot.
_PLACEHOLDER_RE = re.compile(
    TEMPLATE_PLACEHOLDER + (
        # A template's bracketed slot ("[Your Name]", "[Insert name here]", "【用户名】") left in the text.
        r"|\[(?:your|the user['’]s|user['’]?s?|character['’]?s?|char|npc|bot|insert)(?:[ _](?:character |user |first )?"
        r"(?:name|here|response|reply|action))?(?: here)?\]|\[insert [^\]\n]{1,30}\]|\[(?-i:NAME|USER|CHAR)\]"
        r"|[\[【〔](?:用户名|用户的名字|用户昵称|你的名字|角色名|角色名字|对方的名字|此处填写[^\]】〕\n]{0,12})[\]】〕]"
    ),
    re.IGNORECASE,
)
_STAR_RUN_RE = re.compile(r"(?<!\\)\*+")


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    found: list[Finding] = []
    found += _think(reply)
    found += _tags(reply)
    found += _own_header(reply, ctx)
    blanked = _blank(reply, [f.span for f in found])
    found += _html(reply, blanked)
    found += _garbled(reply)
    found += [
        _f(reply, m.start(), m.end(), "a note from the writer inside the reply", "writer_note", "", "high")
        for m in _WRITER_NOTE_RE.finditer(reply)
    ]
    found += _quotes(reply, blanked)
    found += _brackets(reply, blanked)
    found += _asterisks(reply, blanked)
    found += _fences(reply, blanked)
    found += _fenced_story(reply, blanked)
    found += _headings(reply, blanked)
    found += _placeholders(reply, ctx)
    found += _ellipses(reply)
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    out: list[Finding] = []
    for f in found:
        if out and f.start < out[-1].end:
            continue
        out.append(f)
    return out


def _f(
    reply: str,
    start: int,
    end: int,
    reason: str,
    code: str,
    replacement: str | None,
    severity: str = "medium",
) -> Finding:
    return make_finding(reply, DETECTOR, severity, start, end, reason, code=code, replacement=replacement)  # type: ignore[arg-type]


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _think(reply: str) -> list[Finding]:
    out = [
        _f(reply, m.start(), m.end(), "leaked reasoning block", "think_leak", "", "high")
        for m in _THINK_BLOCK_RE.finditer(reply)
    ]
    covered = _blank(reply, [f.span for f in out])
    for m in _THINK_CLOSE_RE.finditer(covered):
        # A closing tag without its opening one: everything before it was reasoning.
        out.append(
            _f(reply, 0, m.end(), "leaked reasoning (closing tag without opening)", "think_leak", "", "high")
        )
        covered = _blank(covered, [(0, m.end())])
    for m in _THINK_OPEN_RE.finditer(covered):
        out.append(_f(reply, m.start(), len(reply), "unclosed reasoning block", "think_leak", "", "high"))
        break
    return out


def _tags(reply: str) -> list[Finding]:
    out: list[Finding] = []
    for m in _TAG_RE.finditer(reply):
        start, end = m.start(), m.end()
        at_start = not reply[:start].strip()
        rest_empty = not reply[end:].strip()
        to_end = False
        if m.group("special"):
            special = m.group("special").lower()
            role = (m.group("role") or "").lower()
            if special in _END_TURN:
                to_end = True
            elif special == "im_start":
                to_end = bool(role) and not re.fullmatch(_ASSISTANT_ROLES, role)
            elif special in ("user", "system", "human"):
                to_end = True
        elif m.group("inst"):
            to_end = m.group("inst").upper() in ("[INST]", "<<SYS>>", "[SYS]")
        elif m.group("gemma"):
            role = (m.group("grole") or "").lower()
            to_end = m.group("gemma").lower() == "end_of_turn" or (bool(role) and role != "model")
        elif m.group("hash"):
            to_end = m.group("hash").lower() in ("instruction", "input", "user", "system", "human")
        elif m.group("line"):
            to_end = m.group("line").lower() in ("user", "human", "用户")
        elif m.group("xml"):
            tag = m.group("xml")
            to_end = not tag.startswith("</") and m.group("xrole").lower() in ("user", "human", "system")
        if to_end and not rest_empty:
            out.append(
                _f(
                    reply,
                    start,
                    len(reply),
                    "leaked role tag; the rest is another turn",
                    "role_tag",
                    "",
                    "high",
                )
            )
            break
        severity = "medium" if at_start or rest_empty else "high"
        out.append(_f(reply, start, end, "leaked role tag", "role_tag", "", severity))
    return out


def _own_header(reply: str, ctx: ReplyContext) -> list[Finding]:
    """The NPC's own ``Name:`` label; not inside a script or a chat log, where every line has a label
    (writing the others' lines is then speaks_as_other's finding, the own label is part of the form)."""
    pattern = header_regex(list(ctx.own_names))
    if pattern is None:
        return []
    own = list(pattern.finditer(reply))
    own_starts = {m.start() for m in own}
    if any(m.start() not in own_starts for m in _ANY_HEADER_RE.finditer(reply)):
        return []
    out = []
    for m in own:
        end = m.end()
        while end < len(reply) and reply[end] in " \t":
            end += 1
        out.append(_f(reply, m.start(), end, f"own name header ({m.group('name')}:)", "own_header", ""))
    return out


def _html(reply: str, blanked: str) -> list[Finding]:
    return [
        _f(
            reply,
            m.start(),
            m.end(),
            "HTML markup (Discord shows it as text)",
            "markup",
            _HTML_REPLACEMENT.get(m.group("tag").lower(), ""),
        )
        for m in _HTML_RE.finditer(blanked)
    ]


def _garbled(reply: str) -> list[Finding]:
    out = [
        _f(reply, m.start(), m.end(), "garbled characters", "garbled", "", "high")
        for m in _GARBLED_RE.finditer(reply)
    ]
    out += [
        _f(reply, m.start(), m.end(), "mis-decoded text (mojibake)", "garbled", None, "high")
        for m in _MOJIBAKE_RE.finditer(reply)
    ]
    singles = list(_MOJIBAKE_ONE_RE.finditer(reply))
    if not out and len(singles) >= 2:
        out += [_f(reply, m.start(), m.end(), "mis-decoded text (mojibake)", "garbled", None, "high") for m in singles]
    return out


def _paragraphs(text: str) -> list[tuple[int, int]]:
    out = []
    pos = 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def _close_at_end(reply: str, opener_pos: int, para_end: int, closer: str) -> tuple[int, int, str]:
    """Span from the opener to the end of its paragraph, rewritten with ``closer`` appended."""
    end = para_end
    while end > opener_pos and reply[end - 1].isspace():
        end -= 1
    body = reply[opener_pos:end]
    return opener_pos, end, body + closer


def _balanced(text: str) -> bool:
    """Whether every quote mark in ``text`` is paired, across line breaks (speech may span paragraphs)."""
    if text.count('"') % 2:
        return False
    closers = {v: k for k, v in QUOTE_PAIRS.items()}
    stack: list[str] = []
    for ch in text:
        if ch in QUOTE_PAIRS:
            stack.append(ch)
        elif ch in closers:
            if not stack or stack[-1] != closers[ch]:
                return False
            stack.pop()
    return not stack


def _quotes(reply: str, blanked: str) -> list[Finding]:
    if _balanced(blanked):
        return []
    out: list[Finding] = []
    closers = {v: k for k, v in QUOTE_PAIRS.items()}
    for p_start, p_end in _paragraphs(blanked):
        stack: list[tuple[str, int]] = []
        stray: list[int] = []
        straight: list[int] = []
        for i in range(p_start, p_end):
            ch = blanked[i]
            if ch == '"':
                straight.append(i)
            elif ch in QUOTE_PAIRS:
                stack.append((ch, i))
            elif ch in closers:
                if stack and stack[-1][0] == closers[ch]:
                    stack.pop()
                else:
                    stray.append(i)
        for i in stray:
            out.append(
                _f(reply, i, i + 1, f"closing {reply[i]} without an opening one", "unbalanced_quotes", "")
            )
        if stack:
            opener, pos = stack[0]
            suffix = "".join(QUOTE_PAIRS[o] for o, _ in reversed(stack))
            s, e, rep = _close_at_end(reply, pos, p_end, suffix)
            out.append(_f(reply, s, e, f"{opener} is never closed", "unbalanced_quotes", rep))
        if len(straight) % 2:
            pos = straight[-1]
            before = reply[pos - 1] if pos > p_start else " "
            after = reply[pos + 1] if pos + 1 < p_end else " "
            if (before.isspace() or before in "*_([—-") and not after.isspace():
                s, e, rep = _close_at_end(reply, pos, p_end, '"')
                out.append(_f(reply, s, e, 'a " is never closed', "unbalanced_quotes", rep))
            else:
                out.append(
                    _f(reply, pos, pos + 1, 'a closing " without an opening one', "unbalanced_quotes", "")
                )
    return out


_BRACKETS = {"【": "】", "（": "）", "[": "]", "(": ")", "〔": "〕", "《": "》"}
_BRACKET_CLOSERS = {v: k for k, v in _BRACKETS.items()}
# Not brackets: smileys (":)", ";-(") and list markers ("1)", "b)") at a line start or after a space.
_NOT_BRACKET_RE = re.compile(
    r"(?:^|(?<=\s))(?:[:;=][-'^]?[()\[\]]|[()][-'^]?[:;=])(?=\s|$)|(?:^|(?<=\s))(?:\d{1,2}|[a-zA-Z])\)", re.MULTILINE
)


def _brackets(reply: str, blanked: str) -> list[Finding]:
    """A bracket opened and never closed in its paragraph ("【船体 81% / 氧气 88%" with no "】"), or closed
    without being opened: a status line or an aside cut off."""
    if not any(ch in blanked for ch in _BRACKETS) and not any(ch in blanked for ch in _BRACKET_CLOSERS):
        return []
    text = _NOT_BRACKET_RE.sub(lambda m: " " * len(m.group()), blanked)
    if _brackets_balanced(text):
        return []  # an aside may run over several paragraphs
    out: list[Finding] = []
    for p_start, p_end in _paragraphs(text):
        stack: list[tuple[str, int]] = []
        for i in range(p_start, p_end):
            ch = text[i]
            if ch in _BRACKETS:
                stack.append((ch, i))
            elif ch in _BRACKET_CLOSERS:
                if stack and stack[-1][0] == _BRACKET_CLOSERS[ch]:
                    stack.pop()
                elif not any(o == _BRACKET_CLOSERS[ch] for o, _ in stack):
                    out.append(_f(reply, i, i + 1, f"closing {ch} without an opening one", "unbalanced_brackets", ""))
        if stack:
            opener, pos = stack[0]
            suffix = "".join(_BRACKETS[o] for o, _ in reversed(stack))
            s, e, rep = _close_at_end(reply, pos, p_end, suffix)
            out.append(_f(reply, s, e, f"{opener} is never closed", "unbalanced_brackets", rep))
    return out


def _brackets_balanced(text: str) -> bool:
    stack: list[str] = []
    for ch in text:
        if ch in _BRACKETS:
            stack.append(ch)
        elif ch in _BRACKET_CLOSERS:
            if not stack or stack[-1] != _BRACKET_CLOSERS[ch]:
                return False
            stack.pop()
    return not stack


def _asterisks(reply: str, blanked: str) -> list[Finding]:
    out: list[Finding] = []
    for p_start, p_end in _paragraphs(blanked):
        line = blanked[p_start:p_end]
        if re.fullmatch(r"\s*(?:\*\s*){3,}", line):
            continue  # a horizontal rule
        open_marks: dict[int, int | None] = {1: None, 2: None}
        for m in _STAR_RUN_RE.finditer(blanked, p_start, p_end):
            pos, run = m.start(), len(m.group())
            before = blanked[pos - 1] if pos > p_start else "\n"
            after = blanked[m.end()] if m.end() < p_end else "\n"
            if before.isspace() and after.isspace():
                if run in (1, 2) and open_marks[run] is not None:
                    open_marks[run] = None  # a sloppy close ("*she says, * ..."): balanced, if untidy
                continue  # a bullet, a separator or "2 * 3"
            for size in (2, 1) if run == 3 else (run,) if run in (1, 2) else ():
                open_marks[size] = None if open_marks[size] is not None else pos
        for size, pos in open_marks.items():
            if pos is None:
                continue
            mark = "*" * size
            after = blanked[pos + size] if pos + size < p_end else " "
            if after.isspace():
                out.append(_f(reply, pos, pos + size, f"stray closing {mark}", "unbalanced_asterisks", ""))
            else:
                end = p_end
                while end > pos and reply[end - 1].isspace():
                    end -= 1
                body = reply[pos:end]
                out.append(
                    _f(reply, pos, end, f"{mark} is never closed", "unbalanced_asterisks", body + mark)
                )
    return out


def _fences(reply: str, blanked: str) -> list[Finding]:
    fences = list(_FENCE_RE.finditer(blanked))
    if len(fences) % 2 == 0:
        return []
    m = fences[-1]
    return [_f(reply, m.start(), m.end(), "unclosed code fence", "markup", "")]


def _fenced_story(reply: str, blanked: str) -> list[Finding]:
    """Code fences around the story's own text: the fences are cut, the text inside stays."""
    out = []
    for m in _FENCED_BLOCK_RE.finditer(blanked):
        if _STORY_IN_BLOCK_RE.search(m.group("body")):
            body = reply[m.start("body"):m.end("body")].strip("\n")
            out.append(_f(reply, m.start(), m.end(), "the story's text inside a code block", "markup", body + "\n"))
    return out


def _headings(reply: str, blanked: str) -> list[Finding]:
    return [
        _f(reply, m.start(), m.end(), "a Markdown heading inside the reply", "markup", "")
        for m in _HEADING_RE.finditer(blanked)
    ]


# Slot wordings that stand for the user or the NPC, so the repair can fill in the name.
_PLACEHOLDER_KEYS = {
    "your name": "user", "user name": "user", "用户名": "user", "你的名字": "user", "character name": "char", "角色名": "char",
}


def _placeholders(reply: str, ctx: ReplyContext) -> list[Finding]:
    out = []
    for m in _PLACEHOLDER_RE.finditer(reply):
        key = m.group().strip("{}[]【】〔〕 ").lower()
        key = _PLACEHOLDER_KEYS.get(key, key)
        fill = ctx.user_label if key in ("user", "username", "user_name", "persona") and ctx.users else (
            ctx.npc_name if key in ("char", "character", "char_name", "bot", "npc") and ctx.npc_name else None
        )
        out.append(_f(reply, m.start(), m.end(), f"unfilled template placeholder ({m.group()})", "placeholder", fill, "high"))
    return out


def _ellipses(reply: str) -> list[Finding]:
    out = [
        _f(
            reply,
            m.start(),
            m.end(),
            "ellipsis run",
            "ellipsis_abuse",
            "……" if m.group()[0] in "…。" else "...",
            "low",
        )
        for m in _ELLIPSIS_RUN_RE.finditer(reply)
    ]
    if out:
        return out
    count = len(_ELLIPSIS_RE.findall(reply))
    words = word_count(reply)
    if count >= 5 and words / count < 10:
        out.append(
            _f(reply, 0, len(reply), f"{count} ellipses in {words} words", "ellipsis_abuse", None, "low")
        )
    return out
