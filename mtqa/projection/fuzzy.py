"""Find a translated answer in its translated passage: exact, then normalised, then fuzzy.

The fallback of answer projection (``docs/projection.md``). The answer was translated on its
own, so it may differ from the words the passage uses for it in case, punctuation, Unicode
form or a word ending. :func:`find_span` looks for it in three steps, each only when the one
before finds nothing:

1. **exact**: the answer, trimmed (whitespace, sentence punctuation and unpaired quotes at
   its ends), verbatim in the passage; at word boundaries first, else (for five or more
   letters or several words) inside a word;
2. **normalised**: the same on a normalised form of both texts (NFKC per grapheme, case
   folded, punctuation and whitespace dropped, every script's decimal digits as ASCII);
3. **fuzzy**: windows of whole words (single graphemes in scripts written without spaces:
   Chinese, Japanese, Thai, Lao, Khmer, Myanmar; a word may also start after an Arabic or
   Hebrew one-letter proclitic) scored by their normalised Levenshtein similarity
   ``1 - distance / max(len)``, where an edit inside the last two letters of a word of four
   or more letters (its ending) costs half. A window is a candidate when it scores at least
   ``threshold`` and carries exactly the answer's digits (1990 never matches 1991).

Several candidates: the one whose centre is nearest ``anchor`` (the answer's relative
position projected from the source passage) among those within ``margin`` of the best score;
without an anchor, the best score, then the length nearest the answer's, then the earliest.
Then the span is widened over the brackets, quotes and abbreviation periods it owns
(:func:`_extend`). The returned text is always ``passage[start:end]``, never the answer.

Speed: the distance of the answer to every window that starts at one word comes from one
bit-parallel pass over the passage from there (Myers' algorithm in Hyyrö's formulation, on
Python integers), so a passage costs about (words × window length) integer operations; the
ending-aware distance is computed only for the few windows that pass a coarser filter.
About a millisecond per call on XQuAD passages (see ``benchmarks/bench_projection.py``);
nothing beyond the standard library.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Match", "Normalised", "SENTENCE_PUNCT", "find_span", "levenshtein", "normalise", "similarity", "trim"]

#: Punctuation that ends a sentence or a clause; a translated answer often gains or loses it.
SENTENCE_PUNCT = frozenset(".,;:!?。，、；：！？،؛؟।॥።…")
# Punctuation that carries meaning inside an answer (``56,2٪``): kept by the normalisation.
_CONTENT_PUNCT = {"%": "%", "٪": "%", "﹪": "%", "‰": "‰", "#": "#", "&": "&", "@": "@", "§": "§"}
# Opening -> closing brackets and quotes (several closings for quotes that vary by language).
_PAIRS = {
    "(": ")", "[": "]", "{": "}", "（": "）", "［": "］", "｛": "｝", "《": "》", "〈": "〉",
    "【": "】", "「": "」", "『": "』", "〔": "〕", "«": "»", "‹": "›", "„": "“”", "‚": "‘’",
    "“": "”", "‘": "’", "»": "«",
}
_QUOTES_SAME = "\"'"  # straight quotes open and close alike
_CLOSING = {c for closers in _PAIRS.values() for c in closers}
_PAIRED = set(_PAIRS) | _CLOSING | set(_QUOTES_SAME)
_CLOSING_OR_STRAIGHT = _CLOSING | set(_QUOTES_SAME)
_OPENING_OR_STRAIGHT = set(_PAIRS) | set(_QUOTES_SAME)
# Scripts written without spaces between words: every grapheme is a word of its own here.
_UNSPACED_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified
    (0xF900, 0xFAFF),  # CJK compatibility
    (0x20000, 0x3FFFF),  # CJK extensions B+
)
# Arabic and Hebrew write conjunctions and prepositions as one-letter prefixes of the next
# word (و ف ب ل ك; ו ב ל מ כ ש ה): an answer may start inside a word there.
_PROCLITICS = frozenset("وفبلكובלמכשה")
_ABBREVIATION = re.compile(r"(?:^|\W)(?:\w\.)+\w$")
# Below this many letters and digits, a verbatim hit inside a word is too weak ("ten" in "often").
_MID_WORD_MIN = 5
# Windows within this of the threshold (plain Levenshtein) get the ending-aware distance.
_PREFILTER = 0.15
# A similar (not equal) window beats an equal one far from the anchor only from this score on.
_NEAR_FUZZY_MIN = 0.9

_W, _C, _S = 0, 1, 2  # normalised characters: word letter or digit, unspaced grapheme, symbol


@lru_cache(maxsize=16384)
def _unspaced(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _UNSPACED_RANGES)


@lru_cache(maxsize=8192)
def _script(ch: str) -> str:
    """A coarse script name (``LATIN``, ``CYRILLIC``, ``DIGIT``...); "" for combining marks,
    which belong to the letter before them."""
    if ch.isdigit():
        return "DIGIT"
    if unicodedata.category(ch)[0] == "M":
        return ""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0]


def _same_script(a: str, b: str) -> bool:
    sa, sb = _script(a), _script(b)
    return not sa or not sb or sa == sb


@dataclass(frozen=True, slots=True)
class Normalised:
    """A text's normalised form and where each of its characters came from.

    ``chars[k]`` came from the grapheme ``text[src_start[k]:src_end[k]]``; ``word_start[k]``
    and ``word_end[k]`` say whether a word (a run of letters and digits, one grapheme of an
    unspaced script, or one symbol) starts or ends at ``k``; ``ending[k]`` whether ``k`` is one
    of the last two letters of a word of four or more letters.
    """

    text: str
    chars: str
    src_start: tuple[int, ...]
    src_end: tuple[int, ...]
    word_start: tuple[bool, ...]
    word_end: tuple[bool, ...]
    ending: tuple[bool, ...]
    digits: str
    #: where a fuzzy window may start: word starts, and words behind one or two proclitics
    window_starts: tuple[int, ...]
    #: ``words_before[k]``: the number of words starting before ``k``
    words_before: tuple[int, ...]


def _graphemes(text: str):
    """``(start, end)`` of each base character with the combining marks that follow it."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.category(text[j])[0] == "M":
            j += 1
        yield i, j
        i = j


