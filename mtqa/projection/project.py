"""Project one answer into its translated passage: markers, else exact, else fuzzy, else none.

:func:`project_answer` is the one entry point the assemble step calls per (answer, language);
:class:`ProjectionConfig` its typed settings. The guarantee, whatever the inputs: a projection
with ``method != Method.NONE`` has ``passage[start:start + len(text)] == text``; one with
``Method.NONE`` has ``start == -1`` and carries the answer as translated on its own.

The mark step (:mod:`mtqa.steps.mark`) needs :func:`answer_sentence` and
:func:`~mtqa.projection.markers.mark_answer` to know what to translate additionally (the
marked sentence of every answer), and the assemble step :func:`sentence_anchor` to turn the
English answer's position into the anchor of the fallback. See ``docs/projection.md``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

from mtqa.config_fields import StrEnum
from mtqa.errors import MtqaError
from mtqa.pipeline.stats import ANSWERS_PREFIX
from mtqa.projection.fuzzy import (
    DEFAULT_MARGIN,
    DEFAULT_MIN_FUZZY_CHARS,
    DEFAULT_NEAR,
    DEFAULT_THRESHOLD,
    Normalised,
    find_span,
)
from mtqa.projection.markers import DEFAULT_MARKERS, MarkedSource, MarkerPair, accept, extract

__all__ = [
    "MarkedTranslation",
    "Method",
    "Projection",
    "ProjectionConfig",
    "answer_sentence",
    "project_answer",
    "sentence_anchor",
]


class Method(StrEnum):
    """How an answer was found in its translated passage."""

    MARKER = "marker"  # the markers of the marked sentence's translation
    EXACT = "exact"  # the answer translated on its own, verbatim
    FUZZY = "fuzzy"  # the same, normalised or similar
    NONE = "none"  # not found: answer_start is -1

    @property
    def stat_key(self) -> str:
        """The per-language stat key counting answers projected this way: ``answers_marker``..."""
        return f"{ANSWERS_PREFIX}{self.value}"


@dataclass(frozen=True, slots=True)
class Projection:
    """An answer in the translated passage. ``start == -1`` (and ``method`` NONE) when it was
    not found; then ``text`` is the answer as translated on its own."""

    text: str
    start: int
    method: Method

    @property
    def end(self) -> int:
        return self.start + len(self.text) if self.start >= 0 else -1

    def to_answer(self) -> dict:
        """The output schema's answer record."""
        return {"text": self.text, "answer_start": self.start}


_MODEL_KEYS = ("markers", "marker_pairs")


@dataclass
class ProjectionConfig:
    """How answers are projected.

    - ``enabled``: find answer spans at all (retrieval training needs only questions and
      passages: off saves the marked translations and leaves every ``answer_start`` -1).
    - ``markers``: translate each answer's sentence once more with the answer marked.
    - ``marker_pairs``: the marker pairs to try, in order (``[["[", "]"], ["{", "}"]]``); the
      first one the sentence does not already contain is used.
    - ``per_model``: overrides of ``markers`` and ``marker_pairs`` by model, keyed by a
      pattern of the ``translate.model`` value (``"facebook/nllb-*"``); the first match wins.
    - ``fuzzy``: after the exact lookup, try normalised and similar matches.
    - ``fuzzy_threshold``: the lowest similarity of a fuzzy match (0..1].
    - ``anchor_near``: candidates within this share of the passage's length from the
      projected English position win over better ones farther away.
    - ``anchor_margin``: how far below the best fuzzy score a candidate nearer the projected
      position may score and still win.
    - ``min_fuzzy_chars``: answers shorter than this (normalised) are only matched exactly.
    """

    enabled: bool = True
    markers: bool = True
    marker_pairs: list[MarkerPair] = field(default_factory=lambda: list(DEFAULT_MARKERS))
    per_model: dict[str, dict] = field(default_factory=dict)
    fuzzy: bool = True
    fuzzy_threshold: float = DEFAULT_THRESHOLD
    anchor_near: float = DEFAULT_NEAR
    anchor_margin: float = DEFAULT_MARGIN
    min_fuzzy_chars: int = DEFAULT_MIN_FUZZY_CHARS

    def __post_init__(self) -> None:
        for name in ("enabled", "markers", "fuzzy"):
            if not isinstance(getattr(self, name), bool):
                raise MtqaError(f"projection.{name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.marker_pairs, str | bytes) or not isinstance(self.marker_pairs, Sequence):
            raise MtqaError(f"projection.marker_pairs must be a list of pairs, got {self.marker_pairs!r}")
        self.marker_pairs = [MarkerPair.of(p) for p in self.marker_pairs]
        if self.markers and not self.marker_pairs:
            raise MtqaError("projection.marker_pairs is empty but projection.markers is on")
        for name in ("fuzzy_threshold", "anchor_near", "anchor_margin"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise MtqaError(f"projection.{name} must be a number, got {value!r}")
        if not 0 < self.fuzzy_threshold <= 1:
            raise MtqaError(f"projection.fuzzy_threshold must be in (0, 1], got {self.fuzzy_threshold}")
        if not 0 <= self.anchor_near <= 1:
            raise MtqaError(f"projection.anchor_near must be in [0, 1], got {self.anchor_near}")
        if not 0 <= self.anchor_margin < 1:
            raise MtqaError(f"projection.anchor_margin must be in [0, 1), got {self.anchor_margin}")
        chars = self.min_fuzzy_chars
        if isinstance(chars, bool) or not isinstance(chars, int) or chars < 1:
            raise MtqaError(f"projection.min_fuzzy_chars must be a whole number >= 1, got {self.min_fuzzy_chars!r}")
        if not isinstance(self.per_model, dict):
            raise MtqaError(f"projection.per_model must map model patterns to settings, got {self.per_model!r}")
        checked = {}
        for pattern, overrides in self.per_model.items():
            where = f"projection.per_model['{pattern}']"
            if not isinstance(pattern, str) or not pattern.strip():
                raise MtqaError(f"projection.per_model: keys must be model patterns, got {pattern!r}")
            if not isinstance(overrides, dict):
                raise MtqaError(f"{where} must be a mapping, got {overrides!r}")
            unknown = sorted(set(overrides) - set(_MODEL_KEYS))
            if unknown:
                raise MtqaError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(_MODEL_KEYS)})")
            # Validate the override now, where the pipeline loads, not when the model runs.
            merged = dataclasses.replace(self, per_model={}, **overrides)
            checked[pattern] = {key: getattr(merged, key) for key in overrides}
        self.per_model = checked

    def for_model(self, model: str) -> ProjectionConfig:
        """This config with the first ``per_model`` entry matching ``model`` applied."""
        for pattern, overrides in self.per_model.items():
            if fnmatch.fnmatchcase(model, pattern):
                return dataclasses.replace(self, per_model={}, **overrides)
        return dataclasses.replace(self, per_model={})


