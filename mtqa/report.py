"""``mtqa report OUT_DIR``: what the quality filter kept and failed, per language and reason.

Needs a finished build's ``OUT_DIR/manifest.json`` (the filter stage's counts, see
:mod:`mtqa.stats`). Gives the per-language table as text, and writes
``OUT_DIR/report/filter.md`` (the table, with the chart embedded) and
``OUT_DIR/report/filter.png`` (bars per language: kept rows and the rows failing each
reason; a row failing two checks is in both bars). Written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mtqa import stats as S
from mtqa.errors import MtqaError
from mtqa.io import atomic_path


@dataclass(slots=True)
class LanguageRow:
    lang: str
    rows: int
    kept: int
    failed: dict[str, int]  # reason -> rows failing it

    @property
    def kept_share(self) -> float:
        return self.kept / self.rows if self.rows else 0.0


def read_manifest(out_dir: str | Path) -> dict:
    path = Path(out_dir) / "manifest.json"
    if not path.is_file():
        raise MtqaError(f"{path} not found: run `mtqa build --out {out_dir}` first (or finish all its partitions)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise MtqaError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("stages"), dict):
        raise MtqaError(f"{path} is not an mtqa build manifest (no 'stages')")
    return manifest


def filter_table(manifest: dict) -> tuple[list[LanguageRow], list[str]]:
    """Per-language rows (source language included) and the reasons that occur, in order."""
    stage = manifest["stages"].get("filter")
    counts = stage.get("counts") if isinstance(stage, dict) else None
    if not isinstance(counts, dict):
        raise MtqaError("the manifest has no filter counts (a build without the filter stage?)")
    prefix = f"{S.ROWS}:"
    langs = [key[len(prefix):] for key in counts if key.startswith(prefix)]
    if not langs:
        raise MtqaError("the manifest's filter counts have no per-language rows (built by an older mtqa?)")
    reasons = sorted({key[len(S.FAILED_PREFIX):].split(":")[0] for key in counts
                      if key.startswith(S.FAILED_PREFIX) and ":" in key})
    pipeline = manifest.get("pipeline", {})
    order = [pipeline.get("source_lang", "en"), *pipeline.get("langs", [])]
    langs.sort(key=lambda lang: (order.index(lang) if lang in order else len(order), lang))
    rows = [
        LanguageRow(
            lang=lang,
            rows=int(counts.get(S.per_lang(S.ROWS, lang), 0)),
            kept=int(counts.get(S.per_lang(S.KEPT, lang), 0)),
            failed={r: int(counts.get(S.failed_key(r, lang), 0)) for r in reasons},
        )
        for lang in langs
    ]
    return rows, reasons


def format_table(rows: list[LanguageRow], reasons: list[str], markdown: bool = False) -> str:
    head = ["language", "rows", "kept", "% kept", *(f"failed: {r}" for r in reasons)]
    body = [[r.lang, f"{r.rows:,}", f"{r.kept:,}", f"{r.kept_share:.2%}", *(f"{r.failed[x]:,}" for x in reasons)]
            for r in rows]
    total_rows, total_kept = sum(r.rows for r in rows), sum(r.kept for r in rows)
    body.append(["all", f"{total_rows:,}", f"{total_kept:,}", f"{total_kept / total_rows:.2%}" if total_rows else "-",
                 *(f"{sum(r.failed[x] for r in rows):,}" for x in reasons)])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    fmt = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join(fmt(cells) for cells in [head, *body])


def plot(rows: list[LanguageRow], reasons: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    series = [("kept", [r.kept for r in rows])] + [(f"failed: {x}", [r.failed[x] for r in rows]) for x in reasons]
    x = np.arange(len(rows))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.2 * len(rows) + 4), 4.5))
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
    plt.close(fig)


def write_report(out_dir: str | Path) -> tuple[str, Path]:
    """Read the manifest, write ``report/filter.md`` and ``report/filter.png``; return the
    text table and the Markdown file's path."""
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    rows, reasons = filter_table(manifest)
    report = out_dir / "report"
    plot(rows, reasons, report / "filter.png")
    mode = manifest.get("pipeline", {}).get("filter", {}).get("mode", "drop")
    rejected = manifest.get("rejected", {}).get("rows", 0)
    where = (f"Failed rows are under `rejected/` ({rejected:,} rows)." if mode == "drop"
             else "Every row is under `data/`; failed rows have `keep = false`.")
    md = "\n".join([
        f"# Quality filter report: {out_dir.name}",
        "",
        f"Mode `{mode}`. {where} A row failing two checks counts under both reasons; "
        "source-language rows are never failed.",
        "",
        format_table(rows, reasons, markdown=True),
        "",
        "![kept and failed rows per language](filter.png)",
        "",
    ])
    path = report / "filter.md"
    with atomic_path(path) as tmp:
        tmp.write_text(md, encoding="utf-8")
    return format_table(rows, reasons), path
