"""Typed configs, loaded from YAML and overridden by the CLI: one loader for every command.

``load_config(cls, name_or_path, **overrides)`` reads a pipeline by name from the pipelines
shipped inside the package (``mtqa/pipelines/*.yaml``; the repository's top-level
``pipelines/`` is a link to them) or from any YAML path, applies the overrides, and builds
the dataclass ``cls`` field by field, refusing unknown keys with one clear line. The build
uses :class:`BuildConfig`; ``mtqa train`` its ``TrainConfig``. Validation lives in each
dataclass's ``__post_init__`` and nowhere else.

The dataclass defaults of :class:`BuildConfig` *are* the embedded offline default
(``default.yaml`` says the same thing, and a test keeps the two equal).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml

from mtqa.config_fields import identity_dict, placement, to_dict
from mtqa.errors import MtqaError
from mtqa.projection import ProjectionConfig
from mtqa.steps.filters import FilterConfig
from mtqa.steps.segment import SegmentConfig
from mtqa.translation.config import TranslateConfig

#: The pipelines shipped with the package (``pipelines/`` in the repository links here).
PIPELINES_DIR = Path(str(resources.files("mtqa") / "pipelines"))

T = TypeVar("T")


@dataclass
class BuildConfig:
    name: str = placement("default")
    sources: list[str] = field(default_factory=lambda: ["sample"])
    limit: int | None = None  # rows per source
    split: str | None = None  # Hub, MLQA or DatasetDict split, a file's split label; None = the source's default
    # "*" stands for every language the parallel sources hold (docs/parallel.md)
    langs: list[str] = field(default_factory=lambda: ["x-rot13", "x-atbash"])
    source_lang: str = "en"
    chunk_size: int = 1000  # QA rows per chunk; a chunk is the unit of resume and of one shard file
    num_shards: int = 1
    shard_index: int = placement(0)
    out: str = placement("out/default")
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    translate: TranslateConfig = field(default_factory=TranslateConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    # Answer spans through translation (docs/projection.md); off for retrieval-only pipelines
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    # False (--no-mt): no machine translation; a language gets rows only where a source gives them
    mt: bool = True
    # A split by title (mtqa.readers.titles): keep the titles listed in this file (or held out
    # by the build folder it names) ...
    titles: str | None = None
    # ... or this fraction of the titles, chosen by title_seed; title_complement keeps the rest
    title_fraction: float | None = None
    title_seed: int = 0
    title_complement: bool = False

    def __post_init__(self) -> None:
        if not self.sources:
            raise MtqaError("no sources given")
        if not self.langs:
            raise MtqaError("no target languages given")
        if self.chunk_size < 1:
            raise MtqaError(f"chunk_size must be at least 1, got {self.chunk_size}")
        if self.limit is not None and self.limit < 1:
            raise MtqaError(f"limit must be at least 1, got {self.limit}")
        if self.num_shards < 1 or not 0 <= self.shard_index < self.num_shards:
            raise MtqaError(
                f"shard index {self.shard_index} is outside 0..{self.num_shards - 1} (num_shards={self.num_shards})"
            )
        # Keep order, drop repeats; the source language is always written first.
        self.langs = list(dict.fromkeys(self.langs))
        if not isinstance(self.mt, bool):
            raise MtqaError(f"mt must be true or false, got {self.mt!r}")
        if self.titles is not None and self.title_fraction is not None:
            raise MtqaError("titles and title_fraction are two ways to split by title: give one")
        if self.title_fraction is not None and (isinstance(self.title_fraction, bool) or not isinstance(
                self.title_fraction, int | float) or not 0 < self.title_fraction < 1):
            raise MtqaError(f"title_fraction must be between 0 and 1 (exclusive), got {self.title_fraction!r}")
        if isinstance(self.title_seed, bool) or not isinstance(self.title_seed, int):
            raise MtqaError(f"title_seed must be an integer, got {self.title_seed!r}")
        if self.title_complement and self.titles is None and self.title_fraction is None:
            raise MtqaError("title_complement needs a split by title: titles or title_fraction")
        if not self.projection.enabled and self.mt and "answer_lost" in [str(c) for c in self.filter.checks]:
            # Without projection no machine-translated answer has a span: the check would fail
            # every answerable row.
            raise MtqaError("projection.enabled is false, so no translated answer is located: "
                            "remove answer_lost from filter.checks")

    def to_dict(self) -> dict:
        return to_dict(self)

    def identity(self) -> dict:
        """The settings that decide the shards' content. A resume must match them exactly;
        placement fields (the partition index, where the engine runs, worker counts) are left out."""
        return identity_dict(self)


def from_dict(cls, data: dict, where: str):
    """Build dataclass ``cls`` from plain data, refusing unknown keys with one clear line."""
    if not isinstance(data, dict):
        raise MtqaError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise MtqaError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(names))})")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            value = from_dict(hint, value or {}, f"{where}.{key}")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise MtqaError(f"{where}: {e}") from None


def find_pipeline(name_or_path: str, kind: str = "build") -> Path:
    """A pipeline's YAML file: a path, or a name among the pipelines shipped with mtqa
    (``kind``: "build" pipelines, or "train" recipes, named ``train-*``)."""
    path = Path(name_or_path).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise MtqaError(f"pipeline file not found: {path}")
        return path
    candidate = PIPELINES_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(list_pipelines(kind)) or "none found"
    raise MtqaError(f"unknown {'pipeline' if kind == 'build' else kind + ' recipe'} '{name_or_path}' (known: {known})")


def list_pipelines(kind: str = "build") -> list[str]:
    """Names of the shipped build pipelines, or (``kind="train"``) training recipes."""
    if not PIPELINES_DIR.is_dir():
        return []
    names = sorted(p.stem for p in PIPELINES_DIR.glob("*.yaml"))
    return [n for n in names if n.startswith("train-") == (kind == "train")]


def load_config(cls: type[T], name_or_path: str | None = None, *, kind: str = "build", **overrides) -> T:
    """Load ``cls`` from a pipeline (a shipped name or a YAML path; None = the dataclass
    defaults) and apply overrides. Overrides whose value is None are ignored; nested keys use
    dots, e.g. ``{"translate.model": "..."}``."""
    data: dict = {}
    where = f"default {cls.__name__}"
    if name_or_path is not None:
        path = find_pipeline(name_or_path, kind)
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise MtqaError(f"{path}: not valid YAML ({first})") from None
        except OSError as e:
            raise MtqaError(f"{path}: cannot read ({e.strerror})") from None
        if not isinstance(data, dict):
            raise MtqaError(f"{path}: expected a mapping at the top level")
    for key, value in overrides.items():
        if value is None:
            continue
        target = data
        *parents, leaf = key.split(".")
        for parent in parents:
            if not isinstance(target.get(parent), dict):
                target[parent] = {}
            target = target[parent]
        target[leaf] = value
    return from_dict(cls, data, where)


def load_pipeline(name_or_path: str | None = None, **overrides) -> BuildConfig:
    """The build's config: :func:`load_config` for :class:`BuildConfig`."""
    return load_config(BuildConfig, name_or_path, **overrides)
