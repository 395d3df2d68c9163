"""``mtqa build``: translate English QA data into parallel multilingual Arrow shards."""

from __future__ import annotations

import click

from mtqa.cli.common import split_list, user_errors
from mtqa.config_fields import Device, FilterMode, choice_values
from mtqa.errors import MtqaError
from mtqa.scale.config import Executor, TaskCache


@click.command()
@click.option("--pipeline", "pipeline", metavar="NAME|PATH",
              help="A pipeline shipped with mtqa (default, paper) or a YAML file. Default: the embedded offline default.")
@click.option("--langs", metavar="CODES", help="Target languages, comma-separated ISO 639-1 codes, e.g. de,es,zh.")
@click.option("--sources", metavar="SPECS",
              help="Comma-separated sources: registered names (NAME[@REVISION], see `mtqa sources`), "
                   "hub:OWNER/NAME[@REVISION][#CONFIG], files (.json SQuAD, .jsonl, .parquet, .arrow or a folder; "
                   "squad:/jsonl:/parquet:/tydiqa:/arrow: prefixes) or parallel data (xquad:DIR, mlqa:DIR, "
                   "parallel:en=PATH+de=PATH, where a PATH may be hub:OWNER/NAME#CONFIG).")
@click.option("--model", metavar="MODEL",
              help="'toy', a CTranslate2 model dir, a Hugging Face checkpoint dir or Hub id (converted once and cached), "
                   "or a template with {lang} for one Marian model per pair.")
@click.option("--device", type=click.Choice(choice_values(Device)), help="Where to translate. auto: CUDA when present.")
@click.option("--out", metavar="DIR", help="Output directory (resumable: rerun the same command to continue).")
@click.option("--limit", type=click.IntRange(min=1), help="At most N rows from each source.")
@click.option("--beam-size", type=click.IntRange(min=1), help="Beam size for decoding.")
@click.option("--max-batch-tokens", type=click.IntRange(min=1), help="Token budget per translation batch.")
@click.option("--chunk-size", type=click.IntRange(min=1), help="QA rows per chunk (the unit of resume and of one shard file).")
@click.option("--num-shards", type=click.IntRange(min=1), help="Split the input into N partitions (for Slurm arrays, Ray).")
@click.option("--shard-index", type=click.IntRange(min=0), help="Which partition this run builds (0-based).")
@click.option("--filter-mode", type=click.Choice(choice_values(FilterMode)),
              help="Rows that fail a quality check: drop them to OUT/rejected/ (default) or keep them in data/ with keep=false.")
@click.option("--split", metavar="NAME",
              help="The split to read (Hub, MLQA, DatasetDict) and to label rows with. Default: the source's own, "
                   "or the split a file's name says (dev-v2.0.json: dev), else train.")
@click.option("--no-mt", "no_mt", is_flag=True, default=None,
              help="No machine translation: a language gets rows only where a source gives them (xquad:, mlqa:, "
                   "parallel:). Without --langs (and --pipeline): every language the sources hold.")
@click.option("--titles", metavar="FILE|BUILD",
              help="Keep only the articles listed in FILE (one title per line), or those BUILD held out.")
@click.option("--title-fraction", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), metavar="F",
              help="Keep a seeded fraction F of the articles (by title); the rest are held out (see the manifest).")
@click.option("--title-seed", type=int, metavar="N", help="Seed of --title-fraction (default 0).")
@click.option("--title-complement", is_flag=True, default=None,
              help="Keep the titles --titles or --title-fraction leaves out instead (the other side of the split).")
@click.option("--cache-dir", metavar="DIR",
              help="Where converted models and the translation cache live (default: $MTQA_CACHE or ~/.cache/mtqa).")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: only on a terminal).")
@click.option("--executor", type=click.Choice(choice_values(Executor)),
              help="Run --tasks partitions as tasks: one after another here (local), on Ray, or as a Slurm array.")
