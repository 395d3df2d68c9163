"""The filter's settings (``filter:`` in a pipeline) and its two choice enums.

The enums are ``str`` enums so that click can list them (``click.Choice([m.value for m in
FilterMode])``) while the config keeps plain strings: ``dataclasses.asdict(FilterConfig())``
dumps to YAML and JSON as it did before the enums existed, and the build identity does not
change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from mtqa.config_fields import FilterMode
from mtqa.errors import MtqaError
from mtqa.lid import LidConfig


class Reason(str, Enum):
    """The checks, by the reason a failed row lists (``filter_reasons``), in the order they run."""

    EMPTY = "empty"
    TOO_SHORT = "too_short"
    LENGTH_RATIO = "length_ratio"
    REPETITION = "repetition"
    COPY = "copy"
    WRONG_LANGUAGE = "wrong_language"
    ANSWER_LOST = "answer_lost"


#: The reason names as plain strings, in check order.
REASONS: tuple[str, ...] = tuple(r.value for r in Reason)


@dataclass
class FilterConfig:
    """What the filter checks and what it does with rows that fail (docs/filter.md).

    ``mode``: a :class:`FilterMode` value. ``"drop"`` writes failed rows to
    ``OUT/rejected/`` instead of ``OUT/data/``; ``"flag"`` writes every row to ``data/`` and
    readers use ``keep``. ``human_mode``: the same for failed rows the source translated
    (``origin`` human), flagged by default: a person's translation is worth keeping in sight
    even when a check disagrees with it. ``checks``: the :class:`Reason` values to check.
    All are stored as plain strings (an enum member given here is stored as its value).
    """

    mode: str = FilterMode.DROP.value
    human_mode: str = FilterMode.FLAG.value
    checks: list[str] = field(default_factory=lambda: list(REASONS))
    short_max_chars: int = 2  # too_short: target of at most this many characters ...
    short_min_source_chars: int = 20  # ... while the source has at least this many
    length_ratios: str | None = None  # JSON table of bounds per pair; None = mtqa/data/length_ratios.json
    length_ratio_default: list[float] = field(default_factory=lambda: [0.25, 4.0])  # pairs not in the table
    length_ratio_min_source_chars: int = 20
    repetition_max: int = 4  # fail when one n-gram repeats this many times in a row
    repetition_max_ngram: int = 4  # words; characters for unspaced languages use twice as many
    copy_threshold: float = 0.9  # character-trigram similarity to the source
    copy_min_letters: int = 20  # only sources with at least this many letters can be copied
    lid_min_prob: float = 0.9  # question: another language identified with at least this probability
    lid_min_share: float = 0.5  # passage: share of characters in sentences in the target language
    lid: LidConfig = field(default_factory=LidConfig)

    def __post_init__(self) -> None:
        for name in ("mode", "human_mode"):
            try:
                setattr(self, name, FilterMode(getattr(self, name)).value)
            except ValueError:
                known = ", ".join(m.value for m in FilterMode)
                raise MtqaError(f"filter.{name} must be one of {known}, got {getattr(self, name)!r}") from None
        if isinstance(self.checks, str) or not isinstance(self.checks, list | tuple):
            raise MtqaError(f"filter.checks must be a list of checks (known: {', '.join(REASONS)}), got {self.checks!r}")
        checks = []
        for check in self.checks:
            try:
                checks.append(Reason(check).value)
            except ValueError:
                raise MtqaError(f"filter.checks: unknown check {check!r} (known: {', '.join(REASONS)})") from None
        self.checks = checks
        if len(self.length_ratio_default) != 2 or not 0 < self.length_ratio_default[0] < self.length_ratio_default[1]:
            raise MtqaError(f"filter.length_ratio_default must be [min, max] with 0 < min < max, got {self.length_ratio_default}")
        if not 0 < self.copy_threshold <= 1:
            raise MtqaError(f"filter.copy_threshold must be in (0, 1], got {self.copy_threshold}")
        if self.repetition_max < 2 or self.repetition_max_ngram < 1:
            raise MtqaError("filter.repetition_max must be >= 2 and filter.repetition_max_ngram >= 1")