def normalise(text: str) -> Normalised:
    """NFKC per grapheme, case folded, decimal digits as ASCII, punctuation (but ``%``-like
    signs), whitespace and control characters dropped."""
    chars: list[str] = []
    kinds: list[int] = []
    src_start: list[int] = []
    src_end: list[int] = []
    gap: list[bool] = []  # a dropped character stood before this one
    dropped = False
    for a, b in _graphemes(text):
        folded = unicodedata.normalize("NFKC", text[a:b]).casefold()
        # casefold turns "İ" into "i" + U+0307; the dot carries nothing a match needs.
        folded = folded.replace("i\u0307", "i")
        for ch in folded:
            cat = unicodedata.category(ch)
            major = cat[0]
            if ch in _CONTENT_PUNCT:
                ch, major = _CONTENT_PUNCT[ch], "S"
            elif major in "PZC":
                # Format characters (ZWJ, ZWNJ, soft hyphen) sit inside words.
                if cat != "Cf":
                    dropped = True
                continue
            if cat == "Nd":
                ch = str(unicodedata.digit(ch))
            chars.append(ch)
            kinds.append(_S if major == "S" else _C if _unspaced(ch) else _W)
            src_start.append(a)
            src_end.append(b)
            gap.append(dropped)
            dropped = False
    n = len(chars)
    starts = [False] * n
    for k in range(n):
        if k > 0 and src_start[k] == src_start[k - 1]:
            continue  # an NFKC expansion or a combining mark stays in its grapheme's word
        starts[k] = k == 0 or gap[k] or kinds[k] != _W or kinds[k - 1] != _W or not _same_script(
            chars[k - 1], chars[k])
    ends = [starts[k + 1] if k + 1 < n else True for k in range(n)]
    ending = [False] * n
    k0 = 0
    for k in range(n):
        if starts[k]:
            k0 = k
        if ends[k] and kinds[k] == _W and k + 1 - k0 >= 4 and all(c.isalpha() for c in chars[k0 : k + 1]):
            ending[k - 1] = ending[k] = True
    digits = "".join(ch for ch in chars if ch.isdigit())
    window_starts = []
    for k in range(n):
        if starts[k]:
            window_starts.append(k)
            for j in (k + 1, k + 2):
                if j < n and not starts[j] and chars[j].isalpha() and all(c in _PROCLITICS for c in chars[k:j]):
                    window_starts.append(j)
    words_before = [0] * (n + 1)
    for k in range(n):
        words_before[k + 1] = words_before[k] + starts[k]
    return Normalised(
        text, "".join(chars), tuple(src_start), tuple(src_end), tuple(starts), tuple(ends), tuple(ending), digits,
        tuple(window_starts), tuple(words_before),
    )


