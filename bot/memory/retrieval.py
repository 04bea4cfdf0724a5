"""Choosing what a character recalls: lexical (BM25) and dense (embedding) rankings fused by reciprocal rank.

Pure: the rankings come from the database and the vector set; this module only combines them.
Reciprocal-rank fusion (Cormack et al., 2009) needs no score calibration between BM25 and cosine
similarity, which have nothing in common but their order. Two design choices measured on the tune
scene of ``bench memory``:
- lines said by the speaker of the current line count more (``same_speaker``): a player asking
  "what does my uncle do?" is asking about something *they* said. Meaning is also ranked a second
  time among the speaker's own lines only (``own``): a paraphrase shares no word with the fact, and
  among a thousand heard lines the fact is often not in the top ten by meaning, while among the
  speaker's own few hundred it usually is;
- recency only breaks ties: a line from turn 3 and one from turn 900 with the same fused score are
  ordered newest first, but age never lowers a score.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RRF_K = 60
_ACTION = re.compile(r"\*[^*]*\*")
_ENDS = re.compile(r"[.!?。！？…]+")


def without_address(text: str, names: Sequence[str]) -> str:
    """The line without the given names where they are a form of address ("Tom, what was ...?",
    "..., Tom?", "林姑娘，..."): embedded with it, a question matches every line said to that listener
    in the same shape better than the line that answers it. (A name opening an enumeration, "老周、小李和我",
    goes too: the query's meaning loses a name, the word query keeps it.)"""
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        name_re = re.escape(name)
        text = re.sub(r"(^|(?<=[.!?*。！？]) )\s*" + name_re + r"\s*[,，、]\s*", r"\1", text)
        text = re.sub(r"\s*[,，、]\s*" + name_re + r"\s*(?=[.!?。！？]|$)", "", text)
    return text.strip()


def only_asks(text: str) -> bool:
    """A line that only asks (every sentence of its speech ends in a question mark): a question
    remembered tells nothing, and questions resemble the question being answered more than any fact does."""
    speech = _ACTION.sub(" ", text).strip()
    ends = _ENDS.findall(speech)
    tail = _ENDS.split(speech)[-1].strip()
    return bool(ends) and not tail and all(e[-1] in "?？" for e in ends)


_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|myself)\b", re.IGNORECASE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
DISCLOSURE_WORDS = 6
DISCLOSURE_HAN = 8


def discloses(text: str) -> bool:
    """A line in which its speaker tells something about themself: first person, not only a question,
    with a few words of speech beyond the actions.

    What a player asks back ("what was it I told you about my uncle?") is nearly always one of these,
    and they are a small share of the player's lines: most are questions to the characters, actions and
    chatter. Ranking meaning among them alone is what finds a paraphrased fact the plain ranking
    buries (on the tune scene of ``bench memory``: the fact line was among the 6 nearest of the
    player's ~100 disclosures for 23 of 26 paraphrases, against 17 of 26 among all ~600 lines).
    """
    speech = _ACTION.sub(" ", text).strip()
    if not speech or only_asks(text):
        return False
    if _HAN.search(speech):
        return "我" in speech and len(_HAN.findall(speech)) >= DISCLOSURE_HAN
    return _FIRST_PERSON.search(speech.replace("\u2019", "'")) is not None and len(speech.split()) >= DISCLOSURE_WORDS


@dataclass(frozen=True, slots=True)
class Recalled:
    """A remembered line or note chosen for a prompt, with how it was found."""

    item_id: int
    turn_seq: int
    speaker: str
    text: str
    kind: str
    score: float
    lexical_rank: int | None = None
    dense_rank: int | None = None

    def render(self) -> str:
        """How it reads in the prompt: who said it, when."""
        if self.kind == "note":
            return self.text
        return f"(turn {self.turn_seq}) {self.speaker}: {self.text}"


