"""Retrieval evaluation: XQuAD-R / MLQA-R (LAReQA) and MIRACL.

The pieces, one module each: :mod:`~mtqa.eval.encoders` (``load_encoder`` and the encoder
classes), :mod:`~mtqa.eval.embedding_cache`, :mod:`~mtqa.eval.fingerprint` (weight
fingerprints), :mod:`~mtqa.eval.hub_probe`, :mod:`~mtqa.eval.lexical` (a model-free
encoder), :mod:`~mtqa.eval.search` (exact top-k), :mod:`~mtqa.eval.metrics` (ranks and
measures), :mod:`~mtqa.eval.lareqa` and :mod:`~mtqa.eval.miracl` (the benchmarks),
:mod:`~mtqa.eval.records` (typed results) and :mod:`~mtqa.eval.results` (reports and
``evaluate_and_write``, what ``mtqa eval`` runs).

    from mtqa.eval import EmbeddingCache, LareqaResult, evaluate_lareqa, load_encoder, load_lareqa
"""

from mtqa.eval.embedding_cache import EmbeddingCache, encode_texts
from mtqa.eval.encoders import (
    CallableEncoder,
    Encoder,
    HFMeanPoolingEncoder,
    SentenceTransformerEncoder,
    load_encoder,
)
from mtqa.eval.fingerprint import weights_fingerprint
from mtqa.eval.lareqa import LareqaData, evaluate_lareqa, load_lareqa
from mtqa.eval.lexical import hashed_trigrams
from mtqa.eval.miracl import evaluate_miracl
from mtqa.eval.records import (
    EvalResult,
    LanguageSummary,
    LareqaFile,
    LareqaResult,
    LareqaScores,
    MacroAverage,
    MeasureSet,
    MiraclLanguage,
    MiraclResult,
    MiraclScores,
    PooledLanguage,
    SettingResult,
    load_result,
    result_from_dict,
)
from mtqa.eval.results import (
    evaluate_and_write,
    lareqa_markdown,
    lareqa_summary_table,
    miracl_markdown,
    miracl_summary_table,
    summary_markdown,
)
from mtqa.eval.search import top_k

__all__ = [
    "CallableEncoder",
    "EmbeddingCache",
    "Encoder",
    "EvalResult",
    "HFMeanPoolingEncoder",
    "LanguageSummary",
    "LareqaData",
    "LareqaFile",
    "LareqaResult",
    "LareqaScores",
    "MacroAverage",
    "MeasureSet",
    "MiraclLanguage",
    "MiraclResult",
    "MiraclScores",
    "PooledLanguage",
    "SentenceTransformerEncoder",
    "SettingResult",
    "encode_texts",
    "evaluate_and_write",
    "evaluate_lareqa",
    "evaluate_miracl",
    "hashed_trigrams",
    "lareqa_markdown",
    "lareqa_summary_table",
    "load_encoder",
    "load_lareqa",
    "load_result",
    "miracl_markdown",
    "miracl_summary_table",
    "result_from_dict",
    "summary_markdown",
    "top_k",
    "weights_fingerprint",
]
