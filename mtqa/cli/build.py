"""``mtqa build``: translate English QA data into parallel multilingual Arrow shards."""

from __future__ import annotations

import click

from mtqa.cli.common import split_list, user_errors
from mtqa.config_fields import Device, FilterMode, choice_values


@click.command()
@click.option("--pipeline", "pipeline", metavar="NAME|PATH",
              help="A pipeline shipped with mtqa (default, paper) or a YAML file. Default: the embedded offline default.")
@click.option("--langs", metavar="CODES", help="Target languages, comma-separated ISO 639-1 codes, e.g. de,es,zh.")
@click.option("--sources", metavar="SPECS",
              help="Comma-separated sources: registered names (see `mtqa sources`) or files (.json SQuAD, .jsonl, .parquet).")
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
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: only on a terminal).")
@user_errors
def build(pipeline, langs, sources, model, device, out, limit, beam_size, max_batch_tokens, chunk_size,
          num_shards, shard_index, filter_mode, progress) -> None:
    """Translate English QA data into parallel multilingual Arrow shards.

    \b
    Examples:
      mtqa build                                   # offline default: embedded sample, toy model
      mtqa build --langs de,es --model facebook/nllb-200-distilled-600M --sources squad_v2 --out out/squad
      mtqa build --pipeline paper --num-shards 8 --shard-index 3

    Killed at any point, the same command continues where it stopped. Rows that fail the
    quality filter are listed with their reasons by `mtqa report OUT`.
    """
    from mtqa.config import load_pipeline
    from mtqa.pipeline.builder import run_build
    from mtqa.summary import format_summary

    config = load_pipeline(
        pipeline,
        langs=split_list(langs),
        sources=split_list(sources),
        out=out,
        limit=limit,
        chunk_size=chunk_size,
        num_shards=num_shards,
        shard_index=shard_index,
        **{"translate.model": model, "translate.device": device, "translate.beam_size": beam_size,
           "translate.max_batch_tokens": max_batch_tokens, "filter.mode": filter_mode},
    )
    manifest = run_build(config, progress=progress)
    click.echo(format_summary(manifest))
    click.echo(f"\nwrote {config.out}/ ({manifest.rows:,} rows); manifest: {config.out}/manifest.json")