@dataclass(frozen=True, slots=True)
class FusionWeights:
    lexical: float = 1.0
    dense: float = 1.0
    same_speaker: float = 0.3
    note: float = 0.2
    own: float = 1.0
    # A fact asked back is usually near the top of the speaker's disclosures but in no other ranking (a
    # paraphrase shares no word, and among all lines its meaning is buried): at 1.0 such a line lost to
    # chatter found by two rankings; tune scene, paraphrases in the top 6: 19 -> 20 of 26 at 1.0, and
    # with the ten recall slots 25 of 26 at 2.0 (3.0 ranked the same).
    told: float = 2.0
    question: float = 0.5


def fuse(
    lexical: Sequence[int],
    dense: Sequence[int],
    *,
    speakers: Mapping[int, str],
    query_speaker: str | None,
    own: Sequence[int] = (),
    told: Sequence[int] = (),
    questions: frozenset[int] | set[int] = frozenset(),
    weights: FusionWeights = FusionWeights(),
    k: int = RRF_K,
) -> list[tuple[int, float, int | None, int | None]]:
    """(item id, fused score, lexical rank, dense rank), best first; ranks count from 1.

    ``own``: the dense ranking among the query speaker's own lines; ``told``: among the lines in which
    the query speaker told something about themself (:func:`discloses`); ``questions``: items that only
    ask (they count ``weights.question`` times). ``speakers`` maps item ids to who said them (notes map
    to ""); ties go to the newer item.
    """
    lex_rank = {item: r for r, item in enumerate(lexical, start=1)}
    den_rank = {item: r for r, item in enumerate(dense, start=1)}
    own_rank = {item: r for r, item in enumerate(own, start=1)}
    told_rank = {item: r for r, item in enumerate(told, start=1)}
    fused = []
    for item in {*lex_rank, *den_rank, *own_rank, *told_rank}:
        score = 0.0
        if item in lex_rank:
            score += weights.lexical / (k + lex_rank[item])
        if item in den_rank:
            score += weights.dense / (k + den_rank[item])
        if item in own_rank:
            score += weights.own / (k + own_rank[item])
        if item in told_rank:
            score += weights.told / (k + told_rank[item])
        if query_speaker and speakers.get(item) == query_speaker:
            score *= 1 + weights.same_speaker
        if item < 0:
            score *= 1 + weights.note
        if item in questions:
            score *= weights.question
        fused.append((item, score, lex_rank.get(item), den_rank.get(item, own_rank.get(item, told_rank.get(item)))))
    fused.sort(key=lambda f: (-f[1], -abs(f[0])))
    return fused


