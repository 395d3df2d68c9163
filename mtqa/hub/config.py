"""``PublishConfig``: what ``mtqa publish`` is asked to do, checked before anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mtqa.config_fields import StrEnum, placement
from mtqa.errors import MtqaError
from mtqa.hub.catalog import hub_license

# The Hub's repo id rule (huggingface_hub.utils.validate_repo_id), with the namespace required:
# the card's `load_dataset("ORG/NAME", ...)` line and the ownership check need it.
_REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}")
MODEL_FILES = ("modules.json", "config_sentence_transformers.json")
BUILD_FILE = "manifest.json"
STAGE_NAME = "hub"  # the default staging folder inside the published folder


class RepoKind(StrEnum):
    """What is published: a build as a Hub dataset, or a trained model as a Hub model."""

    DATASET = "dataset"
    MODEL = "model"


def detect_kind(folder: Path) -> RepoKind:
    """A build folder (``manifest.json``) or a sentence-transformers model folder
    (``modules.json`` / ``config_sentence_transformers.json``)."""
    if not folder.is_dir():
        raise MtqaError(f"{folder} is not a folder: pass a build folder (`mtqa build --out`) "
                        "or a model folder (`mtqa train --out`)")
    if (folder / BUILD_FILE).is_file():
        return RepoKind.DATASET
    if any((folder / name).is_file() for name in MODEL_FILES):
        return RepoKind.MODEL
    raise MtqaError(f"{folder} is neither a build folder (no {BUILD_FILE}) nor a sentence-transformers model "
                    f"folder (no {' or '.join(MODEL_FILES)})")


@dataclass
class PublishConfig:
    """One ``mtqa publish`` run.

    ``folder``: a build folder or a model folder; ``repo``: ``ORG/NAME`` on the Hub. Without
    ``dry_run`` the staged folder is uploaded with ``HfApi.upload_folder``. ``stage``: where
    the folder to upload is written (default ``FOLDER/hub``). ``source_licenses``: the Hub
    licence of each source (by its manifest name) that mtqa does not know. ``dataset_repos``:
    for a model, the Hub datasets of its training builds, in the order of ``mtqa train
    --data``, linked from the card.
    """

    folder: str
    repo: str
    dry_run: bool = False
    private: bool = False
    revision: str | None = None  # a branch; created from the default branch when missing
    create_pr: bool = False
    include_rejected: bool = False
    source_licenses: dict[str, str] = field(default_factory=dict)
    dataset_repos: list[str] = field(default_factory=list)
    commit_message: str | None = None
    stage: str | None = placement(None)
    max_rows_per_file: int = placement(500_000)

    def __post_init__(self) -> None:
        self.folder = str(self.folder)
        if not isinstance(self.repo, str) or not _REPO_RE.fullmatch(self.repo) or ".." in self.repo \
                or "--" in self.repo or self.repo.endswith((".git", ".")):
            raise MtqaError(f"--repo must be ORG/NAME (letters, digits, '-', '_', '.'; at most 96 each), got {self.repo!r}")
        for repo in self.dataset_repos:
            if not _REPO_RE.fullmatch(repo):
                raise MtqaError(f"--dataset-repo must be ORG/NAME, got {repo!r}")
        if self.create_pr and self.revision:
            raise MtqaError("--create-pr opens a pull request against the default branch: it cannot be combined "
                            "with --revision (to add to an open PR, pass --revision refs/pr/N)")
        if self.revision is not None and not self.revision.strip():
            raise MtqaError("--revision is empty")
        for name, value in list(self.source_licenses.items()):
            spelled = hub_license(value)
            if spelled is None:
                raise MtqaError(f"--source-license {name}={value}: not a licence identifier the Hub knows "
                                "(huggingface.co/docs/hub/repositories-licenses, e.g. cc-by-sa-4.0, apache-2.0, other)")
            self.source_licenses[name] = spelled
        if not isinstance(self.max_rows_per_file, int) or self.max_rows_per_file < 1:
            raise MtqaError(f"rows per Parquet file must be a whole number >= 1, got {self.max_rows_per_file!r}")

    @property
    def stage_dir(self) -> Path:
        return Path(self.stage) if self.stage else Path(self.folder) / STAGE_NAME


def parse_source_licenses(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["squad_dev=cc-by-sa-4.0"]`` → ``{"squad_dev": "cc-by-sa-4.0"}``."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise MtqaError(f"--source-license takes NAME=LICENSE (the source's name in the manifest), got {item!r}")
        out[name.strip()] = value.strip()
    return out
