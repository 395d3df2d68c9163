"""The model and the loss.

:func:`load_model` opens a sentence-transformers folder as it is, or any other Hugging Face
encoder (a folder or a Hub id) with attention-masked mean pooling added, and refuses what is
not an encoder (a folder without a model, a decoder or a seq2seq model) with one line.
:func:`make_loss` is MultipleNegativesRankingLoss with cosine similarity at ``scale`` (the
paper's 20, temperature 0.05) and in-batch negatives, or its GradCache version,
CachedMultipleNegativesRankingLoss, when ``mini_batch_size`` is set: the same loss and
gradients, computed in chunks so that a batch of 100-1,000 fits a small GPU.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from mtqa.errors import MtqaError, one_line
from mtqa.train.config import TrainConfig

logger = logging.getLogger(__name__)

TRAIN_EXTRA = "pip install 'mtqa[train]'"
#: Architectures that generate text rather than encode it (their config's ``architectures``).
_NOT_ENCODERS = ("ForCausalLM", "ForConditionalGeneration", "LMHeadModel", "ForSeq2SeqLM")


def _require_stack() -> None:
    try:
        import sentence_transformers  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        raise MtqaError(f"mtqa train needs torch, transformers and sentence-transformers ({e.name} is missing): "
                        f"{TRAIN_EXTRA}") from None
    try:
        import accelerate  # noqa: F401
    except ImportError:
        raise MtqaError(f"mtqa train needs accelerate (the trainer runs on it): {TRAIN_EXTRA}") from None


def _check_encoder_folder(folder: Path) -> None:
    if (folder / "modules.json").is_file():
        return
    config = folder / "config.json"
    if not config.is_file():
        raise MtqaError(f"--model {folder}: not an encoder folder (no modules.json and no config.json)")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MtqaError(f"--model {folder}: unreadable config.json ({one_line(e)})") from None
    if not isinstance(data, dict):
        raise MtqaError(f"--model {folder}: config.json is not a model config")
    architectures = data.get("architectures") or []
    generating = [a for a in architectures if any(a.endswith(s) for s in _NOT_ENCODERS)]
    if data.get("is_encoder_decoder") or generating:
        kind = generating[0] if generating else data.get("model_type", "an encoder-decoder")
        raise MtqaError(f"--model {folder}: {kind} generates text; training needs an encoder (BERT, XLM-R, E5, ...)")


def load_model(config: TrainConfig):
    """The SentenceTransformer to train, on ``config.device`` (auto: cuda when available)."""
    _require_stack()
    import torch
    from sentence_transformers import SentenceTransformer

    ref = os.path.expanduser(config.model)
    folder = Path(ref)
    if folder.exists():
        if not folder.is_dir():
            raise MtqaError(f"--model {ref}: a file, not a model folder")
        _check_encoder_folder(folder)
        ref = str(folder.resolve())
    elif ref.startswith((".", "/", "~")) or len(ref.split("/")) > 2:
        raise MtqaError(f"--model {config.model}: no such folder, and not a Hugging Face Hub id")
    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise MtqaError("--device cuda: torch sees no CUDA device")
    try:
        model = SentenceTransformer(ref, device=device)
    except Exception as e:  # transformers and huggingface_hub raise many kinds
        raise MtqaError(f"--model {config.model}: cannot load it as an encoder ({one_line(e)})") from None
    try:
        first = model[0]
    except (IndexError, TypeError):
        first = None
    if first is None or not hasattr(first, "tokenizer"):
        raise MtqaError(f"--model {config.model}: its first module is {type(first).__name__}, not a text encoder")
    if config.max_seq_length is not None:
        model.max_seq_length = config.max_seq_length
    prompts = {k: v for k, v in (("query", config.query_prompt), ("passage", config.passage_prompt)) if v}
    model.prompts = prompts  # saved with the model: mtqa eval and encode_query read them
    model.default_prompt_name = None
    return model


def _losses():
    try:
        from sentence_transformers.sentence_transformer.losses import (
            CachedMultipleNegativesRankingLoss,
            MultipleNegativesRankingLoss,
        )
    except ImportError:  # sentence-transformers < 5.4
        from sentence_transformers.losses import CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss
    return MultipleNegativesRankingLoss, CachedMultipleNegativesRankingLoss


def make_loss(model, config: TrainConfig):
    """In-batch-negatives contrastive loss, cosine similarity times ``config.scale``."""
    from sentence_transformers.util import cos_sim

    plain, cached = _losses()
    if config.mini_batch_size is not None:
        return cached(model, scale=config.scale, similarity_fct=cos_sim, mini_batch_size=config.mini_batch_size)
    return plain(model, scale=config.scale, similarity_fct=cos_sim)