# -- distances ---------------------------------------------------------------------------------
def _masks(pattern: str) -> dict[str, int]:
    masks: dict[str, int] = {}
    for i, ch in enumerate(pattern):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    return masks


def _distances(masks: dict[str, int], m: int, text: str, k0: int, k1: int, anywhere: bool = False):
    """``(k, levenshtein(pattern, text[k0:k + 1]))`` for k in ``k0..k1 - 1``, in one pass; with
    ``anywhere``, the distance to the best substring of ``text[k0:k + 1]`` that ends at ``k``."""
    carry = 0 if anywhere else 1
    full = (1 << m) - 1
    high = 1 << (m - 1)
    pv, mv, score = full, 0, m
    for k in range(k0, k1):
        eq = masks.get(text[k], 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | carry) & full
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
        yield k, score


def levenshtein(a: str, b: str) -> int:
    """The edit distance of ``a`` and ``b`` (insertions, deletions, substitutions cost 1)."""
    if not a or not b:
        return len(a) + len(b)
    score = len(a)
    for _, score in _distances(_masks(a), len(a), b, 0, len(b)):
        pass
    return score


def similarity(a: str, b: str) -> float:
    """``1 - levenshtein(a, b) / max(len(a), len(b))``; 1.0 for two empty texts."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1 - levenshtein(a, b) / longest


def _ending_distance(a: str, a_end: tuple[bool, ...], b: str, b_end: tuple[bool, ...]) -> float:
    """Levenshtein distance where an edit that touches only word endings costs half."""
    prev = [0.0] * (len(b) + 1)
    for j in range(1, len(b) + 1):
        prev[j] = prev[j - 1] + (0.5 if b_end[j - 1] else 1.0)
    for i in range(1, len(a) + 1):
        cost_a = 0.5 if a_end[i - 1] else 1.0
        row = [prev[0] + cost_a] + [0.0] * len(b)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                sub = prev[j - 1]
            else:
                sub = prev[j - 1] + (0.5 if a_end[i - 1] and b_end[j - 1] else 1.0)
            row[j] = min(sub, prev[j] + cost_a, row[j - 1] + (0.5 if b_end[j - 1] else 1.0))
        prev = row
    return prev[-1]


# -- boundaries and edges ----------------------------------------------------------------------
@lru_cache(maxsize=16384)
def _wordlike(ch: str) -> bool:
    return (ch.isalnum() or unicodedata.category(ch)[0] == "M") and not _unspaced(ch)


def _boundary_before(passage: str, i: int) -> bool:
    """A word boundary at ``i``: not between two letters or digits of one script (a script
    change, ``стандартаDVB``, ``ب120``, is a boundary)."""
    if i <= 0 or i >= len(passage):
        return True
    a, b = passage[i - 1], passage[i]
    return not (_wordlike(a) and _wordlike(b) and _same_script(a, b))


_boundary_after = _boundary_before


def _proclitic_start(passage: str, i: int) -> bool:
    """``i`` starts a word but for one or two Arabic/Hebrew proclitic letters before it."""
    k = i
    while k > 0 and i - k < 2 and passage[k - 1] in _PROCLITICS:
        k -= 1
    return k < i and _boundary_before(passage, k)


def _openers_of(closer: str) -> set[str]:
    openers = {o for o, closers in _PAIRS.items() if closer in closers}
    if closer in _QUOTES_SAME:
        openers.add(closer)
    return openers


def _waits_for_close(text: str, closer: str) -> bool:
    """``text`` has an opening of ``closer`` that nothing in it closes."""
    if closer in _QUOTES_SAME:
        return text.count(closer) % 2 == 1
    opened = sum(text.count(o) for o in _openers_of(closer) if o != closer)
    return opened > text.count(closer)


def _waits_for_open(text: str, opener: str) -> bool:
    """``text`` has a closing of ``opener`` that nothing in it opened."""
    if opener in _QUOTES_SAME:
        return text.count(opener) % 2 == 1
    closers = set(_PAIRS.get(opener, "")) - {opener}
    return sum(text.count(c) for c in closers) > text.count(opener)


def trim(answer: str) -> str:
    """The answer without whitespace, sentence punctuation and unpaired quotes or brackets at
    its ends (an abbreviation keeps its final period: ``U.S.``)."""
    text = answer.strip()
    while True:
        before = text
        if text and text[-1] in SENTENCE_PUNCT and not (text[-1] == "." and _ABBREVIATION.search(text[:-1])):
            text = text[:-1].rstrip()
        if text and text[0] in SENTENCE_PUNCT:
            text = text[1:].lstrip()
        if text and text[0] in _PAIRED and not _waits_for_open(text[1:], text[0]):
            text = text[1:].lstrip()
        if text and text[-1] in _PAIRED and not _waits_for_close(text[:-1], text[-1]):
            text = text[:-1].rstrip()
        if text == before:
            return text


def _extend(passage: str, start: int, end: int, answer: str) -> tuple[int, int]:
    """Widen ``[start, end)`` over the edge characters the span owns: a closing bracket or quote
    whose opening is inside it (and the reverse); a quote or bracket where the translated
    answer has one at that edge too; the final period of an abbreviation (``U.S.``), or one the
    answer has where the passage's sentence goes on (``Inc. in``)."""
    stripped = answer.strip()
    for _ in range(4):
        changed = False
        span = passage[start:end]
        if end < len(passage):
            nxt = passage[end]
            if nxt in _PAIRED and (_waits_for_close(span, nxt) or (
                    nxt in _CLOSING_OR_STRAIGHT and stripped[-1:] in _CLOSING_OR_STRAIGHT)):
                end += 1
                changed = True
            elif nxt == "." and (_ABBREVIATION.search(span) or (
                    stripped.endswith(".") and passage[end + 1 : end + 2] == " "
                    and passage[end + 2 : end + 3].islower())):
                end += 1
                changed = True
        span = passage[start:end]
        if start > 0:
            prev = passage[start - 1]
            if prev in _PAIRED and (_waits_for_open(span, prev) or (
                    prev in _OPENING_OR_STRAIGHT and stripped[:1] in _OPENING_OR_STRAIGHT)):
                start -= 1
                changed = True
        if not changed:
            break
    return start, end


