"""``mtqa eval``: evaluate a dense retriever on XQuAD-R, MLQA-R or MIRACL."""

from __future__ import annotations

import click

from mtqa.cli.common import progress_default, split_list, user_errors
from mtqa.config_fields import Benchmark, Device, choice_values


@click.command("eval")
@click.option("--model", required=True, metavar="MODEL",
              help="A sentence-transformers folder, a Hugging Face encoder folder or Hub id (mean pooling).")
@click.option("--benchmark", type=click.Choice(choice_values(Benchmark)), default="xquad-r", show_default=True,
              help="What to evaluate on.")
@click.option("--data", type=click.Path(), metavar="DIR",
              help="Required. xquad-r/mlqa-r: the benchmark's folder of the LAReQA repository (git clone "
                   "https://github.com/google-research-datasets/lareqa: lareqa/xquad-r, lareqa/mlqa-dev-r). "
                   "miracl: the topics/qrels folder (hf download miracl/miracl --repo-type dataset, or anserini-tools "
                   "topics-and-qrels/).")
@click.option("--corpus", metavar="PATH", help="miracl only: local JSONL corpus ({lang} for the language); default: the Hub.")
@click.option("--langs", metavar="CODES", help="Only these languages, comma-separated (default: all of the benchmark).")
@click.option("--out", required=True, type=click.Path(), metavar="DIR",
              help="Folder for <benchmark>.json, <benchmark>.md and the heatmap PNG.")
@click.option("--label", metavar="NAME", help="The model's name in the tables (default: its folder name).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="xquad-r/mlqa-r: only the first N paragraphs of each language (a quick check).")
@click.option("--titles", metavar="FILE|BUILD",
              help="xquad-r/mlqa-r: only these articles, queries and candidates alike: a file of titles (one per "
                   "line), or a build folder (or its manifest.json) for the titles that build held out.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Texts per encoder batch.")
@click.option("--device", type=click.Choice(choice_values(Device)), default="auto", show_default=True,
              help="Where to encode. auto: CUDA when present.")
@click.option("--max-length", type=click.IntRange(min=1), default=512, show_default=True, help="Tokens per text, at most.")
@click.option("--query-prefix", metavar="TEXT", help="Prepended to queries (default: the model's own 'query' prompt).")
@click.option("--passage-prefix", metavar="TEXT", help="Prepended to passages (default: the model's 'passage' prompt).")
@click.option("--cache-dir", type=click.Path(), metavar="DIR",
              help="Embedding cache (default: $MTQA_CACHE/embeddings or ~/.cache/mtqa/embeddings).")
@click.option("--no-cache", is_flag=True, help="Encode everything, read and write no embedding cache.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars (default: only on a terminal; otherwise progress lines are logged).")
@user_errors
def eval_(model, benchmark, data, corpus, langs, out, label, limit, titles, batch_size, device, max_length, query_prefix,
          passage_prefix, cache_dir, no_cache, progress) -> None:
    """Evaluate a dense retriever on XQuAD-R, MLQA-R (LAReQA: mono, cross, multilingual mAP) or MIRACL.

    \b
    Examples:
      git clone https://github.com/google-research-datasets/lareqa
      mtqa eval --model intfloat/multilingual-e5-small --data lareqa/xquad-r --out out/eval   # 11 languages
      mtqa eval --model M --benchmark mlqa-r --data lareqa/mlqa-dev-r --out out/eval
      mtqa eval --model M --benchmark miracl --data miracl --langs sw --out out/eval
      mtqa eval --model M --data lareqa/xquad-r --langs en,de --limit 20 --out /tmp/quick
      mtqa eval --model M --data lareqa/xquad-r --titles out/xquad-train --out out/eval   # its held-out titles

    Definitions (ranks, tie rule, macro-averages): docs/eval.md.
    """
    from mtqa.eval.results import evaluate_and_write, lareqa_summary_table, miracl_markdown
    from mtqa.translation.models import default_cache_dir

    progress = progress_default(progress)
    title_list = None
    if titles is not None:
        from mtqa.readers.titles import read_titles

        title_list = read_titles(titles)
    if no_cache:
        cache_dir = None
    elif cache_dir is None:
        cache_dir = default_cache_dir() / "embeddings"
    result, paths = evaluate_and_write(
        model, benchmark, out, data=data, corpus=corpus, langs=split_list(langs), limit=limit, label=label,
        batch_size=batch_size, device=device, max_length=max_length, query_prefix=query_prefix,
        passage_prefix=passage_prefix, cache_dir=cache_dir, progress=progress, titles=title_list)
    click.echo(miracl_markdown(result) if benchmark == "miracl" else lareqa_summary_table([result]))
    if title_list is not None:
        files = result.files.values()
        click.echo(f"\nrestricted to the {len(title_list)} titles of {titles}: queries and candidates of those "
                   f"articles only ({sum(f.questions for f in files):,} questions, "
                   f"{sum(f.candidates for f in files):,} candidates over {len(result.files)} languages)")
    click.echo("\nwrote " + ", ".join(str(p) for p in paths))
