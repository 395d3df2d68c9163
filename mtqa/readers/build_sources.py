"""A build's sources and languages from its config: what the pipeline builder asks the readers.

- :func:`open_build_sources` opens ``config.sources`` (``limit``, ``split``, the source
  language) and applies the split by title (``titles`` or ``title_fraction``, see
  :mod:`mtqa.readers.titles`) over all of them at once;
- :func:`reader_for` wraps them in the build's :class:`~mtqa.readers.step.ReaderStep`;
- :func:`build_langs` resolves ``config.langs``: ``"*"`` stands for every language the
  parallel sources hold; with ``mt`` off only those can get rows, so a language no source has
  is refused (it would be empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mtqa.errors import MtqaError
from mtqa.readers.base import QASource
from mtqa.readers.spec import open_source
from mtqa.readers.step import MAX_BATCH_SIZE, ReaderStep
from mtqa.readers.titles import TitleRule, resolve_title_split

if TYPE_CHECKING:
    from mtqa.config import BuildConfig

#: In ``langs``: every language of the parallel sources.
ALL_GIVEN = "*"


def title_rule(config: BuildConfig) -> TitleRule | None:
    """The config's split by title, or None."""
    if config.titles is None and config.title_fraction is None:
        return None
    return TitleRule(titles=config.titles, fraction=config.title_fraction, seed=config.title_seed,
                     complement=config.title_complement)


def open_build_sources(config: BuildConfig) -> list[QASource]:
    """``config.sources`` opened for a build, split by title if the config says so."""
    batch_size = min(config.chunk_size, MAX_BATCH_SIZE)
    sources = [open_source(spec, limit=config.limit, batch_size=batch_size, split=config.split,
                           source_lang=config.source_lang) for spec in config.sources]
    rule = title_rule(config)
    if rule is not None:
        resolve_title_split(rule, sources)
    return sources


def reader_for(config: BuildConfig) -> ReaderStep:
    """The build's first step: its sources (:func:`open_build_sources`), chunked and partitioned."""
    return ReaderStep(open_build_sources(config), config.chunk_size, config.num_shards, config.shard_index)


def build_langs(config: BuildConfig, sources: Sequence[QASource]) -> list[str]:
    """The build's target languages, in order, with ``"*"`` expanded to the languages the
    sources give (sorted) that are not listed already."""
    given = sorted({lang for s in sources for lang in s.langs} - {config.source_lang})
    langs: list[str] = []
    for lang in config.langs:
        if lang == ALL_GIVEN:
            if not given:
                raise MtqaError(f"langs '{ALL_GIVEN}' stands for the languages of parallel sources, and "
                                f"{', '.join(config.sources)} give none besides {config.source_lang}")
            langs += [g for g in given if g not in config.langs]
        else:
            langs.append(lang)
    langs = [lang for lang in dict.fromkeys(langs) if lang != config.source_lang]
    if not config.mt:
        lacking = [lang for lang in langs if lang not in given]
        if lacking:
            raise MtqaError(f"without machine translation (--no-mt) a language gets rows only from the sources, "
                            f"and none has {', '.join(lacking)} (they give: {', '.join(given) or 'none'})")
    if not langs:
        raise MtqaError("no target languages: the sources give none and none are asked for")
    return langs
