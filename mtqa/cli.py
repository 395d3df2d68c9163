"""The ``mtqa`` command. Thin: parse options, call the library, print one line on bad input."""

from __future__ import annotations

import functools
import sys

import click

from mtqa.errors import MtqaError


def _user_errors(func):
    """Turn MtqaError into one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MtqaError as e:
            click.echo(f"mtqa: error: {e}", err=True)
            sys.exit(MtqaError.exit_code)
        except KeyboardInterrupt:
            click.echo("mtqa: interrupted; finished chunks are kept: rerun the same command to continue", err=True)
            sys.exit(130)

    return wrapper


def _split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mtqa")
def main() -> None:
    """mtqa: parallel multilingual QA data from English QA datasets, for hybrid batch training."""


@main.command()
@click.option("--pipeline", "pipeline", metavar="NAME|PATH",
              help="A pipeline in pipelines/ (default, paper) or a YAML file. Default: the embedded offline default.")
@click.option("--langs", metavar="CODES", help="Target languages, comma-separated ISO 639-1 codes, e.g. de,es,zh.")
@click.option("--sources", metavar="SPECS",
              help="Comma-separated sources: registered names (see `mtqa sources`) or files (.json SQuAD, .jsonl, .parquet).")
@click.option("--model", metavar="MODEL",
              help="'toy', a CTranslate2 model dir, a Hugging Face checkpoint dir or Hub id (converted once and cached), "
                   "or a template with {lang} for one Marian model per pair.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where to translate. auto: CUDA when present.")
@click.option("--out", metavar="DIR", help="Output directory (resumable: rerun the same command to continue).")
@click.option("--limit", type=click.IntRange(min=1), help="At most N rows from each source.")
@click.option("--beam-size", type=click.IntRange(min=1), help="Beam size for decoding.")
@click.option("--max-batch-tokens", type=click.IntRange(min=1), help="Token budget per translation batch.")
@click.option("--chunk-size", type=click.IntRange(min=1), help="QA rows per chunk (the unit of resume and of one shard file).")
@click.option("--num-shards", type=click.IntRange(min=1), help="Split the input into N partitions (for Slurm arrays, Ray).")
@click.option("--shard-index", type=click.IntRange(min=0), help="Which partition this run builds (0-based).")
@click.option("--filter-mode", type=click.Choice(["drop", "flag"]),
              help="Rows that fail a quality check: drop them to OUT/rejected/ (default) or keep them in data/ with keep=false.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: only on a terminal).")
@_user_errors
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
    from mtqa.executor import LocalExecutor
    from mtqa.summary import format_summary

    config = load_pipeline(
        pipeline,
        langs=_split_list(langs),
        sources=_split_list(sources),
        out=out,
        limit=limit,
        chunk_size=chunk_size,
        num_shards=num_shards,
        shard_index=shard_index,
        **{"translate.model": model, "translate.device": device, "translate.beam_size": beam_size,
           "translate.max_batch_tokens": max_batch_tokens, "filter.mode": filter_mode},
    )
    manifest = LocalExecutor(config, progress=progress).run()
    click.echo(format_summary(manifest))
    click.echo(f"\nwrote {config.out}/ ({manifest['rows']:,} rows); manifest: {config.out}/manifest.json")


@main.command()
@_user_errors
def sources() -> None:
    """List the registered QA sources."""
    from mtqa.stages.source import list_sources

    for entry in list_sources():
        click.echo(f"{entry['name']:<18} {entry.get('hub_id') or '':<42} {entry.get('description', '')}")


@main.command("eval")
@click.option("--model", required=True, metavar="MODEL",
              help="A sentence-transformers folder, a Hugging Face encoder folder or Hub id (mean pooling).")
@click.option("--benchmark", type=click.Choice(["xquad-r", "mlqa-r", "miracl"]), default="xquad-r", show_default=True,
              help="What to evaluate on.")
@click.option("--data", type=click.Path(), metavar="DIR",
              help="xquad-r/mlqa-r: the LAReQA folder (ar.json, ...); default ../shared/data/xquad-r for xquad-r. "
                   "miracl: the topics/qrels folder.")
@click.option("--corpus", metavar="PATH", help="miracl only: local JSONL corpus ({lang} for the language); default: the Hub.")
@click.option("--langs", metavar="CODES", help="Only these languages, comma-separated (default: all of the benchmark).")
@click.option("--out", required=True, type=click.Path(), metavar="DIR",
              help="Folder for <benchmark>.json, <benchmark>.md and the heatmap PNG.")
@click.option("--label", metavar="NAME", help="The model's name in the tables (default: its folder name).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="xquad-r/mlqa-r: only the first N paragraphs of each language (a quick check).")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Texts per encoder batch.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where to encode. auto: CUDA when present.")
@click.option("--max-length", type=click.IntRange(min=1), default=512, show_default=True, help="Tokens per text, at most.")
@click.option("--query-prefix", metavar="TEXT", help="Prepended to queries (default: the model's own 'query' prompt).")
@click.option("--passage-prefix", metavar="TEXT", help="Prepended to passages (default: the model's 'passage' prompt).")
@click.option("--cache-dir", type=click.Path(), metavar="DIR",
              help="Embedding cache (default: $MTQA_CACHE/embeddings or ~/.cache/mtqa/embeddings).")
@click.option("--no-cache", is_flag=True, help="Encode everything, read and write no embedding cache.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: only on a terminal).")
@_user_errors
def eval_(model, benchmark, data, corpus, langs, out, label, limit, batch_size, device, max_length, query_prefix,
          passage_prefix, cache_dir, no_cache, progress) -> None:
    """Evaluate a dense retriever on XQuAD-R, MLQA-R (LAReQA: mono, cross, multilingual mAP) or MIRACL.

    \b
    Examples:
      mtqa eval --model ~/.cache/mtqa-dev/me5-small --out out/eval          # XQuAD-R, all 11 languages
      mtqa eval --model M --benchmark mlqa-r --data lareqa/mlqa-r --out out/eval
      mtqa eval --model M --langs en,de --limit 20 --out /tmp/quick

    Definitions (ranks, tie rule, macro-averages): docs/eval.md.
    """
    from mtqa.eval.results import evaluate_and_write, lareqa_summary_table, miracl_markdown
    from mtqa.translation.models import default_cache_dir

    if progress is None:
        progress = sys.stderr.isatty()
    if no_cache:
        cache_dir = None
    elif cache_dir is None:
        cache_dir = default_cache_dir() / "embeddings"
    result, paths = evaluate_and_write(
        model, benchmark, out, data=data, corpus=corpus, langs=_split_list(langs), limit=limit, label=label,
        batch_size=batch_size, device=device, max_length=max_length, query_prefix=query_prefix,
        passage_prefix=passage_prefix, cache_dir=cache_dir, progress=progress)
    click.echo(miracl_markdown(result) if benchmark == "miracl" else lareqa_summary_table([result]))
    click.echo("\nwrote " + ", ".join(str(p) for p in paths))


@main.command()
@click.argument("out_dir", metavar="OUT_DIR", type=click.Path(file_okay=False))
@_user_errors
def report(out_dir) -> None:
    """The quality filter's per-language table for a build; writes OUT_DIR/report/filter.md and filter.png.

    \b
    Example:
      mtqa report out/default
    """
    from mtqa.report import write_report

    table, path = write_report(out_dir)
    click.echo(table)
    click.echo(f"\nwrote {path} and {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