@dataclass(frozen=True, slots=True)
class MarkedTranslation:
    """What the marker method needs for one answer in one language: the English ``source``,
    the translation of its marked sentence, the plain translation of the same sentence (as
    it stands in the translated passage) and where that plain sentence starts there."""

    source: MarkedSource
    marked: str
    plain: str
    offset: int


def answer_sentence(
    sentences: Sequence[tuple[int, str]], answer_start: int, answer_text: str
) -> tuple[int, int, int] | None:
    """``(index, start, end)``: the sentence of ``sentences`` (``(offset in the passage, text)``,
    in order) that holds the answer whole, and the answer's offsets within it; None when the
    answer has no position or crosses a sentence boundary."""
    if answer_start < 0 or not answer_text:
        return None
    answer_end = answer_start + len(answer_text)
    for index, (offset, text) in enumerate(sentences):
        if offset <= answer_start and answer_end <= offset + len(text):
            start = answer_start - offset
            if text[start : start + len(answer_text)] != answer_text:
                return None
            return index, start, start + len(answer_text)
    return None


def sentence_anchor(passage_len: int, sentence_offset: int, sentence_len: int, relative: float) -> float | None:
    """The anchor (0..1 over the translated passage) of an answer at ``relative`` (0..1) in its
    English sentence, whose translation starts at ``sentence_offset`` and is ``sentence_len``
    long: translations keep sentences in order, so this is far tighter than the answer's
    relative position in the whole passage."""
    if passage_len <= 0:
        return None
    return min(1.0, max(0.0, (sentence_offset + relative * sentence_len) / passage_len))


def project_answer(
    passage: str,
    answer: str,
    *,
    anchor: float | None = None,
    marked: MarkedTranslation | None = None,
    config: ProjectionConfig | None = None,
    passage_norm: Normalised | None = None,
) -> Projection:
    """Find ``answer`` (translated on its own) in the translated ``passage``.

    1. ``marker``: with ``marked`` (and ``config.markers``), the span the markers point at,
       if :func:`~mtqa.projection.markers.accept` accepts it and it is where ``marked.offset``
       says in the passage;
    2. ``exact`` / ``fuzzy``: :func:`~mtqa.projection.fuzzy.find_span` on the answer (then on
       the marked span, if the markers gave one that was not accepted), preferring candidates
       near ``anchor`` (0..1 over the passage; :func:`sentence_anchor`);
    3. ``none``: ``Projection(answer, -1, Method.NONE)``.
    """
    config = config if config is not None else ProjectionConfig()
    if not config.enabled or not passage:
        return Projection(answer, -1, Method.NONE)
    texts = [answer]
    if marked is not None and config.markers:
        span = extract(marked.marked, marked.source.pair, plain=marked.plain)
        if span is not None:
            accepted = accept(span.span, marked.plain, source=marked.source, near=span.relative)
            if accepted is not None:
                start = marked.offset + accepted.start
                if start >= 0 and passage[start : start + len(accepted.text)] == accepted.text:
                    return Projection(accepted.text, start, Method.MARKER)
            texts.append(span.span)
    for text in dict.fromkeys(t for t in texts if t and t.strip()):
        match = find_span(
            text,
            passage,
            anchor=anchor,
            threshold=config.fuzzy_threshold,
            margin=config.anchor_margin,
            near=config.anchor_near,
            min_fuzzy_chars=config.min_fuzzy_chars,
            fuzzy=config.fuzzy,
            passage_norm=passage_norm,
        )
        if match is not None and passage[match.start : match.end] == match.text:
            return Projection(match.text, match.start, Method.EXACT if match.exact else Method.FUZZY)
    return Projection(answer, -1, Method.NONE)
