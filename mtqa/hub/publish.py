"""``publish(config) -> PublishPlan``: stage a build or a model for the Hub, and push it.

The staging folder (``FOLDER/hub`` unless ``--stage``) is exactly what is uploaded. It is
written beside itself first and moved into place whole, so a failed run leaves the previous
one intact; it holds ``mtqa_publish.json`` (every file with its size and sha256), which is
also how a later run knows that the folder is mtqa's to replace. ``--dry-run`` stops there.

For a build: the Parquet configs (:mod:`mtqa.hub.export`), ``README.md`` (the dataset card,
checked offline by :mod:`mtqa.hub.validate`) and ``manifest.json`` (the build's manifest,
without the local output path). For a model: the model files and its card
(:mod:`mtqa.hub.model_card`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from mtqa import __version__
from mtqa.errors import MtqaError
from mtqa.hub.config import PublishConfig, RepoKind, detect_kind
from mtqa.hub.export import ConfigExport
from mtqa.io import sha256_file

logger = logging.getLogger(__name__)

RECORD_NAME = "mtqa_publish.json"
CARD_NAME = "README.md"


@dataclass(frozen=True, slots=True)
class StagedFile:
    path: str  # relative to the staging folder, with "/" separators
    bytes: int
    sha256: str


@dataclass
class PublishPlan:
    """What was staged (and, without ``--dry-run``, where it went)."""

    kind: RepoKind
    repo: str
    folder: Path
    stage: Path
    files: list[StagedFile]
    configs: list[ConfigExport] = field(default_factory=list)
    dry_run: bool = True
    push: object | None = None  # mtqa.hub.push.PushResult after a real push
    notes: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def lines(self) -> list[str]:
        """The plan ``mtqa publish`` prints: files, sizes and configs."""
        head = f"{self.kind.value} {self.repo} <- {self.folder}"
        lines = [head + (" (dry run: nothing uploaded)" if self.dry_run else "")]
        if self.configs:
            splits = list(dict.fromkeys(s.name for c in self.configs for s in c.splits))
            lines.append("")
            lines.append(f"{'config':<14}" + "".join(f"{s:>12}" for s in splits) + f"{'files':>8}")
            for c in self.configs:
                rows = c.split_rows()
                lines.append(f"{c.name:<14}" + "".join(f"{rows.get(s, 0):>12,}" for s in splits)
                             + f"{sum(len(s.files) for s in c.splits):>8}")
        lines.append("")
        width = max(len(f.path) for f in self.files)
        for f in self.files:
            lines.append(f"{f.path:<{width}}  {_size(f.bytes):>10}")
        lines.append(f"{len(self.files)} files, {_size(self.total_bytes)} in {self.stage}")
        lines += self.notes
        if self.push is not None:
            p = self.push
            lines.append(f"uploaded to {p.repo_url} as {p.user}"
                         + (f"; pull request: {p.pull_request_url}" if p.pull_request_url else "")
                         + (f"; commit: {p.commit_url}" if p.commit_url and not p.pull_request_url else ""))
        elif self.dry_run:
            lines.append(f"upload it with the same command without --dry-run (to {self.repo})")
        return lines


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _check_stage(stage: Path, folder: Path) -> None:
    s, f = stage.resolve(), folder.resolve()
    if s == f or s in f.parents:
        raise MtqaError(f"--stage {stage} is {folder} itself or holds it, and would be replaced: choose another folder")
    if stage.exists():
        if not stage.is_dir():
            raise MtqaError(f"--stage {stage} is a file, not a folder")
        if any(stage.iterdir()) and not (stage / RECORD_NAME).is_file():
            raise MtqaError(f"--stage {stage} exists and was not written by mtqa publish (no {RECORD_NAME}): "
                            "choose a new or empty folder")


def _staged_files(stage: Path) -> list[StagedFile]:
    out = []
    for path in sorted(p for p in stage.rglob("*") if p.is_file()):
        rel = path.relative_to(stage).as_posix()
        out.append(StagedFile(rel, path.stat().st_size, sha256_file(path)))
    return out


def _replace_dir(tmp: Path, stage: Path) -> None:
    old = stage.with_name(f".{stage.name}.old-{os.getpid()}")
    if stage.exists():
        os.replace(stage, old)
    os.replace(tmp, stage)
    shutil.rmtree(old, ignore_errors=True)


def _stage_dataset(config: PublishConfig, folder: Path, tmp: Path) -> tuple[list[ConfigExport], dict]:
    from mtqa.hub.dataset_card import render_dataset_card
    from mtqa.hub.export import export_build
    from mtqa.hub.provenance import dataset_facts
    from mtqa.hub.validate import check_dataset_card
    from mtqa.pipeline.manifest import Manifest

    manifest = Manifest.load(folder)
    export = export_build(folder, manifest, tmp, include_rejected=config.include_rejected,
                          max_rows_per_file=config.max_rows_per_file)
    facts = dataset_facts(manifest, export, repo=config.repo, source_licenses=config.source_licenses)
    card = render_dataset_card(facts, export)
    (tmp / CARD_NAME).write_text(str(card), encoding="utf-8")
    check_dataset_card(tmp / CARD_NAME)
    published = manifest.to_dict()
    published["pipeline"] = {k: v for k, v in published["pipeline"].items() if k != "out"}  # a local path
    (tmp / "manifest.json").write_text(json.dumps(published, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    about = {"build_identity_sha256": manifest.identity_sha256, "build_mtqa_version": manifest.mtqa_version}
    split = manifest.title_split()
    if split is not None:
        about["title_split"] = {"kept": list(split.kept), "held_out": list(split.held_out), "rules": list(split.rules)}
    return list(export.configs), about


def _stage_model(config: PublishConfig, folder: Path, tmp: Path) -> tuple[list[str], dict]:
    from mtqa.hub.model_card import stage_model

    staged = stage_model(folder, tmp, config)
    notes = []
    if staged.dropped_languages:
        notes.append(f"note: {', '.join(staged.dropped_languages)} left out of the card's language metadata "
                     "(not ISO 639 codes)")
    return notes, {"builds": [{"identity_sha256": b.get("identity_sha256"), "dataset": repo}
                              for b, repo in zip(staged.builds, staged.dataset_repos or [None] * len(staged.builds),
                                                 strict=True)]}


def publish(config: PublishConfig, *, api=None) -> PublishPlan:
    """Stage ``config.folder`` and, unless ``config.dry_run``, upload it (``api``: an
    ``HfApi`` to use instead of the default one)."""
    folder = Path(config.folder)
    kind = detect_kind(folder)
    if kind == RepoKind.MODEL and config.include_rejected:
        raise MtqaError("--include-rejected is for builds; a model folder has no rejected rows")
    if kind == RepoKind.DATASET and config.dataset_repos:
        raise MtqaError("--dataset-repo is for models (the Hub datasets of their training builds)")
    stage = config.stage_dir
    _check_stage(stage, folder)
    tmp = stage.with_name(f".{stage.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    configs: list[ConfigExport] = []
    notes: list[str] = []
    try:
        if kind == RepoKind.DATASET:
            configs, about = _stage_dataset(config, folder, tmp)
        else:
            notes, about = _stage_model(config, folder, tmp)
        files = _staged_files(tmp)
        record = {"mtqa_version": __version__, "kind": kind.value, "repo": config.repo, **about,
                  "configs": {c.name: c.split_rows() for c in configs},
                  "files": [{"path": f.path, "bytes": f.bytes, "sha256": f.sha256} for f in files]}
        (tmp / RECORD_NAME).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        _replace_dir(tmp, stage)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    files = _staged_files(stage)
    plan = PublishPlan(kind=kind, repo=config.repo, folder=folder, stage=stage, files=files, configs=configs,
                       dry_run=config.dry_run, notes=notes)
    logger.info("staged %d files (%d bytes) in %s", len(files), plan.total_bytes, stage)
    if not config.dry_run:
        from mtqa.hub.push import push_folder

        plan.push = push_folder(stage, config, kind, api=api)
    return plan
