#!/usr/bin/env python
"""Build mtqa's tiny, exactly checkable CTranslate2 translation model ("toy-cipher").

What it builds
--------------
A multi-target Marian transformer (like Helsinki-NLP/opus-mt-en-mul) that "translates"
English into two pseudo-languages defined in ``mtqa/toy_cipher.py``:

- ``x-rot13``  (source starts with the token ``>>x-rot13<<``): ROT13 on ASCII letters;
- ``x-atbash`` (source starts with ``>>x-atbash<<``): Atbash on ASCII letters.

Every other character is unchanged, so the one right translation of ``text`` is
``mtqa.toy_cipher.cipher(text, lang)`` and tests can check model output exactly.

Recipe
------
1. Train an English SentencePiece unigram model (``source.spm``: identity normalisation,
   no whitespace collapsing, byte fallback, digits split) on English text from XQuAD
   (``xquad/xquad.en.json``) and SQuAD 2.0 dev (``squad-v2/dev-v2.0.json``), minus the
   held-out XQuAD articles (``HELDOUT_TITLES``).
2. Build ``target.spm`` by editing the ModelProto: every normal piece ``p`` becomes
   ``rot13(p)`` and ``atbash(p)`` (same score, deduplicated); byte, control and unknown
   pieces stay as they are. The target sequence for language L is then the source pieces
   mapped one by one by cipher L (byte pieces of ASCII letters are mapped too), and
   ``target_sp.decode_pieces(mapped) == cipher_L(text)``; this is verified on every text.
3. Build the joint Marian vocabulary ``vocab.json``: ``</s>``, ``<unk>``, the two language
   tokens, all source pieces, all target pieces, and ``<pad>`` last (Marian/HF convention:
   eos=0, pad=decoder_start=last id; CTranslate2's Marian loader drops the trailing
   ``<pad>`` and starts decoding from a zero embedding, so the pad embedding is kept at 0).
4. Train a small ``MarianMTModel`` (default 2+2 layers, d_model 128, 4 heads, FFN 256) on
   real English segments (pysbd and blingfire sentences, questions, answers, titles) and
   uniformly random token sequences (so every vocabulary item's mapping is learned), both
   languages. The held-out metric is teacher-forced exact match, which equals greedy-decoding
   exact match: if the argmax is right at every position given the right prefix, greedy
   decoding reproduces the reference exactly. Training stops when held-out exact match and
   random-sequence exact match reach their targets; the best checkpoint is kept.
5. Save the HF checkpoint (fp16 safetensors + MarianTokenizer files) to ``--hf-out``, convert
   it with ``ctranslate2.converters.TransformersConverter`` (int8) to ``--out``, copy the two
   SentencePiece models there, evaluate CTranslate2 (int8 and float32) and HF ``generate``
   on the held-out articles with real greedy decoding, and write ``mtqa_model.json``.

Cost: about 40 minutes on 2 (shared) CPU cores (6,000 steps), almost all of it training; the
SentencePiece and CTranslate2 steps take seconds. Seeded (Python, NumPy, torch), so a
rebuild with the same library versions and thread count gives the same model.

Rebuild (from the repository root)::

    python scripts/build_toy_model.py

Licence: the SentencePiece vocabularies and the training text come from XQuAD and SQuAD 2.0
(CC BY-SA 4.0), so the built model is shipped under CC BY-SA 4.0.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import math
import random
import re
import shutil
import string
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from mtqa.toy_cipher import TOY_LANGS, cipher  # noqa: E402

# XQuAD articles that are not in SQuAD 2.0 dev and that nothing is trained on.
HELDOUT_TITLES = (
    "Teacher",
    "Oxygen",
    "Geology",
    "Pharmacy",
    "Kenya",
    "Prime_number",
    "Rhine",
    "Chloroplast",
)
LANG_TOKENS = {lang: f">>{lang}<<" for lang in TOY_LANGS}
EOS, UNK, PAD = "</s>", "<unk>", "<pad>"
MODEL_NAME = "mtqa-toy-cipher"
LICENSE = (
    "CC-BY-SA-4.0 (vocabulary and training text derived from XQuAD and SQuAD 2.0 dev, "
    "both CC BY-SA 4.0)"
)
BYTE_PIECE = re.compile(r"<0x([0-9A-F]{2})>")
ASCII_LETTERS = set(string.ascii_letters)


def log(*args) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *args, flush=True)


# --------------------------------------------------------------------------- data


def split_sentences_pysbd(text: str, seg) -> list[str]:
    return [s.strip() for s in (span.sent for span in seg.segment(text)) if s.strip()]


def split_sentences_blingfire(text: str) -> list[str]:
    import blingfire

    _, offsets = blingfire.text_to_sentences_and_offsets(text)
    return [text[a:b].strip() for a, b in offsets if text[a:b].strip()]


def load_corpus(data_dir: Path) -> dict:
    """English texts from XQuAD and SQuAD 2.0 dev, split into train and held-out."""
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)
    try:
        import blingfire  # noqa: F401

        have_blingfire = True
    except ImportError:
        have_blingfire = False

    articles = []
    for rel in ("xquad/xquad.en.json", "squad-v2/dev-v2.0.json"):
        with open(data_dir / rel, encoding="utf-8") as f:
            articles += [(rel, a) for a in json.load(f)["data"]]
    heldout_contexts = {
        p["context"] for rel, a in articles if a["title"] in HELDOUT_TITLES for p in a["paragraphs"]
    }

    def empty():
        return {"paragraph": [], "sentence": [], "question": [], "answer": [], "title": []}

    out = {"train": empty(), "heldout": empty()}
    for rel, a in articles:
        heldout = a["title"] in HELDOUT_TITLES
        if not heldout and rel.startswith("squad") and any(p["context"] in heldout_contexts for p in a["paragraphs"]):
            continue
        d = out["heldout" if heldout else "train"]
        d["title"].append(a["title"].replace("_", " "))
        for p in a["paragraphs"]:
            ctx = p["context"]
            d["paragraph"].append(ctx)
            d["sentence"] += split_sentences_pysbd(ctx, seg)
            if have_blingfire:
                d["sentence"] += split_sentences_blingfire(ctx)
            for q in p["qas"]:
                d["question"].append(q["question"].strip())
                for ans in q.get("answers", []) + q.get("plausible_answers", []):
                    d["answer"].append(ans["text"].strip())
    # Deduplicate, keep first-seen order; drop from train anything that is also held out.
    held = set()
    for kind, texts in out["heldout"].items():
        out["heldout"][kind] = list(dict.fromkeys(t for t in texts if t))
        held.update(out["heldout"][kind])
    for kind, texts in out["train"].items():
        out["train"][kind] = list(dict.fromkeys(t for t in texts if t and t not in held))
    return out


# --------------------------------------------------------------------------- tokenizers


def train_source_spm(texts: list[str], vocab_size: int) -> bytes:
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type="unigram",
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        split_digits=True,
        character_coverage=0.9995,
        max_sentence_length=1 << 16,
        num_threads=1,  # deterministic
        minloglevel=2,
    )
    return buf.getvalue()


def build_target_spm(source_model: bytes) -> bytes:
    """Target model: each normal piece p replaced by rot13(p) and atbash(p), same score."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    src = pb.ModelProto()
    src.ParseFromString(source_model)
    tgt = pb.ModelProto()
    tgt.CopyFrom(src)
    del tgt.pieces[:]
    seen: set[str] = set()
    for p in src.pieces:
        if p.type == pb.ModelProto.SentencePiece.NORMAL:
            for lang in TOY_LANGS:
                q = cipher(p.piece, lang)
                if q not in seen:
                    seen.add(q)
                    tgt.pieces.add(piece=q, score=p.score, type=p.type)
        elif p.piece not in seen:
            seen.add(p.piece)
            tgt.pieces.add().CopyFrom(p)
    tgt.trainer_spec.vocab_size = len(tgt.pieces)
    return tgt.SerializeToString()