class VectorSet:
    """The embedded lines and notes one character knows, as a matrix, for a bounded dense search.

    Grows by appending what the embedder wrote since the last look; keeps at most ``capacity`` rows
    (the newest lines; the rest stay reachable by words), so a search costs the same at turn 10,000
    as at turn 1,000. Rows live in a buffer that doubles when full, so taking in a turn's few new
    lines costs the same at turn 1,000 as at turn 20 (concatenating the whole matrix each time copied
    megabytes per reply late in a scene); a re-embedded line (an edit, a swipe) replaces its row.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ids = np.zeros(0, dtype=np.int64)
        self._speakers = np.zeros(0, dtype=object)
        self._told = np.zeros(0, dtype=bool)
        self._matrix: np.ndarray | None = None
        self._rows: dict[int, int] = {}
        self._size = 0
        self.newest_line = 0
        self.newest_note = 0

    def __len__(self) -> int:
        return self._size

    @property
    def ids(self) -> np.ndarray:
        return self._ids[: self._size]

    @property
    def speakers(self) -> np.ndarray:
        return self._speakers[: self._size]

    @property
    def told(self) -> np.ndarray:
        """Per row: the line tells something about its speaker (:func:`discloses`)."""
        return self._told[: self._size]

    @property
    def matrix(self) -> np.ndarray | None:
        return None if self._matrix is None else self._matrix[: self._size]

    def add(
        self, ids: np.ndarray, matrix: np.ndarray, speakers: Sequence[str] | None = None, texts: Sequence[str] | None = None
    ) -> None:
        """Append rows; ``speakers`` says who said each line ("" for notes, and when not given); ``texts``,
        what it said (only read to mark the lines that :func:`discloses`)."""
        if ids.shape[0] == 0:
            return
        said = list(speakers) if speakers is not None else [""] * ids.shape[0]
        told = [bool(t) and discloses(t) for t in texts] if texts is not None else [False] * ids.shape[0]
        matrix = matrix.astype(np.float32, copy=False)
        if self._matrix is None or self._matrix.shape[1] != matrix.shape[1]:
            self._matrix, self._size, self._rows = np.zeros((0, matrix.shape[1]), dtype=np.float32), 0, {}
            self._ids, self._speakers = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
            self._told = np.zeros(0, dtype=bool)
        fresh: list[int] = []
        for i, item_id in enumerate(ids.tolist()):
            row = self._rows.get(item_id)
            if row is None:
                fresh.append(i)
            else:
                self._matrix[row], self._speakers[row], self._told[row] = matrix[i], said[i], told[i]
        if fresh:
            self._reserve(self._size + len(fresh))
            end = self._size + len(fresh)
            self._matrix[self._size : end] = matrix[fresh]
            self._ids[self._size : end] = ids[fresh]
            self._speakers[self._size : end] = [said[i] for i in fresh]
            self._told[self._size : end] = [told[i] for i in fresh]
            self._rows.update((int(ids[i]), self._size + n) for n, i in enumerate(fresh))
            self._size = end
        lines = ids[ids > 0]
        notes = ids[ids < 0]
        if lines.size:
            self.newest_line = max(self.newest_line, int(lines.max()))
        if notes.size:
            self.newest_note = max(self.newest_note, int(-notes.min()))
        if self._size > self.capacity:
            # Drop the oldest lines first; notes are few and each stands for many lines.
            current = self.ids
            order = np.argsort(np.where(current < 0, np.iinfo(np.int64).max, current))
            keep = np.sort(order[self._size - self.capacity :])
            kept_ids, kept_speakers, kept_matrix = current[keep], self.speakers[keep], self.matrix[keep]  # type: ignore[index]
            kept_told = self.told[keep]
            self._ids[: len(keep)], self._speakers[: len(keep)], self._matrix[: len(keep)] = kept_ids, kept_speakers, kept_matrix
            self._told[: len(keep)] = kept_told
            self._size = len(keep)
            self._rows = {int(item_id): row for row, item_id in enumerate(kept_ids.tolist())}

    def _reserve(self, rows: int) -> None:
        assert self._matrix is not None
        if rows <= self._matrix.shape[0]:
            return
        size = max(rows, 2 * self._matrix.shape[0], 64)
        grown = np.zeros((size, self._matrix.shape[1]), dtype=np.float32)
        grown[: self._size] = self._matrix[: self._size]
        ids = np.zeros(size, dtype=np.int64)
        ids[: self._size] = self._ids[: self._size]
        speakers = np.empty(size, dtype=object)
        speakers[: self._size] = self._speakers[: self._size]
        told = np.zeros(size, dtype=bool)
        told[: self._size] = self._told[: self._size]
        self._matrix, self._ids, self._speakers, self._told = grown, ids, speakers, told

    def search(
        self, query: np.ndarray, k: int, *, before_id: int, speaker: str | None = None, told: bool = False,
        scores: np.ndarray | None = None,
    ) -> list[int]:
        """The k items most similar to the query (cosine; vectors are unit length), lines before ``before_id``;
        with ``speaker``, only lines that speaker said; with ``told``, only lines that tell something about
        their speaker. ``scores``: this query's similarities from :meth:`similarities` (one product for
        several searches)."""
        if self.matrix is None or not len(self) or k <= 0:
            return []
        if scores is None:
            scores = self.similarities(query)
        scores = np.where((self.ids > 0) & (self.ids >= before_id), -np.inf, scores)
        if speaker is not None:
            scores = np.where(self.speakers == speaker, scores, -np.inf)
        if told:
            scores = np.where(self.told, scores, -np.inf)
        k = min(k, len(self))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(self.ids[i]) for i in top if np.isfinite(scores[i])]

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of every row to the query (vectors are unit length)."""
        assert self.matrix is not None
        return self.matrix @ query.astype(np.float32)
