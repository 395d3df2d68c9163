"""Write evaluation results: JSON with every number, a Markdown report, a heatmap PNG.

Files in the output folder, named after the benchmark so that one folder can hold several:

- ``<benchmark>.json``: :meth:`LareqaResult.to_dict` / :meth:`MiraclResult.to_dict`
  (read back with :func:`mtqa.eval.records.load_result`);
- ``<benchmark>.md``: the paper's layout (one row per model: mono / cross / multi mAP and
  rank distance), then R@1 / R@10, the per-language detail and the full mAP matrix;
- ``<benchmark>-mAP.png`` (LAReQA only): query language x corpus language mAP heatmap.

Every file is written atomically (:mod:`mtqa.io`). :func:`summary_markdown` gives the
headline tables of any number of results, for a model card.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Sequence

from mtqa.errors import MtqaError
from mtqa.eval.records import EvalResult, LareqaResult, MiraclResult
from mtqa.io import atomic_path, write_json_atomic

logger = logging.getLogger(__name__)

LAREQA_SUMMARY_COLUMNS = ("model", "mono mAP", "cross mAP", "multi mAP", "rank distance")
MIRACL_SUMMARY_COLUMNS = ("model", "nDCG@10", "R@100")


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def fmt_rank(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f}"


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _summary_cells(row: dict) -> list[str]:
    return [str(value) if column == "model" else fmt_rank(value) if column == "rank distance" else fmt(value)
            for column, value in row.items()]


def lareqa_summary_table(results: Sequence[LareqaResult]) -> str:
    """The paper's Table 1 layout: one row per model (mono / cross / multi mAP, rank distance)."""
    return "\n".join(_table(LAREQA_SUMMARY_COLUMNS, [_summary_cells(r.summary_row()) for r in results]))


def miracl_summary_table(results: Sequence[MiraclResult]) -> str:
    """One row per model: macro nDCG@10 and R@100."""
    return "\n".join(_table(MIRACL_SUMMARY_COLUMNS, [_summary_cells(r.summary_row()) for r in results]))


def summary_markdown(results: Sequence[EvalResult], heading_level: int = 3) -> str:
    """The headline table of each benchmark among ``results`` (one row per result), under a
    heading per benchmark, in the order the benchmarks first appear: the evaluation section
    of a model card or a comparison of models."""
    by_benchmark: dict[str, list[EvalResult]] = {}
    for r in results:
        by_benchmark.setdefault(r.benchmark, []).append(r)
    parts = []
    for benchmark, group in by_benchmark.items():
        table = miracl_summary_table(group) if benchmark == "miracl" else lareqa_summary_table(group)
        note = ""
        if any(getattr(r, "limit_paragraphs", None) for r in group):
            note = "\n\nSubset: only the first paragraphs of each file (not comparable with full results)."
        restricted = {len(r.titles) for r in group if getattr(r, "titles", None) is not None}
        if restricted:
            note += f"\n\nRestricted to {', '.join(map(str, sorted(restricted)))} article titles (held-out articles)."
        parts.append(f"{'#' * heading_level} {group[0].title}\n\n{table}{note}")
    return "\n\n".join(parts) + "\n"


