"""Answer projection on real data where the truth is known (docs/projection.md).

1. XQuAD (human translations, 11 languages): every gold answer is perturbed the way machine
   translation perturbs an answer translated on its own (case, Unicode form, punctuation, a
   changed word ending, all at once), and the fallback matcher gets it with the gold passage
   and the position projected from the English span. Per language: how often it recovers
   the exact gold span (target >= 95%), and how often it emits a wrong one (target 0).
2. The third-party Portuguese SQuAD 2.0 translation: its answers that are not spans of their
   passage, run through the matcher; ``--judge 50`` prints a seeded sample to read.
3. ``--attention``: whether CTranslate2's ``return_attention`` alignment could improve the
   anchor on the toy model.

    python benchmarks/bench_projection.py                 # 1 and 2
    python benchmarks/bench_projection.py --judge 50      # + the sample to judge by reading
    python benchmarks/bench_projection.py --attention     # + 3
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
import unicodedata
from collections import Counter, defaultdict

from _common import SHARED_DATA, require

from mtqa.projection.fuzzy import SENTENCE_PUNCT, find_span, normalise

XQUAD = SHARED_DATA / "xquad"
SQUAD_PT = SHARED_DATA / "squad-v2-pt" / "dev-v2.0.json"
SQUAD_EN = SHARED_DATA / "squad-v2" / "dev-v2.0.json"
LANGS = ("ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
KINDS = ("none", "case", "unicode", "punct", "ending", "all")
_UNSPACED = ("th", "zh")
_FULL_STOP = {"zh": "。", "hi": "।", "ar": "."}
_WORD = re.compile(r"[^\W\d_]{4,}")


def squad_rows(path):
    """``(id, context, answers)`` per question of a SQuAD-format file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield qa["id"], paragraph["context"], qa["answers"]


# -- perturbations -----------------------------------------------------------------------------
def toggle_case(text: str) -> str | None:
    for i, ch in enumerate(text):
        if ch.lower() != ch.upper():
            flipped = ch.lower() if ch.isupper() else ch.upper()
            return text[:i] + flipped + text[i + 1 :]
    return None


def unicode_form(text: str) -> str | None:
    """NFD where that changes the text (precomposed accents), else full-width ASCII letters and
    digits (what Chinese MT output often has), else nothing to change."""
    nfd = unicodedata.normalize("NFD", text)
    if nfd != text:
        return nfd
    if any(ch.isascii() and ch.isalnum() for ch in text):
        return "".join(chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch for ch in text)
    return None


_SEPARATOR = re.compile(r"(?<=\d)[.,](?=\d)")


def punctuation(text: str, lang: str) -> str:
    """Punctuation removed where the answer has some (but a decimal or thousands separator,
    swapped for the other one instead, and a percent sign), else a full stop added."""
    separators = {m.start() for m in _SEPARATOR.finditer(text)}
    out = []
    for i, ch in enumerate(text):
        if i in separators:
            out.append("." if ch == "," else ",")
        elif unicodedata.category(ch)[0] != "P" or ch in "%٪":
            out.append(ch)
    stripped = re.sub(r"\s+", " ", "".join(out)).strip()
    if stripped and stripped != text:
        return stripped
    return text + _FULL_STOP.get(lang, ".")


