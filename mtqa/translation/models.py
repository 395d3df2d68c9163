"""Find, convert and describe translation models.

:func:`resolve_model` turns what a user passes as ``--model`` into a :class:`ModelInfo`:

- ``"toy"``: the small packaged model (``mtqa/data/models/toy-cipher``), for offline runs.
- a CTranslate2 model directory (it has ``model.bin``): used as is.
- a Hugging Face checkpoint directory (``config.json``, no ``model.bin``) or a Hub id such as
  ``facebook/nllb-200-distilled-600M``: converted once with CTranslate2's
  ``TransformersConverter`` into ``<cache_dir>/ct2/<slug>-<hash>`` and reused after that.
- a template with ``{lang}`` (``Helsinki-NLP/opus-mt-en-{lang}``): one model per language pair,
  resolved per target language (pass ``lang``).

A converted model carries an ``mtqa_model.json`` (format 1) that says its family, languages
and SentencePiece files; for a CTranslate2 directory without one, all of it is read off the
vocabulary. Three families are supported: Marian (OPUS-MT, one pair or multi-target with
``>>xx<<`` tokens), M2M100 (``__xx__`` tokens) and NLLB (FLORES-200 tokens like ``deu_Latn``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

from mtqa.errors import MtqaError
from mtqa.io import sha256_file, write_json_atomic
from mtqa.langs import LANGUAGES, from_marian_code, m2m100_token

MODEL_FILE = "mtqa_model.json"
MODEL_FORMAT = 1
FINGERPRINT_FILE = ".mtqa_fingerprint.json"
FAMILIES = ("marian", "m2m100", "nllb")
TOY_MODEL_DIR = Path(__file__).resolve().parent.parent / "data" / "models" / "toy-cipher"
# Models smaller than this are hashed on every run; a memo would only litter their directory.
FINGERPRINT_MEMO_MIN_BYTES = 32 * 1024 * 1024

_VOCABULARY_FILES = ("shared_vocabulary", "source_vocabulary", "target_vocabulary")
_SPM_PAIRS = (("source.spm", "target.spm"), ("sentencepiece.bpe.model", None), ("spm.model", None))
_MARIAN_TARGET_TOKEN = re.compile(r"^>>(.+)<<$")
_LANGUAGE_TOKEN = {
    "marian": _MARIAN_TARGET_TOKEN,
    "m2m100": re.compile(r"^__[a-z]{2,3}__$"),
    "nllb": re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$"),
}
_MADEUP_WORD = re.compile(r"^madeupword\d+$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_OPUS_NAME = re.compile(r"opus-mt-(?:tc-(?:big|base)-)?([A-Za-z_]+)-([A-Za-z_]+)$")


@dataclass(frozen=True)
class ModelInfo:
    """A CTranslate2 model on disk and what mtqa needs to drive it.

    - ``lang_tokens``: language -> the token that selects it (``>>de<<``, ``__de__``,
      ``deu_Latn``); empty for a single-pair Marian model.
    - ``target_langs``: the languages it translates into; None when unknown (a single-pair
      Marian model with no metadata), in which case any target is accepted.
    - ``source_lang``: the one source language of a Marian model; None for M2M100 and NLLB,
      which read any language they have a token for.
    - ``fingerprint``: sha256 over the weights, config, vocabularies and SentencePiece files.
    - ``control_tokens``: every language token and filler of the vocabulary, which a
      translation never shows (``prs_Arab`` from NLLB, ``madeupword0`` from M2M100).
    """

    name: str
    path: Path
    family: str
    source_spm: Path
    target_spm: Path
    fingerprint: str
    source_lang: str | None = None
    target_langs: tuple[str, ...] | None = None
    lang_tokens: dict[str, str] = field(default_factory=dict)
    control_tokens: frozenset[str] = frozenset()

    @property
    def target_tokens(self) -> dict[str, str]:
        """``{lang: token}`` for the target languages (``mtqa_model.json``'s ``target_tokens``)."""
        langs = self.target_langs if self.target_langs is not None else self.lang_tokens
        return {lang: self.lang_tokens[lang] for lang in langs if lang in self.lang_tokens}

    @property
    def multi_target(self) -> bool:
        return self.family == "marian" and bool(self.lang_tokens)


def default_cache_dir() -> Path:
    """``$MTQA_CACHE``, else ``~/.cache/mtqa``."""
    env = os.environ.get("MTQA_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mtqa"


def is_template(spec: str) -> bool:
    return "{lang}" in spec


def resolve_model(
    spec: str, cache_dir: Path | str | None = None, *, lang: str | None = None, quantization: str | None = None
) -> ModelInfo:
    """The model that ``spec`` names, converted and cached first if it is a Hugging Face model.

    ``lang`` fills a ``{lang}`` template; ``quantization`` (``float16``, ``int8``, ...) is the
    weight type a conversion stores (None keeps the checkpoint's). Raises ``MtqaError``.
    """
    spec = str(spec).strip()
    if is_template(spec):
        if lang is None:
            raise MtqaError(f"model template '{spec}' needs a target language")
        info = resolve_model(spec.replace("{lang}", lang), cache_dir, quantization=quantization)
        if info.family == "marian" and not info.lang_tokens:
            info = replace(info, target_langs=(lang,))
        return info
    if spec == "toy":
        if not (TOY_MODEL_DIR / "model.bin").is_file():
            raise MtqaError(f"the packaged toy model is missing from {TOY_MODEL_DIR}; reinstall mtqa")
        return load_ct2_model(TOY_MODEL_DIR)
    path = Path(spec).expanduser()
    if path.exists():
        if not path.is_dir():
            raise MtqaError(f"model path {spec} is a file; expected a model directory")
        if (path / "model.bin").is_file():
            return load_ct2_model(path)
        if (path / "config.json").is_file():
            return _converted(str(path.resolve()), cache_dir, quantization, local=path)
        raise MtqaError(
            f"{spec} is neither a CTranslate2 model (no model.bin) nor a Hugging Face checkpoint (no config.json)"
        )
    if _HUB_ID.match(spec) and not spec.startswith((".", "~")):
        return _converted(spec, cache_dir, quantization, local=None)
    raise MtqaError(
        f"model '{spec}' not found: expected 'toy', a model directory or a Hub id like facebook/nllb-200-distilled-600M"
    )


# -- CTranslate2 directories ------------------------------------------------------------------
def load_ct2_model(path: Path | str) -> ModelInfo:
    """Describe a CTranslate2 model directory, from its ``mtqa_model.json`` or its vocabulary."""
    path = Path(path)
    meta = _read_metadata(path)
    vocab = read_vocabulary(path)
    family = meta.get("family") or detect_family(vocab)
    if family not in FAMILIES:
        raise MtqaError(f"{path / MODEL_FILE}: unknown family '{family}' (known: {', '.join(FAMILIES)})")
    if meta.get("source_spm"):
        source_spm = path / meta["source_spm"]
        target_spm = path / meta.get("target_spm", meta["source_spm"])
        for spm in (source_spm, target_spm):
            if not spm.is_file():
                raise MtqaError(f"{path / MODEL_FILE} names {spm.name}, which is not in {path}")
    else:
        source_spm, target_spm = find_spm_files(path)

    if family == "marian":
        lang_tokens = dict(meta.get("target_tokens") or marian_target_tokens(vocab))
    else:
        lang_tokens = _family_lang_tokens(family, vocab)
    declared = meta.get("target_langs")
    if declared is not None:
        target_langs = tuple(declared)
    elif lang_tokens:
        target_langs = tuple(sorted(lang_tokens))
    else:
        target_langs = None
    source_lang = meta.get("source_lang") if family == "marian" else None
    files = [path / "model.bin", *_config_and_vocabulary_files(path), source_spm, target_spm]
    return ModelInfo(
        name=meta.get("name") or path.name,
        path=path,
        family=family,
        source_spm=source_spm,
        target_spm=target_spm,
        fingerprint=model_fingerprint(path, files),
        source_lang=source_lang,
        target_langs=target_langs,
        lang_tokens=lang_tokens,
        control_tokens=frozenset(t for t in vocab if _LANGUAGE_TOKEN[family].match(t) or _MADEUP_WORD.match(t))
        | frozenset(lang_tokens.values()),
    )


def _read_metadata(path: Path) -> dict:
    file = path / MODEL_FILE
    if not file.is_file():
        return {}
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise MtqaError(f"{file}: not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise MtqaError(f"{file}: unsupported format {found!r} (this mtqa reads format {MODEL_FORMAT})")
    return meta


def read_vocabulary(path: Path) -> set[str]:
    """Every token of the model's source and target vocabularies (JSON or text files)."""
    tokens: set[str] = set()
    for stem in _VOCABULARY_FILES:
        as_json, as_text = path / f"{stem}.json", path / f"{stem}.txt"
        try:
            if as_json.is_file():
                tokens.update(json.loads(as_json.read_text(encoding="utf-8")))
            elif as_text.is_file():
                tokens.update(as_text.read_text(encoding="utf-8").splitlines())
        except (ValueError, TypeError) as e:
            raise MtqaError(f"{path}: unreadable vocabulary {stem} ({type(e).__name__}: {e})") from None
    if not tokens:
        raise MtqaError(f"{path} has no vocabulary file (shared_vocabulary.json or source/target_vocabulary.json)")
    return tokens


def detect_family(vocab: set[str]) -> str:
    if "eng_Latn" in vocab:
        return "nllb"
    if "__en__" in vocab:
        return "m2m100"
    return "marian"


def marian_target_tokens(vocab: set[str]) -> dict[str, str]:
    """``{lang: ">>lang<<"}`` for a multi-target Marian vocabulary; empty for a single pair."""
    tokens: dict[str, str] = {}
    for token in sorted(vocab):
        match = _MARIAN_TARGET_TOKEN.match(token)
        if match:
            # An exact ISO 639-1 token wins over a 639-3 one for the same language.
            code = from_marian_code(match.group(1))
            if code not in tokens or match.group(1) == code:
                tokens[code] = token
    return tokens


def _family_lang_tokens(family: str, vocab: set[str]) -> dict[str, str]:
    tokens = {}
    for code, (_, flores) in LANGUAGES.items():
        token = flores if family == "nllb" else m2m100_token(code)
        if token and token in vocab:
            tokens[code] = token
    return tokens


def find_spm_files(path: Path) -> tuple[Path, Path]:
    """The (source, target) SentencePiece models of a model directory."""
    for source, target in _SPM_PAIRS:
        if (path / source).is_file():
            target_path = path / target if target and (path / target).is_file() else path / source
            return path / source, target_path
    candidates = sorted(path.glob("*.model"))
    if candidates:
        return candidates[0], candidates[0]
    raise MtqaError(
        f"{path} has no SentencePiece model (source.spm/target.spm, sentencepiece.bpe.model, spm.model or *.model)"
    )


def _config_and_vocabulary_files(path: Path) -> list[Path]:
    names = ["config.json", *(f"{stem}.{ext}" for stem in _VOCABULARY_FILES for ext in ("json", "txt"))]
    return [path / name for name in names if (path / name).is_file()]


# -- fingerprint ------------------------------------------------------------------------------
def model_fingerprint(path: Path, files: list[Path], memo_min_bytes: int | None = None) -> str:
    """sha256 over ``files`` (names and contents), memoised in the model directory.

    The memo is keyed by every file's size and mtime, so a changed file is rehashed; it is
    only written for models of ``memo_min_bytes`` or more, and skipped where the directory is
    read-only.
    """
    memo_min_bytes = FINGERPRINT_MEMO_MIN_BYTES if memo_min_bytes is None else memo_min_bytes
    files = sorted(dict.fromkeys(files), key=lambda f: f.name)
    stats = {f.name: [f.stat().st_size, f.stat().st_mtime_ns] for f in files}
    memo_file = path / FINGERPRINT_FILE
    try:
        memo = json.loads(memo_file.read_text(encoding="utf-8"))
        if memo.get("files") == stats:
            return memo["sha256"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    total = hashlib.sha256()
    for file in files:
        total.update(f"{file.name}\0{stats[file.name][0]}\0{sha256_file(file)}\n".encode())
    fingerprint = total.hexdigest()
    if sum(size for size, _ in stats.values()) >= memo_min_bytes:
        try:
            write_json_atomic(memo_file, {"files": stats, "sha256": fingerprint})
        except OSError:
            pass
    return fingerprint


def converted_dir(spec: str, cache_dir: Path | str | None, quantization: str | None, local: Path | None) -> Path:
    """Where the conversion of ``spec`` lives: ``<cache_dir>/ct2/<slug>-<hash>``.

    The hash covers the spec and the quantization and, for a local checkpoint, the size and
    mtime of its files, so a retrained checkpoint is converted again.
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    key: list = [spec, quantization]
    if local is not None:
        key.append(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in local.iterdir() if p.is_file()))
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]
    name = local.name if local is not None else spec
    slug = re.sub(r"[^A-Za-z0-9._-]+", "--", name).strip("-.")[-60:] or "model"
    return root / "ct2" / f"{slug}-{digest}"


def _converted(spec: str, cache_dir, quantization: str | None, local: Path | None) -> ModelInfo:
    out = converted_dir(spec, cache_dir, quantization, local)
    if not ((out / "model.bin").is_file() and (out / MODEL_FILE).is_file()):
        convert_checkpoint(spec, out, quantization=quantization)
    return load_ct2_model(out)


def convert_checkpoint(source: str, out: Path, quantization: str | None = None) -> Path:
    """Convert a Hugging Face checkpoint (directory or Hub id) into the CTranslate2 model ``out``.

    Converts into a temporary directory next to ``out`` and renames it into place, so a
    killed conversion leaves nothing half-written and concurrent conversions of the same
    model are harmless (the first rename wins). Needs torch and transformers.
    """
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        from ctranslate2.converters import TransformersConverter
    except ImportError as e:
        raise MtqaError(
            f"converting {source} needs torch and transformers ({e.name} is missing): pip install 'mtqa[convert]'"
        ) from None

    class Converter(TransformersConverter):
        """Keeps the tokenizer (for the metadata) and completes M2M100 vocabularies."""

        tokenizer = None

        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            self.tokenizer = super().load_tokenizer(tokenizer_class, model_name_or_path, **kwargs)
            return _with_language_tokens(self.tokenizer)

    spm_files = _checkpoint_spm_files(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        converter = Converter(source, copy_files=spm_files)
        try:
            with warnings.catch_warnings():
                # MarianTokenizer asks for sacremoses; the conversion only reads its vocabulary.
                warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
                converter.convert(str(tmp), quantization=quantization, force=True)
        except MtqaError:
            raise
        except Exception as e:  # a user's model failed to load or convert: one line, not a traceback
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise MtqaError(f"could not convert {source} to CTranslate2: {first}") from e
        write_json_atomic(tmp / MODEL_FILE, _conversion_metadata(source, tmp, converter.tokenizer, quantization))
        try:
            os.rename(tmp, out)
        except OSError:
            if not (out / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _with_language_tokens(tokenizer):
    """transformers 5's ``M2M100Tokenizer.get_vocab()`` leaves out the ``__xx__`` language tokens,
    so CTranslate2's converter would build a vocabulary without them; add them back."""
    lang_ids = getattr(tokenizer, "lang_token_to_id", None)
    if not lang_ids or all(token in tokenizer.get_vocab() for token in lang_ids):
        return tokenizer

    class WithLanguageTokens:
        def __init__(self, inner):
            self._inner = inner

        def get_vocab(self):
            return {**self._inner.get_vocab(), **lang_ids}

        def __getattr__(self, name):
            return getattr(self._inner, name)

    return WithLanguageTokens(tokenizer)


def _checkpoint_spm_files(source: str) -> list[str]:
    path = Path(source)
    if path.is_dir():
        names = [p.name for p in path.iterdir() if p.is_file()]
    else:
        # Downloads only the SentencePiece files; works offline (HF_HUB_OFFLINE=1) from the Hub cache.
        try:
            from huggingface_hub import snapshot_download

            snapshot = Path(snapshot_download(source, allow_patterns=["*.spm", "*.model"]))
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise MtqaError(f"could not get Hub model '{source}' ({type(e).__name__}: {first})") from e
        names = [p.name for p in snapshot.iterdir()]
    wanted = [n for n in names if "/" not in n and (n.endswith(".spm") or n.endswith(".model"))]
    if not wanted:
        raise MtqaError(
            f"{source} has no SentencePiece model (source.spm/target.spm, sentencepiece.bpe.model or *.model); "
            "mtqa tokenises with SentencePiece"
        )
    return sorted(wanted)


def _conversion_metadata(source: str, out: Path, tokenizer, quantization: str | None) -> dict:
    vocab = read_vocabulary(out)
    family = detect_family(vocab)
    source_spm, target_spm = find_spm_files(out)
    meta = {
        "format": MODEL_FORMAT,
        "family": family,
        "name": source if not Path(source).is_dir() else Path(source).name,
        "source_lang": None,
        "target_langs": None,
        "source_spm": source_spm.name,
        "target_spm": target_spm.name,
        "converted_from": source,
        "quantization": quantization,
    }
    if family == "marian":
        source_lang, target_lang = _marian_pair(source, tokenizer)
        meta["source_lang"] = source_lang
        tokens = marian_target_tokens(vocab)
        if tokens:
            meta["target_tokens"] = tokens
        elif target_lang:
            meta["target_langs"] = [target_lang]
    return meta


def _marian_pair(source: str, tokenizer) -> tuple[str | None, str | None]:
    """The (source, target) languages of an OPUS-MT model, from its tokenizer or its name."""
    src = getattr(tokenizer, "source_lang", None)
    tgt = getattr(tokenizer, "target_lang", None)
    if not (src and tgt):
        match = _OPUS_NAME.search(Path(source).name if Path(source).is_dir() else source)
        if match:
            src, tgt = match.groups()

    def norm(code: str | None) -> str | None:
        # Group names (ROMANCE, mul) are not single languages.
        return from_marian_code(code) if code and code.islower() and code != "mul" else None

    return norm(src), norm(tgt)