# -- candidates --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Match:
    """A span of the passage, ``text == passage[start:end]``. ``score`` is 1.0 for an exact or
    normalised match, the similarity for a fuzzy one; ``exact`` when found verbatim."""

    start: int
    end: int
    text: str
    score: float
    exact: bool


# A candidate: (score, start, end, |length - answer length|, 1 if verbatim else 0)
_Candidate = tuple[float, int, int, int, int]


def _pick(candidates: list[_Candidate], passage_len: int, anchor: float | None, margin: float) -> _Candidate | None:
    """Nearest the anchor among those within ``margin`` of the best score; else the best."""
    if not candidates:
        return None
    best = max(c[0] for c in candidates)
    close = [c for c in candidates if c[0] >= best - margin - 1e-9]
    if anchor is None:
        return min(close, key=lambda c: (-c[0], c[3], -c[4], c[1]))
    target = anchor * passage_len
    return min(close, key=lambda c: (abs((c[1] + c[2]) / 2 - target), -c[0], c[3], -c[4], c[1]))


def _suppress_overlaps(candidates: list[_Candidate]) -> list[_Candidate]:
    """The best window of each group of overlapping windows (then the nearest length)."""
    kept: list[_Candidate] = []
    for cand in sorted(candidates, key=lambda c: (-c[0], c[3], c[1])):
        if all(cand[2] <= k[1] or cand[1] >= k[2] for k in kept):
            kept.append(cand)
    return kept


def _enough_inside_word(needle: str) -> bool:
    return sum(ch.isalnum() for ch in needle) >= _MID_WORD_MIN or any(ch.isspace() for ch in needle.strip())


def _cuts_enough(passage: str, i: int, j: int) -> bool:
    """A span cutting a word keeps at least four of its characters on the span's side (not the
    first letter of the next word, which a normalised match can reach across a space)."""
    if not _boundary_before(passage, i):
        k = i
        while k < j and _wordlike(passage[k]):
            k += 1
        if k - i < 4 and not _proclitic_start(passage, i):
            return False
    if not _boundary_after(passage, j):
        k = j
        while k > i and _wordlike(passage[k - 1]):
            k -= 1
        if j - k < 4:
            return False
    return True


