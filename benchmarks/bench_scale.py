"""Scale-out on this machine: 1 task against 2 tasks on the same input, the per-partition
translation cache against one shared cache, and the per-row overheads that do not shrink
with more tasks (each task reads the whole input to find its partition; each starts and
loads the model once).

The input is the first --limit questions of SQuAD 2.0 dev (../shared/data), toy model, two
pseudo-languages; every run starts from an empty output and empty caches, on one local Ray
cluster (num_cpus=2) started once. Wall times on a shared 2-core machine are noisy: the
load average is printed with each run, and the CPU seconds of the tasks beside the wall.

    python benchmarks/bench_scale.py [--limit 1500] [--json results.json]
    python benchmarks/bench_scale.py --datatrove   # datatrove's RayPipelineExecutor, a rank killed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import SHARED_DATA, require

SQUAD_DEV = SHARED_DATA / "squad-v2" / "dev-v2.0.json"
CPU_STEPS = ("segment", "dedup", "assemble", "filter", "write")


def config_for(root: Path, name: str, limit: int, threads: int = 0, chunk_size: int = 500, sources=None):
    from mtqa.config import load_pipeline

    overrides = {"translate.cache_dir": str(root / f"cache-{name}"), "translate.inter_threads": threads}
    return load_pipeline(None, sources=sources or [str(require(SQUAD_DEV))], limit=limit, chunk_size=chunk_size,
                         out=str(root / f"out-{name}"), **overrides)


def run(root: Path, name: str, executor: str, tasks: int, limit: int, threads: int = 0, cache: str = "partition",
        sources=None, chunk_size: int = 500) -> dict:
    from mtqa.scale import ScaleConfig, launch

    config = config_for(root, name, limit, threads, chunk_size, sources)
    load = os.getloadavg()[0]
    launched = launch(config, ScaleConfig(executor=executor, tasks=tasks, task_cache=cache))
    m = launched.manifest
    result = {
        "name": name, "executor": executor, "tasks": tasks, "inter_threads": threads or "auto", "cache": cache,
        "wall_s": round(launched.seconds, 2), "task_cpu_s": round(sum(t.cpu_seconds for t in launched.tasks), 2),
        "task_wall_s": [t.seconds for t in launched.tasks], "load_avg_1min": round(load, 2),
        "rows": m.rows, "input_rows": m.count("source", "rows_out"),
        "translated": m.count("translate", "translated"), "cache_hits": m.count("translate", "cache_hits"),
        "straggler_ratio": m.balance.straggler_ratio if m.balance else None,
        # what a task costs besides its executor run: scheduling, imports, opening the model
        "start_overhead_s": round(launched.seconds - max(t.seconds or 0.0 for t in launched.tasks), 2),
        "partition_seconds": [p["seconds"] for p in m.partitions or []],
        "stage_seconds": {name: round(s.seconds, 3) for name, s in m.stages.items()},
        "out": config.out,
    }
    print(f"{name:<34} wall {result['wall_s']:7.2f} s  task CPU {result['task_cpu_s']:7.2f} s  "
          f"translated {result['translated']:6,}  cache hits {result['cache_hits']:5,}  "
          f"straggler {result['straggler_ratio']}  load {load:.1f}", flush=True)
    return result


def shard_bytes(out: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for d in ("data", "rejected") for p in sorted((Path(out) / d).glob("*.arrow"))}


def rows_differing(a: str, b: str) -> int:
    """(id, lang) rows whose content differs between two builds of the same input, however
    partitioned (the toy model's int8 output can depend on which segments share a batch)."""
    import pyarrow as pa

    def rows(out: str) -> dict:
        table = pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted((Path(out) / "data").glob("*.arrow")))
        return {(r["id"], r["lang"]): r for r in table.to_pylist()}

    left, right = rows(a), rows(b)
    return sum(left.get(k) != right.get(k) for k in set(left) | set(right))


