"""``OUT/manifest.json`` from the partitions' manifests, whoever ran them and wherever.

Each partition's executor writes ``OUT/manifests/shard-SSSSS-of-NNNNN.json`` and, when it is
the last one to finish, the merged manifest. :func:`merge_build` does the merge on its own
(``mtqa merge OUT``): after an array whose tasks ran on machines that could not see each
other's files in time (NFS caches directory listings for a few seconds), or to say which
partitions are still missing.
"""

from __future__ import annotations

import re
from pathlib import Path

from mtqa.errors import MtqaError
from mtqa.pipeline.executor import merge_manifests, missing_partitions
from mtqa.pipeline.manifest import Manifest

_PART = re.compile(r"shard-(\d{5})-of-(\d{5})\.json")


def partition_manifests(out: Path) -> dict[int, dict[int, Path]]:
    """The partition manifests under ``OUT/manifests/``: ``{num_shards: {shard_index: path}}``."""
    found: dict[int, dict[int, Path]] = {}
    for path in sorted((Path(out) / "manifests").glob("shard-*-of-*.json")):
        match = _PART.fullmatch(path.name)
        if match:
            found.setdefault(int(match[2]), {})[int(match[1])] = path
    return found


def merge_build(out: str | Path, num_shards: int | None = None, *, if_complete: bool = False) -> Manifest | None:
    """Merge ``OUT``'s partition manifests into ``OUT/manifest.json`` and return it.

    ``num_shards``: the partition count (default: the one the manifests name). A partition
    without a manifest is an error naming it, or, with ``if_complete`` (what each array task
    runs after its partition), returns None: a later task will merge. Partitions of
    different pipelines, or a manifest naming a data file that is gone, are refused."""
    out = Path(out)
    if not out.is_dir():
        raise MtqaError(f"{out} is not a directory: give the --out of a build")
    found = partition_manifests(out)
    if num_shards is None:
        if not found:
            raise MtqaError(f"{out}/manifests/ holds no partition manifest: no partition of a build has finished there")
        if len(found) > 1:
            counts = ", ".join(str(n) for n in sorted(found))
            raise MtqaError(f"{out}/manifests/ holds partitions of several partition counts ({counts}); "
                            "give --num-shards")
        num_shards = next(iter(found))
    missing = missing_partitions(out, num_shards)
    if missing:
        if if_complete:
            return None
        listed = ", ".join(str(i) for i in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise MtqaError(f"{len(missing)} of {num_shards} partitions have no manifest yet (partition {listed}): "
                        "still running, or failed (rerun them: a rerun resumes)")
    parts = {i: Manifest.read(path) for i, path in found[num_shards].items()}
    identities = {p.identity_sha256 for p in parts.values()}
    if len(identities) > 1:
        raise MtqaError(f"the partition manifests in {out}/manifests/ are of different pipelines; "
                        "rerun the partitions whose build.json differs, into a new --out")
    for i, part in parts.items():
        listed = [(f.path, f.bytes) for f in part.files]
        listed += [(f.rejected["path"], f.rejected["bytes"]) for f in part.files if f.rejected]
        for relative, size in listed:
            path = out / relative
            if not path.is_file() or path.stat().st_size != size:
                raise MtqaError(f"partition {i}'s manifest lists {path}, which is missing or has changed size; "
                                f"rerun partition {i} to rebuild it")
    merged = merge_manifests(out, num_shards)
    if merged is None:  # a manifest vanished between the listing and the merge
        raise MtqaError(f"a partition manifest under {out}/manifests/ disappeared while merging; run the merge again")
    return merged
