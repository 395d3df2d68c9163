"""Tables, intervals and figures of ``benchmarks/reproduce_hybrid.py``.

Everything here works on evaluation records (:class:`mtqa.eval.records.LareqaResult`) grouped
by training variant: one record per seed. :func:`estimate` gives the mean and the 95%
Student-t interval over seeds; :func:`results_block` writes the paper's Table 1 (mono /
cross / multilingual mAP) and Table 2 (rank distance) with those intervals, the check of
the paper's shape, the sweeps and the per-seed numbers as Markdown; the ``draw_*`` functions
draw on bare :class:`matplotlib.figure.Figure` s (no pyplot: the caller's backend is left
alone) and write PNGs atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mtqa.eval.records import LareqaResult
from mtqa.io import atomic_path

#: (key, column heading, higher is better) of the paper's measures, Table 1 then Table 2.
MEASURES = (("mono", "mono mAP", True), ("cross", "cross mAP", True), ("multi", "multi mAP", True),
            ("rank_distance", "rank distance", False))
MAP_MEASURES = MEASURES[:3]

# Two-sided 95% quantiles of Student's t for 1-30 degrees of freedom (standard tables).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_quantile_975(df: int) -> float:
    """t_{0.975, df}: exact to 3 decimals up to 30 degrees of freedom, then the Cornish-Fisher
    expansion around the normal quantile (error below 1e-4 there)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


@dataclass(frozen=True)
class Estimate:
    """A measure over seeds: the mean, the half-width of its 95% t-interval (None for one
    seed) and the values themselves."""

    mean: float
    half_width: float | None
    values: tuple[float, ...]

    @property
    def low(self) -> float:
        return self.mean - (self.half_width or 0.0)

    @property
    def high(self) -> float:
        return self.mean + (self.half_width or 0.0)

    def cell(self, rank: bool = False) -> str:
        """``0.812 ± 0.010`` (mAP) or ``26 ± 3`` (rank distance); the bare mean for one seed."""
        digits = 0 if rank else 3
        text = f"{self.mean:,.{digits}f}"
        if self.half_width is not None:
            text += f" ± {self.half_width:,.{digits}f}"
        return text


