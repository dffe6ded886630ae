"""Where bench/fanout.py's pipeline spends its time: samples taken during a run, and the worker
logs read afterwards (with ``--loglevel INFO``, Celery logs each task's receipt and its end).

- ``Sampler``: every 0.25 s the broker's queue lengths, the messages the workers hold
  (kombu's ``unacked``: running, waiting for a free process, or waiting for their countdown)
  and how busy the machine's CPUs are (/proc/stat, every process, ours and the neighbours').
- ``slots``: from the worker logs, how many pool processes were running a task, per second,
  and the gap each process left between the end of one task and the start of the next.
"""

from __future__ import annotations

import collections
import itertools
import re
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import redis


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class Sampler(threading.Thread):
    def __init__(self, url: str, queues: tuple[str, ...], every: float = 0.25, *, prefix: str = "") -> None:
        """``prefix``: the run's REDIS_KEY_PREFIX, which Kombu puts in front of every queue and of
        its ``unacked`` hash."""
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self.queues = queues
        self.every = every
        self.rows: list[tuple[float, tuple[int, ...], int, float]] = []
        self._done = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        last = _cpu_ticks()
        while not self._done.wait(self.every):
            try:
                pipe = self.client.pipeline()
                for queue in self.queues:
                    pipe.llen(self.prefix + queue)
                pipe.hlen(self.prefix + "unacked")
                *lengths, unacked = pipe.execute()
            except redis.RedisError:
                continue
            now = _cpu_ticks()
            busy = (now[0] - last[0]) / max(1, now[1] - last[1])
            last = now
            self.rows.append((time.monotonic() - start, tuple(lengths), unacked, busy))

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)

    def summary(self) -> dict[str, Any]:
        rows = self.rows
        if not rows:
            return {}
        n = len(rows)
        return {
            "samples": n,
            "cpu_busy": sum(r[3] for r in rows) / n,
            "queue_mean": [sum(r[1][i] for r in rows) / n for i in range(len(self.queues))],
            "queue_empty": [sum(1 for r in rows if r[1][i] == 0) / n for i in range(len(self.queues))],
            "unacked_mean": sum(r[2] for r in rows) / n,
            "timeline": [
                (round(r[0]), r[1], r[2], round(100 * r[3])) for i, r in enumerate(rows) if i % int(5 / self.every) == 0
            ],
        }


def print_samples(summary: dict[str, Any], queues: tuple[str, ...] = ("publishing", "polling")) -> None:
    if not summary:
        return
    print(
        f"  machine CPU busy {100 * summary['cpu_busy']:.0f}% (all processes); "
        + "; ".join(
            f"queue {q}: mean {summary['queue_mean'][i]:.0f}, empty {100 * summary['queue_empty'][i]:.0f}% of the time"
            for i, q in enumerate(queues)
        )
        + f"; messages held by workers: mean {summary['unacked_mean']:.1f}",
        flush=True,
    )
    print(
        "  every 5 s (s, queue lengths, held, CPU%): "
        + " ".join(f"{t}:{'/'.join(map(str, q))}/{h}/{c}" for t, q, h, c in summary["timeline"]),
        flush=True,
    )


_LINE = re.compile(r"\[(\S+ \S+): INFO/(\S+)\] Task (\S+)\[(\S+)\] (?:received|succeeded in ([0-9.e-]+)s: (.*))")