def lareqa_markdown(result: LareqaResult) -> str:
    """The Markdown report of one LAReQA evaluation."""
    r = result
    langs = list(r.langs)
    lines = [f"# {r.title}: {r.label}", ""]
    lines.append(f"{len(langs)} language{'s' if len(langs) != 1 else ''} ({', '.join(langs)}); "
                 f"{r.mono.count} monolingual and {r.cross.count} cross-lingual settings; multilingual pool of "
                 f"{r.pooled_candidates:,} candidates. Ties: {r.tie_rule}.")
    if r.limit_paragraphs:
        lines.append(f"\n**Subset:** only the first {r.limit_paragraphs} paragraphs of each file "
                     "(not comparable with full results).")
    if r.titles is not None:
        lines.append(f"\n**Restricted** to the {len(r.titles)} articles titled: {', '.join(r.titles)}.")
    lines += ["", lareqa_summary_table([r]), ""]
    lines += _table(["setting", "mAP", "R@1", "R@10", "settings / languages"],
                    [[name, fmt(m.mean_ap), fmt(m.recall_at_1), fmt(m.recall_at_10), str(m.count)]
                     for name, m in (("mono (X-X)", r.mono), ("cross (X-Y)", r.cross), ("multi (pooled)", r.multi))])
    lines += ["", "## Per query language", ""]
    rows = []
    for x in langs:
        p, f = r.per_lang[x], r.files[x]
        rows.append([x, str(f.questions), str(f.candidates), fmt(p.mono_mean_ap), fmt(p.cross_mean_ap),
                     fmt(p.cross_mean_ap_as_corpus), fmt(p.multi_mean_ap), fmt(r.pooled[x].recall_at_10),
                     fmt_rank(p.rank_distance)])
    lines += _table(["lang", "questions", "candidates", "mono mAP", "cross mAP (as query)", "cross mAP (as corpus)",
                     "multi mAP", "multi R@10", "rank distance"], rows)
    lines += ["", "## mAP matrix (rows: query language, columns: corpus language)", ""]
    matrix = r.matrix("mAP")
    lines += _table(["query \\ corpus", *langs], [[x, *(fmt(v) for v in row)] for x, row in zip(langs, matrix)])
    lines += ["", "Data: " + ", ".join(f"{r.files[x].file} sha256 {r.files[x].sha256[:12]}…" for x in langs) + ".",
              f"Encoder: `{r.encoder}`; mtqa {r.mtqa_version}.", ""]
    return "\n".join(lines)


def miracl_markdown(result: MiraclResult) -> str:
    """The Markdown report of a MIRACL evaluation."""
    lines = [f"# MIRACL: {result.label}", ""]
    rows = [[lang, f"{v.queries:,}", f"{v.corpus_size:,}", fmt(v.ndcg_at_10), fmt(v.recall_at_100)]
            for lang, v in sorted(result.per_lang.items())]
    rows.append(["**macro**", "", "", fmt(result.macro.ndcg_at_10), fmt(result.macro.recall_at_100)])
    lines += _table(["lang", "queries", "corpus", "nDCG@10", "R@100"], rows)
    lines += ["", f"Encoder: `{result.encoder}`; mtqa {result.mtqa_version}."]
    return "\n".join(lines) + "\n"


def write_heatmap(path: Path, result: LareqaResult, measure: str = "mAP") -> None:
    """Query language x corpus language heatmap of ``measure``, annotated, written atomically.

    Drawn on a bare :class:`matplotlib.figure.Figure`: no pyplot, so the caller's backend and
    open figures are left alone.
    """
    import numpy as np
    from matplotlib.figure import Figure

    langs = list(result.langs)
    matrix = np.array([[np.nan if v is None else v for v in row] for row in result.matrix(measure)], dtype=float)
    size = 1.6 + 0.55 * len(langs)
    fig = Figure(figsize=(size + 1.2, size))
    ax = fig.subplots()
    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis")
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(len(langs)), langs)
    ax.set_xlabel("corpus language")
    ax.set_ylabel("query language")
    ax.set_title(f"{result.title} {measure}: {result.model or ''}", fontsize=9)
    for i in range(len(langs)):
        for j in range(len(langs)):
            if not np.isnan(matrix[i, j]):
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if matrix[i, j] > 0.6 else "white")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", dpi=120)


def write_lareqa(out: Path, result: LareqaResult) -> list[Path]:
    """Write the JSON, Markdown and heatmap of a LAReQA result into ``out``; returns the paths."""
    out = Path(out)
    name = result.benchmark
    paths = [out / f"{name}.json", out / f"{name}.md", out / f"{name}-mAP.png"]
    write_json_atomic(paths[0], result.to_dict())
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(lareqa_markdown(result), encoding="utf-8")
    write_heatmap(paths[2], result)
    return paths


