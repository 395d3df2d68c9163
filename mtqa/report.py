"""``mtqa report OUT_DIR``: what the quality filter kept and failed, per language and reason,
and how the machine-translated answers were projected, per language and method.

Needs a finished build's ``OUT_DIR/manifest.json`` (the filter stage's counts, see
:mod:`mtqa.pipeline.stats`). Gives the per-language table as text, and writes
``OUT_DIR/report/filter.md`` (the table, with the chart embedded) and
``OUT_DIR/report/filter.png`` (bars per language: kept rows and the rows failing each
reason; a row failing two checks is in both bars). Written atomically. The Markdown also
counts the rows in ``data/`` per language and split from the shards themselves (with polars),
and refuses a directory whose shards disagree with its manifest. A build that projected
answers (``docs/projection.md``) gets a second table, in the text and the Markdown: the
answers per language by method (``marker``, ``exact``, ``fuzzy``, ``none``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from mtqa.pipeline.manifest import LanguageFilterCounts as LanguageRow
from mtqa.pipeline.manifest import LanguageProjectionCounts, Manifest
from mtqa.errors import MtqaError
from mtqa.io import atomic_path

logger = logging.getLogger(__name__)


def read_manifest(out_dir: str | Path) -> Manifest:
    return Manifest.load(out_dir)


def filter_table(manifest: Manifest) -> tuple[list[LanguageRow], list[str]]:
    """Per-language rows (source language included) and the reasons that occur, in order."""
    rows = manifest.filter_by_language()
    reasons = sorted({r for row in rows for r in row.failed})
    return rows, reasons


def shard_counts(out_dir: Path, manifest: Manifest) -> list[dict]:
    """Rows per language and split, read from the shards themselves (polars scans the Arrow
    files lazily, reading two columns), checked against the manifest's counts."""
    import polars as pl

    paths = [out_dir / f.path for f in manifest.files]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise MtqaError(f"{missing[0]} is in the manifest but not on disk: the build directory is incomplete")
    if not paths:
        return []
    counts = (pl.scan_ipc(paths).group_by("lang", "split").agg(pl.len().alias("rows"))
              .sort("lang", "split").collect().to_dicts())
    per_lang: dict[str, int] = {}
    for row in counts:
        per_lang[row["lang"]] = per_lang.get(row["lang"], 0) + row["rows"]
    if per_lang != manifest.langs:
        raise MtqaError(f"{out_dir}: the shards hold {per_lang} rows per language, the manifest says "
                        f"{manifest.langs}; the directory does not match its manifest")
    order = manifest.lang_order
    return sorted(counts, key=lambda r: (order.index(r["lang"]) if r["lang"] in order else len(order), r["lang"]))


def format_table(rows: list[LanguageRow], reasons: list[str], markdown: bool = False) -> str:
    head = ["language", "rows", "kept", "% kept", *(f"failed: {r}" for r in reasons)]
    body = [[r.lang, f"{r.rows:,}", f"{r.kept:,}", f"{r.kept_share:.2%}", *(f"{r.failed[x]:,}" for x in reasons)]
            for r in rows]
    total_rows, total_kept = sum(r.rows for r in rows), sum(r.kept for r in rows)
    body.append(["all", f"{total_rows:,}", f"{total_kept:,}", f"{total_kept / total_rows:.2%}" if total_rows else "-",
                 *(f"{sum(r.failed[x] for r in rows):,}" for x in reasons)])
    return _layout(head, body, markdown)


def _layout(head: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
                     for cells in [head, *body])


def format_projection(rows: list[LanguageProjectionCounts], markdown: bool = False) -> str:
    """Machine-translated answers per language by projection method, with the share given a
    span; a column for answers the source gives as free text only where there are any."""
    methods = ["marker", "exact", "fuzzy", "none"]
    unlocated = any(r.unlocated for r in rows)
    head = ["language", "answers", *methods, "% projected", *(["free text"] if unlocated else [])]

    def cells(lang: str, counts: list[dict], free: int) -> list[str]:
        total = {m: sum(c[m] for c in counts) for m in methods}
        answers = sum(total.values())
        share = f"{(answers - total['none']) / answers:.2%}" if answers else "-"
        return [lang, f"{answers:,}", *(f"{total[m]:,}" for m in methods), share,
                *([f"{free:,}"] if unlocated else [])]

    body = [cells(r.lang, [r.by_method()], r.unlocated) for r in rows]
    body.append(cells("all", [r.by_method() for r in rows], sum(r.unlocated for r in rows)))
    return _layout(head, body, markdown)


def plot(rows: list[LanguageRow], reasons: list[str], path: Path) -> bool:
    """Write the bar chart; False (and nothing written) without matplotlib (``mtqa[plots]``)."""
    try:
        # A Figure of its own needs no pyplot and leaves the caller's matplotlib backend alone.
        from matplotlib.figure import Figure
    except ImportError:
        logger.warning("matplotlib is not installed: no %s (pip install 'mtqa[plots]')", path.name)
        return False
    import numpy as np

    series = [("kept", [r.kept for r in rows])] + [(f"failed: {x}", [r.failed[x] for r in rows]) for x in reasons]
    x = np.arange(len(rows))
    width = 0.8 / len(series)
    fig = Figure(figsize=(max(7.0, 1.2 * len(rows) + 4), 4.5))
    ax = fig.subplots()
    for k, (label, values) in enumerate(series):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, [r.lang for r in rows])
    ax.set_ylabel("rows")
    ax.set_title("Quality filter: kept and failed rows per language")
    if any(r.failed[x] for r in rows for x in reasons):
        ax.set_yscale("symlog", linthresh=1)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return True


def write_report(out_dir: str | Path) -> tuple[str, list[Path]]:
    """Read the manifest, write ``report/filter.md`` and ``report/filter.png``; return the
    text table and the paths written."""
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    rows, reasons = filter_table(manifest)
    splits = shard_counts(out_dir, manifest)
    report = out_dir / "report"
    png = report / "filter.png"
    plotted = plot(rows, reasons, png)
    mode = manifest.pipeline.get("filter", {}).get("mode", "drop")
    rejected = manifest.rejected.get("rows", 0)
    where = (f"Failed rows are under `rejected/` ({rejected:,} rows)." if mode == "drop"
             else "Every row is under `data/`; failed rows have `keep = false`.")
    projection = manifest.projection_counts()
    md = "\n".join([
        f"# Quality filter report: {out_dir.name}",
        "",
        f"Mode `{mode}`. {where} A row failing two checks counts under both reasons; "
        "source-language rows are never failed.",
        "",
        format_table(rows, reasons, markdown=True),
        "",
        "Rows in `data/` per language and split, counted from the shards:",
        "",
        "| language | split | rows |",
        "|---|---|---:|",
        *(f"| {r['lang']} | {r['split']} | {r['rows']:,} |" for r in splits),
        "",
        *(["![kept and failed rows per language](filter.png)", ""] if plotted else []),
        *(["## Answer projection", "",
           "Machine-translated answers by the method that located them in the translated passage "
           "(docs/projection.md): `marker` the markers of the answer's marked sentence, `exact` or `fuzzy` "
           "the answer translated on its own, `none` not located (`answer_start` -1; the filter's "
           "`answer_lost` fails a row none of whose answers is located).", "",
           format_projection(projection, markdown=True), ""] if projection else []),
    ])
    path = report / "filter.md"
    with atomic_path(path) as tmp:
        tmp.write_text(md, encoding="utf-8")
    text = format_table(rows, reasons)
    if projection:
        text += "\n\nanswers by projection method\n" + format_projection(projection)
    return text, [path, *([png] if plotted else [])]