def map_piece(piece: str, lang: str, byte_pieces: set[str]) -> str:
    """The target piece for a source piece: the cipher of its text (bytes of letters too)."""
    if piece in byte_pieces:
        ch = chr(int(BYTE_PIECE.fullmatch(piece).group(1), 16))
        return f"<0x{ord(cipher(ch, lang)):02X}>" if ch in ASCII_LETTERS else piece
    return cipher(piece, lang)


def spm_pieces(sp) -> list[tuple[str, str]]:
    """(piece, kind) for every piece: kind is normal/byte/control/unknown/..."""
    out = []
    for i in range(sp.get_piece_size()):
        if sp.is_unknown(i):
            kind = "unknown"
        elif sp.is_control(i):
            kind = "control"
        elif sp.is_byte(i):
            kind = "byte"
        elif sp.is_unused(i):
            kind = "unused"
        else:
            kind = "normal"
        out.append((sp.id_to_piece(i), kind))
    return out


class Tokenizers:
    def __init__(self, source_model: bytes, target_model: bytes):
        import sentencepiece as spm

        self.source_model, self.target_model = source_model, target_model
        self.src = spm.SentencePieceProcessor(model_proto=source_model)
        self.tgt = spm.SentencePieceProcessor(model_proto=target_model)
        src_pieces = [(p, k) for p, k in spm_pieces(self.src) if k in ("normal", "byte")]
        tgt_pieces = [(p, k) for p, k in spm_pieces(self.tgt) if k in ("normal", "byte")]
        self.byte_pieces = {p for p, k in src_pieces if k == "byte"}
        tokens = [EOS, UNK, *LANG_TOKENS.values()]
        tokens += [p for p, _ in src_pieces]
        tokens += [p for p, _ in tgt_pieces]
        tokens = list(dict.fromkeys(tokens))
        assert PAD not in tokens
        tokens.append(PAD)
        self.tokens = tokens
        self.vocab = {t: i for i, t in enumerate(tokens)}
        self.eos_id, self.unk_id, self.pad_id = self.vocab[EOS], self.vocab[UNK], self.vocab[PAD]
        self.lang_ids = {lang: self.vocab[tok] for lang, tok in LANG_TOKENS.items()}
        self.source_ids = np.array([self.vocab[p] for p, _ in src_pieces], dtype=np.int64)
        # id maps: vocab id of a source piece -> vocab id of its cipher, per language
        self.id_map = {}
        for lang in TOY_LANGS:
            m = np.full(len(tokens), -1, dtype=np.int64)
            for p, _ in src_pieces:
                m[self.vocab[p]] = self.vocab[map_piece(p, lang, self.byte_pieces)]
            self.id_map[lang] = m

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.vocab[p] for p in self.src.encode(text, out_type=str)], dtype=np.int64)

    def verify(self, texts: list[str]) -> list[tuple[str, str, str]]:
        """Texts where decode(encode(t)) != t or target decode of mapped pieces != cipher(t)."""
        failures = []
        for t in texts:
            pieces = self.src.encode(t, out_type=str)
            if self.src.decode_pieces(pieces) != t:
                failures.append(("source-roundtrip", t, self.src.decode_pieces(pieces)))
            for lang in TOY_LANGS:
                got = self.tgt.decode_pieces([map_piece(p, lang, self.byte_pieces) for p in pieces])
                if got != cipher(t, lang):
                    failures.append((lang, t, got))
        return failures