def estimate(values: Sequence[float]) -> Estimate:
    """Mean and 95% Student-t interval of ``values`` (one per seed)."""
    values = tuple(float(v) for v in values)
    if not values:
        raise ValueError("no values to estimate from")
    n = len(values)
    mean = sum(values) / n
    if n == 1:
        return Estimate(mean, None, values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return Estimate(mean, t_quantile_975(n - 1) * sd / math.sqrt(n), values)


def measure_values(result: LareqaResult) -> dict[str, float]:
    """The paper's four macro-averages of one evaluation."""
    return {"mono": result.mono.mean_ap, "cross": result.cross.mean_ap, "multi": result.multi.mean_ap,
            "rank_distance": result.rank_distance}


@dataclass
class VariantSummary:
    """One training variant (or the untrained model) over its seeds."""

    label: str
    slug: str
    results: list[LareqaResult]
    seeds: tuple[int, ...] = ()
    params: dict = field(default_factory=dict)  # what sets it apart: sampling, alpha, batch size, steps
    estimates: dict[str, Estimate] = field(init=False)

    def __post_init__(self) -> None:
        if not self.results:
            raise ValueError(f"{self.label}: no evaluation results")
        per_result = [measure_values(r) for r in self.results]
        self.estimates = {key: estimate([v[key] for v in per_result]) for key, _, _ in MEASURES}

    @property
    def langs(self) -> tuple[str, ...]:
        return tuple(self.results[0].langs)

    def mean_matrix(self) -> list[list[float]]:
        """The query x corpus language mAP matrix, averaged over seeds."""
        matrices = [r.matrix("mAP") for r in self.results]
        n = len(matrices)
        return [[sum(m[i][j] for m in matrices) / n for j in range(len(self.langs))] for i in range(len(self.langs))]


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _best(summaries: Sequence[VariantSummary], key: str, higher: bool) -> VariantSummary:
    return (max if higher else min)(summaries, key=lambda s: s.estimates[key].mean)


def measure_table(summaries: Sequence[VariantSummary], measures, first_column: str = "model") -> list[str]:
    """One row per summary, a ``mean ± 95% interval`` cell per measure; the best mean of each
    column among the trained rows (those with seeds) in bold."""
    trained = [s for s in summaries if s.seeds]
    best = {key: _best(trained, key, higher).slug if trained else None for key, _, higher in measures}
    rows = []
    for s in summaries:
        cells = [s.label]
        for key, _, _ in measures:
            cell = s.estimates[key].cell(rank=key == "rank_distance")
            cells.append(f"**{cell}**" if best[key] == s.slug and len(trained) > 1 else cell)
        cells.append(str(len(s.seeds)) if s.seeds else "–")
        rows.append(cells)
    return _table([first_column, *(heading for _, heading, _ in measures), "seeds"], rows)


def shape_check(xx: VariantSummary, xy: VariantSummary, hybrid: VariantSummary) -> list[str]:
    """The paper's shape, point by point: the winner by mean among X-X, X-Y and hybrid, its
    margin over the runner-up, and whether their 95% intervals overlap."""
    trio = [xx, xy, hybrid]
    claims = [("X-X best mono?", "mono", True, xx), ("X-Y best cross?", "cross", True, xy),
              ("Hybrid best multi?", "multi", True, hybrid),
              ("Hybrid lowest rank distance?", "rank_distance", False, hybrid)]
    rows = []
    for question, key, higher, claimed in claims:
        ordered = sorted(trio, key=lambda s: s.estimates[key].mean, reverse=higher)
        winner, runner = ordered[0], ordered[1]
        a, b = winner.estimates[key], runner.estimates[key]
        rank = key == "rank_distance"
        margin = abs(a.mean - b.mean)
        if a.half_width is None or b.half_width is None:
            separated = "one seed: no interval"
        else:
            separated = "intervals overlap" if a.low <= b.high and b.low <= a.high else "intervals apart"
        answer = "yes" if winner is claimed else f"no: {winner.label}"
        rows.append([question, answer, f"{winner.label} {a.cell(rank)}", f"{runner.label} {b.cell(rank)}",
                     f"{margin:,.0f}" if rank else f"{margin:.3f}", separated])
    return _table(["paper's claim", "here", "best", "runner-up", "margin", "95% intervals"], rows)


def per_seed_table(summaries: Sequence[VariantSummary]) -> list[str]:
    rows = []
    for s in summaries:
        for seed, result in zip(s.seeds or ("–",), s.results, strict=True):
            v = measure_values(result)
            rows.append([s.label, str(seed), f"{v['mono']:.4f}", f"{v['cross']:.4f}", f"{v['multi']:.4f}",
                         f"{v['rank_distance']:,.1f}"])
    return _table(["model", "seed", "mono mAP", "cross mAP", "multi mAP", "rank distance"], rows)


def per_language_table(summaries: Sequence[VariantSummary]) -> list[str]:
    """Mono, cross (as query language) and multi mAP per language, means over seeds."""
    langs = summaries[0].langs
    rows = []
    for s in summaries:
        for name, attr in (("mono", "mono_mean_ap"), ("cross", "cross_mean_ap"), ("multi", "multi_mean_ap")):
            means = [sum(getattr(r.per_lang[x], attr) for r in s.results) / len(s.results) for x in langs]
            rows.append([s.label, name, *(f"{m:.3f}" for m in means)])
    return _table(["model", "mAP", *langs], rows)


def _save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)


