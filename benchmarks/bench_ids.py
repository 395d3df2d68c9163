"""The reader's duplicate-id record (mtqa.readers.seen.IdRecord) against a dict of the ids.

Baseline: what the reader kept before issue 14's memory work, and what one writes first: a
dict ``{id: (digest, source, row)}`` holding every id string with its row's 16-byte digest.
Both sides get the same ids (``synthetic-0000000``, … as :mod:`make_synthetic` names them),
in batches of ``--batch`` as the reader gives them: look the batch's ids up, then add the
new ones. Each side runs in its own process, interleaved (:mod:`_harness`); its memory is
the peak RSS growth from before the first id to after the last (Linux ``VmHWM``), its time
the whole loop, hashing the ids included. The sides' answers are compared: every id is
looked up once more at the end, with a few never added, and both must give the same
``(digest, source, row)``.

    python benchmarks/bench_ids.py [--ids 1000000] [--batch 500] [--repeats 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import Measured, interleaved, load_average, peak_rss_mb, ratio_line  # noqa: E402


def _digest(i: int) -> bytes:
    return hashlib.blake2b(str(i).encode(), digest_size=16).digest()


def side(name: str, n: int, batch: int) -> dict:
    from mtqa.readers.seen import IdRecord, id_hash

    def ids(first: int, last: int) -> list[str]:
        # Made batch by batch, as the reader reads them: a side keeps only what it stores.
        return [f"synthetic-{i:07d}" for i in range(first, min(last, n))]

    before = peak_rss_mb()
    start = time.perf_counter()
    if name == "IdRecord":
        record = IdRecord()
        for first in range(0, n, batch):
            hashes = [id_hash(q) for q in ids(first, first + batch)]
            found = record.find(hashes)
            for i, hashed in enumerate(hashes, first):
                if hashed not in found:
                    record.add(hashed, _digest(i), "synthetic.jsonl", i)

        def lookup(qs):
            hashes = [id_hash(q) for q in qs]
            found = record.find(hashes)
            return [found.get(h) for h in hashes]
    else:
        seen: dict[str, tuple[bytes, str, int]] = {}
        for first in range(0, n, batch):
            for i, q in enumerate(ids(first, first + batch), first):
                if q not in seen:
                    seen[q] = (_digest(i), "synthetic.jsonl", i)

        def lookup(qs):
            return [seen.get(q) for q in qs]
    seconds = time.perf_counter() - start
    grown = peak_rss_mb() - before
    probe = [f"synthetic-{i:07d}" for i in range(0, n, max(1, n // 1000))] + ["never-added-1", "never-added-2"]
    answers = [None if a is None else [a[0].hex(), a[1], a[2]] for a in lookup(probe)]
    return {"seconds": seconds, "mb": grown, "answers": answers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(side(args.side, args.ids, args.batch)))
        return

    def run(name):
        def go():
            done = subprocess.run([sys.executable, __file__, "--side", name, "--ids", str(args.ids),
                                   "--batch", str(args.batch)], capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            return Measured(result["seconds"], result)
        return go

    print(f"load average at start: {load_average()}; {args.ids:,} ids in batches of {args.batch}")
    timing = interleaved({"IdRecord": run("IdRecord"), "dict of ids": run("dict of ids")}, repeats=args.repeats)
    for t in timing.values():
        print(t.line(args.ids, "ids") + f"  peak RSS +{t.output['mb']:.0f} MB")
    print(ratio_line(timing["IdRecord"], timing["dict of ids"]))
    a, b = timing["IdRecord"].output, timing["dict of ids"].output
    if a["answers"] != b["answers"]:
        sys.exit("the sides disagree on which ids were seen, or where")
    print(f"memory: dict / IdRecord {b['mb'] / max(a['mb'], 1e-9):.1f}x; answers equal on {len(a['answers']):,} lookups")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
