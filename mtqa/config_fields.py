"""Field markers and shared choice enums for mtqa's typed configs.

A config field is either *identity* (it decides what a build, a model or an evaluation
contains) or *placement* (where and how fast it runs: devices, threads, worker processes,
cache folders). Placement fields are declared with :func:`placement`; :func:`identity_dict`
leaves them out, so changing one never makes a resume refuse. Choice enums are ``str``
enums: YAML and JSON hold their plain values, and the CLI lists them with
:func:`choice_values`.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

PLACEMENT = "placement"


def placement(default: Any = dataclasses.MISSING, *, default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that says where or how fast something runs, not what it produces."""
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata={PLACEMENT: True})
    return dataclasses.field(default=default, metadata={PLACEMENT: True})


def is_placement(f: dataclasses.Field) -> bool:
    return bool(f.metadata.get(PLACEMENT))


class StrEnum(str, Enum):
    """A choice: compares equal to its value, and lists its values for click."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def values(cls) -> list[str]:
        return [str(m.value) for m in cls]


class Device(StrEnum):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


def choice_values(enum: type[StrEnum]) -> list[str]:
    """The values to offer in ``click.Choice``."""
    return enum.values()


def plain(value: Any) -> Any:
    """Plain data (enums as their values), for YAML, JSON and comparisons."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def to_dict(obj: Any) -> dict:
    """Every field of a (nested) config dataclass, as plain data."""
    return plain(dataclasses.asdict(obj))


def identity_dict(obj: Any) -> dict:
    """The identity fields of a (nested) config dataclass, placement fields left out."""
    out = {}
    for f in dataclasses.fields(obj):
        if is_placement(f):
            continue
        value = getattr(obj, f.name)
        out[f.name] = identity_dict(value) if dataclasses.is_dataclass(value) else plain(
            dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value)
    return out


class FilterMode(StrEnum):
    """What the quality filter does with a row that fails a check."""

    DROP = "drop"  # write it to OUT/rejected/, with its reasons
    FLAG = "flag"  # keep it in OUT/data/ with keep=false


class Benchmark(StrEnum):
    """What ``mtqa eval`` evaluates on."""

    XQUAD_R = "xquad-r"
    MLQA_R = "mlqa-r"
    MIRACL = "miracl"
