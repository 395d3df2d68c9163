"""What the trained model's folder says about its training.

sentence-transformers writes ``README.md`` (its model card: the base model, the loss, the
trainer's hyperparameters, the training logs). :func:`card_data` fills the parts of its
``SentenceTransformerModelCardData`` that mtqa knows (languages, the training data, tags),
and :func:`write_card` appends an "mtqa training" section to that README: each build's
manifest fingerprint, sources, languages and row counts, the sampling (mode, alpha, batch
size), every hyperparameter of the run, the code versions and, when ``--eval`` ran, the
evaluation table. ``mtqa_train.json`` beside it holds the same as data (:func:`run_record`).
"""

from __future__ import annotations

import json
from pathlib import Path

from mtqa.io import atomic_path, write_json_atomic
from mtqa.train.config import TrainConfig
from mtqa.train.data import TrainData

CARD_HEADING = "## mtqa training"
RECORD_NAME = "mtqa_train.json"


def versions() -> dict[str, str]:
    """The code that trained the model."""
    import importlib.metadata as md

    from mtqa import __version__

    out = {"mtqa": __version__}
    for name in ("sentence-transformers", "transformers", "torch", "accelerate", "datasets"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def card_data(config: TrainConfig, data: TrainData):
    """The model-card fields sentence-transformers renders, filled with what mtqa knows."""
    from sentence_transformers import SentenceTransformerModelCardData

    names = " + ".join(Path(b.folder).name for b in data.builds)
    return SentenceTransformerModelCardData(
        language=list(data.langs),
        model_name=f"{Path(config.model).name or config.model} fine-tuned by mtqa ({config.sampling.value} batches)",
        train_datasets=[{"name": f"mtqa: {names}"}],
        tags=["sentence-transformers", "sentence-similarity", "feature-extraction", "mtqa",
              "hybrid-batch-training", "multilingual-retrieval"],
        local_files_only=True,
        generate_widget_examples=False,
    )


def run_record(config: TrainConfig, data: TrainData, result: dict | None = None, evals: list | None = None) -> dict:
    """Everything the card states, as data: written to ``mtqa_train.json``."""
    s = data.sampler
    return {
        "versions": versions(),
        "config": config.to_dict(),
        "identity": config.identity(),
        "data": {
            "builds": [b.to_dict() for b in data.builds],
            "langs": list(data.langs),
            "sources": list(s.source_names),
            "rows_used": data.rows_used,
            "usable_ids": int(len(s.usable_ids)),
            "sampler_fingerprint": s.fingerprint(),
        },
        "sampling": {
            "mode": config.sampling.value, "alpha": config.effective_alpha, "batch_size": config.batch_size,
            "batches_per_epoch": len(s), "pairs_per_epoch": data.pairs_per_epoch,
            "language_sampling": config.language_sampling, "query_lang": config.query_lang,
            "source_temperature": config.source_temperature, "one_source_per_batch": config.one_source_per_batch,
        },
        "loss": {"name": "CachedMultipleNegativesRankingLoss" if config.mini_batch_size else "MultipleNegativesRankingLoss",
                 "similarity": "cosine", "scale": config.scale, "mini_batch_size": config.mini_batch_size},
        "result": result,
        "eval": [r.to_dict() for r in evals or []],
    }


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, str) and value != value.strip():
        return f"`{value!r}`"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "–"
    return str(value).replace("|", "\\|")


def card_section(record: dict, evals: list | None = None) -> str:
    """The Markdown appended to the model card."""
    lines = [CARD_HEADING, ""]
    lines.append("Fine-tuned with `mtqa train` on parallel QA data built by `mtqa build`, with hybrid batch "
                 "training (arXiv 2408.10536).")
    lines += ["", "### Training data", "", "| build | manifest fingerprint (identity_sha256) | sources | languages (rows) | rows |",
              "|---|---|---|---|---|"]
    for b in record["data"]["builds"]:
        langs = ", ".join(f"{k} ({v:,})" for k, v in b["langs"].items())
        lines.append(f"| `{b['folder']}` | `{b['identity_sha256'] or 'no manifest'}` | {_cell(b['sources'])} | "
                     f"{langs} | {b['rows']:,} |")
    d, sm = record["data"], record["sampling"]
    lines += ["", f"Trained on {len(d['langs'])} languages ({', '.join(d['langs'])}), {d['rows_used']:,} rows, "
                  f"{d['usable_ids']:,} questions; sampler data fingerprint `{d['sampler_fingerprint']}`. Unanswerable "
                  "questions and rows the quality filter failed are never positives.", ""]
    lines += ["### Sampling", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {_cell(v)} |" for k, v in sm.items()]
    loss = record["loss"]
    lines += ["", f"Loss: {loss['name']} (cosine similarity, scale {loss['scale']:g}, in-batch negatives"
                  + (f", mini-batches of {loss['mini_batch_size']}" if loss["mini_batch_size"] else "") + ")."]
    lines += ["", "### Hyperparameters", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in record["config"].items() if k != "data"]
    if record.get("result"):
        r = record["result"]
        lines += ["", f"Ran {r['steps']:,} steps ({r['examples']:,} pairs) in {r['seconds']:,.0f} s, "
                      f"{r['examples_per_second']:,.1f} pairs/s; final loss {_cell(r.get('final_loss'))}."]
    if evals:
        from mtqa.eval.results import summary_markdown

        lines += ["", "### Evaluation (mtqa eval)", "", summary_markdown(evals, heading_level=4).rstrip()]
    lines += ["", "### Code", "", ", ".join(f"{k} {v}" for k, v in record["versions"].items()) + ".", ""]
    return "\n".join(lines)


def write_card(out: Path, record: dict, evals: list | None = None) -> list[Path]:
    """Append the mtqa section to ``out/README.md`` (replacing an earlier one) and write
    ``out/mtqa_train.json``; returns both paths."""
    readme = Path(out) / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if CARD_HEADING in text:
        text = text[: text.index(CARD_HEADING)].rstrip() + "\n"
    with atomic_path(readme) as tmp:
        tmp.write_text((text.rstrip() + "\n\n" if text else "") + card_section(record, evals), encoding="utf-8")
    path = Path(out) / RECORD_NAME
    write_json_atomic(path, json.loads(json.dumps(record, default=str)))
    return [readme, path]
