"""A real single-node Slurm on this machine: a 3-task `mtqa build --executor slurm` array
finishes and merges; prints the time from submission to the merged manifest.

Starts its own munged, slurmctld and slurmd (Debian's slurm-wlm and munge packages; root, as
slurmd must be), configured in a temporary folder with `SlurmctldHost` and one node of this
host (CPUs=2), on ports of its own, and stops them at the end. The build is the offline
default (64 XQuAD questions, toy model) in chunks of 4; its bytes are checked against the
same 3 partitions built one after another here.

    python benchmarks/bench_slurm.py [--tasks 3] [--keep DIR]

Exit status: 0 when the array finished, merged and matched; 1 on a failure; 77 when Slurm
cannot start here (the reason is printed), which the test suite reports as a skip.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SKIP = 77
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")


def skip(reason: str) -> None:
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(Path(d) / name) for d in ("/usr/sbin", "/usr/bin", "/sbin") if (Path(d) / name).exists()), None)


def write_conf(tmp: Path, host: str, munge_socket: Path) -> Path:
    for d in ("state", "spool", "log"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    conf = tmp / "slurm.conf"
    conf.write_text("\n".join([
        "ClusterName=mtqa-bench",
        f"SlurmctldHost={host}",
        f"SlurmctldPort={free_port()}",
        f"SlurmdPort={free_port()}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={munge_socket}",
        f"StateSaveLocation={tmp / 'state'}",
        f"SlurmdSpoolDir={tmp / 'spool'}",
        f"SlurmctldPidFile={tmp / 'slurmctld.pid'}",
        f"SlurmdPidFile={tmp / 'slurmd.pid'}",
        f"SlurmctldLogFile={tmp / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={tmp / 'log' / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "MpiDefault=none",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "ReturnToService=2",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "SlurmctldTimeout=30",
        "SlurmdTimeout=30",
        f"NodeName={host} CPUs=2 State=UNKNOWN",
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
    ]) + "\n", encoding="utf-8")
    return conf


def live_stepds() -> list[int]:
    """Running (not zombie) slurmstepd processes."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if fields[0].endswith("(slurmstepd") and fields[1].split()[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


class Cluster:
    """munged, slurmctld and slurmd of this run; :meth:`stop` ends exactly these."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        self.host = socket.gethostname().split(".")[0]
        self.munge_socket = tmp / "munge" / "munge.socket"
        self.env = {**os.environ}

    def start(self) -> None:
        if os.geteuid() != 0:
            skip("slurmd has to run as root to start jobs; this benchmark starts its own cluster")
        missing = [d for d in DAEMONS if find(d) is None]
        if missing:
            skip(f"{', '.join(missing)} not found: apt-get install -y slurm-wlm munge")
        munge_dir = self.tmp / "munge"
        munge_dir.mkdir(parents=True)
        munge_dir.chmod(0o700)
        key = munge_dir / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self._daemon([find("munged"), "--foreground", "--force", f"--key-file={key}",
                      f"--socket={self.munge_socket}", f"--pid-file={munge_dir / 'munged.pid'}",
                      f"--log-file={munge_dir / 'munged.log'}", f"--seed-file={munge_dir / 'munged.seed'}"],
                     "munged")
        self._wait(lambda: self.munge_socket.exists(), 10, "munged did not create its socket",
                   munge_dir / "munged.log")
        conf = write_conf(self.tmp, self.host, self.munge_socket)
        self.env["SLURM_CONF"] = str(conf)
        self._daemon([find("slurmctld"), "-D", "-i", "-f", str(conf)], "slurmctld")
        self._daemon([find("slurmd"), "-D", "-f", str(conf), "-N", self.host], "slurmd")

        def node_idle() -> bool:
            out = subprocess.run([find("sinfo"), "-h", "-o", "%T"], env=self.env, capture_output=True, text=True)
            return out.returncode == 0 and out.stdout.strip().startswith("idle")

        self._wait(node_idle, 60, "the node did not become idle", self.tmp / "log" / "slurmd.log")

    def _daemon(self, cmd: list[str], name: str) -> None:
        log = (self.tmp / f"{name}.stdout").open("w")
        proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        time.sleep(0.3)
        if proc.poll() is not None:
            lines = (self.tmp / f"{name}.stdout").read_text(errors="replace").strip().splitlines()
            skip(f"{name} exited at once (status {proc.returncode}): {lines[-1] if lines else 'no output'}")

    def _wait(self, ready, seconds: float, what: str, log: Path) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            if ready():
                return
            time.sleep(0.2)
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        skip(f"{what} within {seconds:.0f} s; last log lines: {' | '.join(tail) or 'none'}")

    def stop(self) -> None:
        if "SLURM_CONF" in self.env:
            # Cancel what is left and let each job's slurmstepd report back before slurmd goes:
            # a stepd whose slurmd is gone lingers.
            subprocess.run([find("scancel"), "--user", "root"], env=self.env, capture_output=True)
            deadline = time.time() + 15
            while live_stepds() and time.time() < deadline:
                time.sleep(0.2)
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def run_array(cluster: Cluster, work: Path, tasks: int) -> dict:
    out = work / "out"
    env = {**cluster.env, "MTQA_CACHE": str(work / "cache-slurm")}
    cmd = [sys.executable, "-m", "mtqa.cli", "build", "--executor", "slurm", "--tasks", str(tasks),
           "--partition", "debug", "--cpus-per-task", "1", "--time", "00:10:00", "--chunk-size", "4",
           "--out", str(out)]
    started = time.time()
    submitted = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work)
    if submitted.returncode != 0:
        raise SystemExit(f"FAIL: submission failed: {submitted.stderr.strip()}")
    found = re.search(r"submitted Slurm job (\d+)", submitted.stdout)
    if found is None:
        raise SystemExit(f"FAIL: no job id in the submission's output: {submitted.stdout.strip()}")
    job = found[1]
    deadline = time.time() + 300
    while time.time() < deadline:
        queued = subprocess.run([find("squeue"), "-h", "-j", job], env=env, capture_output=True, text=True)
        if queued.returncode == 0 and not queued.stdout.strip() and (out / "manifest.json").exists():
            break
        if queued.returncode == 0 and not queued.stdout.strip():
            time.sleep(1)  # the last task's merge is a file write away
            if (out / "manifest.json").exists():
                break
            logs = sorted((work / "out.slurm" / "logs").glob("*.out"))
            tails = {p.name: p.read_text(errors="replace").strip().splitlines()[-2:] for p in logs}
            raise SystemExit(f"FAIL: job {job} left the queue without a merged manifest; logs: {json.dumps(tails)}")
        time.sleep(0.2)
    else:
        raise SystemExit(f"FAIL: job {job} still queued or running after 300 s")
    seconds = time.time() - started
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"job": job, "seconds": seconds, "manifest": manifest, "out": out}


def reference(work: Path, tasks: int) -> Path:
    """The same partitions one after another in this process (--executor local)."""
    out = work / "reference"
    env = {**os.environ, "MTQA_CACHE": str(work / "cache-local")}
    done = subprocess.run([sys.executable, "-m", "mtqa.cli", "build", "--executor", "local", "--tasks", str(tasks),
                           "--chunk-size", "4", "--no-progress", "--out", str(out)], env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"FAIL: local reference build failed: {done.stderr.strip()}")
    return out


def shard_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for d in ("data", "rejected") for p in sorted((out / d).glob("*.arrow"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it (default: a temporary one).")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="mtqa-slurm-"))
    work.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(work / "slurm")
    try:
        cluster.start()
        result = run_array(cluster, work, args.tasks)
    finally:
        cluster.stop()
    expected = shard_bytes(reference(work, args.tasks))
    got = shard_bytes(result["out"])
    manifest = result["manifest"]
    balance = manifest.get("balance") or {}
    print(f"slurm array of {args.tasks} tasks (job {result['job']}): submitted to merged manifest in "
          f"{result['seconds']:.1f} s; {manifest['rows']} rows; partitions "
          f"{[p['rows'] for p in manifest['partitions']]}; straggler ratio {balance.get('straggler_ratio')}")
    if got != expected:
        raise SystemExit(f"FAIL: the array's {len(got)} shard files differ from the local build's {len(expected)}")
    print(f"OK: {len(got)} shard files byte-identical to the same {args.tasks} partitions built one after another")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