def _verbatim(needle: str, passage: str) -> tuple[list[_Candidate], list[_Candidate]]:
    """Where ``needle`` occurs verbatim: at word boundaries (strong), and inside words (weak)."""
    strong: list[_Candidate] = []
    weak: list[_Candidate] = []
    i = passage.find(needle)
    while i >= 0:
        j = i + len(needle)
        at_start = _boundary_before(passage, i) or _proclitic_start(passage, i)
        if at_start and _boundary_after(passage, j):
            strong.append((1.0, i, j, 0, 1))
        elif _cuts_enough(passage, i, j):
            weak.append((1.0, i, j, 0, 1))
        i = passage.find(needle, i + 1)
    return strong, weak


def _normalised(query: Normalised, norm: Normalised) -> tuple[list[_Candidate], list[_Candidate]]:
    """Where ``query``'s normalised form occurs in ``norm``'s, over whole graphemes."""
    strong: list[_Candidate] = []
    weak: list[_Candidate] = []
    k = norm.chars.find(query.chars)
    while k >= 0:
        end = k + len(query.chars)
        whole = (k == 0 or norm.src_start[k - 1] != norm.src_start[k]) and (
            end == len(norm.chars) or norm.src_start[end] != norm.src_start[end - 1])
        if whole:
            s, e = norm.src_start[k], norm.src_end[end - 1]
            at_start = norm.word_start[k] or _proclitic_start(norm.text, s)
            if at_start and norm.word_end[end - 1]:
                strong.append((1.0, s, e, 0, 0))
            elif _cuts_enough(norm.text, s, e):
                weak.append((1.0, s, e, 0, 0))
        k = norm.chars.find(query.chars, k + 1)
    return strong, weak


def _to_word_end(passage: str, start: int, end: int) -> int:
    """``end`` moved to the end of the word it cuts when the rest of that word is at most three
    letters or no longer than the part inside the span (an inflection: ``Patent`` inside
    ``Patente``, ``assent`` inside ``assentimento``); else where it was (part of a compound)."""
    def letter(ch: str) -> bool:
        return (ch.isalpha() or unicodedata.category(ch)[0] == "M") and not _unspaced(ch)

    inside = end
    while inside > start and letter(passage[inside - 1]):
        inside -= 1
    stop = end
    while stop < len(passage) and letter(passage[stop]):
        stop += 1
    return stop if stop - end <= max(3, end - inside) else end


def _fuzzy(query: Normalised, norm: Normalised, threshold: float) -> list[_Candidate]:
    """Every window of whole words scoring at least ``threshold`` and carrying the answer's
    digits, the best of each group of overlapping ones."""
    pattern = query.chars
    m = len(pattern)
    masks = _masks(pattern)
    coarse = max(0.05, threshold - _PREFILTER)
    # sim >= coarse needs coarse * m <= length <= m / coarse and distance <= (1 - coarse) * length
    longest = int(m / coarse) + 1
    shortest = max(1, int(coarse * m))
    worst = int((1 - coarse) * longest) + 1
    chars, word_end = norm.chars, norm.word_end
    n = len(chars)
    # One pass over the passage first: the distance to the best substring ending at each
    # place bounds every window ending there, so only windows ending at a close one are scanned.
    close_ends = [k for k, d in _distances(masks, m, chars, 0, n, anywhere=True) if d <= worst and word_end[k]]
    if not close_ends:
        return []
    starts = sorted({k0 for k0 in norm.window_starts
                     for _ in (0,) if _has_end(close_ends, k0 + shortest - 1, k0 + longest - 1)})
    # The ending-aware distance only for windows of as many words as the answer has.
    endings = any(query.ending)
    query_words = query.words_before[m]
    words_before = norm.words_before
    found: list[_Candidate] = []
    for k0 in starts:
        for k, dist in _distances(masks, m, chars, k0, min(n, k0 + longest)):
            length = k - k0 + 1
            if not word_end[k] or length < shortest:
                continue
            longer = max(m, length)
            score = 1 - dist / longer
            if score < coarse:
                continue
            if "".join(ch for ch in chars[k0 : k + 1] if ch.isdigit()) != query.digits:
                continue
            if endings and score < 1.0 and words_before[k + 1] - words_before[k0] == query_words:
                score = max(score, 1 - _ending_distance(pattern, query.ending, chars[k0 : k + 1],
                                                        norm.ending[k0 : k + 1]) / longer)
            if score >= threshold:
                found.append((score, norm.src_start[k0], norm.src_end[k], abs(length - m), 0))
    return _suppress_overlaps(found)