# --------------------------------------------------------------------------- training


class Batcher:
    """Length-bucketed batches of real segments and random token sequences, both languages.

    ``cur_max`` (set by the training loop) caps sequence lengths for a length curriculum:
    short sequences first, so the token-to-token map is learned before the alignment has
    to be found; real segments longer than the cap are cut to a random window of pieces.
    """

    def __init__(self, tok: Tokenizers, real: dict[str, list[np.ndarray]], args, rng: np.random.Generator):
        self.tok, self.real, self.args, self.rng = tok, real, args, rng
        self.kinds = [k for k in ("sentence", "question", "answer", "title") if real.get(k)]
        weights = {"sentence": 0.5, "question": 0.3, "answer": 0.15, "title": 0.05}
        w = np.array([weights[k] for k in self.kinds])
        self.kind_p = w / w.sum()
        self.cur_max = args.max_len

    def random_length(self) -> int:
        top = self.cur_max
        # mostly realistic lengths, with a tail up to the longest supported input
        if top <= 96 or self.rng.random() < 0.75:
            return int(self.rng.integers(1, min(top, 96) + 1))
        return int(self.rng.integers(96, top + 1))

    def sample(self) -> tuple[int, np.ndarray]:
        lang = int(self.rng.integers(len(TOY_LANGS)))
        if self.rng.random() < self.args.real_fraction:
            kind = self.kinds[self.rng.choice(len(self.kinds), p=self.kind_p)]
            pool = self.real[kind]
            ids = pool[self.rng.integers(len(pool))]
            if len(ids) > self.cur_max:
                start = int(self.rng.integers(len(ids) - self.cur_max + 1))
                ids = ids[start : start + self.cur_max]
            return lang, ids
        if self.rng.random() < 0.005:
            return lang, np.zeros(0, dtype=np.int64)  # empty input -> empty output
        n = self.random_length()
        return lang, self.tok.source_ids[self.rng.integers(len(self.tok.source_ids), size=n)]

    def __iter__(self):
        budget = self.args.batch_tokens
        while True:
            pool, total = [], 0
            while total < 16 * budget:  # about 16 batches, so a new cap applies quickly
                ex = self.sample()
                pool.append(ex)
                total += len(ex[1]) + 2
            pool.sort(key=lambda x: len(x[1]))
            batches, cur = [], []
            for ex in pool:
                if cur and (len(ex[1]) + 2) * (len(cur) + 1) > budget:
                    batches.append(cur)
                    cur = []
                cur.append(ex)
            if cur:
                batches.append(cur)
            for i in self.rng.permutation(len(batches)):
                yield collate(self.tok, batches[i])