def word_ending(text: str, lang: str, passage: str, rng: random.Random) -> str | None:
    """The last long word's ending changed (a letter replaced, added or dropped), with letters
    that end words in the same passage; in Thai and Chinese the last of 4+ characters replaced."""
    if lang in _UNSPACED:
        letters = [ch for ch in text if not unicodedata.category(ch).startswith(("M", "P", "Z", "N"))]
        if len(letters) < 4:
            return None
        last = max(i for i, ch in enumerate(text) if ch == letters[-1])
        pool = sorted({ch for ch in passage if unicodedata.category(ch) == "Lo" and ch != text[last]})
        return text[:last] + rng.choice(pool) + text[last + 1 :] if pool else None
    words = list(_WORD.finditer(text))
    if not words:
        return None
    word = words[-1]
    endings = Counter(w.group()[-1] for w in _WORD.finditer(passage))
    pool = sorted(ch for ch in endings if ch != word.group()[-1] and ch.islower() == word.group()[-1].islower())
    if not pool:
        return None
    op = rng.choice(("replace", "replace", "add", "drop"))
    body = word.group()
    if op == "replace":
        new = body[:-1] + rng.choice(pool)
    elif op == "add":
        new = body + rng.choice(pool)
    else:
        new = body[:-1] if len(body) >= 5 else body[:-1] + rng.choice(pool)
    return text[: word.start()] + new + text[word.end() :]


def variants(text: str, lang: str, passage: str, rng: random.Random) -> dict[str, str]:
    out = {"none": text}
    if (cased := toggle_case(text)) is not None:
        out["case"] = cased
    if (form := unicode_form(text)) is not None:
        out["unicode"] = form
    out["punct"] = punctuation(text, lang)
    ending = word_ending(text, lang, passage, rng)
    if ending is not None:
        out["ending"] = ending
    combined = punctuation(ending if ending is not None else text, lang)
    out["all"] = toggle_case(combined) or combined
    return out


# -- outcomes ----------------------------------------------------------------------------------
def core(text: str) -> str:
    """The text without whitespace, case, and punctuation or quotes at its ends."""
    return "".join(ch for ch in text.strip().strip("".join(SENTENCE_PUNCT)) if not ch.isspace()).strip(
        "\"'«»„“”‘’()[]（）《》「」"
    ).casefold()


def outcome(match, gold_start: int, gold_text: str) -> str:
    if match is None:
        return "none"
    if match.start == gold_start and match.text == gold_text:
        return "exact"
    overlaps = match.start < gold_start + len(gold_text) and gold_start < match.end
    if core(match.text) == core(gold_text):
        return "edge" if overlaps else "elsewhere"
    return "overlap" if overlaps else "wrong"


def xquad_table(examples_out: list | None = None) -> None:
    english = {qid: (ctx, answers[0]) for qid, ctx, answers in squad_rows(require(XQUAD / "xquad.en.json"))}
    print("XQuAD: gold answers perturbed as MT perturbs them, found by the fallback matcher")
    print("(exact: the gold span; edge: the gold span but for edge punctuation/quotes; overlap: another span")
    print(" overlapping the gold one; elsewhere: the gold text (but for case and edge punctuation) at another")
    print(" place; wrong: another text at another place; none: not found. base: today's passage.find finds")
    print(" the gold span)")
    header = (f"{'lang':<5}{'kind':<9}{'n':>6}{'exact':>9}{'edge':>6}{'overlap':>8}{'elsewh':>7}{'wrong':>6}"
              f"{'none':>6}{'base':>8}")
    print(header)
    totals: dict[str, Counter] = defaultdict(Counter)
    seconds = 0.0
    calls = 0
    for lang in LANGS:
        rng = random.Random(f"bench-projection-{lang}")
        counts: dict[str, Counter] = defaultdict(Counter)
        for qid, ctx, answers in squad_rows(require(XQUAD / f"xquad.{lang}.json")):
            gold = answers[0]
            en_ctx, en_answer = english[qid]
            anchor = (en_answer["answer_start"] + len(en_answer["text"]) / 2) / len(en_ctx)
            norm = normalise(ctx)
            for kind, text in variants(gold["text"], lang, ctx, rng).items():
                t0 = time.perf_counter()
                match = find_span(text, ctx, anchor=anchor, passage_norm=norm)
                seconds += time.perf_counter() - t0
                calls += 1
                result = outcome(match, gold["answer_start"], gold["text"])
                counts[kind][result] += 1
                counts[kind]["n"] += 1
                counts[kind]["base"] += ctx.find(text) == gold["answer_start"]
                if examples_out is not None and result not in ("exact",):
                    examples_out.append((lang, kind, result, text, gold["text"], match.text if match else None))
        for kind in KINDS:
            c = counts[kind]
            totals[kind].update(c)
            print(f"{lang:<5}{kind:<9}{c['n']:>6}{100 * c['exact'] / c['n']:>8.1f}%{c['edge']:>6}{c['overlap']:>8}"
                  f"{c['elsewhere']:>7}{c['wrong']:>6}{c['none']:>6}{100 * c['base'] / c['n']:>7.1f}%")
    for kind in KINDS:
        c = totals[kind]
        print(f"{'all':<5}{kind:<9}{c['n']:>6}{100 * c['exact'] / c['n']:>8.1f}%{c['edge']:>6}{c['overlap']:>8}"
              f"{c['elsewhere']:>7}{c['wrong']:>6}{c['none']:>6}{100 * c['base'] / c['n']:>7.1f}%")
    print(f"{calls:,} calls, {1000 * seconds / calls:.2f} ms per call (passage normalised once per question)\n")