def overheads(two: dict, limit: int) -> dict:
    """Per-row costs from the 2-task run's merged manifest and its partitions."""
    from mtqa.pipeline.manifest import Manifest

    out = Path(two["out"])
    parts = [Manifest.read(p) for p in sorted((out / "manifests").glob("shard-*.json"))]
    read = [p.stage("source").seconds for p in parts]
    translated = sum(p.count("translate", "translated") for p in parts)
    translate_s = sum(p.stage("translate").seconds for p in parts)
    cpu_s = sum(p.stage(s).seconds for p in parts for s in CPU_STEPS)
    rows = sum(p.count("source", "rows_out") for p in parts)
    return {
        # Every task reads (and hashes) every input row to find its partition.
        "read_us_per_input_row_per_task": round(1e6 * sum(read) / len(parts) / limit, 1),
        "cpu_steps_us_per_row": round(1e6 * cpu_s / rows, 1),
        "translate_ms_per_segment_cpu_toy": round(1e3 * translate_s / max(translated, 1), 3),
        "segments_per_row": round(translated / rows, 3),
    }


def read_cost(num_shards: int = 8, repeats: int = 3) -> dict:
    """Seconds for one task to read all of the SQuAD 2.0 dev file and keep its partition: the part of
    a task's work that does not shrink as tasks are added."""
    from mtqa.readers import ReaderStep

    best = float("inf")
    for _ in range(repeats):
        reader = ReaderStep.from_specs([str(require(SQUAD_DEV))], 1000, num_shards=num_shards, shard_index=0)
        started = time.perf_counter()
        kept = sum(chunk.qa.num_rows for chunk in reader.run(iter(())))
        best = min(best, time.perf_counter() - started)
    total = sum(chunk.qa.num_rows for chunk in ReaderStep.from_specs([str(SQUAD_DEV)], 1000).run(iter(())))
    return {"input_rows": total, "kept_rows": kept, "seconds": round(best, 3),
            "us_per_input_row": round(1e6 * best / total, 1)}


def cross_partition_duplicates(counts=(1, 2, 4, 8, 16, 64)) -> dict:
    """Per-partition caches translate a segment once per partition it occurs in; one shared
    cache (at best) once. For N partitions of the SQuAD 2.0 dev file: the distinct segments
    (questions, passage sentences, answers) summed over partitions, relative to N=1."""
    from mtqa.readers import ReaderStep
    from mtqa.readers.step import shard_of
    from mtqa.steps.segment import SegmentConfig, SegmentStep

    pairs = []  # (passage, segment text)
    for chunk in SegmentStep(SegmentConfig()).run(ReaderStep.from_specs([str(require(SQUAD_DEV))], 1000).run(iter(()))):
        passages = chunk.qa.column("passage").to_pylist()
        for row, text in zip(chunk.segments.column("row").to_pylist(), chunk.segments.column("text").to_pylist()):
            pairs.append((passages[row], text))
    shard_cache: dict = {}
    out = {}
    for n in counts:
        distinct = set()
        for passage, text in pairs:
            key = (passage, n)
            if key not in shard_cache:
                shard_cache[key] = shard_of(passage, n)
            distinct.add((shard_cache[key], text))
        out[n] = len(distinct)
    return {"distinct_segments": out, "extra_vs_shared": {n: round(v / out[1] - 1, 4) for n, v in out.items()}}


