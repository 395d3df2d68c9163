"""``mtqa train``: fine-tune a multilingual retriever on mtqa builds with hybrid batches."""

from __future__ import annotations

import click

from mtqa.cli.common import split_list, user_errors
from mtqa.config_fields import choice_values
from mtqa.train.config import EVAL_BENCHMARKS, Precision, Sampling


@click.command("train")
@click.option("--recipe", metavar="NAME|PATH", default="train-default", show_default=True,
              help="A training recipe shipped with mtqa (train-default, train-paper) or a YAML file; "
                   "the options below override it.")
@click.option("--data", "data", multiple=True, type=click.Path(), metavar="OUT_DIR",
              help="A build folder (the --out of `mtqa build`); repeat for several builds.")
@click.option("--model", metavar="MODEL",
              help="A sentence-transformers folder, a Hugging Face encoder folder or Hub id (mean pooling is added).")
@click.option("--out", type=click.Path(), metavar="MODEL_DIR",
              help="Where the trained model goes (checkpoints in MODEL_DIR/checkpoints).")
@click.option("--sampling", type=click.Choice(choice_values(Sampling)),
              help="hybrid: X-X batches with probability --alpha, else X-Y; xx: all monolingual; xy: all cross-lingual.")
@click.option("--alpha", type=click.FloatRange(0, 1), help="Probability of an X-X batch in hybrid sampling.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Pairs per batch (in-batch negatives: batch-1 each).")
@click.option("--mini-batch-size", type=click.IntRange(min=1),
              help="Use CachedMultipleNegativesRankingLoss (GradCache) with chunks of N: same loss, less memory.")
@click.option("--langs", metavar="CODES", help="Train on these languages of the builds only, comma-separated.")
@click.option("--query-lang", metavar="CODE", help="Fix the query language of X-Y pairs.")
@click.option("--lr", type=float, help="Peak learning rate of AdamW (linear warmup, then linear decay).")
@click.option("--weight-decay", type=float, help="AdamW weight decay.")
@click.option("--warmup", type=float, help="Warmup: a fraction of the steps if < 1, else a number of steps.")
@click.option("--epochs", type=float, help="Epochs over the data (an epoch uses every question once).")
@click.option("--max-steps", type=click.IntRange(min=1), help="Stop after N optimizer steps (overrides --epochs).")
@click.option("--seed", type=int, help="Seed of the batches, the initialisation of new layers and dropout.")
@click.option("--precision", type=click.Choice(choice_values(Precision)),
              help="auto: bf16 (or fp16) on a GPU, fp32 on a CPU.")
@click.option("--max-seq-length", type=click.IntRange(min=1), help="Tokens per text, at most.")
@click.option("--query-prompt", metavar="TEXT", help="Prepended to queries (default 'query: ').")
@click.option("--passage-prompt", metavar="TEXT", help="Prepended to passages (default 'passage: ').")
@click.option("--no-prompts", is_flag=True, help="No prompts: for models trained without them.")
@click.option("--checkpoint-steps", type=click.IntRange(min=1), help="Save a checkpoint every N steps.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last checkpoint, with exactly the remaining batches.")
@click.option("--eval", "eval_", metavar="BENCHMARKS",
              help=f"Evaluate the final model with mtqa eval: {', '.join(EVAL_BENCHMARKS)} (comma-separated).")
@click.option("--eval-data", type=click.Path(), metavar="DIR",
              help="The benchmark's LAReQA folder (lareqa/xquad-r or lareqa/mlqa-r of "
                   "github.com/google-research-datasets/lareqa).")
@click.option("--eval-langs", metavar="CODES", help="Evaluate these languages only.")
@click.option("--eval-limit", type=click.IntRange(min=1), metavar="N",
              help="Evaluate on the first N paragraphs of each language only (a quick check).")
@click.option("--eval-checkpoints", is_flag=True, default=None, help="Also evaluate every checkpoint.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where to train. auto: CUDA when present.")
@click.option("--workers", type=click.IntRange(min=0), help="DataLoader worker processes.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar with loss and examples/s (default: on a terminal; log lines otherwise).")
@user_errors
def train(recipe, data, model, out, sampling, alpha, batch_size, mini_batch_size, langs, query_lang, lr, weight_decay,
          warmup, epochs, max_steps, seed, precision, max_seq_length, query_prompt, passage_prompt, no_prompts,
          checkpoint_steps, resume, eval_, eval_data, eval_langs, eval_limit, eval_checkpoints, device, workers,
          progress) -> None:
    """Fine-tune a multilingual bi-encoder on mtqa builds with X-X, X-Y or hybrid batches.

    Trains through sentence-transformers' trainer (AMP, several GPUs with accelerate or
    torchrun, checkpoints, resume) with MultipleNegativesRankingLoss and in-batch negatives;
    a batch never holds one passage twice. MODEL_DIR then loads with
    SentenceTransformer(MODEL_DIR) and `mtqa eval --model MODEL_DIR`; its README.md is the
    model card (data fingerprints, sampling, hyperparameters, evaluation).

    \b
    Examples:
      mtqa build --out out/default
      mtqa train --data out/default --model path/to/multilingual-e5-small --out out/model \\
          --batch-size 16 --max-steps 20
      mtqa train --data out/a --data out/b --model intfloat/multilingual-e5-small --sampling xy \\
          --out out/xy --eval xquad-r --eval-data lareqa/xquad-r
      mtqa train --recipe train-paper --eval-data lareqa/xquad-r
      mtqa train --out out/model --data out/default --model M --resume     # after an interruption

    docs/train.md describes every option.
    """
    from mtqa.cli.common import progress_default
    from mtqa.config import load_config
    from mtqa.train import train as run_train
    from mtqa.train.config import TrainConfig

    if no_prompts and (query_prompt is not None or passage_prompt is not None):
        raise click.UsageError("--no-prompts and --query-prompt/--passage-prompt contradict each other")
    if no_prompts:
        query_prompt = passage_prompt = ""
    config = load_config(
        TrainConfig, recipe, kind="train",
        data=list(data) or None, model=model, out=out, sampling=sampling, alpha=alpha, batch_size=batch_size,
        mini_batch_size=mini_batch_size, langs=split_list(langs), query_lang=query_lang, lr=lr,
        weight_decay=weight_decay, warmup=warmup, epochs=epochs, max_steps=max_steps, seed=seed, precision=precision,
        max_seq_length=max_seq_length, query_prompt=query_prompt, passage_prompt=passage_prompt,
        checkpoint_steps=checkpoint_steps, resume=resume or None, eval=split_list(eval_), eval_data=eval_data,
        eval_langs=split_list(eval_langs), eval_limit=eval_limit, eval_checkpoints=eval_checkpoints, device=device,
        dataloader_workers=workers, progress=progress_default(progress),
    )
    result = run_train(config, report=lambda line: click.echo(line, err=True))
    click.echo(result.summary())
