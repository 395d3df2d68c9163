"""The shared timing harness of the benchmarks: like against like, on a noisy shared machine.

- :func:`interleaved` runs each side once per round, A B A B … (so load that comes and goes
  hits both sides alike), and gives each side's median and min wall time, every run's time
  and the load average around each run, and the side's last output.
- :func:`same_outputs` compares the sides' outputs: a benchmark states what it compared and
  fails loudly when the sides disagree, never prints "equal" unchecked.
- :func:`load_average` is the 1/5/15-minute load, recorded with every figure (the
  development machine has 2 cores shared with other engineers).

One side per process where sides would share threads (CTranslate2 against torch): run each
side as a subprocess from the callable.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


def load_average() -> str:
    """The 1, 5 and 15-minute load averages, as ``"2.31 2.80 3.02"``."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass(frozen=True)
class Measured:
    """What a side may return when it times itself (a subprocess timing its own work, say):
    ``seconds`` replaces the wall time of the call."""

    seconds: float
    output: Any = None


@dataclass
class Timing:
    """One side of a comparison: wall seconds of every run, in order, and the load average
    (1 minute) when each started; ``output`` is what the last run returned."""

    name: str
    seconds: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    output: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def min(self) -> float:
        return min(self.seconds)

    def line(self, work: float | None = None, unit: str = "items") -> str:
        rate = f"  {work / self.median:12,.1f} {unit}/s (median)" if work else ""
        return (f"{self.name:32} median {self.median:8.3f} s  min {self.min:8.3f} s  over {len(self.seconds)} runs"
                f"{rate}  load {min(self.loads):.2f}-{max(self.loads):.2f}")


def interleaved(sides: dict[str, Callable[[], Any]], repeats: int = 3,
                setup: Callable[[str], None] | None = None) -> dict[str, Timing]:
    """Run every side ``repeats`` times, interleaved A B A B …; ``setup(name)`` runs before
    each run, untimed (a fresh cache, say). A side returning :class:`Measured` gives its own
    seconds."""
    timings = {name: Timing(name) for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            if setup is not None:
                setup(name)
            timings[name].loads.append(os.getloadavg()[0])
            start = time.perf_counter()
            output = fn()
            seconds = time.perf_counter() - start
            if isinstance(output, Measured):
                seconds, output = output.seconds, output.output
            timings[name].output = output
            timings[name].seconds.append(seconds)
    return timings


def ratio_line(numerator: Timing, denominator: Timing, target: str = "") -> str:
    """``numerator / denominator`` of the medians and of the mins."""
    med = numerator.median / denominator.median
    low = numerator.min / denominator.min
    return (f"ratio {numerator.name} / {denominator.name}: {med:.3f} (medians), {low:.3f} (mins)"
            + (f"  target {target}" if target else ""))


def same_outputs(a: Sequence, b: Sequence, what: str, *, allow: float = 0.0) -> float:
    """The share of equal items of ``a`` and ``b``; exits with a message when it is below
    ``1 - allow`` or the lengths differ, so a benchmark never reports a comparison of
    different work."""
    if len(a) != len(b):
        raise SystemExit(f"{what}: the sides gave {len(a):,} and {len(b):,} items")
    equal = sum(x == y for x, y in zip(a, b, strict=True)) / max(1, len(a))
    if equal < 1 - allow:
        raise SystemExit(f"{what}: only {equal:.4%} of the outputs are equal (allowed: {1 - allow:.4%})")
    return equal


def peak_rss_mb() -> float:
    """This process's peak resident set, in MB (Linux ``VmHWM``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
