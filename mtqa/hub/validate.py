"""Offline checks of a card's metadata, the way the Hub would judge it.

``RepoCard.validate`` posts the card to the Hub; there is no Hub here and a user's dry run
should not need one. :func:`check_dataset_card` parses a staged ``README.md`` with
``DatasetCard.load`` (metadata errors raise), reads its ``configs`` with ``datasets``' own
``MetadataConfigs`` and checks each field against the vocabularies that ``datasets`` ships
(``datasets/utils/resources``: creators, multilinguality, size categories, language codes)
and :data:`~mtqa.hub.catalog.HUB_LICENSES`; every config's ``data_files`` must match files in
the folder. :func:`check_model_card` does the same for a model card's ``language``,
``license`` and ``datasets``.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from pathlib import Path

from mtqa.errors import MtqaError, one_line
from mtqa.hub.catalog import HUB_LICENSES

TASK_CATEGORIES = frozenset({"question-answering", "text-retrieval", "sentence-similarity", "translation",
                             "feature-extraction", "text-classification", "text-generation"})
DATASET_REQUIRED = ("language", "license", "multilinguality", "annotations_creators", "language_creators",
                    "task_categories", "size_categories", "source_datasets", "configs", "pretty_name")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*")


@functools.cache
def _resource(name: str):
    return json.loads(resources.files("datasets.utils.resources").joinpath(name).read_text(encoding="utf-8"))


def hub_language(code: str) -> bool:
    """Whether the Hub's metadata accepts ``code`` as a language (ISO 639-1/2/3, as ``datasets``
    lists them; private-use codes such as ``x-rot13`` are not)."""
    return code in _resource("languages.json")


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_vocab(problems: list[str], data, key: str, allowed, what: str) -> None:
    for value in _as_list(data.get(key)):
        if value not in allowed:
            problems.append(f"{key}: {value!r} is not {what}")


def _glob_matches(folder: Path, pattern) -> bool:
    return any(any(folder.glob(p)) for p in _as_list(pattern))


def dataset_metadata_problems(data, folder: Path | None = None) -> list[str]:
    """What is wrong with a dataset card's metadata (empty when nothing is)."""
    from datasets.utils.metadata import MetadataConfigs

    problems = [f"{key}: missing" for key in DATASET_REQUIRED if not data.get(key)]
    creators = _resource("creators.json")
    _check_vocab(problems, data, "annotations_creators", creators["annotations"], "an annotation creator")
    _check_vocab(problems, data, "language_creators", creators["language"], "a language creator")
    _check_vocab(problems, data, "multilinguality", _resource("multilingualities.json"), "a multilinguality")
    _check_vocab(problems, data, "size_categories", _resource("size_categories.json"), "a size category")
    _check_vocab(problems, data, "task_categories", TASK_CATEGORIES, "a task category mtqa publishes")
    _check_vocab(problems, data, "license", HUB_LICENSES, "a Hub licence identifier")
    for code in _as_list(data.get("language")):
        if not hub_language(code):
            problems.append(f"language: {code!r} is not an ISO 639 code the Hub knows")
    for source in _as_list(data.get("source_datasets")):
        if source != "original" and not re.fullmatch(r"(extended\|)?" + _REPO_ID.pattern, str(source)):
            problems.append(f"source_datasets: {source!r} is neither 'original' nor [extended|]ORG/NAME")
    try:
        configs = MetadataConfigs.from_dataset_card_data(data)
    except ValueError as e:
        problems.append(f"configs: {one_line(e)}")
        configs = {}
    defaults = [name for name, c in configs.items() if c.get("default")]
    if len(defaults) > 1:
        problems.append(f"configs: more than one default ({', '.join(defaults)})")
    if folder is not None:
        for name, c in configs.items():
            for item in _as_list(c.get("data_files")):
                pattern = item["path"] if isinstance(item, dict) else item
                if not _glob_matches(folder, pattern):
                    problems.append(f"configs: {name}: data_files {pattern!r} matches no file in {folder}")
    return problems


def check_dataset_card(path: Path):
    """The staged dataset card, parsed and checked; a problem is one ``MtqaError`` line."""
    from huggingface_hub import DatasetCard

    try:
        card = DatasetCard.load(path, ignore_metadata_errors=False)
    except Exception as e:  # huggingface_hub raises ValueError for bad YAML, OSError for a missing file
        raise MtqaError(f"{path}: not a valid dataset card ({one_line(e)})") from None
    problems = dataset_metadata_problems(card.data, Path(path).parent)
    if problems:
        raise MtqaError(f"{path}: card metadata would not validate: " + "; ".join(problems))
    return card


def model_metadata_problems(data) -> list[str]:
    problems = []
    for code in _as_list(data.get("language")):
        if not hub_language(code):
            problems.append(f"language: {code!r} is not an ISO 639 code the Hub knows")
    _check_vocab(problems, data, "license", HUB_LICENSES, "a Hub licence identifier")
    for key in ("datasets", "base_model"):
        for repo in _as_list(data.get(key)):
            if not _REPO_ID.fullmatch(str(repo)):
                problems.append(f"{key}: {repo!r} is not ORG/NAME")
    if data.get("library_name") != "sentence-transformers":
        problems.append("library_name: not sentence-transformers")
    return problems


def check_model_card(path: Path):
    from huggingface_hub import ModelCard

    try:
        card = ModelCard.load(path, ignore_metadata_errors=False)
    except Exception as e:
        raise MtqaError(f"{path}: not a valid model card ({one_line(e)})") from None
    problems = model_metadata_problems(card.data)
    if problems:
        raise MtqaError(f"{path}: card metadata would not validate: " + "; ".join(problems))
    return card
