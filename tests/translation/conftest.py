"""Tiny randomly initialised checkpoints of every model family, built once per session.

Each is a real Hugging Face checkpoint (saved with ``save_pretrained``) with SentencePiece
models trained here on a few hundred synthetic lines, with d_model 16 and one layer, so
conversion, tokenisation and decoding run for real in well under a second each. Their
outputs are random; tests that need checkable outputs use :class:`EchoTranslator`.

Other test folders reuse them through :func:`tiny_models` (one build per session).
"""

from __future__ import annotations

import json
import random
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

WORDS = (
    "the a of to in is was on for with by at from that this which who what when where how many city river "
    "king war year team music film school church language people first second world state country north "
    "south island song book water house street game army"
).split()
TEXT = "the city of the river"
MARIAN_TARGET_TOKENS = [">>de<<", ">>fra<<", ">>x-rot13<<", ">>x-atbash<<"]
DIMS = dict(
    d_model=16,
    encoder_layers=1,
    decoder_layers=1,
    encoder_attention_heads=2,
    decoder_attention_heads=2,
    encoder_ffn_dim=32,
    decoder_ffn_dim=32,
    max_position_embeddings=512,
)


def sentence(rng: random.Random, low: int = 3, high: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


@dataclass
class TinyModels:
    root: Path
    unigram_spm: Path  # Marian
    bpe_spm: Path  # M2M100, NLLB
    hf: dict[str, Path]  # marian (en->de), marian-multi, m2m100, nllb
    cache_dir: Path  # where resolve_model converted them

    def ct2(self, name: str) -> Path:
        """The converted CTranslate2 directory of ``hf[name]``."""
        from mtqa.translation.models import resolve_model

        return resolve_model(str(self.hf[name]), self.cache_dir).path


_BUILT: dict[str, TinyModels] = {}


def tiny_models(tmp_path_factory) -> TinyModels:
    """Build (once per session) and convert the tiny checkpoints."""
    if "models" not in _BUILT:
        pytest.importorskip("torch")
        pytest.importorskip("transformers")
        _BUILT["models"] = _build(tmp_path_factory.mktemp("tiny-models"))
    return _BUILT["models"]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyModels:
    return tiny_models(tmp_path_factory)


def _build(root: Path) -> TinyModels:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
        return _build_all(root)


def _build_all(root: Path) -> TinyModels:
    import sentencepiece as spm
    import torch

    rng = random.Random(0)
    lines = [sentence(rng) for _ in range(400)]
    spm_paths = {}
    for kind in ("unigram", "bpe"):
        # Fairseq order for BPE (<s> <pad> </s> <unk>), Marian's (</s> <unk>) for unigram.
        ids = (
            dict(bos_id=0, pad_id=1, eos_id=2, unk_id=3)
            if kind == "bpe"
            else dict(bos_id=-1, pad_id=-1, eos_id=0, unk_id=1)
        )
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_prefix=str(root / kind),
            vocab_size=150,
            model_type=kind,
            character_coverage=1.0,
            hard_vocab_limit=False,
            minloglevel=2,
            **ids,
        )
        spm_paths[kind] = root / f"{kind}.model"
    torch.manual_seed(0)
    hf = {
        "marian": _marian(root / "hf-marian-en-de", spm_paths["unigram"], target_tokens=[]),
        "marian-multi": _marian(root / "hf-marian-multi", spm_paths["unigram"], target_tokens=MARIAN_TARGET_TOKENS),
        "m2m100": _m2m100(root / "hf-m2m100", spm_paths["bpe"]),
        "nllb": _nllb(root / "hf-nllb", spm_paths["bpe"]),
    }
    models = TinyModels(root, spm_paths["unigram"], spm_paths["bpe"], hf, root / "cache")
    for name in hf:
        models.ct2(name)
    return models


def _marian(out: Path, spm_file: Path, target_tokens: list[str]) -> Path:
    import sentencepiece as spm
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    out.mkdir()
    sp = spm.SentencePieceProcessor(model_file=str(spm_file))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    vocab = {"</s>": 0, "<unk>": 1}
    for token in [*target_tokens, *pieces]:
        vocab.setdefault(token, len(vocab))
    vocab["<pad>"] = len(vocab)
    (out / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    shutil.copy(spm_file, out / "source.spm")
    shutil.copy(spm_file, out / "target.spm")
    tokenizer = MarianTokenizer(
        source_spm=str(out / "source.spm"),
        target_spm=str(out / "target.spm"),
        vocab=str(out / "vocab.json"),
        source_lang="en",
        target_lang=None if target_tokens else "de",
    )
    config = MarianConfig(
        vocab_size=len(vocab),
        pad_token_id=vocab["<pad>"],
        eos_token_id=0,
        decoder_start_token_id=vocab["<pad>"],
        forced_eos_token_id=0,
        **DIMS,
    )
    MarianMTModel(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _m2m100(out: Path, spm_file: Path) -> Path:
    import sentencepiece as spm
    from transformers import (
        M2M100Config,
        M2M100ForConditionalGeneration,
        M2M100Tokenizer,
    )

    out.mkdir()
    sp = spm.SentencePieceProcessor(model_file=str(spm_file))
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}  # already <s> <pad> </s> <unk> first
    (out / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    shutil.copy(spm_file, out / "sentencepiece.bpe.model")
    tokenizer = M2M100Tokenizer(
        vocab_file=str(out / "vocab.json"), spm_file=str(out / "sentencepiece.bpe.model"), src_lang="en", tgt_lang="de"
    )
    size = len(vocab) + len(tokenizer.lang_token_to_id) + tokenizer.num_madeup_words
    M2M100ForConditionalGeneration(M2M100Config(vocab_size=size, **DIMS)).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _nllb(out: Path, spm_file: Path) -> Path:
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer
    from transformers.convert_slow_tokenizer import SentencePieceExtractor

    out.mkdir()
    extracted = SentencePieceExtractor(str(spm_file)).extract(None)
    tokenizer = NllbTokenizer(
        vocab=extracted["vocab"],
        merges=extracted["merges"],
        _spm_precompiled_charsmap=extracted["_spm_precompiled_charsmap"],
        src_lang="eng_Latn",
        tgt_lang="deu_Latn",
    )
    M2M100ForConditionalGeneration(M2M100Config(vocab_size=len(tokenizer), **DIMS)).save_pretrained(out)
    tokenizer.save_pretrained(out)
    shutil.copy(spm_file, out / "sentencepiece.bpe.model")  # the Hub's NLLB repos ship it too
    return out


class EchoTranslator:
    """Stands in for ``ctranslate2.Translator``: each hypothesis is the source's SentencePiece
    pieces (language tokens and ``</s>`` removed) after the target prefix, so outputs are
    checkable; records every ``translate_batch`` call."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def translate_batch(self, source, target_prefix=None, **kwargs):
        self.calls.append({"source": [list(s) for s in source], "target_prefix": target_prefix, **kwargs})
        results = []
        for i, tokens in enumerate(source):
            pieces = [t for t in tokens if t != "</s>" and not t.startswith((">>", "__")) and not t.endswith("_Latn")]
            prefix = list(target_prefix[i]) if target_prefix else []
            results.append(_Result([prefix + pieces]))
        return [_Async(r) for r in results] if kwargs.get("asynchronous") else results


@dataclass
class _Result:
    hypotheses: list[list[str]]


@dataclass
class _Async:
    """What ``translate_batch(asynchronous=True)`` returns per input."""

    value: _Result

    def result(self) -> _Result:
        return self.value
