"""A model folder written by ``mtqa train``, staged for the Hub with its provenance card.

``mtqa train`` leaves a sentence-transformers folder: the model files, ``README.md`` (the
card sentence-transformers renders from its ``SentenceTransformerModelCardData``, with an
"mtqa training" section appended by :mod:`mtqa.train.card`) and ``mtqa_train.json`` (the same
facts as data: the builds and their manifest fingerprints, the sampling, every
hyperparameter, the eval results). :func:`stage_model` links the model files into the
staging folder (``checkpoints/``, the resume record and the staging folder itself stay
behind), and writes the card: sentence-transformers' README with its metadata completed
(``datasets:`` linking the training builds' Hub datasets, language codes the Hub accepts)
and the mtqa section regenerated from ``mtqa_train.json`` with mtqa.train's own
:func:`~mtqa.train.card.card_section`, followed by the builds' Hub links.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mtqa.errors import MtqaError
from mtqa.hub.config import STAGE_NAME, PublishConfig
from mtqa.hub.validate import check_model_card, hub_language

logger = logging.getLogger(__name__)

HUB_DATA_HEADING = "### Training data on the Hub"
LEFT_BEHIND = {"checkpoints", "mtqa_run.json", STAGE_NAME}  # top-level entries not uploaded


@dataclass(frozen=True)
class ModelStaging:
    """What :func:`stage_model` wrote: the training record and the builds with their Hub datasets."""

    record: dict
    builds: list[dict]
    dataset_repos: list[str]
    dropped_languages: list[str]


def read_train_record(folder: Path) -> dict:
    from mtqa.train.card import RECORD_NAME

    path = folder / RECORD_NAME
    if not path.is_file():
        raise MtqaError(f"{folder} has no {RECORD_NAME}: mtqa publish publishes models written by `mtqa train` "
                        "(the record holds the training builds, sampling and hyperparameters the card states)")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MtqaError(f"{path} is unreadable ({e})") from None
    if not isinstance(record, dict) or not isinstance((record.get("data") or {}).get("builds"), list):
        raise MtqaError(f"{path}: not an mtqa training record (no data.builds)")
    return record


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)  # weights can be gigabytes: a hard link costs nothing
    except OSError:
        shutil.copy2(src, dst)


def _model_files(folder: Path, stage: Path) -> list[Path]:
    stage = stage.resolve()
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in LEFT_BEHIND or any(p.startswith(".") for p in rel.parts) or rel.name == "README.md":
            continue
        if path.resolve() == stage or stage in path.resolve().parents:
            continue
        if path.is_file():
            out.append(rel)
    return out


def hub_data_section(builds: list[dict], repos: list[str], endpoint: str = "https://huggingface.co") -> str:
    lines = [HUB_DATA_HEADING, ""]
    if not repos:
        lines.append("The training builds are not linked to Hub datasets (publish a build with `mtqa publish OUT "
                     "--repo ORG/NAME` and pass `--dataset-repo ORG/NAME` here). Their fingerprints are above.")
        return "\n".join(lines) + "\n"
    lines += ["| build | manifest fingerprint (identity_sha256) | dataset card |", "|---|---|---|"]
    for build, repo in zip(builds, repos, strict=True):
        lines.append(f"| `{Path(str(build.get('folder'))).name}` | `{build.get('identity_sha256') or '–'}` | "
                     f"[{repo}]({endpoint}/datasets/{repo}) |")
    lines += ["", "Each dataset card states the build's sources and licences, the translation model and its "
                  "fingerprint, the filter's rates per language and the known limits of the data."]
    return "\n".join(lines) + "\n"


def model_card_text(folder: Path, record: dict, dataset_repos: list[str]):
    """The staged card (a ``huggingface_hub.ModelCard``) and the languages left out of its metadata."""
    from huggingface_hub import ModelCard, ModelCardData

    from mtqa.eval.records import result_from_dict
    from mtqa.train.card import CARD_HEADING, card_section

    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    card = ModelCard(text) if text.startswith("---") else ModelCard(f"---\n{ModelCardData().to_yaml()}\n---\n{text}")
    body = card.text
    if CARD_HEADING in body:
        body = body[: body.index(CARD_HEADING)].rstrip() + "\n"
    evals = [result_from_dict(r, f"{folder}/mtqa_train.json eval[{i}]") for i, r in enumerate(record.get("eval") or [])]
    builds = record["data"]["builds"]
    body = (body.rstrip() + "\n\n" if body.strip() else "") + card_section(record, evals).rstrip() + "\n\n" \
        + hub_data_section(builds, dataset_repos)
    data = card.data
    languages = [str(lang) for lang in (data.get("language") or [])]
    data.language = [lang for lang in languages if hub_language(lang)] or None
    dropped = [lang for lang in languages if not hub_language(lang)]
    if dataset_repos:
        data.datasets = list(dict.fromkeys([*(data.get("datasets") or []), *dataset_repos]))
    tags = list(data.get("tags") or [])
    data.tags = tags + [t for t in ("mtqa",) if t not in tags]
    data.library_name = data.get("library_name") or "sentence-transformers"
    if dropped:
        body += (f"\nAlso trained on {', '.join(dropped)} (not ISO 639 codes, so left out of the card's "
                 "`language` metadata).\n")
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body.lstrip()}"), dropped


def stage_model(folder: Path, stage: Path, config: PublishConfig) -> ModelStaging:
    """Link the model files into ``stage`` and write its card (see the module docstring)."""
    record = read_train_record(folder)
    builds = record["data"]["builds"]
    repos = list(config.dataset_repos)
    if repos and len(repos) != len(builds):
        raise MtqaError(f"--dataset-repo given {len(repos)} time(s) but the model was trained on {len(builds)} "
                        "build(s): give one per build, in the order of `mtqa train --data`")
    for rel in _model_files(folder, config.stage_dir):
        _link_or_copy(folder / rel, stage / rel)
    card, dropped = model_card_text(folder, record, repos)
    path = stage / "README.md"
    path.write_text(str(card), encoding="utf-8")
    check_model_card(path)
    return ModelStaging(record=record, builds=builds, dataset_repos=repos, dropped_languages=dropped)
