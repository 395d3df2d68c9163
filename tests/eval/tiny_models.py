"""Tiny, deterministic encoder models built in a test's tmp folder (no download, no cache path).

:func:`build_tiny_bert` writes a plain Hugging Face folder (a 2-layer, 32-dimensional
``BertModel`` with seeded random weights and a WordPiece tokenizer over a small multilingual
vocabulary); :func:`build_tiny_sentence_transformer` wraps it as a sentence-transformers
folder (Transformer + mean Pooling, with ``query: ``/``passage: `` prompts like mE5). Both take
well under a second once torch is imported. The embeddings mean nothing; tests check
plumbing (prefixes, pooling, batching, names, caching), not retrieval quality.

Other test packages can use them: ``from tests.eval.tiny_models import build_tiny_sentence_transformer``.
"""

from __future__ import annotations

from pathlib import Path

ME5_PROMPTS = {"query": "query: ", "passage": "passage: "}
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Whole words of the sentences the tests encode, in several languages, plus single characters
# and ## continuations so that any other Latin-script word still tokenizes without [UNK].
WORDS = ("query passage : where is the biggest port in kenya mombasa largest city capital of australia canberra "
         "who wrote pinocchio bandari kubwa nchini iko wapi ni zaidi hadithi ya kiitaliano wo liegt der größte "
         "hafen ¿ dónde está el puerto más grande").split()
CHARACTERS = list("abcdefghijklmnopqrstuvwxyz0123456789?.,'!¿-") + list("肯尼亚最大的港口在哪里？") + ["ميناء", "كينيا"]


def _vocab() -> dict[str, int]:
    tokens: list[str] = []
    for token in SPECIAL_TOKENS + WORDS + CHARACTERS + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]:
        if token not in tokens:
            tokens.append(token)
    return {token: i for i, token in enumerate(tokens)}


def build_tiny_bert(folder: Path, *, seed: int = 0, hidden_size: int = 32, layers: int = 2,
                    max_length: int = 128, dtype: str = "float32", vocab: dict[str, int] | None = None) -> Path:
    """A plain ``BertModel`` + fast WordPiece tokenizer folder (``AutoModel``-loadable) at ``folder``.

    The weights depend only on ``seed`` (and the sizes): two builds with the same arguments
    write byte-identical ``model.safetensors``. ``dtype="float16"`` saves half-precision
    weights, as some published checkpoints are. ``vocab`` (token → id, the special tokens
    first) replaces the small built-in one.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = vocab or _vocab()
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    fast = BertTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]", model_max_length=max_length)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden_size, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden_size, max_position_embeddings=max_length)
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = BertModel(config).eval()  # with its pooler: a reload initialises nothing at random
    finally:
        torch.random.set_rng_state(generator_state)  # leave the caller's random stream as it was
    if dtype != "float32":
        model = model.to(getattr(torch, dtype))
    folder = Path(folder)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def build_tiny_sentence_transformer(folder: Path, *, seed: int = 0, prompts: dict[str, str] | None = ME5_PROMPTS,
                                    default_prompt_name: str | None = None, dtype: str = "float32",
                                    max_seq_length: int = 128, vocab: dict[str, int] | None = None,
                                    hidden_size: int = 32, layers: int = 2) -> Path:
    """A sentence-transformers folder (``modules.json``, Transformer + mean Pooling) at ``folder``.

    ``prompts`` go into ``config_sentence_transformers.json`` (default: mE5's ``query: `` /
    ``passage: ``); ``default_prompt_name`` makes sentence-transformers prepend one prompt to
    every text by itself, which mtqa must not let happen twice. Deterministic in ``seed``;
    ``vocab``, ``hidden_size`` and ``layers`` go to :func:`build_tiny_bert`.
    """
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Pooling, Transformer

    folder = Path(folder)
    bert = build_tiny_bert(folder / "_bert", seed=seed, dtype=dtype, max_length=max_seq_length, vocab=vocab,
                           hidden_size=hidden_size, layers=layers)
    transformer = Transformer(str(bert), max_seq_length=max_seq_length)
    dimension = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    model = SentenceTransformer(modules=[transformer, Pooling(dimension(), "mean")],
                                prompts=prompts, default_prompt_name=default_prompt_name, device="cpu")
    model.save(str(folder))
    for path in sorted((folder / "_bert").iterdir()):
        path.unlink()
    (folder / "_bert").rmdir()
    return folder
