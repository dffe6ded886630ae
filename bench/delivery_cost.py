"""What one delivery costs the worker itself: SQL statements and CPU, without Celery or contention.

Seeds ``--contents`` approved contents × 4 targets (the fan-out bench's data) in a fresh
PostgreSQL database, starts the sandbox, then runs the publishing tasks' bodies in this process
one after another — the scheduler's claim, every ``deliver`` and every ``poll_status`` they
schedule (a follow-up waits for its countdown, as on a worker) — and prints per delivery: tasks,
SQL statements (and the most frequent ones), and this process's CPU. ``--profile`` adds the
functions that take the most time (cProfile; it slows the run, so its CPU figure is not
comparable; ``--callees REGEX`` and ``--dump FILE`` dig further); ``--profile --sample`` samples
the stacks on the CPU clock instead, whose shares are the real ones (``--dump`` then writes the
folded stacks). Statements are counted at the driver (psycopg), so those the hot path runs on
its cursor directly count too; platform calls at ``http.client``, where both the adapters' kept
connections (platforms/transport.py) and requests' own transport end. Use it to see what a change to
the delivery path saves before running bench/fanout.py; its figures are steadier (±3 %) than
the fan-out bench's.

    .venv/bin/python bench/delivery_cost.py [--contents 100] [--profile [--sample] [--callees REGEX] [--dump FILE]]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import http.client
import os
import pstats
import re
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout import PIPELINE_SANDBOX
from devkit import processes, services
from devkit.seed import seed_contents

PLATFORMS = ("wechat", "weibo", "douyin", "toutiao")


def run(args: argparse.Namespace, tmp: Path) -> None:
    from devkit.apps import make_test_app
    from extensions import db
    from publishers.models import Delivery
    from tasks import publishing

    with processes.fresh_postgres_database() as url:
        port = services.free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-secret", "MEDIA_DIR": str(tmp / "media")}
        assert processes.flask_cli(env, "db", "upgrade").returncode == 0
        group = processes.ProcessGroup(env, tmp)
        try:
            group.start_sandbox(port)
            requests.post(f"{base}/_sandbox/config", json=PIPELINE_SANDBOX, timeout=5)
            app = make_test_app(
                url,
                MEDIA_DIR=str(tmp / "media"),
                PUBLIC_BASE_URL="https://gov.example.cn",
                SANDBOX_URL=base,
                STATUS_POLL_SECONDS=1,
                PLATFORM_BASE_URLS={p: f"{base}/{p}" for p in PLATFORMS},
            )
            deliveries = seed_contents(app, args.contents, args.pool)
            measure(app, db, publishing, deliveries, args if args.profile else None)
            with app.app_context():
                states = db.session.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status))
                print("deliveries:", ", ".join(f"{status.value} {count}" for status, count in states))
                db.session.remove()
        finally:
            group.stop_all()


def measure(app: Any, db: Any, publishing: Any, deliveries: int, profile: argparse.Namespace | None) -> None:
    queue: collections.deque[tuple[Any, tuple[Any, ...], float]] = collections.deque()

    def queue_for(task: Any) -> Any:
        def apply_async(args: tuple[Any, ...], countdown: float = 0, **_: Any) -> None:
            queue.append((task, args, time.monotonic() + (countdown or 0)))

        return apply_async

    for task in (publishing.deliver, publishing.poll_status, publishing.withdraw_delivery):
        task.apply_async = queue_for(task)
    statements: collections.Counter[str] = collections.Counter()
    with app.app_context():
        engine = db.engine

    # counted at the driver: the hot path runs some statements on psycopg's cursor directly
    # (common/rawsql.py), which SQLAlchemy's cursor events do not see
    execute = psycopg.Cursor.execute

    def counted_execute(self: Any, query: Any, *args: Any, **kw: Any) -> Any:
        words = (query if isinstance(query, str) else str(query)).split()
        statements[" ".join(words[:6])[:100]] += 1
        return execute(self, query, *args, **kw)

    psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]

    checkouts = collections.Counter()

    @sa.event.listens_for(engine, "checkout")
    def checkout(*_: Any) -> None:
        checkouts["n"] += 1

    calls: collections.Counter[str] = collections.Counter()
    # counted where every transport ends (requests' HTTPAdapter through urllib3, and the adapters'
    # own kept connections, platforms/transport.py): counting at HTTPAdapter.send would replace it
    # and turn the kept connections off (they step aside for a test double there)
    putrequest = http.client.HTTPConnection.putrequest

    def counted_putrequest(self: http.client.HTTPConnection, method: str, url: str, *args: Any, **kw: Any) -> Any:
        calls[url.split("?", maxsplit=1)[0]] += 1
        return putrequest(self, method, url, *args, **kw)

    http.client.HTTPConnection.putrequest = counted_putrequest  # type: ignore[method-assign]
    profiler = cProfile.Profile(time.process_time)
    sampler = Sampler() if profile is not None and profile.sample else None
    tasks: collections.Counter[str] = collections.Counter()
    cpu_start = time.process_time()
    with app.app_context():
        publishing.claim_and_enqueue()
        db.session.remove()
    while queue:
        task, args, due = queue.popleft()
        if due > time.monotonic():
            if any(other <= time.monotonic() for _, _, other in queue):
                queue.append((task, args, due))
                continue
            time.sleep(due - time.monotonic())
        tasks[task.name.rsplit(".", 1)[1]] += 1
        if sampler is not None:
            sampler.start()
        elif profile is not None:
            profiler.enable()
        task(*args)
        if sampler is not None:
            sampler.stop()
        elif profile is not None:
            profiler.disable()
    cpu = time.process_time() - cpu_start
    total = sum(statements.values())
    print(
        f"{deliveries} deliveries; tasks per delivery: "
        + ", ".join(f"{n} {c / deliveries:.2f}" for n, c in tasks.items())
    )
    print(
        f"SQL statements per delivery: {total / deliveries:.1f}; "
        f"CPU of this process per delivery: {1000 * cpu / deliveries:.1f} ms; "
        f"connection checkouts per delivery: {checkouts['n'] / deliveries:.1f}"
    )
    print(
        f"platform calls per delivery: {sum(calls.values()) / deliveries:.2f} ("
        + ", ".join(f"{path} {n / deliveries:.2f}" for path, n in calls.most_common())
        + ")"
    )
    for statement, n in statements.most_common(16):
        print(f"  {n / deliveries:5.2f}  {statement}")
    if sampler is not None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        sampler.report(profile.callees, profile.dump)
    elif profile is not None:
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(40)
        if profile.callees:
            stats.print_callees(profile.callees)
        if profile.dump:
            stats.dump_stats(profile.dump)


class Sampler:
    """A statistical profile on the CPU clock (``ITIMER_PROF``): the stack every millisecond of
    this process's CPU, without cProfile's per-call cost (which inflates Python-heavy code), so
    its shares are the real ones. Prints the share of samples by where the CPU was spent (the
    innermost frame's package) and by function, including callees."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.own: collections.Counter[str] = collections.Counter()
        self.within: collections.Counter[str] = collections.Counter()
        self.stacks: collections.Counter[tuple[str, ...]] = collections.Counter()
        self.samples = 0
        self.active = False
        signal.signal(signal.SIGPROF, self._sample)
        # one timer for the whole run (restarting it per task would lose the partial ticks)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def _sample(self, _signum: int, frame: Any) -> None:
        if not self.active:
            return
        self.samples += 1
        self.own[_package(frame.f_code.co_filename)] += 1
        stack = []
        while frame is not None:
            code = frame.f_code
            stack.append(f"{_short(code.co_filename)}:{code.co_firstlineno}({code.co_name})")
            frame = frame.f_back
        self.stacks[tuple(stack)] += 1
        for name in set(stack):
            self.within[name] += 1

    def report(self, callees: str | None = None, dump: Path | None = None) -> None:
        n = max(self.samples, 1)
        print(f"\nsampled CPU: {self.samples} samples")
        print("where the CPU is spent (innermost frame):")
        for name, count in self.own.most_common(20):
            print(f"  {100 * count / n:5.1f} %  {name}")
        print("functions, including what they call:")
        for name, count in self.within.most_common(60):
            print(f"  {100 * count / n:5.1f} %  {name}")
        if callees:
            pattern = re.compile(callees)
            below: collections.Counter[str] = collections.Counter()
            for stack, count in self.stacks.items():
                at = next((i for i, name in enumerate(stack) if pattern.search(name)), None)
                if at is not None:
                    for name in set(stack[:at]):
                        below[name] += count
            print(f"under {callees}, including what they call:")
            for name, count in below.most_common(40):
                print(f"  {100 * count / n:5.1f} %  {name}")
        if dump:
            dump.write_text("\n".join(f"{count} {';'.join(reversed(stack))}" for stack, count in self.stacks.items()))


def _short(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    if filename.startswith(str(ROOT)):
        return filename[len(str(ROOT)) + 1 :]
    return filename.rsplit("/", 2)[-1] if "/" in filename else filename


def _package(filename: str) -> str:
    short = _short(filename)
    if "site-packages/" in filename or filename.startswith(str(ROOT)):
        return short.split("/", 1)[0]
    return "stdlib " + short


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contents", type=int, default=100)
    parser.add_argument("--pool", type=int, default=20, help="accounts per platform pool")
    parser.add_argument("--profile", action="store_true", help="profile the tasks (cProfile)")
    parser.add_argument(
        "--sample", action="store_true", help="with --profile: sample the stacks instead (real shares, no slowdown)"
    )
    parser.add_argument("--callees", help="with --profile: also print what functions matching this regex call")
    parser.add_argument("--dump", type=Path, help="with --profile: save the profile to this file (pstats)")
    args = parser.parse_args()
    services.require_postgres = lambda: None
    if not services.reachable("127.0.0.1", 5432):
        sys.exit("PostgreSQL must run on 127.0.0.1")
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