@click.option("--tasks", type=click.IntRange(min=1), help="Partitions, one per task (with --executor).")
@click.option("--ray-address", metavar="ADDR", help="Ray cluster to join ('auto': the running one). Default: start a local one.")
@click.option("--cpus-per-task", type=click.IntRange(min=1), help="CPUs each Ray or Slurm task asks for.")
@click.option("--gpus-per-task", type=click.FloatRange(min=0), help="GPUs each Ray or Slurm task asks for (e.g. 1).")
@click.option("--partition", "slurm_partition", metavar="P", help="Slurm partition of the array.")
@click.option("--time", "time_limit", metavar="T", help="Slurm time limit per task (sbatch --time, e.g. 04:00:00).")
@click.option("--dry-run", is_flag=True, default=None, help="Slurm: write the sbatch script, do not submit it.")
@click.option("--task-cache", type=click.Choice(choice_values(TaskCache)),
              help="Translation cache per partition (default; safe on NFS) or one shared by all tasks (one machine only).")
@user_errors
def build(pipeline, langs, sources, model, device, out, limit, beam_size, max_batch_tokens, chunk_size,
          num_shards, shard_index, filter_mode, split, no_mt, titles, title_fraction, title_seed, title_complement,
          cache_dir, progress, executor, tasks, ray_address, cpus_per_task, gpus_per_task,
          slurm_partition, time_limit, dry_run, task_cache) -> None:
    """Translate English QA data into parallel multilingual Arrow shards.

    \b
    Examples:
      mtqa build                                   # offline default: embedded sample, toy model
      mtqa build --langs de,es --model facebook/nllb-200-distilled-600M --sources squad_v2 --out out/squad
      mtqa build --pipeline paper --num-shards 8 --shard-index 3
      git clone https://github.com/google-deepmind/xquad
      mtqa build --sources xquad:xquad --no-mt --title-fraction 0.5 --out out/xquad-train

    Killed at any point, the same command continues where it stopped. Rows that fail the
    quality filter are listed with their reasons by `mtqa report OUT`.
    """
    from mtqa.config import load_pipeline
    from mtqa.pipeline.builder import run_build
    from mtqa.summary import format_outcome, format_summary

    # Without machine translation the default's pseudo-languages cannot have rows: take the sources' own ("*").
    langs = ["*"] if no_mt and langs is None and pipeline is None else split_list(langs)
    config = load_pipeline(
        pipeline,
        langs=langs,
        sources=split_list(sources),
        out=out,
        limit=limit,
        chunk_size=chunk_size,
        num_shards=num_shards,
        shard_index=shard_index,
        split=split,
        mt=False if no_mt else None,
        titles=titles,
        title_fraction=title_fraction,
        title_seed=title_seed,
        title_complement=title_complement,
        **{"translate.model": model, "translate.device": device, "translate.beam_size": beam_size,
           "translate.max_batch_tokens": max_batch_tokens, "translate.cache_dir": cache_dir,
           "filter.mode": filter_mode},
    )
    scale_options = {"tasks": tasks, "ray_address": ray_address, "cpus_per_task": cpus_per_task,
                     "gpus_per_task": gpus_per_task, "partition": slurm_partition, "time": time_limit,
                     "dry_run": dry_run, "task_cache": task_cache}
    if executor is not None:
        from mtqa.scale import ScaleConfig, launch
        from mtqa.scale.launch import describe

        if shard_index is not None:
            raise MtqaError("--shard-index builds one partition by hand; with --executor each task gets its own")
        scale_options["tasks"] = tasks or config.num_shards
        launched = launch(config, ScaleConfig(executor=executor, **{k: v for k, v in scale_options.items()
                                                                      if v is not None}), progress=progress)
        if launched.manifest is not None:
            click.echo(format_summary(launched.manifest))
            click.echo()
        click.echo(describe(launched, config.out))
        return
    given = [f"--{name.replace('_', '-')}" for name, value in scale_options.items() if value is not None]
    if given:
        raise MtqaError(f"{', '.join(given)} need --executor local, ray or slurm")
    manifest = run_build(config, progress=progress)
    click.echo(format_summary(manifest))
    click.echo("\n" + format_outcome(manifest, config.out))