def squad_pt_table(judge: int) -> None:
    """The Portuguese translation's answers whose text is not at their ``answer_start``."""
    pt = json.loads(require(SQUAD_PT).read_text(encoding="utf-8"))
    en = json.loads(require(SQUAD_EN).read_text(encoding="utf-8"))
    # The two files share article titles and the order of paragraphs and questions (not ids);
    # the Portuguese keeps the first English answer of each question.
    english = {art["title"]: art for art in en["data"]}
    total = 0
    broken = []
    for art in pt["data"]:
        for pi, paragraph in enumerate(art["paragraphs"]):
            for qi, qa in enumerate(paragraph["qas"]):
                for answer in qa.get("answers", []):
                    total += 1
                    ctx, start, text = paragraph["context"], answer["answer_start"], answer["text"]
                    if ctx[start : start + len(text)] == text:
                        continue
                    en_answer = None
                    if art["title"] in english:
                        en_paragraph = english[art["title"]]["paragraphs"][pi]
                        en_answers = en_paragraph["qas"][qi].get("answers") or []
                        if en_answers:
                            en_answer = (en_paragraph["context"], en_answers[0])
                    broken.append((art["title"], qa["question"], ctx, text, start, en_answer))
    texts = Counter(row[3] for row in broken)
    print(f"Portuguese SQuAD 2.0 (third party): {len(broken)} of {total:,} answers are not spans of their passage")
    print(f"  their texts: {dict(texts.most_common(6))}; answer_start -1 for "
          f"{sum(row[4] == -1 for row in broken)}")
    on_own = sum(find_span(row[3], row[2]) is not None for row in broken)
    print(f"  fuzzy matcher on those texts: {on_own} recovered (a placeholder is no answer to find)")
    with_english = [row for row in broken if row[5] is not None]
    found = []
    for row in with_english:
        en_ctx, en_answer = row[5]
        anchor = (en_answer["answer_start"] + len(en_answer["text"]) / 2) / len(en_ctx)
        found.append(find_span(en_answer["text"], row[2], anchor=anchor))
    print(f"  {len(with_english)} of them are in the 16 articles of ../shared/data/squad-v2 (the English); "
          f"the English answer itself as the answer's translation (names and numbers stay): "
          f"{sum(m is not None for m in found)} spans found")
    if judge:
        rng = random.Random("bench-projection-pt")
        sample = rng.sample(range(len(with_english)), min(judge, len(with_english)))
        print(f"\n  a seeded sample of {len(sample)} to judge by reading:")
        for n, i in enumerate(sorted(sample), 1):
            row, match = with_english[i], found[i]
            en_answer = row[5][1]["text"]
            if match is None:
                print(f"  [{n}] EN {en_answer!r} -> not found | Q: {row[1]}")
                continue
            ctx = row[2]
            window = f"{ctx[max(0, match.start - 60) : match.start]}⟦{match.text}⟧{ctx[match.end : match.end + 60]}"
            print(f"  [{n}] EN {en_answer!r} -> {match.text!r} ({match.score:.2f}) | Q: {row[1]}")
            print(f"       …{window}…")
    print()