def write_miracl(out: Path, result: MiraclResult) -> list[Path]:
    """Write the JSON and Markdown of a MIRACL result into ``out``; returns the paths."""
    out = Path(out)
    paths = [out / "miracl.json", out / "miracl.md"]
    write_json_atomic(paths[0], result.to_dict())
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(miracl_markdown(result), encoding="utf-8")
    return paths


def model_label(model) -> str:
    """A short name for tables: the folder name (its parent's too when it is just ``model``), or the Hub id."""
    if callable(model) and not isinstance(model, (str, Path)):
        return getattr(model, "__name__", type(model).__name__)
    path = Path(str(model).rstrip("/"))
    if path.name.lower() in {"model", "models", "final", "checkpoint"} and path.parent.name:
        return f"{path.parent.name}/{path.name}"
    return path.name if path.is_dir() else str(model)


def evaluate_and_write(model, benchmark: str, out: Path, *, data: Path | None = None, corpus: str | None = None,
                       langs: list[str] | None = None, limit: int | None = None, label: str | None = None,
                       batch_size: int = 64, device: str = "auto", max_length: int = 512,
                       query_prefix: str | None = None, passage_prefix: str | None = None,
                       cache_dir: Path | None = None, progress: bool = False,
                       titles: Sequence[str] | None = None) -> tuple[LareqaResult | MiraclResult, list[Path]]:
    """``mtqa eval``: load the encoder, evaluate ``benchmark``, write the results into ``out``.

    ``benchmark`` is ``xquad-r``, ``mlqa-r`` (:func:`mtqa.eval.lareqa.evaluate_lareqa`; ``data``
    is the benchmark's folder of the LAReQA repository) or ``miracl``
    (:func:`mtqa.eval.miracl.evaluate_miracl`; ``data`` is its topics/qrels folder). ``data``
    is required; without it the error says where to get it. ``cache_dir=None``: no embedding
    cache. ``titles``: XQuAD-R / MLQA-R only, just those articles (queries and candidates).
    Returns the result record and the files written.
    """
    from mtqa.config_fields import Benchmark
    from mtqa.eval.embedding_cache import EmbeddingCache
    from mtqa.eval.encoders import load_encoder
    from mtqa.eval.lareqa import BENCHMARK_LANGS, evaluate_lareqa, load_lareqa
    from mtqa.eval.miracl import evaluate_miracl, missing_data_message

    if batch_size < 1:
        raise MtqaError(f"batch size must be at least 1, got {batch_size}")
    # bad data fails before the model loads
    if benchmark in BENCHMARK_LANGS:
        if corpus is not None:
            raise MtqaError(f"--corpus is for MIRACL; {benchmark} candidates come from --data")
        dataset = load_lareqa(data, benchmark, langs=langs, limit=limit, titles=titles)
    elif benchmark == "miracl":
        if limit is not None:
            raise MtqaError("--limit is for XQuAD-R / MLQA-R, not MIRACL")
        if titles is not None:
            raise MtqaError("--titles is for XQuAD-R / MLQA-R, not MIRACL")
        if data is None:
            raise MtqaError(missing_data_message())
    else:
        raise MtqaError(f"unknown benchmark {benchmark!r} (known: {', '.join(Benchmark.values())})")
    encoder = load_encoder(model, query_prefix=query_prefix, passage_prefix=passage_prefix, device=device,
                           max_length=max_length)
    cache = EmbeddingCache(Path(cache_dir)) if cache_dir is not None else None
    label = label or model_label(model)
    if benchmark == "miracl":
        result = evaluate_miracl(encoder, langs=langs, topics_dir=Path(data), corpus=corpus, cache=cache,
                                 batch_size=batch_size, progress=progress, label=label)
        paths = write_miracl(out, result)
    else:
        result = evaluate_lareqa(encoder, dataset, cache=cache, batch_size=batch_size, progress=progress, label=label)
        paths = write_lareqa(out, result)
    logger.info("wrote %s", ", ".join(str(p) for p in paths))
    return result, paths