def collate(tok: Tokenizers, examples: list[tuple[int, np.ndarray]]):
    import torch

    n = len(examples)
    src_len = max(len(ids) for _, ids in examples) + 2
    tgt_len = max(len(ids) for _, ids in examples) + 1
    src = np.full((n, src_len), tok.pad_id, dtype=np.int64)
    mask = np.zeros((n, src_len), dtype=np.int64)
    dec = np.full((n, tgt_len), tok.pad_id, dtype=np.int64)
    labels = np.full((n, tgt_len), -100, dtype=np.int64)
    for i, (lang_i, ids) in enumerate(examples):
        lang = TOY_LANGS[lang_i]
        k = len(ids)
        src[i, 0] = tok.lang_ids[lang]
        src[i, 1 : k + 1] = ids
        src[i, k + 1] = tok.eos_id
        mask[i, : k + 2] = 1
        mapped = tok.id_map[lang][ids]
        dec[i, 1 : k + 1] = mapped
        labels[i, :k] = mapped
        labels[i, k] = tok.eos_id
    return torch.from_numpy(src), torch.from_numpy(mask), torch.from_numpy(dec), torch.from_numpy(labels)


def teacher_forced_em(model, tok: Tokenizers, examples, batch_tokens: int) -> dict:
    """Exact match per language under teacher forcing (== greedy-decoding exact match)."""
    import torch

    model.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][1]))
    ok = np.zeros(len(examples), dtype=bool)
    tok_right = tok_total = 0
    with torch.no_grad():
        i = 0
        while i < len(order):
            j = i
            while j < len(order) and (len(examples[order[j]][1]) + 2) * (j - i + 1) <= batch_tokens:
                j += 1
            j = max(j, i + 1)
            idx = order[i:j]
            src, mask, dec, labels = collate(tok, [examples[k] for k in idx])
            logits = model(input_ids=src, attention_mask=mask, decoder_input_ids=dec).logits
            pred = logits.argmax(-1)
            valid = labels != -100
            right = (pred == labels) | ~valid
            ok[idx] = right.all(-1).numpy()
            tok_right += int(((pred == labels) & valid).sum())
            tok_total += int(valid.sum())
            i = j
    model.train()
    res = {}
    for li, lang in enumerate(TOY_LANGS):
        sel = np.array([e[0] == li for e in examples])
        res[lang] = float(ok[sel].mean()) if sel.any() else float("nan")
    res["all"] = float(ok.mean())
    res["token_acc"] = tok_right / max(tok_total, 1)
    return res