def _has_end(ends: list[int], lo: int, hi: int) -> bool:
    """Whether the sorted ``ends`` has one in ``lo..hi``."""
    i = bisect_left(ends, lo)
    return i < len(ends) and ends[i] <= hi


#: The matcher's defaults, shared with :class:`mtqa.projection.ProjectionConfig`.
DEFAULT_THRESHOLD = 0.75
DEFAULT_MARGIN = 0.05
DEFAULT_NEAR = 0.1
DEFAULT_MIN_FUZZY_CHARS = 4


def find_span(
    answer: str,
    passage: str,
    *,
    anchor: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    margin: float = DEFAULT_MARGIN,
    min_fuzzy_chars: int = DEFAULT_MIN_FUZZY_CHARS,
    near: float = DEFAULT_NEAR,
    fuzzy: bool = True,
    passage_norm: Normalised | None = None,
) -> Match | None:
    """Where ``answer`` (translated on its own) is in ``passage``; None when nowhere.

    ``anchor``: the relative position (0..1) where the answer is expected, e.g. the English
    answer's centre over the English passage's length. ``threshold``: the lowest similarity
    of a fuzzy window. ``margin``: how far below the best score a window nearer the anchor
    may be and still win. Answers whose normalised form is shorter than ``min_fuzzy_chars``
    are only matched exactly or normalised. ``near``: candidates within this relative distance
    of the anchor are preferred over better ones farther away (a similar one only from a
    score of 0.9). ``fuzzy=False`` stops after the verbatim lookup. ``passage_norm`` may
    carry ``normalise(passage)`` when several answers share a passage.
    """
    if not answer or not passage:
        return None
    needle = trim(answer)
    if not any(ch.isalnum() for ch in needle):
        return None
    strong, weak = _verbatim(needle, passage)
    if not fuzzy:
        pools = [strong, weak if _enough_inside_word(needle) else []]
        chosen = next((c for c in (_pick(pool, len(passage), anchor, 0.0) for pool in pools) if c), None)
        if chosen is None:
            return None
        start, end = _extend(passage, chosen[1], chosen[2], answer)
        return Match(start, end, passage[start:end], 1.0, True)
    norm = passage_norm if passage_norm is not None and passage_norm.text == passage else normalise(passage)
    query = normalise(needle)
    norm_strong, norm_weak = _normalised(query, norm)
    if not _enough_inside_word(query.chars):
        weak, norm_weak = [], []
    weak = [(c[0], c[1], end, 0, c[4] if end == c[2] else 0) for c in weak + norm_weak
            for end in (_to_word_end(passage, c[1], c[2]),)]

    @lru_cache(maxsize=1)
    def similar() -> list[_Candidate]:
        return _fuzzy(query, norm, threshold) if len(query.chars) >= min_fuzzy_chars else []

    # Verbatim, then equal once normalised, then parts of words, then similar words; but near
    # the anchor before far from it, since the answer's words may also occur elsewhere.
    pools = (lambda: strong, lambda: norm_strong, lambda: weak, similar)
    chosen = None
    if anchor is not None and near > 0:
        centre = anchor * len(passage)
        reach = near * len(passage)
        for pool in pools:
            close = [c for c in pool() if abs((c[1] + c[2]) / 2 - centre) <= reach and c[0] >= _NEAR_FUZZY_MIN]
            if close:
                chosen = _pick(close, len(passage), anchor, margin if pool is similar else 0.0)
                break
    if chosen is None:
        for pool in pools:
            chosen = _pick(pool(), len(passage), anchor, margin if pool is similar else 0.0)
            if chosen is not None:
                break
    if chosen is None:
        return None
    start, end = _extend(passage, chosen[1], chosen[2], answer)
    return Match(start, end, passage[start:end], round(chosen[0], 4), bool(chosen[4]))
