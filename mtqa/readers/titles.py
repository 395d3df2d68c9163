"""Splits by title: keep a named list of articles, or a seeded fraction of them.

Training and evaluation must never share an article, and an article is what a title names
(SQuAD, XQuAD and MLQA group their paragraphs under one). A :class:`TitleRule` says which
titles a build keeps; :func:`resolve_title_split` applies it to the titles of every source of
the build at once and gives a :class:`TitleSplit`, which each source uses to leave out the rows
of the other titles (counted as ``skipped_title_left_out``) and to record in the manifest the
titles on each side (``title_split`` in the source's ``describe()``).

- ``titles``: the titles listed in a file (one per line), or, given a build folder or its
  ``manifest.json``, the titles that build held out;
- ``fraction`` with ``seed``: the titles are ordered by the SHA-256 of ``f"{seed}\\0{title}"``
  and the first ``round(fraction * n)`` are kept. The order depends on the titles alone (not
  on file order, partitions or the other sources' sizes), so the same seed and fraction split
  the same titles the same way everywhere;
- ``complement``: keep the other titles instead (the held-out side).

:func:`read_titles` reads a title list (also for ``mtqa eval --titles``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mtqa.errors import MtqaError, one_line
from mtqa.io import sha256_file

log = logging.getLogger(__name__)

#: The skip reason of rows whose title the split leaves out (stat key ``skipped_title_left_out``).
SKIP_TITLE_LEFT_OUT = "title_left_out"


@dataclass(frozen=True, slots=True)
class TitleRule:
    """What a build asks for: ``titles`` (a file, see :func:`read_titles`) or ``fraction`` (with
    ``seed``), and whether to keep the ``complement``."""

    titles: str | None = None
    fraction: float | None = None
    seed: int = 0
    complement: bool = False

    def __post_init__(self) -> None:
        if (self.titles is None) == (self.fraction is None):
            raise MtqaError("a title split takes either a title list or a fraction of titles, not both or neither")
        if self.fraction is not None and not 0 < self.fraction < 1:
            raise MtqaError(f"the fraction of titles must be between 0 and 1 (exclusive), got {self.fraction}")

    def describe(self) -> dict:
        if self.titles is not None:
            path = Path(self.titles).expanduser()
            target = path / "manifest.json" if path.is_dir() else path
            return {"titles": self.titles, "sha256": sha256_file(target), "complement": self.complement}
        return {"fraction": self.fraction, "seed": self.seed, "complement": self.complement}


def title_order_key(seed: int, title: str) -> str:
    """Where ``title`` falls in the seeded order of a fraction split."""
    return hashlib.sha256(f"{seed}\0{title}".encode()).hexdigest()


def read_titles(path: str | Path) -> list[str]:
    """Titles from a text file (one per line; surrounding whitespace and blank lines are
    ignored), or the titles a build held out (a build folder, or its ``manifest.json``)."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / "manifest.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MtqaError(f"title list not found: {path}") from None
    except OSError as e:
        raise MtqaError(f"cannot read the title list {path}: {one_line(e)}") from None
    if path.suffix == ".json":
        from mtqa.pipeline.manifest import Manifest

        try:
            data = json.loads(raw)
        except ValueError as e:
            raise MtqaError(f"{path} is not valid JSON ({e})") from None
        split = Manifest.from_dict(data, str(path)).title_split()
        if split is None:
            raise MtqaError(f"{path}: the build was not split by title, so it held out no titles")
        return list(split.held_out)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise MtqaError(f"invalid UTF-8 in the title list {path} at byte offset {e.start}") from None
    titles = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not titles:
        raise MtqaError(f"the title list {path} holds no titles")
    return titles


@dataclass(frozen=True, slots=True)
class TitleSplit:
    """A rule applied to the titles of a build's sources: ``kept`` are the titles the build
    reads, ``held_out`` the others."""

    rule: TitleRule
    kept: frozenset[str]
    held_out: frozenset[str]

    def keeps(self, title: str | None) -> bool:
        return title in self.kept

    def describe(self, titles: Iterable[str]) -> dict:
        """The manifest's record for a source with ``titles``: the rule and both sides."""
        titles = set(titles)
        return {**self.rule.describe(), "kept": sorted(titles & self.kept),
                "held_out": sorted(titles & self.held_out)}


def split_titles(rule: TitleRule, titles: Sequence[str]) -> TitleSplit:
    """Apply ``rule`` to the distinct ``titles`` of a build."""
    every = set(titles)
    if not every:
        raise MtqaError("a split by title needs titles, and the sources have none")
    if rule.titles is not None:
        listed = set(read_titles(rule.titles))
        chosen = listed & every
        if not chosen:
            raise MtqaError(f"none of the {len(listed)} titles of {rule.titles} is a title of the sources")
        unknown = listed - every
        if unknown:
            log.warning("%d of the %d titles of %s are in no source (e.g. %r)", len(unknown), len(listed),
                        rule.titles, sorted(unknown)[0])
    else:
        order = sorted(every, key=lambda t: title_order_key(rule.seed, t))
        count = round(rule.fraction * len(order))
        if not 0 < count < len(order):
            raise MtqaError(f"a fraction of {rule.fraction} of {len(order)} titles keeps {count}: "
                            "choose a fraction that keeps some titles and leaves some out")
        chosen = set(order[:count])
    kept = every - chosen if rule.complement else chosen
    return TitleSplit(rule, frozenset(kept), frozenset(every - kept))


def resolve_title_split(rule: TitleRule, sources: Sequence) -> TitleSplit:
    """Read the titles of every source (:meth:`QASource.titles`, a pass over each), split
    them by ``rule`` and give each source the split."""
    per_source = [source.titles() for source in sources]
    split = split_titles(rule, [t for titles in per_source for t in titles])
    for source, titles in zip(sources, per_source, strict=True):
        source.set_title_split(split, titles)
    log.info("title split: %d titles kept, %d held out", len(split.kept), len(split.held_out))
    return split
