"""The pipeline's worker with a CPU-clock profile of each of its processes (``bench/fanout.py
--profile``): ``celery -A bench.profiled_worker worker …`` with ``FANOUT_PROFILE_DIR`` set.

The consumer (main) process and every pool process sample their own stack every millisecond of
their CPU (``ITIMER_PROF``, no per-call cost) and write the counts, as collapsed stacks, to
``FANOUT_PROFILE_DIR/<role>-<pid>.txt`` every few seconds (a pool process is ended by a signal,
so nothing is left for a shutdown hook). ``bench.fanout_trace.print_profile`` merges them.
"""

from __future__ import annotations

import collections
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from celery.signals import task_postrun, worker_init, worker_process_init

from bench.delivery_cost import _short  # one way of naming a frame's file in both profiles
from tasks.worker import celery, flask_app

__all__ = ["celery", "flask_app"]

_INTERVAL = 0.001
_WRITE_EVERY = 3.0


class _StackSampler:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.stacks: collections.Counter[str] = collections.Counter()
        #: tasks run in this process, by name (pool processes)
        self.tasks: collections.Counter[str] = collections.Counter()
        self.written = time.monotonic()
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, _INTERVAL, _INTERVAL)

    def _sample(self, _signum: int, frame: Any) -> None:
        names = []
        while frame is not None:
            code = frame.f_code
            names.append(f"{_short(code.co_filename)}:{code.co_firstlineno}({code.co_name})")
            frame = frame.f_back
        self.stacks[";".join(reversed(names))] += 1
        now = time.monotonic()
        if now - self.written > _WRITE_EVERY:
            self.written = now
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("\n".join(f"{count} {stack}" for stack, count in self.stacks.items()))
            tmp.replace(self.path)
            tasks = self.path.with_name("tasks-" + self.path.name)
            tasks.write_text("\n".join(f"{count} {name}" for name, count in self.tasks.items()))


_sampler: _StackSampler | None = None


def _start(role: str) -> None:
    global _sampler  # noqa: PLW0603 - one sampler per process
    folder = os.environ.get("FANOUT_PROFILE_DIR")
    if folder:
        _sampler = _StackSampler(Path(folder) / f"{role}-{os.getpid()}.txt")


@worker_init.connect
def _consumer(**_kwargs: Any) -> None:
    _start("consumer")


@worker_process_init.connect
def _pool_process(**_kwargs: Any) -> None:
    _start("pool")


@task_postrun.connect
def _count(task: Any = None, **_kwargs: Any) -> None:
    if _sampler is not None and task is not None:
        _sampler.tasks[task.name] += 1
