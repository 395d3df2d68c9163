"""Marker projection: translate the answer's sentence with the answer wrapped in markers.

The EasyProject recipe (``docs/projection.md``): the English sentence that holds the answer
is translated once more as ``... [answer span] ...``; the translation's markers say where the
answer went. Real models rewrite markers, so :func:`extract` first turns the variants they
produce back into the pair (``《》``, ``【】``, ``［］`` for ``[ ]``), folds doubled markers,
and drops the spaces models put inside them; it gives up (None) when the markers are lost,
unbalanced or repeated. :func:`accept` then keeps the span only if it occurs verbatim in the
*plain* translation of the same sentence, the one the translated passage is made of, so the
span is always a substring of the passage.

Everything here is pure string work, no model: the mark step calls :func:`mark` (through
:func:`mark_answer`), the assemble step :func:`extract` and :func:`accept` (through
:func:`mtqa.projection.project.project_answer`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from mtqa.errors import MtqaError
from mtqa.projection.fuzzy import SENTENCE_PUNCT, trim

__all__ = [
    "Accepted",
    "DEFAULT_MARKERS",
    "MarkedSource",
    "MarkedSpan",
    "MarkerPair",
    "accept",
    "choose_pair",
    "extract",
    "mark",
    "mark_answer",
    "normalise_markers",
]

#: What models write for ``[ ]`` instead (CJK and full-width brackets).
SQUARE_VARIANTS: tuple[tuple[str, str], ...] = (
    ("《", "》"), ("【", "】"), ("［", "］"), ("〔", "〕"), ("〖", "〗"),
)


class _Pair(NamedTuple):
    open: str
    close: str
    variants: tuple[tuple[str, str], ...]


class MarkerPair(_Pair):
    """An opening and a closing marker, and the variants of them a model may write instead.

    Build one from config data with :meth:`of`: ``["[", "]"]``, ``["{", "}", [["｛", "｝"]]]``,
    or ``{"open": "<a>", "close": "</a>", "variants": [["<A>", "</A>"]]}``. A (named) tuple,
    so a config holding pairs is plain data as it is (JSON, YAML, the build's identity):
    ``[open, close, [[variant open, variant close], ...]]``.
    """

    __slots__ = ()

    def __new__(cls, open: str = "[", close: str = "]",
                variants: Sequence[Sequence[str]] = SQUARE_VARIANTS) -> MarkerPair:
        try:
            if isinstance(variants, str | bytes) or not isinstance(variants, Sequence):
                raise TypeError
            pairs = tuple((str(o), str(c)) for o, c in variants)
        except (TypeError, ValueError):
            raise MtqaError(f"marker variants must be pairs of strings, got {variants!r}") from None
        for o, c in ((open, close), *pairs):
            if not isinstance(o, str) or not isinstance(c, str) or not o.strip() or not c.strip():
                raise MtqaError(f"markers must be non-blank strings, got {o!r} and {c!r}")
            if o != o.strip() or c != c.strip():
                raise MtqaError(f"markers must not start or end with whitespace, got {o!r} and {c!r}")
            if o == c or o in c or c in o:
                raise MtqaError(f"the opening and closing marker must differ and not contain each other: {o!r}, {c!r}")
        return super().__new__(cls, open, close, pairs)

    @classmethod
    def of(cls, value) -> MarkerPair:
        """A pair from a :class:`MarkerPair`, a sequence ``[open, close]`` or ``[open, close,
        variants]``, or a mapping (config data)."""
        if isinstance(value, MarkerPair):
            return value
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"open", "close", "variants"})
            if unknown:
                raise MtqaError(f"marker pair: unknown key '{unknown[0]}' (known: close, open, variants)")
            if "open" not in value or "close" not in value:
                raise MtqaError("marker pair: needs 'open' and 'close'")
            variants = value.get("variants")
            return cls(value["open"], value["close"], SQUARE_VARIANTS if variants is None else variants)
        if isinstance(value, Sequence) and not isinstance(value, str) and len(value) in (2, 3):
            opening, closing = value[0], value[1]
            if len(value) == 3:
                return cls(opening, closing, value[2])
            variants = SQUARE_VARIANTS if (opening, closing) == ("[", "]") else ()
            return cls(opening, closing, variants)
        raise MtqaError(f"a marker pair is [open, close] or {{open: ..., close: ...}}, got {value!r}")

    @property
    def strings(self) -> tuple[str, ...]:
        """Every marker string of the pair, variants included."""
        return (self.open, self.close, *(s for pair in self.variants for s in pair))


#: The pairs tried in order: the first whose characters the sentence does not contain is used.
DEFAULT_MARKERS: tuple[MarkerPair, ...] = (
    MarkerPair("[", "]"),
    MarkerPair("{", "}", (("｛", "｝"),)),
    MarkerPair("<", ">", (("＜", "＞"), ("〈", "〉"))),
)


def choose_pair(sentence: str, pairs: Sequence[MarkerPair] = DEFAULT_MARKERS) -> MarkerPair | None:
    """The first pair none of whose markers (variants included) occurs in ``sentence``: a
    bracket already in the sentence would be mistaken for a marker. None if every pair does."""
    for pair in pairs:
        if not any(s in sentence for s in pair.strings):
            return pair
    return None


def mark(sentence: str, start: int, end: int, pair: MarkerPair = DEFAULT_MARKERS[0]) -> str:
    """``sentence`` with ``sentence[start:end]`` wrapped in the pair's markers."""
    if not 0 <= start < end <= len(sentence):
        raise ValueError(f"span {start}:{end} is not a non-empty span of a {len(sentence)}-character sentence")
    return f"{sentence[:start]}{pair.open}{sentence[start:end]}{pair.close}{sentence[end:]}"


@dataclass(frozen=True, slots=True)
class MarkedSource:
    """One answer marked in its English sentence: what the translate step translates."""

    sentence: str
    start: int
    end: int
    pair: MarkerPair = field(default_factory=MarkerPair)

    @property
    def span(self) -> str:
        return self.sentence[self.start : self.end]

    @property
    def text(self) -> str:
        """The marked sentence to translate."""
        return mark(self.sentence, self.start, self.end, self.pair)

    @property
    def relative(self) -> float:
        """The span's centre over the sentence's length (0..1)."""
        return (self.start + self.end) / 2 / len(self.sentence)

    @property
    def whole(self) -> bool:
        """The span is the whole sentence (but for edge punctuation and whitespace)."""
        return trim(self.span) == trim(self.sentence)


def mark_answer(
    sentence: str, start: int, end: int, pairs: Sequence[MarkerPair] = DEFAULT_MARKERS
) -> MarkedSource | None:
    """The answer ``sentence[start:end]`` marked with the first usable pair; None when the span
    is empty or blank or every pair's markers already occur in the sentence."""
    if not 0 <= start < end <= len(sentence) or not sentence[start:end].strip():
        return None
    # Markers hug the words: whitespace at the span's edges stays outside them.
    span = sentence[start:end]
    start += len(span) - len(span.lstrip())
    end -= len(span) - len(span.rstrip())
    pair = choose_pair(sentence, pairs)
    return None if pair is None else MarkedSource(sentence, start, end, pair)


@dataclass(frozen=True, slots=True)
class MarkedSpan:
    """A translation with its markers removed, and where the marked span is in it."""

    text: str
    start: int
    end: int

    @property
    def span(self) -> str:
        return self.text[self.start : self.end]

    @property
    def relative(self) -> float:
        """The span's centre over the text's length (0..1)."""
        return (self.start + self.end) / 2 / max(1, len(self.text))


def _fold_repeats(text: str, marker: str) -> str:
    """``[[``, ``[ [`` -> ``[``."""
    escaped = re.escape(marker)
    return re.sub(rf"{escaped}(?:\s*{escaped})+", marker, text)


def normalise_markers(marked: str, pair: MarkerPair, plain: str | None = None) -> str:
    """``marked`` with the pair's variants turned into the pair and doubled markers folded.

    A variant that the plain translation contains is real punctuation there (a Chinese book
    title in ``《》``), so it is left alone."""
    text = marked
    for opening, closing in pair.variants:
        if plain is not None and (opening in plain or closing in plain):
            continue
        text = text.replace(opening, pair.open).replace(closing, pair.close)
    return _fold_repeats(_fold_repeats(text, pair.open), pair.close)


def extract(marked: str, pair: MarkerPair = DEFAULT_MARKERS[0], plain: str | None = None) -> MarkedSpan | None:
    """The span a model's marked translation points at, markers removed; None when the markers
    did not survive: missing, unbalanced, repeated, in the wrong order, around nothing, or
    (``plain`` given) also present in the plain translation, where they cannot be told apart.

    Whitespace inside the markers is dropped; whitespace around them becomes one space (none
    before closing punctuation), as in a translation without markers.
    """
    if plain is not None and (pair.open in plain or pair.close in plain):
        return None
    text = normalise_markers(marked, pair, plain)
    if text.count(pair.open) != 1 or text.count(pair.close) != 1:
        return None
    o = text.index(pair.open)
    c = text.index(pair.close)
    if c < o:
        return None
    before, inner, after = text[:o], text[o + len(pair.open) : c], text[c + len(pair.close) :]
    core = inner.strip()
    if not core:
        return None
    head = before.rstrip()
    tail = after.lstrip()
    left = " " if head and (head != before or inner[:1].isspace()) else ""
    right = " " if tail and (tail != after or inner[-1:].isspace()) and tail[0] not in SENTENCE_PUNCT else ""
    start = len(head) + len(left)
    return MarkedSpan(f"{head}{left}{core}{right}{tail}", start, start + len(core))


@dataclass(frozen=True, slots=True)
class Accepted:
    """A marked span accepted: ``plain[start:start + len(text)] == text``."""

    text: str
    start: int


def accept(
    span_text: str, plain: str, *, source: MarkedSource | None = None, near: float | None = None
) -> Accepted | None:
    """The marked span as a span of the plain translation of its sentence, or None.

    Rules, in order:

    1. Whitespace at the span's ends is dropped; so are sentence punctuation (``.,;:!?。،।``...)
       and unpaired quotes or brackets at its ends, unless the English span (``source``) ends
       or starts with punctuation itself (the model put the sentence's full stop inside).
    2. It must hold a letter or a digit.
    3. It must occur verbatim (case, accents and all) in ``plain``. Marked and plain
       translations are two decodings and may differ; a span that is not in ``plain`` is
       not in the passage.
    4. It must not be the whole plain sentence unless the English span was the whole
       English sentence (a model that wraps everything has not located anything).
    5. Of several occurrences, the one whose centre is nearest ``near`` (the span's relative
       position in the marked translation), else the first.
    """
    text = span_text.strip()
    if source is None or trim(source.span) == source.span.strip():
        text = trim(text)
    if not any(ch.isalnum() for ch in text):
        return None
    hits = []
    i = plain.find(text)
    while i >= 0:
        hits.append(i)
        i = plain.find(text, i + 1)
    if not hits:
        return None
    if source is not None and not source.whole and trim(text) == trim(plain):
        return None
    if near is None or len(hits) == 1:
        return Accepted(text, hits[0])
    target = near * len(plain)
    return Accepted(text, min(hits, key=lambda h: (abs(h + len(text) / 2 - target), h)))