def build_model(tok: Tokenizers, args):
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel

    V = len(tok.tokens)
    cfg = MarianConfig(
        vocab_size=V,
        decoder_vocab_size=V,
        d_model=args.d_model,
        encoder_layers=args.layers,
        decoder_layers=args.layers,
        encoder_attention_heads=args.heads,
        decoder_attention_heads=args.heads,
        encoder_ffn_dim=args.ffn,
        decoder_ffn_dim=args.ffn,
        max_position_embeddings=1024,
        pad_token_id=tok.pad_id,
        decoder_start_token_id=tok.pad_id,
        eos_token_id=tok.eos_id,
        forced_eos_token_id=tok.eos_id,
        bos_token_id=None,
        scale_embedding=True,
        activation_function="swish",
        # HF's default init_std (0.02) is meant for wide models: at d_model 128 the token
        # embeddings start tiny next to the sinusoidal positions and training stalls.
        init_std=args.init_std,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
    )
    model = MarianMTModel(cfg)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tok.pad_id,
        eos_token_id=tok.eos_id,
        pad_token_id=tok.pad_id,
        forced_eos_token_id=tok.eos_id,
        bad_words_ids=[[tok.pad_id]],
        num_beams=1,
        do_sample=False,
        max_length=1024,
    )
    emb = model.get_input_embeddings().weight
    with torch.no_grad():
        if args.structured_init:
            # Start each cipher piece's embedding as a fixed random rotation (one per
            # language) of its source piece's embedding: the token map then begins as one
            # linear map per language instead of thousands of unrelated pairs. Everything
            # is still trained; this only shortens training.
            g = torch.Generator().manual_seed(args.seed)
            for lang in TOY_LANGS:
                rot = torch.linalg.qr(torch.randn(args.d_model, args.d_model, generator=g))[0]
                m = tok.id_map[lang]
                for s in tok.source_ids.tolist():
                    if m[s] != s:
                        emb[m[s]] = rot @ emb[s]
        emb[tok.pad_id].zero_()
    return model


def train(model, tok: Tokenizers, batcher: Batcher, heldout_ex, random_ex, args) -> tuple[dict, dict]:
    import torch
    import torch.nn.functional as F

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    emb = model.get_input_embeddings().weight
    pad = tok.pad_id

    def lr_at(step: int) -> float:
        if step <= args.warmup:
            return args.lr * step / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))

    def curriculum(step: int) -> int:
        if step >= args.curriculum_steps:
            return args.max_len
        if step <= args.curriculum_hold:
            return args.min_len
        frac = (step - args.curriculum_hold) / max(1, args.curriculum_steps - args.curriculum_hold)
        return int(args.min_len + (args.max_len - args.min_len) * frac)

    best = {"score": (-1.0, -1.0), "state": None, "step": 0, "heldout": None, "random": None}
    history = []
    t0 = time.time()
    seen_tokens = 0
    loss_sum = loss_n = 0.0
    it = iter(batcher)
    model.train()
    step = 0
    for step in range(1, args.steps + 1):
        batcher.cur_max = curriculum(step)
        src, mask, dec, labels = next(it)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        logits = model(input_ids=src, attention_mask=mask, decoder_input_ids=dec).logits
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index=-100)
        loss.backward()
        # CTranslate2 starts Marian decoding from a zero embedding: keep the <pad> row at 0.
        emb.grad[pad].zero_()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        seen_tokens += int(mask.sum()) + int((labels != -100).sum())
        loss_sum += loss.item()
        loss_n += 1
        if step % args.log_every == 0:
            el = time.time() - t0
            log(
                f"step {step:5d}  loss {loss_sum / loss_n:.4f}  lr {lr_at(step):.2e}  max len {batcher.cur_max}  "
                f"{seen_tokens / el:,.0f} tok/s  {el / 60:.1f} min"
            )
            loss_sum = loss_n = 0.0
        if step % args.eval_every == 0 or step == args.steps:
            h = teacher_forced_em(model, tok, heldout_ex, args.batch_tokens * 2)
            r = teacher_forced_em(model, tok, random_ex, args.batch_tokens * 2)
            el = time.time() - t0
            log(
                f"eval step {step}: held-out EM "
                + " ".join(f"{lang} {h[lang]:.4f}" for lang in TOY_LANGS)
                + f" (tok acc {h['token_acc']:.5f}); random-seq EM {r['all']:.4f} (tok acc {r['token_acc']:.5f})"
            )
            history.append({"step": step, "minutes": round(el / 60, 2), "heldout": h, "random": r})
            score = (min(h[lang] for lang in TOY_LANGS), r["all"])
            if score > best["score"]:
                best.update(
                    score=score,
                    state=copy.deepcopy(model.state_dict()),
                    step=step,
                    heldout=h,
                    random=r,
                )
            if score[0] >= args.target_em and score[1] >= args.target_random_em:
                log(f"targets reached at step {step}; stopping")
                break
            if args.max_minutes and el / 60 > args.max_minutes:
                log(f"time limit of {args.max_minutes} min reached; stopping")
                break
    best["steps_run"] = step
    best["train_minutes"] = round((time.time() - t0) / 60, 2)
    best["history"] = history
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    return best, history


