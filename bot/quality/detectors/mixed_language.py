"""Mixed language: passages in a language other than the scene's, beyond names and deliberate foreign words.

Names (the NPC's, the user's, the cast's), mentions, URLs, markup and tags are blanked out first. The
rest is cut into runs of one script (CJK, Hangul, Cyrillic, Latin) and Latin runs further into
sentences; each piece is identified with ``bot.quality.language`` (Lingua when installed). Unless the
character speaks that language on purpose (``ReplyContext.npc_languages``, from its card):

- a piece in **another script** than the scene's is a finding from one word on: "这个 plan 不错" and
  "City Hall in forty seconds, 没问题" are exactly the slips readers notice. Acronyms and camel-case
  product words (BP, MVP, WiFi) are blanked first, as Chinese writes them that way.
- a piece in another **Latin-script** language (French in an English scene) needs three words Lingua is
  sure of, or one of a short list of unmistakable foreign words ("mon dieu", "wunderbar", "de verdad"):
  single Latin words are too often English loanwords to call by their letters.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.quality import language
from bot.quality.findings import Finding, ReplyContext, make_finding
from bot.quality.text import (
    TEMPLATE_PLACEHOLDER,
    Analysis,
    names_alternation,
    names_in,
    sentence_spans,
    word_count,
)

DETECTOR = "mixed_language"

MIN_FOREIGN_WORDS = 5
MIN_FOREIGN_WORDS_WHEN_DOMINANT = 3
LATIN_CONFIDENCE = 0.75

_NOISE_RE = re.compile(
    r"https?://\S+|<[@#][!&]?\d+>|<a?:\w+:\d+>|:[a-z0-9_+-]+:|<\|[A-Za-z_]+\|>\s*[A-Za-z_]*"
    r"|</?[A-Za-z|][^>\n]{0,40}>|`[^`\n]*`"
    # An unfilled template placeholder ("{{user}}", "{char}") is formatting's, not English in the text.
    rf"|{TEMPLATE_PLACEHOLDER}"
    # Leaked role markers ("User:", "Assistant：") are formatting's, whatever the scene's language.
    r"|(?m:^[ \t*]*(?:User|Assistant|System|Human)[ \t]*[:：])"
    # Latin-letter lookarounds, not \b: in Chinese text "BP开始" has no word boundary after the P.
    # "OK" is a word, not an acronym: Chinese that writes it is English (the card decides whether that is allowed).
    r"|(?<![A-Za-z])(?!OK(?![A-Za-z]))[A-Z]{2,}s?(?![A-Za-z])|(?<![A-Za-z])[A-Za-z]*\d[A-Za-z\d]*(?![A-Za-z])"
    r"|(?<![A-Za-z])[A-Z]?[a-z]+[A-Z][A-Za-z]*(?![A-Za-z])"
)
# Words no English sentence uses, common in the French, German, Spanish, Italian and Dutch that models slip
# into (accented forms included); whole words, case-insensitive.
_FOREIGN_LATIN = {
    # Not voilà, c'est la vie, déjà vu, rendezvous: English has borrowed them.
    "fr": "mon dieu|on y va|quelle|écoute|écoutez|merci beaucoup|mademoiselle|très|n'est-ce pas|oui|"
          "bonjour|bonsoir|pourquoi|alors|mais non|mon ami|ma chérie|chérie|mon cher|zut|sacrebleu|s'il vous plaît|"
          # Everyday French clauses English never borrows ("c'est la vie" it does).
          "c['’]est(?! la vie)|compris|d['’]accord|bien sûr|je suis|je ne(?! sais quoi)|tu es|il y a|ce n['’]est|"
          "qu['’]est-ce|tout de suite|à bientôt|à demain|bonne nuit|excusez-moi|pardonnez-moi|mon chéri|ma belle|tu sais|"
          "tu vois|c['’]était|vraiment",
    "de": "wunderbar|wirklich|danke|bitte|genau|natürlich|ach so|na ja|mein gott|schön|doch|nicht|gut gemacht|ja ja|jawohl|"
          "kein|keine|nichts|ich bin|es ist|das ist|ich weiß|keine ahnung|auf wiedersehen|gute nacht|guten morgen|"
          "guten tag|tschüss|entschuldigung|meine güte",
    "es": "de verdad|gracias|por favor|claro que|vámonos|vamos|qué|dios mío|mi amor|cariño|ay|oye|pues|perfecto|"
          "por supuesto|hola|buenas|señor|señora|querida|mira tú|lo siento|está bien|no pasa nada|ya está|mucho gusto|"
          "hasta luego|hasta mañana|buenas noches|buenos días|te quiero",
    "it": "mamma mia|grazie|prego|bellissimo|bellissima|allora|andiamo|basta|ciao bella|va bene|buonanotte|"
          "buongiorno|buonasera|per favore|non lo so|tesoro mio|cara mia|caro mio",
    "nl": "godverdomme|hoor|lekker|gezellig|dankjewel|alsjeblieft|natuurlijk|niet|eigenlijk|dank je",
    # Function words of languages the scene detector does not know (Portuguese, Norwegian and Danish).
    "pt": "não|obrigado|obrigada|você|está bem|tudo bem",
    "nb": "ikke|jeg|herregud",
}
_FOREIGN_LATIN_RE = {
    code: re.compile(rf"(?<![\w'’])(?:{words})(?![\w'’])", re.IGNORECASE) for code, words in _FOREIGN_LATIN.items()
}
# Interjections and fillers of other languages, which a speaker slips in at the head of a sentence or a quote and
# sets off with a comma or "!" ("Bon, where were we", "Ja, ja, all right", "Sí, it could"). Several are English
# words or names elsewhere ("bon voyage", "Nee"), so they count only in that slot. A word shared by several
# languages is allowed when the card allows any of them. Left out: words English opens a sentence with too
# ("also", "bah", "ach", "mince", "hup", "uff", "na") and names ("Mira", "Dai", "Vale", "Ben", "Jo", "Nani").
_INTERJECTIONS: dict[str, str] = {
    "fr": "bon|allez|allons|tiens|voyons|hein|bof|ouais|bref|enfin|eh bien|dis donc|oh là là|ben voyons",
    "de": "ja|nein|naja|tja|mensch|verdammt|jawohl|genau|klar|doch|scheiße|mein gott|ach so",
    "nl": "ja|nee|jawel|allee|komaan|tja|jeetje|nou|goh|kom op|let op|verdorie|zeg|nou ja",
    "es": "sí|bueno|pues|oye|venga|hombre|claro|ándale|órale|híjole|caramba|madre mía",
    "it": "sì|boh|ecco|magari|cavolo|accidenti|va bene|mamma mia|allora",
    "pt": "nossa|olha|pois|pois é|caramba|não",
    "pl": "kurczę|kurde|cholera|dobra|nie|jasne|no dobra",
    "nb": "ja|nei|nej|herregud|jaså",
    "ru": "nyet|davai|bozhe moi",
    # Not "arigatou" or "kanpai": a toast or a thank-you English role-play borrows as a greeting word.
    "ja": "sugoi|ganbatte|ganbare|yatta|sou desu ne|ara ara",
}
_INTERJECTION_LANGS: dict[str, frozenset[str]] = {}
for _code, _words in _INTERJECTIONS.items():
    for _word in _words.split("|"):
        _INTERJECTION_LANGS[_word] = _INTERJECTION_LANGS.get(_word, frozenset()) | {_code}
_INTERJECTION_RE = re.compile(
    r"(?:^|(?<=[\"“*«(])|(?<=[.!?…]\s)|(?<=[.!?…]\s\s))\s*(?P<word>"
    + "|".join(sorted((re.escape(w) for w in _INTERJECTION_LANGS), key=len, reverse=True))
    + r")(?:[,，!！]|\s+[—–]|…)",
    re.IGNORECASE | re.MULTILINE,
)
# The story says the words are foreign ("她用英语说了句", "in French", "which means"): a quotation, not a slip.
_SIGNPOST_BEFORE_RE = re.compile(
    r"(?:用|说了句|说了一句|一句)?(?:英语|英文|法语|法文|日语|韩语|俄语|德语|西班牙语|外语)|写着|印着|标着|招牌|牌匾|屏幕上|"
    r"\bin (?:French|German|Spanish|Italian|Dutch|Chinese|Mandarin|Cantonese|Korean|Japanese|Russian)\b",
    re.IGNORECASE,
)
_SIGNPOST_AFTER_RE = re.compile(r"\b(?:which means|meaning|that means|it means)\b|意思是|也就是", re.IGNORECASE)
MIN_OTHER_SCRIPT_WORDS = 1
MIN_SAME_SCRIPT_WORDS = 3
_OPENERS = '"“「『«(（*'
_LETTER_RUN_RE = re.compile(
    "(?P<cjk>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u309f\u30a0-\u30ff]+)"
    "|(?P<hangul>[\uac00-\ud7af\u1100-\u11ff]+)"
    "|(?P<cyrillic>[\u0400-\u04ff]+)"
    "|(?P<latin>[A-Za-z\u00c0-\u024f]+)"
)


def detect(reply: str, ctx: ReplyContext, analysis: Analysis | None = None) -> list[Finding]:
    scene = (ctx.language or "en").lower()
    masked = _mask(reply, ctx)
    total = word_count(masked)
    if total == 0:
        return []
    allowed = {scene, *(code.lower() for code in ctx.npc_languages)}
    pieces: list[tuple[int, int, str, int]] = []
    for start, end, script in _script_runs(masked):
        if script == "latin":
            for s, e in sentence_spans(masked[start:end]):
                pieces.append((start + s, start + e, script, 0))
        else:
            pieces.append((start, end, script, 0))
    scene_latin = scene in language.LATIN_LANGUAGES
    foreign: list[tuple[int, int, str, int]] = []
    for start, end, script, _ in pieces:
        text = masked[start:end]
        words = word_count(text)
        if words == 0:
            continue
        if script == "latin" and scene_latin:
            foreign += _latin_slips(masked, start, end, scene, allowed)
            continue
        code, _ = language.classify(text)
        if script == "cjk" and code == "zh" == scene and "ja" not in allowed:
            foreign += _kana_in_chinese(masked, start, end)
            continue
        if script == "latin" and words < MIN_SAME_SCRIPT_WORDS:
            code = "en"  # one or two Latin words in a Chinese scene: English, whatever Lingua guesses
        if code is None or code in allowed:
            continue
        if script == "latin" and len(max(re.findall(r"[A-Za-z\u00c0-\u024f]+", text), key=len, default="")) < 2:
            continue  # a lone letter ("A 组", "X 光") is not a word
        foreign.append((start, end, code, words))
    if scene_latin:
        foreign = sorted(foreign + _interjections(masked, foreign, allowed))
    foreign = [f for f in foreign if not _signposted(reply, f[0], f[1])]
    out: list[Finding] = []
    total_foreign = sum(w for *_, w in foreign)
    dominant = total_foreign / total >= 0.5
    for start, end, code, words in _merge(masked, foreign):
        out.append(
            make_finding(
                reply,
                DETECTOR,
                "high" if dominant or words >= MIN_SAME_SCRIPT_WORDS else "medium",
                start,
                end,
                f"{language.language_name(code)} in a {language.language_name(scene)} scene ({words} words)",
                code=code,
            )
        )
    return out


# Chinese never writes kana, so one kana syllable inside Chinese text ("我の刀", "頑張ってね") is Japanese: the
# span is the kana with the Han characters joined to it (the Japanese word they make up).
_KANA_WORD_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]{0,3}[\u3041-\u30fa\u30fc]+(?:[\u3400-\u4dbf\u4e00-\u9fff]{0,2}[\u3041-\u30fa\u30fc]+)*")


def _interjections(masked: str, found: list[tuple[int, int, str, int]], allowed: set[str]) -> list[tuple[int, int, str, int]]:
    out: list[tuple[int, int, str, int]] = []
    for m in _INTERJECTION_RE.finditer(masked):
        start, end = m.span("word")
        langs = _INTERJECTION_LANGS.get(m.group("word").casefold(), frozenset())
        if not langs or langs & allowed or any(s < end and start < e for s, e, *_ in found):
            continue
        out.append((start, end, min(langs), word_count(m.group("word"))))
    return out


def _kana_in_chinese(masked: str, start: int, end: int) -> list[tuple[int, int, str, int]]:
    return [(m.start(), m.end(), "ja", word_count(m.group())) for m in _KANA_WORD_RE.finditer(masked, start, end)]


def _signposted(reply: str, start: int, end: int) -> bool:
    return bool(_SIGNPOST_BEFORE_RE.search(reply[max(0, start - 16) : start])) or bool(
        _SIGNPOST_AFTER_RE.search(reply[end : end + 24])
    )


def _latin_slips(masked: str, start: int, end: int, scene: str, allowed: set[str]) -> list[tuple[int, int, str, int]]:
    """Foreign Latin-script words inside a Latin-script scene: marker words, or a sentence Lingua is sure of."""
    out: list[tuple[int, int, str, int]] = []
    for code, pattern in _FOREIGN_LATIN_RE.items():
        if code in allowed:
            continue
        for m in pattern.finditer(masked, start, end):
            out.append((m.start(), m.end(), code, word_count(m.group())))
    text = masked[start:end]
    words = word_count(text)
    if not out and words >= MIN_SAME_SCRIPT_WORDS and not language.clearly(text, scene):
        code, confidence = language.classify(text)
        if code not in allowed and confidence >= LATIN_CONFIDENCE:
            out.append((start, end, code, words))
    if not out and scene == "en":
        out += _foreign_clauses(masked, start, end, allowed)
    return sorted(out)


# A clause (between commas, colons, dashes and sentence ends) of three or more words with none of English's
# function words, that Lingua is sure of among many Latin-script languages: "Mais bien sûr, it weighs more",
# "Herregud, jeg vet ikke hva han holdt på med." A short English clause ("Sit tight", "Copy that") has no
# function word either, which is why the bar is high.
_CLAUSE_RE = re.compile(r"[^,;:—–.!?…()\"“”*]+")
PHRASE_CONFIDENCE = 0.7
MIN_PHRASE_WORDS = 3  # two words are too often a borrowed phrase ("Bon appétit", "Last croissant")
KIN_PHRASE_CONFIDENCE = 0.8  # Norwegian, Danish and Swedish pooled: Lingua gives short English clauses ~0.5
_GARBLED_RE = re.compile("[ÃÂâ€‚\u200b]")  # mojibake is formatting's, not a language
_EN_FUNCTION = frozenset(
    "the a an and or is are was were be been of to in on at by for with from that this it its you your he she "
    "i we they me my our his her him them their not no do does did will would can could should have has had "
    "so but if as what who how all just there here up out".split()
)
# Hepburn romaji: a word made only of Japanese syllables with a long-vowel macron ("Ryōkai"), or a run of
# romaji words holding a Japanese copula or particle ("daijoubu desu ka", "sou da ne").
_ROMAJI_SYLLABLES = r"(?:(?:[kgsztdnhbpmyrwjf]|sh|ch|ts|[kgnhmrbp]y)?[aiueoāīūēō]|n(?![aiueoāīūēōy])|[kstpc](?=[kstpc]))+"
_MACRON_WORD_RE = re.compile(rf"(?<![\w'’])(?=\w*[ūō])(?i:{_ROMAJI_SYLLABLES})(?![\w'’])")
_PINYIN_RE = re.compile("[ǎǐǒǔǚàèìòùǜáéíóúǘāēī]")  # tone marks: Chinese pinyin, not Japanese
_ROMAJI_PHRASE_RE = re.compile(
    rf"(?<![\w'’])(?i:{_ROMAJI_SYLLABLES})(?:\s+(?i:{_ROMAJI_SYLLABLES}))*\s+(?:desu|masu|deshita|kudasai|dayo|da ne|"
    rf"desu ka|ka|ne|yo)(?![\w'’])"
)


def _foreign_clauses(masked: str, start: int, end: int, allowed: set[str]) -> list[tuple[int, int, str, int]]:
    out: list[tuple[int, int, str, int]] = []
    if "ja" not in allowed:
        for pattern in (_MACRON_WORD_RE, _ROMAJI_PHRASE_RE):
            for m in pattern.finditer(masked, start, end):
                if _PINYIN_RE.search(masked, start, end):
                    break
                out.append((m.start(), m.end(), "ja", word_count(m.group())))
        if out:
            return out
    for m in _CLAUSE_RE.finditer(masked, start, end):
        words = re.findall(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?", m.group())
        if len(words) < MIN_PHRASE_WORDS or any(w.lower().replace("’", "'") in _EN_FUNCTION for w in words):
            continue
        if _GARBLED_RE.search(m.group()):
            continue
        code, confidence = language.classify_phrase(m.group())
        bar = KIN_PHRASE_CONFIDENCE if code == "nb" else PHRASE_CONFIDENCE
        if code is not None and code != "en" and code not in allowed and confidence >= bar:
            out.append((m.start(), m.end(), code, len(words)))
    return out


# Loanwords a language writes in another script as its own words: English keeps the accents of "déjà vu" and
# "café"; Chinese writes "App" and "Logo" in Latin letters (like the acronyms above).
_LOANWORDS: dict[str, str] = {
    "en": "déjà vu|café|cafés|soufflé|soufflés|naïve|naïveté|fiancé|fiancée|résumé|cliché|clichés|touché|entrée|"
          "entrées|façade|protégé|décor|attaché|communiqué|débâcle|détente|élan|éclair|crème brûlée|crème|purée|"
          "sauté|sautéed|flambé|frappé|rosé|soirée|matinée|négligée|passé|risqué|exposé|fête|tête-à-tête|piñata|"
          "jalapeño|jalapeños|piña colada|über|doppelgänger|voilà|à la carte|à la mode|vis-à-vis|bête noire|"
          "raison d'être|je ne sais quoi|cortège|blasé|naïf|pâté|crêpe|crêpes|séance|coup d'état|fiancés|mêlée|outré",
    "zh": "app|apps|logo|emoji|vlog",
}
_LOANWORD_RE = {
    code: re.compile(rf"(?<![\w'’])(?:{words})(?![\w'’])", re.IGNORECASE) for code, words in _LOANWORDS.items()
}


def _mask(reply: str, ctx: ReplyContext) -> str:
    chars = list(reply)

    def blank(start: int, end: int) -> None:
        chars[start:end] = " " * (end - start)

    for m in _NOISE_RE.finditer(reply):
        blank(m.start(), m.end())
    loans = _LOANWORD_RE.get((ctx.language or "en").lower())
    if loans is not None:
        for m in loans.finditer(reply):
            blank(m.start(), m.end())
    pattern = _names_pattern(tuple(names_in(_name_parts(ctx.all_names), reply)))
    if pattern is not None:
        for m in pattern.finditer(reply):
            blank(m.start(), m.start() + len(m.group(1)))
    return "".join(chars)


@lru_cache(maxsize=4096)
def _name_parts(names: tuple[str, ...]) -> tuple[str, ...]:
    """Each name and each word of one (two letters or more), sorted."""
    return tuple(sorted({part for name in names for part in (name, *name.split()) if len(part) >= 2}))


@lru_cache(maxsize=4096)
def _names_pattern(parts: tuple[str, ...]) -> re.Pattern[str] | None:
    """Every occurrence of any of ``parts`` (names and their words that the reply writes), overlapping ones
    included, in one compiled pattern.

    A zero-width lookahead finds a match at every position, and the alternation is longest first, so
    each position blanks the longest name starting there: the union of all occurrences of all parts.
    """
    if not parts:
        return None
    return re.compile(f"(?=({names_alternation(parts)}))")


def _script_runs(text: str) -> list[tuple[int, int, str]]:
    """Maximal runs of one script; spaces, digits and punctuation join the run they sit in."""
    runs: list[tuple[int, int, str]] = []
    current: str | None = None
    start = 0
    last_letter = 0
    for m in _LETTER_RUN_RE.finditer(text):
        script = m.lastgroup
        if script != current:
            if current is not None:
                runs.append((start, last_letter, current))
                start = last_letter
            current = script
        last_letter = m.end()
    if current is not None:
        runs.append((start, len(text), current))
    return runs


def _merge(text: str, pieces: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str, int]]:
    """Join neighbouring foreign pieces of the same language (a paragraph, not one finding a sentence)."""
    out: list[tuple[int, int, str, int]] = []
    for start, end, code, words in pieces:
        if out and out[-1][2] == code and word_count(text[out[-1][1] : start]) == 0:
            s, _, c, w = out[-1]
            out[-1] = (s, end, c, w + words)
        else:
            out.append((start, end, code, words))
    trimmed = []
    for start, end, code, words in out:
        while start < end and not (text[start].isalnum() or text[start] in _OPENERS):
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        trimmed.append((start, end, code, words))
    return trimmed