def datatrove_kill(root: Path, wait_s: float, time_limit: int | None) -> dict:
    """4 mtqa partitions as 4 datatrove ranks (RayPipelineExecutor); the process running one
    rank is killed after its partition has finished 3 chunks."""
    import psutil
    import ray
    from datatrove.executor import RayPipelineExecutor

    from mtqa.config import load_pipeline
    from mtqa.scale.partitions import run_partition

    config = load_pipeline(None, out=str(root / "dt-out"), chunk_size=2,
                           **{"translate.cache_dir": str(root / "dt-cache")})

    def mtqa_rank(data, rank=0, world_size=1):
        run_partition(config, world_size, rank)
        return iter(())

    executor = RayPipelineExecutor([mtqa_rank], tasks=4, logging_dir=str(root / "dt-logs"), cpus_per_task=1,
                                   mem_per_cpu_gb=0.5, time=time_limit)
    killed: dict = {}

    def killer():
        markers = root / "dt-out" / "progress" / "shard-00001"
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            if markers.is_dir() and len(list(markers.glob("chunk-*.json"))) >= 3:
                for proc in psutil.process_iter(["cmdline"]):
                    if " ".join(proc.info["cmdline"] or []).startswith("ray::RankWorker"):
                        children = proc.children()  # the rank runs in a multiprocess.Pool child of the actor
                        if children:
                            os.kill(children[0].pid, signal.SIGKILL)
                            killed["pid"] = children[0].pid
                            break
            time.sleep(0.005)

    outcome: dict = {}

    def drive():
        try:
            executor.run()
            outcome["returned"] = True
        except Exception as e:  # noqa: BLE001 - what datatrove raises is the finding
            outcome["raised"] = f"{type(e).__name__}: {e}"[:200]

    threading.Thread(target=killer, daemon=True).start()
    started = time.time()
    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    driver.join(timeout=wait_s)
    completions = root / "dt-logs" / "completions"
    return {"time_limit_s": time_limit, "waited_s": round(time.time() - started, 1), "finished": not driver.is_alive(),
            **outcome, "killed": bool(killed),
            "ranks_completed": sorted(os.listdir(completions)) if completions.is_dir() else [],
            "merged_manifest": (root / "dt-out" / "manifest.json").exists()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=1500, help="SQuAD 2.0 dev questions (default 1500)")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--datatrove", action="store_true",
                        help="Only the datatrove comparison (needs `pip install datatrove`).")
    parser.add_argument("--datatrove-time", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--datatrove-one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if args.datatrove:
        # Each case in a process and a Ray cluster of its own: a hung rank's actor would
        # otherwise live on into the next case.
        results = {}
        for limit in (None, 40):
            cmd = [sys.executable, __file__, "--datatrove-one"] + ([] if limit is None else ["--datatrove-time", str(limit)])
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            line = next((x for x in reversed(done.stdout.splitlines()) if x.startswith("{")), None)
            results[f"time_limit_{limit}"] = json.loads(line) if line else {"error": done.stderr.strip()[-300:]}
            print(json.dumps(results[f"time_limit_{limit}"]), flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        return
    import ray

    root = Path(tempfile.mkdtemp(prefix="mtqa-scale-"))
    started = time.time()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    results: dict = {"ray_init_s": round(time.time() - started, 2), "limit": args.limit}
    print(f"Ray local cluster (num_cpus=2) started in {results['ray_init_s']} s", flush=True)
    try:
        if args.datatrove_one:
            print(json.dumps(datatrove_kill(root, wait_s=120, time_limit=args.datatrove_time)), flush=True)
            ray.shutdown()
            shutil.rmtree(root, ignore_errors=True)
            os._exit(0)  # a hung rank leaves threads that would keep this process alive
        else:
            runs = [
                run(root, "local, 1 task (no Ray)", "local", 1, args.limit),
                run(root, "ray, 1 task", "ray", 1, args.limit),
                run(root, "ray, 2 tasks, 1 thread each", "ray", 2, args.limit, threads=1),
                run(root, "ray, 2 tasks, auto threads", "ray", 2, args.limit),
                run(root, "ray, 2 tasks, 1 thread, shared cache", "ray", 2, args.limit, threads=1, cache="shared"),
            ]
            results["runs"] = runs
            one, split, shared = runs[1], runs[2], runs[4]
            results["speedup_2_tasks_split_threads"] = round(one["wall_s"] / split["wall_s"], 3)
            results["speedup_2_tasks_auto_threads"] = round(one["wall_s"] / runs[3]["wall_s"], 3)
            results["ray_overhead_1_task_s"] = round(one["wall_s"] - runs[0]["wall_s"], 2)
            results["shared_cache_saves_translations"] = split["translated"] - shared["translated"]
            results["shared_cache_saved_share"] = round(1 - shared["translated"] / split["translated"], 4)
            results["outputs_equal"] = {
                "1 vs 2 tasks: rows differing": rows_differing(one["out"], split["out"]),
                "2 tasks: partition vs shared cache": shard_bytes(split["out"]) == shard_bytes(shared["out"]),
                "2 tasks: 1 thread vs auto threads": shard_bytes(split["out"]) == shard_bytes(runs[3]["out"]),
            }
            results["per_row"] = overheads(split, args.limit)
            results["read_all_of_squad_dev_one_task"] = read_cost()
            results["per_partition_cache_extra_translations"] = cross_partition_duplicates()
            for key in ("speedup_2_tasks_split_threads", "speedup_2_tasks_auto_threads", "ray_overhead_1_task_s",
                        "shared_cache_saves_translations", "shared_cache_saved_share", "outputs_equal", "per_row",
                        "read_all_of_squad_dev_one_task", "per_partition_cache_extra_translations"):
                print(f"{key}: {results[key]}")
    finally:
        ray.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
