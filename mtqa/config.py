"""Typed build configuration, loaded from ``pipelines/*.yaml`` and overridden by the CLI.

The dataclass defaults *are* the embedded offline default (``pipelines/default.yaml`` says
the same thing, and a test keeps the two equal), so ``mtqa build`` works from an installed
wheel without the repository's pipelines folder.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import yaml

from mtqa.errors import MtqaError
from mtqa.stages.filter import FilterConfig
from mtqa.stages.segment import SegmentConfig
from mtqa.stages.translate import TranslateConfig

PIPELINES_DIR = Path(__file__).resolve().parent.parent / "pipelines"


@dataclass
class BuildConfig:
    name: str = "default"
    sources: list[str] = field(default_factory=lambda: ["sample"])
    limit: int | None = None  # rows per source
    split: str | None = None  # Hub split; None = the source's default
    langs: list[str] = field(default_factory=lambda: ["x-rot13", "x-atbash"])
    source_lang: str = "en"
    chunk_size: int = 1000  # QA rows per chunk; a chunk is the unit of resume and of one shard file
    num_shards: int = 1
    shard_index: int = 0
    out: str = "out/default"
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    translate: TranslateConfig = field(default_factory=TranslateConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)

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

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))

    def identity(self) -> dict:
        """The settings that decide the shards' content. A resume must match them exactly."""
        data = self.to_dict()
        for key in ("name", "out", "shard_index"):
            data.pop(key)
        # Where the engine runs does not change what the cache and the shards hold.
        for key in ("device", "device_index", "inter_threads", "intra_threads", "cache_dir"):
            data["translate"].pop(key, None)
        return data


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


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


def find_pipeline(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise MtqaError(f"pipeline file not found: {path}")
        return path
    candidate = PIPELINES_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in PIPELINES_DIR.glob("*.yaml")) if PIPELINES_DIR.is_dir() else []
    raise MtqaError(f"unknown pipeline '{name_or_path}' (known: {', '.join(known) or 'none found'})")


def load_pipeline(name_or_path: str | None = None, **overrides) -> BuildConfig:
    """Load a pipeline (a name in ``pipelines/`` or a YAML path; None = the built-in default)
    and apply overrides. Overrides whose value is None are ignored; nested keys use dots,
    e.g. ``{"translate.model": "..."}``."""
    data: dict = {}
    where = "default pipeline"
    if name_or_path is not None:
        path = find_pipeline(name_or_path)
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise MtqaError(f"{path}: not valid YAML ({first})") from None
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
    return from_dict(BuildConfig, data, where)