def attention_check(limit: int = 200) -> None:
    """On the toy model: where do answer tokens' attention maxima put the answer, compared
    with the truth (the cipher) and with the position the sentence anchor projects?"""
    from mtqa.toy_cipher import cipher
    from mtqa.translation.engine import Ct2Translator
    from mtqa.translation.models import resolve_model

    engine = Ct2Translator(resolve_model("toy"), device="cpu", beam_size=1)
    source_sp, target_sp = engine._processors()
    rows = []
    for _, ctx, answers in squad_rows(require(XQUAD / "xquad.en.json")):
        answer = answers[0]
        start = answer["answer_start"]
        left = max(ctx.rfind(". ", 0, start) + 2, 0)
        right = ctx.find(". ", start + len(answer["text"]))
        sentence = ctx[left : right + 1 if right >= 0 else len(ctx)]
        if len(sentence) < 400:
            rows.append((sentence, start - left, start - left + len(answer["text"])))
        if len(rows) >= limit:
            break
    lang = "x-rot13"
    tokens = engine.source_tokens([r[0] for r in rows], lang)
    results = engine.translator.translate_batch(tokens, beam_size=1, return_attention=True, max_decoding_length=512)
    exact = 0
    attention_error = []
    anchor_error = []
    for (sentence, s, e), source, result in zip(rows, tokens, results):
        pieces = list(result.hypotheses[0])
        attention = result.attention[0]
        # Character offsets of every source piece (the language token and </s> carry none).
        src_offsets = _piece_offsets(source_sp, source[1:-1])
        answer_pieces = {i + 1 for i, (a, b) in enumerate(src_offsets) if a < e and s < b}
        tgt_offsets = _piece_offsets(target_sp, pieces)
        aligned = [tgt_offsets[t] for t, row in enumerate(attention[: len(pieces)])
                   if max(range(len(row)), key=row.__getitem__) in answer_pieces]
        translation = target_sp.decode(pieces)
        truth = (s, e) if translation == cipher(sentence, lang) else None
        if truth is None or not aligned:
            continue
        span = (min(a for a, _ in aligned), max(b for _, b in aligned))
        exact += translation[span[0] : span[1]].strip() == translation[s:e]
        attention_error.append(abs((span[0] + span[1]) / 2 - (s + e) / 2))
        relative = (s + e) / 2 / len(sentence)
        anchor_error.append(abs(relative * len(translation) - (s + e) / 2))
    n = len(attention_error)
    print(f"Attention on the toy model ({n} XQuAD answer sentences, {lang}): the argmax-attention span is "
          f"the true span for {exact} ({100 * exact / max(1, n):.1f}%); centre error mean "
          f"{sum(attention_error) / max(1, n):.2f} chars vs {sum(anchor_error) / max(1, n):.2f} for the "
          f"sentence anchor (the cipher keeps every length, so that anchor is exact)")


def _piece_offsets(sp, pieces: list[str]) -> list[tuple[int, int]]:
    """``(start, end)`` of each piece in the decoded text of ``pieces``."""
    offsets = []
    previous = 0
    for i in range(len(pieces)):
        length = len(sp.decode(pieces[: i + 1]))
        offsets.append((previous, length))
        previous = length
    return offsets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judge", type=int, default=0, help="print this many broken Portuguese answers to judge")
    parser.add_argument("--attention", action="store_true", help="measure attention alignment on the toy model")
    parser.add_argument("--examples", action="store_true", help="print the XQuAD misses")
    args = parser.parse_args()
    examples: list | None = [] if args.examples else None
    xquad_table(examples)
    if examples:
        for row in examples:
            print(*row, sep=" | ")
    squad_pt_table(args.judge)
    if args.attention:
        attention_check()


if __name__ == "__main__":
    main()
