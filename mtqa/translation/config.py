"""How to translate: the typed settings of the translate step and the CTranslate2 engine.

Validated here once; :class:`~mtqa.translation.engine.Ct2Translator` takes the config as it
is. Fields marked ``placement`` say where the engine runs, not what it outputs: they are left
out of the build identity, so changing them never makes a resume refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mtqa.config_fields import Device, placement
from mtqa.errors import MtqaError

COMPUTE_TYPES = (

    "auto",
    "default",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)


@dataclass
class TranslateConfig:
    """How to translate. ``model``: ``toy``, a CTranslate2 directory, a Hugging Face
    checkpoint directory or Hub id, or a template with ``{lang}`` (one Marian model per pair).
    ``intra_threads=0`` lets CTranslate2 choose; ``cache_dir=None`` is ``$MTQA_CACHE`` or
    ``~/.cache/mtqa`` (converted models and the translation cache live there)."""

    model: str = "toy"
    device: str = placement("auto")  # auto | cpu | cuda
    compute_type: str = "auto"  # auto: int8_float16 on GPU, int8 on CPU
    device_index: list[int] | None = placement(None)  # None: every GPU
    beam_size: int = 2
    max_batch_tokens: int = 4096
    max_length_ratio: float = 2.0
    max_length_offset: int = 10
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0
    inter_threads: int = placement(0)  # 0: auto (CPU: parallel batches, one core each)
    intra_threads: int = placement(0)
    cache_dir: str | None = placement(None)

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise MtqaError("translate.model must name a model")
        if self.device not in Device.values():
            raise MtqaError(f"translate.device must be {', '.join(Device.values()[:-1])} or {Device.values()[-1]}, "
                            f"got '{self.device}'")
        self.device = str(Device(self.device).value)
        if self.compute_type not in COMPUTE_TYPES:
            raise MtqaError(
                f"translate.compute_type '{self.compute_type}' is unknown (known: {', '.join(COMPUTE_TYPES)})"
            )
        for name in ("beam_size", "max_batch_tokens"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise MtqaError(f"translate.{name} must be an integer of at least 1, got {getattr(self, name)!r}")
        for name in ("max_length_offset", "no_repeat_ngram_size", "inter_threads", "intra_threads"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise MtqaError(f"translate.{name} must be an integer of at least 0, got {getattr(self, name)!r}")
        if not isinstance(self.max_length_ratio, int | float) or self.max_length_ratio <= 0:
            raise MtqaError(f"translate.max_length_ratio must be positive, got {self.max_length_ratio!r}")
        if not isinstance(self.repetition_penalty, int | float) or self.repetition_penalty <= 0:
            raise MtqaError(f"translate.repetition_penalty must be positive, got {self.repetition_penalty!r}")
        if self.device_index is not None:
            if isinstance(self.device_index, int):
                self.device_index = [self.device_index]
            if not self.device_index or not all(isinstance(i, int) and i >= 0 for i in self.device_index):
                raise MtqaError(f"translate.device_index must be a list of GPU numbers, got {self.device_index!r}")