def slots(log: Path) -> dict[str, Any] | None:
    """Pool processes busy per second and the gaps between tasks, from an INFO worker log."""
    runs: list[tuple[float, float, str, str]] = []
    delivered: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        m = _LINE.search(line)
        if not m or m.group(5) is None or m.group(3).endswith("worker_heartbeat"):
            continue
        if m.group(3) == "tasks.publishing.deliver":
            delivered[m.group(6).strip("'")] += 1
        end = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        runs.append((end - float(m.group(5)), end, m.group(3).rsplit(".", 1)[1], m.group(2)))
    if not runs:
        return None
    t0, t1 = min(r[0] for r in runs), max(r[1] for r in runs)
    per_second: dict[int, float] = defaultdict(float)
    for start, end, *_ in runs:
        at = start
        while at < end:
            upto = min(end, int(at) + 1)
            per_second[int(at)] += upto - at
            at = upto
    gaps: list[float] = []
    by_process: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for start, end, _, process in runs:
        by_process[process].append((start, end))
    for spans in by_process.values():
        spans.sort()
        gaps += [b[0] - a[1] for a, b in itertools.pairwise(spans) if b[0] - a[1] < 0.5]
    gaps.sort()
    durations: dict[str, list[float]] = defaultdict(list)
    for start, end, name, _ in runs:
        durations[name].append(end - start)
    return {
        "tasks": Counter(r[2] for r in runs),
        "wall": t1 - t0,
        "busy": sum(r[1] - r[0] for r in runs) / (t1 - t0),
        "per_second": [per_second[s] for s in range(int(t0), int(t1) + 1)],
        "gap_mean": sum(gaps) / max(1, len(gaps)),
        "gap_p90": gaps[int(0.9 * (len(gaps) - 1))] if gaps else 0.0,
        "mean": {name: sum(d) / len(d) for name, d in durations.items()},
        "deliver_results": delivered,
    }


def print_slots(found: dict[str, Any] | None) -> None:
    if not found:
        return
    print(
        f"  pool processes busy: mean {found['busy']:.2f} over {found['wall']:.1f}s; gap between a process's "
        f"tasks (< 0.5 s) mean {1000 * found['gap_mean']:.1f} ms p90 {1000 * found['gap_p90']:.1f} ms; "
        + ", ".join(
            f"{name} ×{count} {1000 * found['mean'][name]:.0f} ms" for name, count in found["tasks"].most_common()
        ),
        flush=True,
    )
    print("  busy per second: " + " ".join(f"{v:.1f}" for v in found["per_second"]), flush=True)
    results = found["deliver_results"]
    total = sum(results.values())
    if total:
        # 'skip': the message found its delivery taken or settled already — a redundant message
        print(
            f"  deliver messages {total}: "
            + ", ".join(f"{result} {n}" for result, n in results.most_common())
            + f"; redundant (skip) {results['skip']} = {100 * results['skip'] / total:.1f} %",
            flush=True,
        )


def print_profile(folder: Path, top: int = 45) -> None:
    """The merged profile of the consumer and of the pool processes: by innermost package and
    by function including its callees, as shares of each role's samples."""
    tasks: collections.Counter[str] = collections.Counter()
    for path in folder.glob("tasks-*.txt"):
        for line in path.read_text().splitlines():
            count, _, name = line.partition(" ")
            tasks[name] += int(count)
    if tasks:
        counts = ", ".join(f"{name} {count}" for name, count in tasks.most_common())
        print(f"  tasks run (as counted up to 3 s before the end): {counts}")
    for role in ("consumer", "pool"):
        stacks: collections.Counter[str] = collections.Counter()
        for path in folder.glob(f"{role}-*.txt"):
            for line in path.read_text().splitlines():
                count, _, stack = line.partition(" ")
                stacks[stack] += int(count)
        n = max(1, sum(stacks.values()))
        own: collections.Counter[str] = collections.Counter()
        within: collections.Counter[str] = collections.Counter()
        for stack, count in stacks.items():
            frames = stack.split(";")
            own[frames[-1].split("/", 1)[0].split(":", 1)[0]] += count
            for name in set(frames):
                within[name] += count
        print(f"  profile of the {role} process(es): {n} samples of 1 ms CPU")
        print("   innermost frame by package: " + ", ".join(f"{k} {100 * v / n:.1f}%" for k, v in own.most_common(12)))
        for name, count in within.most_common(top):
            print(f"   {100 * count / n:5.1f} %  {name}")