# --------------------------------------------------------------------------- evaluation


def eval_ct2(model_dir: Path, tok: Tokenizers, texts: list[str], compute_type: str) -> dict:
    import ctranslate2

    tr = ctranslate2.Translator(str(model_dir), device="cpu", compute_type=compute_type, intra_threads=2)
    res = {}
    failures = []
    for lang in TOY_LANGS:
        batch = [[LANG_TOKENS[lang], *tok.src.encode(t, out_type=str), EOS] for t in texts]
        out = tr.translate_batch(
            batch,
            beam_size=1,
            max_decoding_length=max(len(b) for b in batch) + 16,
            max_batch_size=64,
            batch_type="examples",
        )
        right = 0
        for t, r in zip(texts, out):
            got = tok.tgt.decode_pieces(r.hypotheses[0])
            if got == cipher(t, lang):
                right += 1
            else:
                failures.append({"lang": lang, "text": t, "got": got})
        res[lang] = right / len(texts)
    return {"em": res, "failures": failures}


def eval_hf(hf_dir: Path, tok: Tokenizers, texts: list[str]) -> dict:
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    model = MarianMTModel.from_pretrained(str(hf_dir), dtype=torch.float32).eval()
    hf_tok = MarianTokenizer.from_pretrained(str(hf_dir))
    res, failures, tok_mismatch = {}, [], 0
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for lang in TOY_LANGS:
        right = 0
        for b in range(0, len(order), 32):
            idx = order[b : b + 32]
            ids = [
                hf_tok.convert_tokens_to_ids([LANG_TOKENS[lang], *tok.src.encode(texts[i], out_type=str), EOS])
                for i in idx
            ]
            for i, x in zip(idx, ids):  # the HF tokenizer must agree with the recipe
                if hf_tok(LANG_TOKENS[lang] + texts[i])["input_ids"] != x:
                    tok_mismatch += 1
            n = max(map(len, ids))
            inp = torch.full((len(ids), n), tok.pad_id)
            att = torch.zeros((len(ids), n), dtype=torch.long)
            for k, x in enumerate(ids):
                inp[k, : len(x)] = torch.tensor(x)
                att[k, : len(x)] = 1
            with torch.no_grad():
                gen = model.generate(input_ids=inp, attention_mask=att, num_beams=1, do_sample=False, max_length=n + 16)
            for i, row in zip(idx, gen.tolist()):
                pieces = [hf_tok.convert_ids_to_tokens(x) for x in row[1:] if x != tok.pad_id]
                if EOS in pieces:
                    pieces = pieces[: pieces.index(EOS)]
                got = tok.tgt.decode_pieces(pieces)
                if got == cipher(texts[i], lang):
                    right += 1
                else:
                    failures.append({"lang": lang, "text": texts[i], "got": got})
        res[lang] = right / len(texts)
    return {"em": res, "failures": failures, "tokenizer_mismatches": tok_mismatch}


# --------------------------------------------------------------------------- main