def draw_heatmaps(path: Path, summaries: Sequence[VariantSummary]) -> Path:
    """Top row: one query x corpus mAP heatmap per summary (means over seeds); bottom row:
    each trained summary minus the first (the untrained model), where the gains and losses are."""
    import numpy as np
    from matplotlib.figure import Figure

    langs = summaries[0].langs
    side = 0.9 + 0.45 * len(langs)
    fig = Figure(figsize=(side * len(summaries) + 1.2, 2 * side + 0.8), layout="constrained")
    axes = fig.subplots(2, len(summaries), squeeze=False)
    base = np.array(summaries[0].mean_matrix(), dtype=float)
    deltas = [np.array(s.mean_matrix(), dtype=float) - base for s in summaries[1:]]
    reach = max([float(np.abs(d).max()) for d in deltas] + [0.01])
    annotate = len(langs) <= 12
    images = {}
    for k, s in enumerate(summaries):
        matrix = np.array(s.mean_matrix(), dtype=float)
        rows = [(axes[0][k], matrix, "viridis", 0.0, 1.0, s.label)]
        if k:
            rows.append((axes[1][k], deltas[k - 1], "RdBu", -reach, reach, f"{s.label} − {summaries[0].label}"))
        else:
            axes[1][0].axis("off")
        for ax, values, cmap, low, high, title in rows:
            images[cmap] = ax.imshow(values, vmin=low, vmax=high, cmap=cmap)
            ax.set_xticks(range(len(langs)), langs, fontsize=7)
            ax.set_yticks(range(len(langs)), langs, fontsize=7)
            ax.set_title(title, fontsize=8)
            if annotate:
                for i in range(len(langs)):
                    for j in range(len(langs)):
                        dark = values[i, j] > 0.6 if cmap == "viridis" else abs(values[i, j]) < 0.6 * reach
                        ax.text(j, i, f"{values[i, j]:+.2f}" if cmap == "RdBu" else f"{values[i, j]:.2f}",
                                ha="center", va="center", fontsize=6, color="black" if dark else "white")
    axes[0][0].set_ylabel("query language", fontsize=8)
    for ax in axes[-1][1:]:
        ax.set_xlabel("corpus language", fontsize=8)
    fig.colorbar(images["viridis"], ax=list(axes[0]), fraction=0.02, label="mAP")
    if "RdBu" in images:
        fig.colorbar(images["RdBu"], ax=list(axes[1]), fraction=0.02, label="mAP difference")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def draw_summary(path: Path, summaries: Sequence[VariantSummary]) -> Path:
    """Left: mono / cross / multi mAP per model with 95% intervals; right: rank distance."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
    width = 0.8 / len(summaries)
    for k, s in enumerate(summaries):
        xs = [i + (k - (len(summaries) - 1) / 2) * width for i in range(len(MAP_MEASURES))]
        means = [s.estimates[key].mean for key, _, _ in MAP_MEASURES]
        errors = [s.estimates[key].half_width or 0.0 for key, _, _ in MAP_MEASURES]
        left.bar(xs, means, width, yerr=errors, capsize=3, label=s.label)
        e = s.estimates["rank_distance"]
        right.bar([k], [e.mean], 0.7, yerr=[e.half_width or 0.0], capsize=3, color=f"C{k}")
    left.set_xticks(range(len(MAP_MEASURES)), [heading for _, heading, _ in MAP_MEASURES])
    left.set_ylabel("mAP (mean, 95% interval over seeds)")
    left.set_ylim(0, 1)
    left.legend(fontsize=8, loc="lower left")
    right.set_xticks(range(len(summaries)), [s.label for s in summaries], rotation=30, ha="right", fontsize=8)
    right.set_ylabel("rank distance (lower is better)")
    _save(fig, path)
    return path


def draw_sweeps(path: Path, alpha: Sequence[VariantSummary], batch: Sequence[VariantSummary]) -> Path:
    """mAP and rank distance against alpha and against the batch size (whichever ran)."""
    from matplotlib.figure import Figure

    panels = [(name, group, key) for name, group, key in (("alpha (share of X-X batches)", alpha, "alpha"),
                                                          ("batch size", batch, "batch_size")) if group]
    fig = Figure(figsize=(5.2 * len(panels), 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, group, key) in zip(axes, panels, strict=True):
        xs = [s.params[key] for s in group]
        for m, (measure, heading, _) in enumerate(MAP_MEASURES):
            means = [s.estimates[measure].mean for s in group]
            errors = [s.estimates[measure].half_width or 0.0 for s in group]
            ax.errorbar(xs, means, yerr=errors, marker="o", capsize=3, label=heading, color=f"C{m}")
        ax.set_xlabel(name)
        ax.set_ylabel("mAP")
        if key == "batch_size":
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [str(x) for x in xs])
        twin = ax.twinx()
        twin.plot(xs, [s.estimates["rank_distance"].mean for s in group], marker="s", linestyle="--", color="C3",
                  label="rank distance")
        twin.set_ylabel("rank distance", color="C3")
    handles = [*axes[0].get_legend_handles_labels()[0], *twin.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles), fontsize=8)
    _save(fig, path)
    return path


def relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(start).resolve())).as_posix()


def results_block(*, profile: str, header_lines: Sequence[str], untrained: VariantSummary,
                  main: Sequence[VariantSummary], alpha: Sequence[VariantSummary], batch: Sequence[VariantSummary],
                  figures: dict[str, Path], report_dir: Path, footer_lines: Sequence[str] = ()) -> str:
    """The generated Markdown of one profile's run: setup, Table 1, Table 2, the paper's
    shape, the sweeps, the figures and the per-seed numbers."""
    rows = [untrained, *main]
    lines = [f"### Results: profile `{profile}` (generated by benchmarks/reproduce_hybrid.py)", "", *header_lines, ""]
    lines += ["**Table 1** (XQuAD-R, held-out articles; mean ± 95% interval over seeds)", ""]
    lines += measure_table(rows, MAP_MEASURES) + [""]
    lines += ["**Table 2** (rank distance: lower means the language versions of an answer rank closer together)", ""]
    lines += measure_table(rows, MEASURES[3:]) + [""]
    by_sampling = {s.params.get("sampling"): s for s in main}
    if {"xx", "xy", "hybrid"} <= set(by_sampling):
        lines += ["**The paper's shape, point by point** (among the three trained models)", ""]
        lines += shape_check(by_sampling["xx"], by_sampling["xy"], by_sampling["hybrid"]) + [""]
    if alpha:
        lines += ["**Sweep over alpha** (hybrid; alpha 0 is X-Y, alpha 1 is X-X)", ""]
        lines += measure_table(alpha, MEASURES, first_column="alpha") + [""]
    if batch:
        lines += ["**Sweep over the batch size** (hybrid, alpha 0.5; the same number of pairs for every size)", ""]
        lines += measure_table(batch, MEASURES, first_column="batch size (steps)") + [""]
    for name, path in figures.items():
        lines += [f"![{name}]({relative(path, report_dir)})", ""]
    lines += ["<details><summary>Per seed, per language</summary>", ""]
    every = {s.slug: s for s in [*rows, *alpha, *batch]}  # the sweeps share runs with the main rows
    lines += per_seed_table(list(every.values())) + [""]
    lines += per_language_table(rows) + ["", "</details>", ""]
    lines += list(footer_lines)
    return "\n".join(lines).rstrip() + "\n"


def begin_marker(profile: str) -> str:
    return f"<!-- reproduce_hybrid:{profile}:begin -->"


def end_marker(profile: str) -> str:
    return f"<!-- reproduce_hybrid:{profile}:end -->"


def splice_block(document: str, profile: str, block: str) -> str:
    """``document`` with the text between the profile's markers replaced by ``block`` (the
    block appended, with its markers, when the document has none); the hand-written text
    around the markers is kept."""
    begin, end = begin_marker(profile), end_marker(profile)
    framed = f"{begin}\n{block.rstrip()}\n{end}"
    start = document.find(begin)
    if start < 0:
        return (document.rstrip() + "\n\n" if document.strip() else "") + framed + "\n"
    stop = document.find(end, start)
    if stop < 0:
        raise ValueError(f"{begin} has no matching {end}")
    return document[:start] + framed + document[stop + len(end):]
