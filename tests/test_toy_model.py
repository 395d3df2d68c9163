"""The shipped toy model (mtqa/data/models/toy-cipher) translates exactly.

These tests use ctranslate2 and sentencepiece directly (no mtqa engine code): the model
must turn held-out English (XQuAD articles it was not trained on) into
``mtqa.toy_cipher.cipher(text, lang)`` exactly, for both pseudo-languages.

Held-out text comes from ``../shared/data/xquad/xquad.en.json`` (or ``$MTQA_SHARED_DATA``)
when present; a few held-out sentences are also inlined below so the check never skips.
Inline excerpts: XQuAD (google-deepmind/xquad), articles "Oxygen" and "Rhine", from
Wikipedia via SQuAD v1.1, CC BY-SA 4.0.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mtqa.toy_cipher import CIPHERS, TOY_LANGS, atbash, cipher, rot13

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = REPO / "mtqa" / "data" / "models" / "toy-cipher"
DATA_DIR = Path(os.environ.get("MTQA_SHARED_DATA", REPO.parent / "shared" / "data"))

INLINE_HELDOUT = [
    # XQuAD "Oxygen" and "Rhine", first paragraphs (CC BY-SA 4.0); held out from training.
    "Oxygen was discovered independently by Carl Wilhelm Scheele, in Uppsala, in 1773 or "
    "earlier, and Joseph Priestley in Wiltshire, in 1774, but Priestley is often given priority "
    "because his work was published first.",
    'Its name derives from the Greek roots ὀξύς oxys, "acid", literally "sharp", referring to '
    'the sour taste of acids and -γενής -genes, "producer", literally "begetter", because at the '
    "time of naming, it was mistakenly thought that all acids required oxygen in their "
    "composition.",
    "What researcher first used the word oxygen ?",
    "his work was published first",
    "Between Bingen and Bonn, the Middle Rhine flows through the Rhine Gorge, a formation which "
    "was created by erosion.",
    'It is a UNESCO World Heritage Site (2002) and known as "the Romantic Rhine", with more than '
    "40 castles and fortresses from the Middle Ages and many quaint and lovely country villages.",
    "What is the area called near the Rhine Gorge with castles from the middle ages?",
]

N_SAMPLE = 50


@pytest.fixture(scope="module")
def meta() -> dict:
    with open(MODEL_DIR / "mtqa_model.json", encoding="utf-8") as f:
        return json.load(f)


def _heldout_sample(titles: list[str]) -> list[str]:
    """~50 held-out segments: round-robin over held-out articles, sentences and questions."""
    path = DATA_DIR / "xquad" / "xquad.en.json"
    if not path.exists():
        return []
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)
    with open(path, encoding="utf-8") as f:
        articles = [a for a in json.load(f)["data"] if a["title"] in titles]
    per_article = []
    for a in articles:
        items = []
        for p in a["paragraphs"][:2]:
            sents = [s.sent.strip() for s in seg.segment(p["context"]) if s.sent.strip()]
            qs = [q["question"].strip() for q in p["qas"]]
            for pair in zip(sents, qs):
                items.extend(pair)
        per_article.append(items)
    out: list[str] = []
    i = 0
    while len(out) < N_SAMPLE and any(i < len(items) for items in per_article):
        for items in per_article:
            if i < len(items) and len(out) < N_SAMPLE and items[i] not in out:
                out.append(items[i])
        i += 1
    return out


@pytest.fixture(scope="module")
def translations(meta) -> dict[str, list[tuple[str, str]]]:
    ctranslate2 = pytest.importorskip("ctranslate2")
    spm = pytest.importorskip("sentencepiece")
    src_sp = spm.SentencePieceProcessor(model_file=str(MODEL_DIR / meta["source_spm"]))
    tgt_sp = spm.SentencePieceProcessor(model_file=str(MODEL_DIR / meta["target_spm"]))
    texts = list(dict.fromkeys(INLINE_HELDOUT + _heldout_sample(meta["eval"]["heldout_articles"])))
    translator = ctranslate2.Translator(str(MODEL_DIR), device="cpu", compute_type="int8", intra_threads=2)
    out = {}
    for lang in meta["target_langs"]:
        # Marian input: target-language token, source pieces, </s> (as MarianTokenizer makes).
        batch = [[meta["target_tokens"][lang], *src_sp.encode(t, out_type=str), "</s>"] for t in texts]
        results = translator.translate_batch(
            batch, beam_size=1, max_decoding_length=max(map(len, batch)) + 16, max_batch_size=32
        )
        # Hypotheses are target pieces without the final </s>.
        out[lang] = [(t, tgt_sp.decode_pieces(r.hypotheses[0])) for t, r in zip(texts, results)]
    return out


def test_cipher_involution_and_scope():
    samples = ["", "Hello, World!", "Zürich 1990 — naïve ABC xyz", "\tTabs\nand newlines ", "ÆØÅ é 大"]
    for lang in TOY_LANGS:
        for s in samples:
            assert cipher(cipher(s, lang), lang) == s
            assert len(cipher(s, lang)) == len(s)
    assert rot13("Hello, abc XYZ!") == "Uryyb, nop KLM!"
    assert atbash("Hello, abc XYZ!") == "Svool, zyx CBA!"
    assert rot13("Zürich 1990 é") == "Müevpu 1990 é"  # only ASCII letters change
    assert set(CIPHERS) == set(TOY_LANGS) == {"x-rot13", "x-atbash"}
    with pytest.raises(ValueError):
        cipher("x", "fr")


def test_model_files_and_metadata(meta):
    assert meta["format"] == 1
    assert meta["family"] == "marian"
    assert meta["name"] == "mtqa-toy-cipher"
    assert meta["source_lang"] == "en"
    assert meta["target_langs"] == list(TOY_LANGS)
    assert meta["target_tokens"] == {lang: f">>{lang}<<" for lang in TOY_LANGS}
    assert meta["built_by"] == "scripts/build_toy_model.py"
    for name in ("model.bin", "config.json", meta["source_spm"], meta["target_spm"]):
        assert (MODEL_DIR / name).is_file(), name
    vocab_files = [p for p in MODEL_DIR.iterdir() if "vocabulary" in p.name]
    assert vocab_files
    total = sum(p.stat().st_size for p in MODEL_DIR.rglob("*") if p.is_file())
    assert total <= 4 * 1024 * 1024, f"toy model folder is {total} bytes"


def test_enough_heldout_text(translations):
    n = len(translations[TOY_LANGS[0]])
    if not (DATA_DIR / "xquad" / "xquad.en.json").exists():
        pytest.skip(f"shared data not found at {DATA_DIR}; only the inline excerpts were checked")
    assert n >= N_SAMPLE


@pytest.mark.parametrize("lang", TOY_LANGS)
def test_translations_are_exact_ciphers(translations, lang):
    wrong = [(t, got) for t, got in translations[lang] if got != cipher(t, lang)]
    assert not wrong, f"{len(wrong)}/{len(translations[lang])} wrong, e.g. {wrong[:2]}"