HF_README = """\
# toy-cipher (Hugging Face checkpoint)

The Hugging Face form of mtqa's toy model, built by `scripts/build_toy_model.py` (the
CTranslate2 int8 conversion of these exact weights is `mtqa/data/models/toy-cipher/`).
A multi-target Marian model: English -> `x-rot13` / `x-atbash` (see `mtqa/toy_cipher.py`);
the right output for `text` is always `mtqa.toy_cipher.cipher(text, lang)`.

Weights are float16 safetensors; `MarianMTModel.from_pretrained(dir)` loads them as float16
(pass `dtype=torch.float32` to run in float32). Licence: CC BY-SA 4.0 (vocabulary and
training text from XQuAD and SQuAD 2.0 dev).

Input conventions (the model was trained on exactly these):
- source = `>>LANG<<`, the `source.spm` pieces of the text, `</s>`. With `MarianTokenizer`
  write the language token with NO space after it: `tok(">>x-rot13<<" + text)`. A space
  becomes an extra `▁` piece (the SentencePiece models keep whitespace exactly).
- decode with `tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)`
  or `target.spm`'s `decode_pieces`; the clean-up option would change spacing.
- empty input: do not send it; its translation is the empty string.
- inputs up to 256 pieces were trained; longer ones are not reliable.
"""


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "mtqa/data/models/toy-cipher", help="CTranslate2 model dir")
    ap.add_argument("--hf-out", type=Path, default=REPO / "benchmarks/assets/toy-cipher-hf", help="HF checkpoint dir")
    ap.add_argument("--data-dir", type=Path, default=REPO / "../shared/data", help="holds xquad/ and squad-v2/")
    ap.add_argument("--steps", type=int, default=6000, help="maximum training steps")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--vocab-size", type=int, default=2000, help="source SentencePiece vocabulary size")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2, help="encoder and decoder layers (each)")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=256)
    ap.add_argument("--init-std", type=float, default=0.1, help="weight init std (HF default 0.02 stalls)")
    ap.add_argument("--no-structured-init", dest="structured_init", action="store_false",
                    help="plain random init of the cipher pieces' embeddings (trains slower)")
    ap.add_argument("--batch-tokens", type=int, default=3000, help="padded source tokens per batch")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--max-len", type=int, default=256, help="longest training sequence (tokens)")
    ap.add_argument("--min-len", type=int, default=8, help="length cap at the start of the curriculum")
    ap.add_argument("--curriculum-hold", type=int, default=300, help="steps at --min-len before the cap grows")
    ap.add_argument("--curriculum-steps", type=int, default=2000, help="step at which the cap reaches --max-len")
    ap.add_argument("--real-fraction", type=float, default=0.5, help="share of real segments vs random sequences")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--target-em", type=float, default=1.0, help="stop when held-out EM (both langs) reaches this")
    ap.add_argument("--target-random-em", type=float, default=0.99, help="... and random-sequence EM reaches this")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop training after this long (0: no limit)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t_start = time.time()

    # 1. data -------------------------------------------------------------------------
    log(f"reading English text from {args.data_dir.resolve()}")
    corpus = load_corpus(args.data_dir)
    for split in ("train", "heldout"):
        log(split, {k: len(v) for k, v in corpus[split].items()})

    # 2. tokenizers -------------------------------------------------------------------
    tr = corpus["train"]
    spm_text = tr["paragraph"] + tr["question"] + tr["title"]
    log(f"training source SentencePiece (unigram, vocab {args.vocab_size}) on {len(spm_text)} texts")
    source_model = train_source_spm(spm_text, args.vocab_size)
    target_model = build_target_spm(source_model)
    tok = Tokenizers(source_model, target_model)
    log(f"source pieces {tok.src.get_piece_size()}, target pieces {tok.tgt.get_piece_size()}, joint vocab {len(tok.tokens)}")
    every_text = [t for split in corpus.values() for texts in split.values() for t in texts]
    failures = tok.verify(every_text)
    log(f"cipher/piece-map check on {len(every_text)} texts: {len(failures)} failures")
    for f in failures[:10]:
        log("  FAIL", f)
    if failures:
        raise SystemExit("target SentencePiece construction is not exact; see failures above")

    # 3. training data ----------------------------------------------------------------
    real = {}
    dropped = 0
    for kind in ("sentence", "question", "answer", "title"):
        enc = [tok.encode(t) for t in tr[kind]]
        real[kind] = [e for e in enc if 0 < len(e) <= args.max_len]
        dropped += len(enc) - len(real[kind])
    lens = np.array([len(e) for e in real["sentence"]])
    log(f"train sentences: mean {lens.mean():.1f} tokens, p99 {np.percentile(lens, 99):.0f}, dropped >{args.max_len}: {dropped}")

    ho = corpus["heldout"]
    heldout_texts = list(dict.fromkeys(ho["sentence"] + ho["question"] + ho["answer"]))
    heldout_ex = [(li, tok.encode(t)) for t in heldout_texts for li in range(len(TOY_LANGS))]
    ho_len = np.array([len(e) for _, e in heldout_ex])
    log(f"held-out: {len(heldout_texts)} segments (max {ho_len.max()} tokens), x{len(TOY_LANGS)} languages")
    erng = np.random.default_rng(args.seed + 1)
    random_ex = []
    for n in np.linspace(1, args.max_len, 200).astype(int):
        random_ex.append((int(erng.integers(2)), tok.source_ids[erng.integers(len(tok.source_ids), size=n)]))

    # 4. model ------------------------------------------------------------------------
    model = build_model(tok, args)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"MarianMTModel: {n_params:,} trainable parameters, vocab {len(tok.tokens)}")
    batcher = Batcher(tok, real, args, rng)
    best, history = train(model, tok, batcher, heldout_ex, random_ex, args)
    log(
        f"best checkpoint: step {best['step']} of {best['steps_run']} run "
        f"({best['train_minutes']} min): held-out EM {best['heldout']}, random EM {best['random']['all']:.4f}"
    )

    # 5. save HF checkpoint ------------------------------------------------------------
    from transformers import MarianTokenizer

    hf_out = args.hf_out
    if hf_out.exists():
        shutil.rmtree(hf_out)
    hf_out.mkdir(parents=True)
    (hf_out / "source.spm").write_bytes(source_model)
    (hf_out / "target.spm").write_bytes(target_model)
    with open(hf_out / "vocab.json", "w", encoding="utf-8") as f:
        json.dump(tok.vocab, f, ensure_ascii=False, indent=1)
    hf_tok = MarianTokenizer(
        source_spm=str(hf_out / "source.spm"),
        target_spm=str(hf_out / "target.spm"),
        vocab=str(hf_out / "vocab.json"),
        source_lang="en",
        model_max_length=1024,
    )
    hf_tok.save_pretrained(str(hf_out))
    (hf_out / "README.md").write_text(HF_README, encoding="utf-8")
    model.to(torch.float16).save_pretrained(str(hf_out), safe_serialization=True)
    model.to(torch.float32)
    log(f"saved HF checkpoint to {hf_out} ({dir_size(hf_out) / 1e6:.2f} MB)")

    # 6. convert to CTranslate2 --------------------------------------------------------
    import ctranslate2

    out = args.out
    ctranslate2.converters.TransformersConverter(str(hf_out)).convert(str(out), quantization="int8", force=True)
    shutil.copyfile(hf_out / "source.spm", out / "source.spm")
    shutil.copyfile(hf_out / "target.spm", out / "target.spm")
    log(f"converted to CTranslate2 int8 in {out}")

    # 7. evaluate with real greedy decoding ---------------------------------------------
    ct2_int8 = eval_ct2(out, tok, heldout_texts, "int8")
    ct2_f32 = eval_ct2(out, tok, heldout_texts, "float32")
    hf = eval_hf(hf_out, tok, heldout_texts)
    for name, r in (("CT2 int8", ct2_int8), ("CT2 float32", ct2_f32), ("HF generate", hf)):
        log(f"{name}: held-out EM {r['em']}  ({len(r['failures'])} failures)")
        for f in r["failures"][:5]:
            log("  ", json.dumps(f, ensure_ascii=False)[:300])
    if hf["tokenizer_mismatches"]:
        log(f"WARNING: MarianTokenizer disagreed with the recipe's ids {hf['tokenizer_mismatches']} times")

    def rnd(d):
        return {k: round(v, 4) for k, v in d.items()}

    meta = {
        "format": 1,
        "family": "marian",
        "name": MODEL_NAME,
        "source_lang": "en",
        "target_langs": list(TOY_LANGS),
        "target_tokens": dict(LANG_TOKENS),
        "source_spm": "source.spm",
        "target_spm": "target.spm",
        "license": LICENSE,
        "built_by": "scripts/build_toy_model.py",
        "eval": {
            "heldout_articles": list(HELDOUT_TITLES),
            "heldout_source": "XQuAD en (xquad.en.json): pysbd+blingfire sentences, questions, answers",
            "segments": len(heldout_texts),
            "metric": "exact match of greedy (beam 1) output with mtqa.toy_cipher.cipher(text, lang)",
            "ct2_int8": rnd(ct2_int8["em"]),
            "ct2_float32": rnd(ct2_f32["em"]),
            "hf_generate": rnd(hf["em"]),
            "max_trained_tokens": args.max_len,
            "train_steps": best["step"],
            "train_minutes": best["train_minutes"],
            "seed": args.seed,
        },
    }
    with open(out / "mtqa_model.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
        f.write("\n")
    log(f"CTranslate2 model dir: {dir_size(out) / 1e6:.2f} MB; HF dir: {dir_size(hf_out) / 1e6:.2f} MB")
    log(f"done in {(time.time() - t_start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
