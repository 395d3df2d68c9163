"""Write evaluation results: JSON with every number, a Markdown report, a heatmap PNG.

Files in the output folder, named after the benchmark so that one folder can hold several:

- ``<benchmark>.json``: the result dict as returned by the evaluator, plus ``model``;
- ``<benchmark>.md``: the paper's layout (one row per model: mono / cross / multi mAP and
  rank distance), then R@1 / R@10, the per-language detail and the full mAP matrix;
- ``<benchmark>-mAP.png`` (LAReQA only): query language x corpus language mAP heatmap.

Every file is written atomically (:mod:`mtqa.io`).
"""

from __future__ import annotations

import math
from pathlib import Path

from mtqa.io import atomic_path, write_json_atomic

TITLES = {"xquad-r": "XQuAD-R", "mlqa-r": "MLQA-R", "miracl": "MIRACL"}


def _clean(value):
    """JSON-safe copy: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def fmt_rank(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.0f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def lareqa_summary_table(results: list[dict]) -> str:
    """The paper's Table 1 layout: one row per model (a list of LAReQA result dicts)."""
    rows = []
    for r in results:
        m = r["macro"]
        rows.append([r.get("model", r.get("encoder", "?")), fmt(m["mono"]["mAP"]), fmt(m["cross"]["mAP"]),
                     fmt(m["multi"]["mAP"]), fmt_rank(m["rank_distance"])])
    return "\n".join(_table(["model", "mono mAP", "cross mAP", "multi mAP", "rank distance"], rows))


def lareqa_markdown(result: dict) -> str:
    """The Markdown report of one LAReQA evaluation."""
    title = TITLES.get(result["benchmark"], result["benchmark"])
    langs = result["langs"]
    m = result["macro"]
    files = result["data"]["files"]
    lines = [f"# {title}: {result.get('model', result['encoder'])}", ""]
    lines.append(f"{len(langs)} language{'s' if len(langs) != 1 else ''} ({', '.join(langs)}); "
                 f"{m['mono']['settings']} monolingual and "
                 f"{m['cross']['settings']} cross-lingual settings; multilingual pool of "
                 f"{result['multilingual']['candidates']:,} candidates. Ties: {result['tie_rule']}.")
    if result["data"].get("limit_paragraphs"):
        lines.append(f"\n**Subset:** only the first {result['data']['limit_paragraphs']} paragraphs of each file "
                     "(not comparable with full results).")
    lines += ["", lareqa_summary_table([result]), ""]
    lines += _table(["setting", "mAP", "R@1", "R@10", "settings / languages"],
                    [[name, fmt(m[key]["mAP"]), fmt(m[key]["R@1"]), fmt(m[key]["R@10"]),
                      str(m[key].get("settings", m[key].get("langs")))]
                     for name, key in (("mono (X-X)", "mono"), ("cross (X-Y)", "cross"), ("multi (pooled)", "multi"))])
    lines += ["", "## Per query language", ""]
    multi = result["multilingual"]["per_lang"]
    rows = []
    for x in langs:
        p = result["per_lang"][x]
        rows.append([x, str(files[x]["questions"]), str(files[x]["candidates"]), fmt(p["mono_mAP"]), fmt(p["cross_mAP"]),
                     fmt(p["cross_mAP_as_corpus"]), fmt(p["multi_mAP"]), fmt(multi[x]["R@10"]), fmt_rank(p["rank_distance"])])
    lines += _table(["lang", "questions", "candidates", "mono mAP", "cross mAP (as query)", "cross mAP (as corpus)",
                     "multi mAP", "multi R@10", "rank distance"], rows)
    lines += ["", "## mAP matrix (rows: query language, columns: corpus language)", ""]
    matrix = result["matrices"]["mAP"]
    lines += _table(["query \\ corpus", *langs], [[x, *(fmt(v) for v in matrix[i])] for i, x in enumerate(langs)])
    lines += ["", "Data: " + ", ".join(f"{files[x]['file']} sha256 {files[x]['sha256'][:12]}…" for x in langs) + ".",
              f"Encoder: `{result['encoder']}`; mtqa {result['mtqa_version']}.", ""]
    return "\n".join(lines)


def miracl_markdown(result: dict) -> str:
    """The Markdown report of a MIRACL evaluation (``evaluate_miracl``'s dict plus metadata)."""
    lines = [f"# MIRACL: {result.get('model', result.get('encoder', '?'))}", ""]
    rows = []
    for lang, v in sorted(result["per_lang"].items()):
        rows.append([lang, f"{v.get('queries', 0):,}", f"{v.get('corpus_size', 0):,}", fmt(v.get("nDCG@10")),
                     fmt(v.get("R@100"))])
    macro = result.get("macro", {})
    rows.append(["**macro**", "", "", fmt(macro.get("nDCG@10")), fmt(macro.get("R@100"))])
    lines += _table(["lang", "queries", "corpus", "nDCG@10", "R@100"], rows)
    if result.get("encoder"):
        lines += ["", f"Encoder: `{result['encoder']}`; mtqa {result.get('mtqa_version', '?')}."]
    return "\n".join(lines) + "\n"


