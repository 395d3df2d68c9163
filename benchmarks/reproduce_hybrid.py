"""Reproduce the X-X / X-Y / hybrid comparison of "Hybrid batch training" (arXiv 2408.10536)
on real parallel data, end to end with mtqa: split, build, train, evaluate, report.

1. **Split** XQuAD by article: ``--title-fraction`` of the 48 titles (seeded by
   ``--title-seed``) are for training, the rest are held out; both lists are written to
   ``WORK/titles-train.txt`` and ``WORK/titles-held-out.txt`` and into the report.
2. **Build** the training shards from the training articles' human translations
   (``mtqa build --sources xquad:DIR --no-mt --title-fraction F --title-seed S``), or take
   the user's builds (``--data``).
3. **Train** the same encoder with X-X, X-Y and hybrid (alpha 0.5) batches, with the same
   steps, batch size, learning rate and seeds (``mtqa.train.train``); ``--alphas`` and
   ``--batch-sizes`` add the sweeps (the batch sweep keeps the number of pairs fixed and uses
   the cached loss above ``--mini-batch-size``).
4. **Evaluate** the untrained encoder and every trained one on XQuAD-R restricted to the
   held-out articles (``mtqa eval --titles``); training and evaluation titles are checked
   disjoint against the training shards' own ``title`` column.
5. **Report** the paper's Table 1 (mono / cross / multilingual mAP) and Table 2 (rank
   distance), as mean ± 95% t-interval over seeds, the paper's shape point by point, the
   sweeps, the heatmaps and a plot, between this profile's markers in ``--report`` (default
   docs/reproduction.md; the hand-written text around them is kept).

Profiles (``--profile``): ``cpu`` is reduced to finish within an hour on 2 CPU cores (the
reductions are listed in the report); ``gpu`` is the full run (5 seeds, all 11 XQuAD-R
languages, max_seq_length 256, both sweeps). Every field of a profile can be overridden.
Finished runs are kept in ``--work`` and reused when the command is run again (a model whose
``mtqa_train.json`` exists, an evaluation whose ``xquad-r.json`` exists).

    python benchmarks/reproduce_hybrid.py --profile cpu --model ~/.cache/mtqa-dev/me5-small
    python benchmarks/reproduce_hybrid.py --profile gpu --model intfloat/multilingual-e5-small \\
        --xquad xquad --eval-data lareqa/xquad-r
    # your own training builds, evaluated on the titles they held out:
    python benchmarks/reproduce_hybrid.py --data out/my-train --titles out/my-train --eval-data lareqa/xquad-r

docs/reproduction.md describes the recipe and holds the results.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
sys.path.insert(0, str(BENCHMARKS))
sys.path.insert(0, str(ROOT))

import _repro_report as report  # noqa: E402 (run as python benchmarks/reproduce_hybrid.py)
from _common import SHARED_DATA  # noqa: E402

from mtqa.errors import MtqaError  # noqa: E402
from mtqa.eval.lareqa import BENCHMARK_LANGS  # noqa: E402

logger = logging.getLogger(__name__)

XQUAD_R_LANGS = BENCHMARK_LANGS["xquad-r"]
XX, XY, HYBRID = "xx", "xy", "hybrid"


@dataclass(frozen=True)
class Profile:
    """How big a reproduction is. ``langs``: the training and evaluation languages (None: the
    11 of XQuAD-R); ``steps`` and ``batch_size``: every main run's; ``alphas`` and
    ``batch_sizes``: the sweeps (empty: none); ``reductions``: what the report says this
    profile leaves out of the full run."""

    name: str
    seeds: tuple[int, ...]
    langs: tuple[str, ...] | None
    steps: int
    batch_size: int
    max_seq_length: int
    lr: float = 3e-5
    alpha: float = 0.5
    alphas: tuple[float, ...] = ()
    batch_sizes: tuple[int, ...] = ()
    mini_batch_size: int | None = None
    device: str = "auto"
    precision: str = "auto"
    eval_batch_size: int = 64
    title_fraction: float = 0.75
    title_seed: int = 0
    reductions: tuple[str, ...] = ()


PROFILES = {
    "cpu": Profile(
        name="cpu", seeds=(0, 1, 2), langs=("en", "de", "ar", "zh"), steps=16, batch_size=16, max_seq_length=128,
        device="cpu", precision="fp32",
        reductions=(
            "3 seeds instead of 5 (the 95% t-interval over 3 seeds uses t = 4.30, over 5 t = 2.78)",
            "4 languages (en, de, ar, zh: Latin, Arabic and Chinese scripts) for training and evaluation "
            "instead of the 11 of XQuAD-R; the multilingual pool is 4 languages, so rank distances are "
            "not comparable with an 11-language pool",
            "16 steps of 16 pairs (256 pairs, about 0.3 epoch of the training articles) instead of 100 steps of 64",
            "training texts cut at 128 tokens (max_seq_length; the gpu profile: 256), so the answer of a long "
            "paragraph can fall outside its passage; evaluation is not cut (XQuAD-R candidates are sentences)",
            "no alpha or batch-size sweep",
        )),
    "gpu": Profile(
        name="gpu", seeds=(0, 1, 2, 3, 4), langs=None, steps=100, batch_size=64, max_seq_length=256,
        alphas=(0.0, 0.25, 0.5, 0.75, 1.0), batch_sizes=(16, 32, 64, 128), mini_batch_size=32, device="cuda",
        eval_batch_size=256),
}


@dataclass(frozen=True)
class Variant:
    """One way of training; the seed is not part of it. ``alpha`` is the effective share of
    X-X batches (1 for X-X, 0 for X-Y): hybrid with alpha 0 or 1 *is* X-Y or X-X, so the
    sweeps reuse those runs."""

    sampling: str
    alpha: float
    batch_size: int
    steps: int
    mini_batch_size: int | None = None

    @classmethod
    def for_alpha(cls, alpha: float, batch_size: int, steps: int, mini_batch_size: int | None) -> "Variant":
        sampling = XY if alpha == 0 else XX if alpha == 1 else HYBRID
        mini = mini_batch_size if mini_batch_size is not None and batch_size > mini_batch_size else None
        return cls(sampling, float(alpha), batch_size, steps, mini)

    @property
    def slug(self) -> str:
        parts = [self.sampling + (f"-a{self.alpha:g}" if self.sampling == HYBRID else ""), f"b{self.batch_size}",
                 f"s{self.steps}"]
        if self.mini_batch_size:
            parts.append(f"mb{self.mini_batch_size}")
        return "-".join(parts)

    @property
    def label(self) -> str:
        return {XX: "X-X", XY: "X-Y"}.get(self.sampling, f"hybrid α={self.alpha:g}")

    def params(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Plan:
    """The variants of one reproduction: the main three, then the sweeps (which reuse them)."""

    main: list[Variant]
    alpha: list[Variant] = field(default_factory=list)
    batch: list[Variant] = field(default_factory=list)

    def variants(self) -> list[Variant]:
        return list(dict.fromkeys([*self.main, *self.alpha, *self.batch]))


def make_plan(profile: Profile) -> Plan:
    """X-X, X-Y and hybrid at the profile's batch size and steps; the alpha sweep at the same;
    the batch sweep at the same number of pairs (steps x batch size) for every size."""
    def at(alpha, batch_size=profile.batch_size, steps=profile.steps):
        return Variant.for_alpha(alpha, batch_size, steps, profile.mini_batch_size)

    pairs = profile.steps * profile.batch_size
    return Plan(main=[at(1.0), at(0.0), at(profile.alpha)],
                alpha=[at(a) for a in sorted(set(profile.alphas))],
                batch=[at(profile.alpha, b, max(1, round(pairs / b))) for b in sorted(set(profile.batch_sizes))])


# -- the split and the build ------------------------------------------------------------------


def build_training_shards(xquad: Path, out: Path, fraction: float, seed: int) -> Path:
    """``mtqa build --sources xquad:XQUAD --no-mt --title-fraction F --title-seed S --out OUT``:
    every XQuAD language, the training side of the split only. A finished build is reused
    (mtqa's resume skips its done chunks)."""
    from mtqa.config import load_pipeline
    from mtqa.pipeline.builder import run_build

    if not (Path(xquad) / "xquad.en.json").is_file():
        raise MtqaError(f"--xquad {xquad}: no xquad.en.json there (the folder of github.com/google-deepmind/xquad)")
    config = load_pipeline(None, sources=[f"xquad:{xquad}"], out=str(out), mt=False, langs=["*"],
                           title_fraction=fraction, title_seed=seed)
    run_build(config, progress=False)
    return Path(out)


def shard_titles(builds: list[Path]) -> set[str]:
    """The titles of every row of the training builds' shards: what training can see."""
    import pyarrow.compute as pc

    from mtqa.sampler import read_shards

    from mtqa.train.data import read_build

    titles: set[str] = set()
    for build in builds:
        read_build(build)  # a folder without shards is one line here, not a traceback
        table = read_shards(build, columns=["title"])
        if "title" not in table.column_names:
            raise MtqaError(f"--data {build}: its shards have no title column, so the evaluation articles cannot be "
                            "checked against the training articles")
        titles |= {t for t in pc.unique(table.column("title")).to_pylist() if t is not None}
    return titles


def benchmark_titles(eval_data: Path, langs: list[str] | None) -> list[str]:
    """Every article title of the XQuAD-R files (they share XQuAD's articles)."""
    path = Path(eval_data) / f"{(langs or XQUAD_R_LANGS)[0]}.json"
    try:
        articles = json.loads(path.read_text(encoding="utf-8"))["data"]
        return sorted({a["title"] for a in articles})
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise MtqaError(f"--titles all: cannot read the titles of {path} ({type(e).__name__}: {e})") from None


def held_out_titles(titles_arg: str | None, builds: list[Path], eval_data: Path, langs: list[str] | None) -> list[str]:
    """``--titles`` (a file, a build whose held-out titles to use, or ``all``: every article
    of the benchmark), else the held-out titles of the first training build."""
    from mtqa.readers.titles import read_titles

    if titles_arg == "all":
        return benchmark_titles(eval_data, langs)
    source = titles_arg if titles_arg is not None else str(builds[0])
    try:
        return sorted(read_titles(source))
    except MtqaError as e:
        if titles_arg is None:
            raise MtqaError(f"{e}; pass --titles FILE with the articles to evaluate on") from None
        raise


def check_disjoint(train: set[str], held_out: list[str]) -> None:
    shared = sorted(train & set(held_out))
    if shared:
        raise MtqaError(f"{len(shared)} evaluation title(s) are also in the training shards (e.g. {shared[0]!r}): "
                        "evaluate on articles the builds left out")


def write_lines(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


# -- training and evaluation ------------------------------------------------------------------


def _build_fingerprints(builds: list[Path]) -> list[str | None]:
    fingerprints = []
    for build in builds:
        try:
            manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
            fingerprints.append(manifest.get("identity_sha256"))
        except (OSError, ValueError):
            fingerprints.append(None)
    return fingerprints


def _reusable(record: dict, config, builds: list[Path]) -> str | None:
    """Why the finished run ``record`` (its ``mtqa_train.json``) is not the run ``config``
    asks for, or None when it is: the same identity (every setting that decides the
    weights) and builds with the same manifest fingerprints."""
    want = json.loads(json.dumps(config.identity(), default=str))
    have = record.get("identity") or {}
    for key in sorted(set(want) | set(have)):
        if want.get(key) != have.get(key):
            return f"{key} was {have.get(key)!r}, now {want.get(key)!r}"
    saved = [b.get("identity_sha256") for b in record.get("data", {}).get("builds", [])]
    if saved != _build_fingerprints(builds):
        return "the training builds changed (manifest identity_sha256)"
    return None


def train_run(variant: Variant, seed: int, *, builds: list[Path], model: str, out: Path, profile: Profile,
              langs: list[str] | None) -> dict:
    """Train one (variant, seed) into ``out``, or reuse the finished run there when it is
    the same run; returns its result (steps, seconds, final loss) and whether it was reused."""
    from mtqa.train import TrainConfig, train

    config = TrainConfig(
        data=[str(b) for b in builds], model=model, out=str(out), sampling=variant.sampling, alpha=variant.alpha,
        batch_size=variant.batch_size, mini_batch_size=variant.mini_batch_size, langs=langs, lr=profile.lr,
        max_steps=variant.steps, seed=seed, precision=profile.precision, max_seq_length=profile.max_seq_length,
        checkpoint_steps=variant.steps + 1, checkpoint_limit=1, device=profile.device, progress=False,
        logging_steps=max(1, variant.steps // 4))
    record_path = out / "mtqa_train.json"
    if record_path.is_file():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        why = _reusable(record, config, builds)
        if why:
            raise MtqaError(f"{out} holds a finished run with other settings ({why}): pass another --work")
        return {**record["result"], "reused": True}
    if out.exists():
        if not (out / "mtqa_run.json").is_file() and any(out.iterdir()):
            raise MtqaError(f"{out} holds something other than a training run: pass another --work")
        shutil.rmtree(out)  # a run of ours, interrupted: it saved no checkpoint (checkpoint_steps > steps)
    result = train(config)
    return {**result.to_dict(), "reused": False}


def evaluate(model: str, out: Path, *, label: str, eval_data: Path, langs: list[str] | None, titles: list[str],
             profile: Profile, cache: Path):
    """XQuAD-R on the held-out titles (``mtqa eval --titles``), reused when ``out`` has it."""
    from mtqa.eval.records import LareqaResult
    from mtqa.eval.results import evaluate_and_write

    path = out / "xquad-r.json"
    if path.is_file():
        result = LareqaResult.load(path)
        if set(result.titles or ()) == set(titles) and list(result.langs) == list(langs or XQUAD_R_LANGS):
            return result, True
    result, _ = evaluate_and_write(model, "xquad-r", out, data=eval_data, langs=langs, titles=titles, label=label,
                                   batch_size=profile.eval_batch_size, device=profile.device, cache_dir=cache)
    return result, False


# -- the command -------------------------------------------------------------------------------


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _codes(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--profile", choices=sorted(PROFILES), default="cpu",
                   help="cpu (reduced, about 1 h on 2 cores) or gpu (full)")
    p.add_argument("--model", default="intfloat/multilingual-e5-small",
                   help="the encoder: a sentence-transformers folder or Hub id (default: %(default)s)")
    p.add_argument("--xquad", type=Path, default=SHARED_DATA / "xquad",
                   help="XQuAD's folder (xquad.LANG.json), split by title and built into training shards")
    p.add_argument("--data", type=Path, action="append",
                   help="your own training build(s) (mtqa build --out); repeat for several. Replaces --xquad")
    p.add_argument("--eval-data", type=Path, default=SHARED_DATA / "xquad-r", help="XQuAD-R's folder (lareqa/xquad-r)")
    p.add_argument("--titles", help="evaluate on these articles: a file (one title per line), a build folder (its "
                                    "held-out titles) or 'all'. Default: the held-out titles of the training build")
    p.add_argument("--work", type=Path,
                   help="where builds, models and evaluations go (default: out/reproduce-hybrid-PROFILE)")
    p.add_argument("--report", type=Path, default=ROOT / "docs" / "reproduction.md",
                   help="the Markdown file whose profile block is (re)written (default: %(default)s)")
    p.add_argument("--figures", type=Path,
                   help="folder of the PNGs (default: reproduction/PROFILE beside --report)")
    p.add_argument("--seeds", type=_ints, help="override the profile: comma-separated seeds")
    p.add_argument("--langs", type=_codes, help="override: training and evaluation languages ('all': XQuAD-R's 11)")
    p.add_argument("--steps", type=int, help="override: optimizer steps of every main run")
    p.add_argument("--batch-size", type=int, help="override: pairs per batch of every main run")
    p.add_argument("--max-seq-length", type=int, help="override: tokens per training text")
    p.add_argument("--lr", type=float, help="override: peak learning rate")
    p.add_argument("--alpha", type=float, help="override: the hybrid run's alpha (default 0.5)")
    p.add_argument("--alphas", type=_floats, help="the alpha sweep, e.g. 0,0.25,0.5,0.75,1 (empty: none)")
    p.add_argument("--batch-sizes", type=_ints, help="the batch-size sweep, e.g. 16,32,64,128 (empty: none)")
    p.add_argument("--mini-batch-size", type=int, help="cached loss (GradCache) with chunks of N for batches above N")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="override: where to train and encode")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], help="override: training precision")
    p.add_argument("--eval-batch-size", type=int, help="override: texts per encoder batch in evaluation")
    p.add_argument("--title-fraction", type=float, help="override: share of XQuAD's articles used for training (0.75)")
    p.add_argument("--title-seed", type=int, help="override: the seed of the title split (0)")
    p.add_argument("-v", "--verbose", action="store_true", help="log mtqa's progress lines to stderr")
    return p.parse_args(argv)


def resolve_profile(args: argparse.Namespace) -> Profile:
    """The chosen profile with the command line's overrides; what was overridden is listed
    in the report as a change to the profile."""
    profile = PROFILES[args.profile]
    overrides = {name: getattr(args, name) for name in (
        "seeds", "steps", "batch_size", "max_seq_length", "lr", "alpha", "alphas", "batch_sizes", "mini_batch_size",
        "device", "precision", "eval_batch_size", "title_fraction", "title_seed") if getattr(args, name) is not None}
    if args.langs is not None:
        overrides["langs"] = None if args.langs == ("all",) else args.langs
    profile = dataclasses.replace(profile, **overrides)
    if not profile.seeds:
        raise MtqaError("--seeds names no seed")
    for value, what in ((profile.steps, "--steps"), (profile.batch_size, "--batch-size"),
                        (profile.max_seq_length, "--max-seq-length"), (profile.eval_batch_size, "--eval-batch-size")):
        if value < 1:
            raise MtqaError(f"{what} must be at least 1, got {value}")
    if any(b < 1 for b in profile.batch_sizes):
        raise MtqaError("--batch-sizes must all be at least 1")
    if any(not 0 <= a <= 1 for a in (*profile.alphas, profile.alpha)):
        raise MtqaError("alphas must lie in [0, 1]")
    for lang in profile.langs or ():
        if lang not in XQUAD_R_LANGS:
            raise MtqaError(f"--langs {lang}: XQuAD-R has no such language (it has {', '.join(XQUAD_R_LANGS)})")
    return profile


def shown(path) -> str:
    """A path as the report shows it: relative to the checkout (``out/...``) or to the folder
    beside it (``../shared/data/xquad``), ``~/...`` under the home folder, else as it is."""
    resolved = Path(str(path)).expanduser()
    if not resolved.is_absolute():
        return str(path)
    for base, prefix in ((ROOT, ""), (ROOT.parent, "../"), (Path.home(), "~/")):
        if resolved.is_relative_to(base):
            return prefix + resolved.relative_to(base).as_posix()
    return str(path)


def _git_commit() -> str:
    """HEAD's short hash, marked when the recipe's own files differ from it."""
    def git(*args) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--", "benchmarks/reproduce_hybrid.py", "benchmarks/_repro_report.py")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" (the recipe modified since)" if changed else "")


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _shell_word(arg: str) -> str:
    """A command-line word for the report: paths shown as :func:`shown` does, quoted for a
    shell except a leading ``~/`` (which the shell must still expand)."""
    word = shown(arg) if arg.startswith("/") else arg
    if word.startswith("~/"):
        return "~/" + shlex.quote(word[2:])
    return shlex.quote(word)


def _previous_timing(path: Path) -> dict | None:
    """The timing of the run recorded in ``WORK/record.json``, if any."""
    try:
        timing = json.loads(path.read_text(encoding="utf-8")).get("timing")
    except (OSError, ValueError):
        return None
    return timing if isinstance(timing, dict) and "wall_seconds" in timing else None


def _loss(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _machine(profile: Profile) -> str:
    import torch

    if profile.device != "cpu" and torch.cuda.is_available():
        where = f"GPU {torch.cuda.get_device_name(0)}"
    else:
        where = f"CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    return f"{where}; {platform.python_implementation()} {platform.python_version()}, torch {torch.__version__}"


def run(args: argparse.Namespace, say=print) -> Path:
    """The whole recipe; returns the report's path."""
    started = time.perf_counter()
    load_at_start = _load()
    commit = _git_commit()  # the code that runs is the code at the start
    run_at = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    profile = resolve_profile(args)
    work = (args.work or ROOT / "out" / f"reproduce-hybrid-{profile.name}").expanduser()
    report_path = args.report.expanduser()
    figures = (args.figures or report_path.parent / "reproduction" / profile.name).expanduser()
    langs = list(profile.langs) if profile.langs else None
    phases: dict[str, float] = {}

    # 1-2. the split and the training shards
    t = time.perf_counter()
    if args.data:
        builds = [d.expanduser() for d in args.data]
        split_note = f"your builds: {', '.join(shown(b) for b in builds)}"
    else:
        say(f"build: XQuAD without MT, {profile.title_fraction:g} of the articles (title seed {profile.title_seed})")
        builds = [build_training_shards(args.xquad.expanduser(), work / "build", profile.title_fraction,
                                        profile.title_seed)]
        split_note = (f"`mtqa build --sources xquad:{shown(args.xquad)} --no-mt "
                      f"--title-fraction {profile.title_fraction:g} "
                      f"--title-seed {profile.title_seed}`")
    train_titles = shard_titles(builds)
    eval_titles = held_out_titles(args.titles, builds, args.eval_data.expanduser(), langs)
    check_disjoint(train_titles, eval_titles)
    write_lines(work / "titles-train.txt", sorted(train_titles))
    write_lines(work / "titles-held-out.txt", eval_titles)
    phases["build"] = time.perf_counter() - t
    say(f"split: {len(train_titles)} training articles, {len(eval_titles)} held out ({work / 'titles-held-out.txt'})")

    # 3. training
    plan = make_plan(profile)
    runs = [(v, seed) for v in plan.variants() for seed in profile.seeds]
    trained: dict[tuple[Variant, int], dict] = {}
    t = time.perf_counter()
    for k, (variant, seed) in enumerate(runs, 1):
        info = train_run(variant, seed, builds=builds, model=args.model,
                         out=work / "models" / f"{variant.slug}-seed{seed}", profile=profile, langs=langs)
        trained[variant, seed] = info
        say(f"train {k}/{len(runs)} {variant.label} batch {variant.batch_size} seed {seed}: {info['steps']} steps "
            f"in {info['seconds']:.0f} s, final loss {info['final_loss']}" + (" (reused)" if info["reused"] else "")
            + f"; load {_load()}")
    phases["train"] = time.perf_counter() - t

    # 4. evaluation on the held-out articles
    t = time.perf_counter()
    cache = work / "embeddings"
    results: dict[tuple[Variant, int], object] = {}
    untrained, reused = evaluate(args.model, work / "eval" / "untrained", label="untrained", eval_data=args.eval_data,
                                 langs=langs, titles=eval_titles, profile=profile, cache=cache)
    evals_reused = int(reused)
    say(f"eval untrained: {untrained.summary_row()}" + (" (reused)" if reused else ""))
    for k, (variant, seed) in enumerate(runs, 1):
        slug = f"{variant.slug}-seed{seed}"
        result, reused = evaluate(str(work / "models" / slug), work / "eval" / slug,
                                  label=f"{variant.label} seed {seed}", eval_data=args.eval_data, langs=langs,
                                  titles=eval_titles, profile=profile, cache=cache)
        results[variant, seed] = result
        evals_reused += reused
        row = report.measure_values(result)
        say(f"eval {k}/{len(runs)} {slug}: mono {row['mono']:.3f} cross {row['cross']:.3f} multi {row['multi']:.3f} "
            f"rank distance {row['rank_distance']:,.1f}" + (" (reused)" if reused else "") + f"; load {_load()}")
    phases["eval"] = time.perf_counter() - t

    # 5. the report
    def summary(variant: Variant, label: str | None = None, **params) -> report.VariantSummary:
        return report.VariantSummary(label or variant.label, variant.slug, [results[variant, s] for s in profile.seeds],
                                     seeds=profile.seeds, params={**variant.params(), **params})

    untrained_summary = report.VariantSummary("untrained", "untrained", [untrained])
    main = [summary(v) for v in plan.main]
    alpha = [summary(v, f"{v.alpha:g}") for v in plan.alpha]
    batch = [summary(v, f"{v.batch_size} ({v.steps})") for v in plan.batch]
    pictures = {"mAP heatmaps": report.draw_heatmaps(figures / "heatmaps.png", [untrained_summary, *main]),
                "mAP and rank distance": report.draw_summary(figures / "summary.png", [untrained_summary, *main])}
    if alpha or batch:
        pictures["sweeps"] = report.draw_sweeps(figures / "sweeps.png", alpha, batch)
    command = "python benchmarks/reproduce_hybrid.py " + " ".join(_shell_word(a) for a in (args.argv or []))
    reused_runs = sum(1 for info in trained.values() if info["reused"])
    timing = {"run_at": run_at, "commit": commit,
              "machine": _machine(profile), "load_at_start": load_at_start, "load_at_end": _load(),
              "wall_seconds": round(time.perf_counter() - started, 1),
              "phases": {k: round(v) for k, v in phases.items()}}
    regenerated = None
    previous = _previous_timing(work / "record.json")
    if reused_runs == len(runs) and evals_reused == len(runs) + 1 and previous:
        # nothing was trained or evaluated now: the measured run is the one that did the work
        regenerated, timing = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", previous
    header = [
        f"- Command: `{command.strip()}`",
        f"- Started {timing['run_at']}, mtqa commit {timing['commit']}; {timing['machine']}; load average (1/5/15 min) "
        f"{timing['load_at_start']} at the start, {timing['load_at_end']} at the end",
        f"- Wall time **{timing['wall_seconds'] / 60:.1f} min** (build and split {timing['phases']['build']:.0f} s, "
        f"training {timing['phases']['train']:.0f} s, evaluation {timing['phases']['eval']:.0f} s)"
        + (f"; tables and figures regenerated {regenerated} from the finished runs" if regenerated else
           f"; {reused_runs} of {len(runs)} trained models were reused from an earlier run" if reused_runs else ""),
        f"- Encoder `{shown(args.model)}`; training data {split_note}: {len(train_titles)} articles; languages "
        f"{', '.join(langs or XQUAD_R_LANGS)} (training and evaluation)",
        f"- Each model: {profile.steps} steps of {profile.batch_size} pairs, lr {profile.lr:g} (AdamW, linear warmup "
        f"10% then decay), max_seq_length {profile.max_seq_length}, precision {profile.precision}, seeds "
        f"{', '.join(map(str, profile.seeds))}; hybrid alpha {profile.alpha:g}",
        f"- Evaluation: XQuAD-R ({shown(args.eval_data)}) restricted to the {len(eval_titles)} held-out articles, "
        f"{sum(f.questions for f in untrained.files.values()):,} questions and "
        f"{untrained.pooled_candidates:,} candidates in all; held out: {', '.join(eval_titles)}",
    ]
    if profile.reductions:
        header.append("- Reduced from the full run: " + "; ".join(profile.reductions))
    changed = {f.name: getattr(profile, f.name) for f in dataclasses.fields(Profile)
               if getattr(profile, f.name) != getattr(PROFILES[profile.name], f.name)}
    if changed:
        header.append(f"- Changed from the `{profile.name}` profile by the command line (the line above describes "
                      "the profile as shipped): " + ", ".join(f"{k} {v}" for k, v in changed.items()))
    footer = ["Per run (steps, seconds, final loss): " + "; ".join(
        f"{v.slug} seed {s} {trained[v, s]['steps']} / {trained[v, s]['seconds']:.0f} s / "
        f"{_loss(trained[v, s]['final_loss'])}" for v, s in runs), ""]
    block = report.results_block(profile=profile.name, header_lines=header, untrained=untrained_summary, main=main,
                                 alpha=alpha, batch=batch, figures=pictures, report_dir=report_path.parent,
                                 footer_lines=footer)
    document = report_path.read_text(encoding="utf-8") if report_path.is_file() else ""
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report.splice_block(document, profile.name, block), encoding="utf-8")
    (work / f"report-{profile.name}.md").write_text(block, encoding="utf-8")
    record = {"profile": dataclasses.asdict(profile), "command": command, "timing": timing,
              **({"regenerated_at": regenerated} if regenerated else {}),
              "train_titles": sorted(train_titles), "held_out_titles": eval_titles,
              "builds": [str(b) for b in builds],
              "runs": [{"variant": v.params(), "seed": s, **trained[v, s],
                        "scores": report.measure_values(results[v, s])} for v, s in runs],
              "untrained": report.measure_values(untrained)}
    (work / "record.json").write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    say(f"wrote {report_path} (profile {profile.name}), {figures}, {work / 'record.json'} in "
        f"{(time.perf_counter() - started) / 60:.1f} min")
    return report_path


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    args.argv = argv
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        run(args)
    except MtqaError as e:
        print(f"reproduce_hybrid: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