def write_heatmap(path: Path, result: dict, measure: str = "mAP") -> None:
    """Query language x corpus language heatmap of ``measure``, annotated, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    langs = result["langs"]
    matrix = np.array([[np.nan if v is None else v for v in row] for row in result["matrices"][measure]], dtype=float)
    size = 1.6 + 0.55 * len(langs)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    try:
        image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_xticks(range(len(langs)), langs)
        ax.set_yticks(range(len(langs)), langs)
        ax.set_xlabel("corpus language")
        ax.set_ylabel("query language")
        title = TITLES.get(result["benchmark"], result["benchmark"])
        ax.set_title(f"{title} {measure}: {result.get('model', '')}", fontsize=9)
        for i in range(len(langs)):
            for j in range(len(langs)):
                if not np.isnan(matrix[i, j]):
                    ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="black" if matrix[i, j] > 0.6 else "white")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format="png", dpi=120)
    finally:
        plt.close(fig)


def write_lareqa(out: Path, result: dict) -> list[Path]:
    """Write the JSON, Markdown and heatmap of a LAReQA result into ``out``; returns the paths."""
    out = Path(out)
    name = result["benchmark"]
    paths = [out / f"{name}.json", out / f"{name}.md", out / f"{name}-mAP.png"]
    write_json_atomic(paths[0], _clean(result))
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(lareqa_markdown(result), encoding="utf-8")
    write_heatmap(paths[2], result)
    return paths


def write_miracl(out: Path, result: dict) -> list[Path]:
    """Write the JSON and Markdown of a MIRACL result into ``out``; returns the paths."""
    out = Path(out)
    paths = [out / "miracl.json", out / "miracl.md"]
    write_json_atomic(paths[0], _clean(result))
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
                       cache_dir: Path | None = None, progress: bool = False) -> tuple[dict, list[Path]]:
    """``mtqa eval``: load the encoder, evaluate ``benchmark``, write the results into ``out``.

    ``benchmark`` is ``xquad-r``, ``mlqa-r`` (:func:`mtqa.eval.lareqa.evaluate_lareqa`) or
    ``miracl`` (:func:`mtqa.eval.miracl.evaluate_miracl`; ``data`` is its topics/qrels folder,
    default ``../shared/data/miracl-topics-qrels``). ``cache_dir=None``: no embedding cache.
    Returns the result dict and the files written.
    """
    from mtqa import __version__
    from mtqa.errors import MtqaError
    from mtqa.eval.encoders import EmbeddingCache, load_encoder
    from mtqa.eval.lareqa import BENCHMARK_LANGS, PROJECT_ROOT, evaluate_lareqa, load_lareqa

    if batch_size < 1:
        raise MtqaError(f"batch size must be at least 1, got {batch_size}")
    if benchmark in BENCHMARK_LANGS:
        if corpus is not None:
            raise MtqaError(f"--corpus is for MIRACL; {benchmark} candidates come from --data")
        dataset = load_lareqa(data, benchmark, langs=langs, limit=limit)  # bad data fails before the model loads
    elif benchmark == "miracl":
        if limit is not None:
            raise MtqaError("--limit is for XQuAD-R / MLQA-R, not MIRACL")
        if data is None:
            data = PROJECT_ROOT.parent / "shared" / "data" / "miracl-topics-qrels"
            if not data.is_dir():
                raise MtqaError(f"MIRACL topics and qrels not found at {data}: pass --data DIR")
    else:
        raise MtqaError(f"unknown benchmark {benchmark!r} (known: xquad-r, mlqa-r, miracl)")
    encoder = load_encoder(model, query_prefix=query_prefix, passage_prefix=passage_prefix, device=device,
                           max_length=max_length)
    cache = EmbeddingCache(Path(cache_dir)) if cache_dir is not None else None
    label = label or model_label(model)
    if benchmark == "miracl":
        from mtqa.eval.miracl import evaluate_miracl

        result = evaluate_miracl(encoder, langs=langs, topics_dir=Path(data), corpus=corpus, cache=cache,
                                 batch_size=batch_size, progress=progress)
        result = {"benchmark": "miracl", "model": label, "encoder": encoder.name, "mtqa_version": __version__,
                  "data": {"topics_dir": str(data), "corpus": corpus}, **result}
        return result, write_miracl(out, result)
    result = evaluate_lareqa(encoder, dataset, cache=cache, batch_size=batch_size, progress=progress)
    result = {"model": label, **result}
    return result, write_lareqa(out, result)
