"""Fan-out throughput: 1,000 approved contents × 4 target accounts through the real pipeline.

Real processes: PostgreSQL + Redis on 127.0.0.1, the sandbox platforms, Celery workers and
the scheduler. Two pipeline runs and two ceilings:

- capacity: all contents due at the same instant, so the pipeline is never waiting for work;
  deliveries/s end to end (first claim → last sent and recorded);
- the ceiling: bare Celery tasks each making one HTTP POST to the same sandbox with the same
  worker settings, as many as there are deliveries; the ratio capacity / ceiling;
- the same-work ceiling: bare tasks doing each delivery's platform calls and status-read tasks
  (SAME_WORK) and nothing else — no database, rendering or audit; the ratio against it says
  what the pipeline's own work costs;
- lag: the same contents due spread over one minute ("1,000 contents due in the same minute");
  scheduling lag publish_at → sent, p50/p99.

Each pipeline run also prints what bench/fanout_trace.py samples (queue lengths, messages the
worker holds, the machine's CPU) and, with ``--loglevel INFO``, the pool processes busy per
second and the gaps between tasks. ``--only capacity|lag`` makes that one run alone. The
monitoring sweeps are kept out of the runs (FIRST_SWEEP_MINUTES=60): the ceilings do none.

(A throughput figure from the spread run alone would be capped by the offered load, 4,000
deliveries in 60 s = 67/s, whatever the pipeline could do; the lag from the all-at-once run
is the time to drain the whole backlog.) Each run prints all its figures.

    .venv/bin/python bench/fanout.py [--contents 1000] [--concurrency 4] [--workers 1] [--spread 60]
        [--only capacity|lag] [--loglevel INFO] [--logs DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fanout_trace
from devkit import processes, services
from devkit.seed import seed_contents

#: The Redis the runs use (the tests' by default): every key of a bench run lives behind a namespace
#: of its own (``devkit.services.redis_namespace``, the tests' helper), so a bench never touches a
#: test run's queues or another bench's, and only its own keys are removed — never FLUSHDB.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", services.REDIS_URL)

#: The sandbox's settings for pipeline runs (bench/delivery_cost.py uses them too): no Weibo
#: hourly cap in the way, and a WeChat publish that is still running at its first status read.
PIPELINE_SANDBOX = {"weibo_posts_per_hour": 100000, "wechat_publish_polls": 1}


def seed(app, n_contents: int, pool: int, due_in: float, spread: float) -> int:  # type: ignore[no-untyped-def]
    """The fault tests' fixture data, due ``due_in`` seconds ahead, spread evenly over ``spread``
    seconds ("1,000 contents due in the same minute"; ``--spread 0``: all at one instant)."""
    from common.db import utcnow

    start = utcnow() + timedelta(seconds=due_in)
    return seed_contents(
        app, n_contents, pool, publish_at=lambda i: start + timedelta(seconds=spread * i / max(1, n_contents))
    )


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """CPU (user + system) of every process now, by pid, with its command name (/proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = (cmd, (int(fields[11]) + int(fields[12])) / tick)
    return found


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def cpu_by_part(before: dict[int, tuple[str, float]], group: processes.ProcessGroup) -> dict[str, float]:
    """CPU seconds used since ``before`` by our processes and the database and broker servers
    (processes that exited in between are not counted)."""
    now = cpu_seconds()
    parts: dict[str, float] = {}
    ours: dict[int, str] = {}
    for name, proc in group.procs.items():
        for pid in descendants(proc.pid):
            ours[pid] = "worker" if name.startswith(("worker", "ceiling")) else name
    for pid, (cmd, cpu) in now.items():
        part = ours.get(pid) or (
            "postgres" if cmd.startswith("postgres") else "redis" if cmd.startswith("redis-server") else None
        )
        if part is not None:
            parts[part] = parts.get(part, 0.0) + cpu - before.get(pid, (cmd, 0.0))[1]
    return parts


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def run_pipeline(args: argparse.Namespace, tmp: Path, spread: float) -> dict[str, Any]:
    from devkit.apps import make_test_app
    from extensions import db
    from publishers.models import Delivery, DeliveryStatus

    profile_dir = tmp / f"profile-{spread:g}" if args.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{args.redis_prefix}pipeline:"
    with processes.fresh_postgres_database() as url:
        sandbox_port = services.free_port()
        base = f"http://127.0.0.1:{sandbox_port}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BROKER_URL": BENCH_REDIS_URL,
            "REDIS_URL": BENCH_REDIS_URL,
            "REDIS_KEY_PREFIX": prefix,
            "SANDBOX_URL": base,
            **{f"{p.upper()}_BASE_URL": f"{base}/{p}" for p in ("wechat", "weibo", "douyin", "toutiao")},
            "PUBLIC_BASE_URL": "https://gov.example.cn",
            "SECRET_KEY": "test-secret",
            "SCHEDULER_INTERVAL_SECONDS": "1",
            "STATUS_POLL_SECONDS": "1",
            # no monitoring, interaction or feed sweep in the middle of the runs: the ceilings do none
            "FIRST_SWEEP_MINUTES": "60",
            "MEDIA_DIR": str(tmp / "media"),
        }
        if profile_dir is not None:
            env["FANOUT_PROFILE_DIR"] = str(profile_dir)
        services.clear_redis_namespace(BENCH_REDIS_URL, prefix)  # what the previous run left
        assert processes.flask_cli(env, "db", "upgrade").returncode == 0
        app = make_test_app(url, MEDIA_DIR=str(tmp / "media"), PUBLIC_BASE_URL="https://gov.example.cn")
        group = processes.ProcessGroup(env, tmp)
        try:
            group.start_sandbox(sandbox_port)
            requests.post(f"{base}/_sandbox/config", json=PIPELINE_SANDBOX, timeout=5)
            expected = seed(app, args.contents, args.pool, due_in=25, spread=spread)
            for i in range(args.workers):
                # WARNING, as the ceiling's workers: INFO logs two lines per task
                if profile_dir is None:
                    group.start_worker(f"worker{i}-{spread:g}", concurrency=args.concurrency, loglevel=args.loglevel)
                else:
                    start_profiled_worker(group, f"worker{i}-{spread:g}", args)
            group.start_scheduler()
            cpu_before = cpu_seconds()
            sampler = fanout_trace.Sampler(BENCH_REDIS_URL, ("publishing", "polling"), prefix=prefix)
            sampler.start()
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                with app.app_context():
                    done = db.session.scalar(
                        sa.select(sa.func.count()).where(
                            Delivery.status.in_([DeliveryStatus.sent, DeliveryStatus.failed])
                        )
                    )
                    db.session.remove()
                if done >= expected:
                    break
                time.sleep(1)
            cpu = cpu_by_part(cpu_before, group)
            sampler.stop()
            with app.app_context():
                from moderation.models import Content

                rows = db.session.execute(
                    sa.select(Delivery.created_at, Delivery.sent_at, Delivery.status, Content.publish_at).join(
                        Content, Content.id == Delivery.content_id
                    )
                ).all()
                outcomes = db.session.execute(
                    sa.select(
                        Delivery.status, Delivery.last_error_code, sa.func.count(), sa.func.sum(Delivery.attempts)
                    )
                    .group_by(Delivery.status, Delivery.last_error_code)
                    .order_by(sa.func.count().desc())
                ).all()
                tail = sent_last(db, Delivery)
            for status, code, count, attempts in outcomes:
                print(f"  deliveries {status.value:<9} {code or '-':<24} {count:>6}  attempts {attempts}")
        finally:
            group.stop_all()
    sent = [r for r in rows if r.sent_at is not None]
    first_claim = min(r.created_at for r in rows)
    for delivery_id, platform, attempts, entries in tail:
        print(
            f"  last sent: delivery {delivery_id} ({platform}, {attempts} attempts): "
            + ", ".join(f"{action} +{(at - first_claim).total_seconds():.1f}s" for at, action in entries)
        )
    last_sent = max(r.sent_at for r in sent)
    lags = [(r.sent_at - r.publish_at).total_seconds() for r in sent]
    return {
        "expected": expected,
        "sent": len(sent),
        "seconds": (last_sent - first_claim).total_seconds(),
        "rate": len(sent) / max(0.001, (last_sent - first_claim).total_seconds()),
        "lag_p50": pct(lags, 50),
        "lag_p99": pct(lags, 99),
        "cpu": cpu,
        "samples": sampler.summary(),
        "logs": [tmp / f"worker{i}-{spread:g}.log" for i in range(args.workers)],
        "profile": profile_dir,
    }


def sent_last(db: Any, delivery: Any, n: int = 3) -> list[tuple[int, str, int, list[tuple[Any, str]]]]:
    """The ``n`` deliveries sent last, each with its audit trail (when, what): why a run ends late."""
    from audit.models import AuditEntry
    from registry.models import Account

    rows = db.session.execute(
        sa.select(delivery.id, Account.platform, delivery.attempts)
        .join(Account, Account.id == delivery.account_id)
        .where(delivery.sent_at.is_not(None))
        .order_by(delivery.sent_at.desc())
        .limit(n)
    ).all()
    found = []
    for delivery_id, platform, attempts in rows:
        entries = db.session.execute(
            sa.select(AuditEntry.at, AuditEntry.action)
            .where(AuditEntry.object_type == delivery.__tablename__, AuditEntry.object_id == str(delivery_id))
            .order_by(AuditEntry.id)
        ).all()
        found.append((delivery_id, platform.value, attempts, [(at, action) for at, action in entries]))
    return found


def start_profiled_worker(group: processes.ProcessGroup, name: str, args: argparse.Namespace) -> None:
    """The pipeline's worker with its processes sampling their CPU (bench/profiled_worker.py)."""
    group.start(
        name,
        str(processes.BIN / "celery"),
        "-A",
        "bench.profiled_worker",
        "worker",
        "--loglevel",
        args.loglevel,
        "--concurrency",
        str(args.concurrency),
        "-Q",
        ",".join(processes.QUEUES),
        "--hostname",
        f"{name}@%h",
    )


#: The platform work of the bench's four targets as the pipeline does it (the sandbox's request
#: log of a 1,000-content run: 9,300 calls, 3,000 of them status reads): (HTTP calls in the
#: deliver task, status reads as tasks of their own) for Weibo, Weibo, WeChat (draft/add +
#: freepublish/submit; two freepublish/get — the sandbox answers "publishing" to the first) and
#: Douyin (upload + create; one status read) — 2.25 calls in 1.75 tasks per delivery, as the
#: pipeline made them until an account's line went out in one task (DELIVERY_CHAIN_SECONDS):
#: since then its posts are accepted back to back and share the account's status poll, and the
#: pipeline makes the same calls in ≈ 0.2 tasks per delivery (``--profile`` counts them). The
#: ceiling keeps the per-delivery tasks: the same platform work, comparable with earlier runs.
SAME_WORK = ((1, 0), (1, 0), (2, 2), (2, 1))
#: the WeChat target's index in SAME_WORK, and the calls its account's first delivery makes
#: besides (stable_token, media/uploadimg, material/add_material: the token and the image are
#: then kept per account): 300 more in the 4,000 deliveries of the default run
WECHAT, WECHAT_FIRST_CALLS = 2, 3


#: deliveries per task of the same-work ceiling in lines: the pipeline makes ≈ 0.20 tasks per
#: delivery since an account's line goes in one task (deliver + poll tasks / deliveries)
LINE = 5


def run_ceiling(
    args: argparse.Namespace, tmp: Path, n: int, same_work: bool = False, lines: bool = False
) -> dict[str, Any]:
    """Bare Celery tasks against the same sandbox with the same worker settings: one POST each,
    or (``same_work``) per delivery the platform calls and status-read tasks of SAME_WORK, or
    (``lines``) the same calls with LINE deliveries and their status reads in one task."""
    from bench import ceiling_tasks  # reads BENCH_BROKER_URL and BENCH_KEY_PREFIX, set by main()
    from bench.ceiling_tasks import deliver_like, line_like, post

    sandbox_port = services.free_port()
    base = f"http://127.0.0.1:{sandbox_port}"
    services.clear_redis_namespace(BENCH_REDIS_URL, ceiling_tasks.KEY_PREFIX)  # the previous ceiling's
    counter = redis.Redis.from_url(BENCH_REDIS_URL)
    env = {
        **os.environ,
        # the same worker settings as the pipeline's workers
        "WORKER_PREFETCH_MULTIPLIER": str(args.prefetch),
    }
    group = processes.ProcessGroup(env, tmp)
    try:
        group.start_sandbox(sandbox_port)
        requests.post(f"{base}/_sandbox/config", json={"weibo_posts_per_hour": 10**6}, timeout=5)
        for i in range(args.workers):
            group.start(
                f"ceiling{i}",
                str(processes.BIN / "celery"),
                "-A",
                "bench.ceiling_tasks",
                "worker",
                "--concurrency",
                str(args.concurrency),
                "--loglevel",
                "WARNING",
                "--hostname",
                f"c{i}@%h",
            )
        time.sleep(3)
        cpu_before = cpu_seconds()
        start = time.monotonic()
        line: list[list[int]] = []
        for i in range(n):
            target = (f"{base}/weibo/2/statuses/share.json", f"sandbox:ceiling{i % 200}")
            text = f"基线 {i} https://gov.example.cn/x/{i}"
            if lines:
                calls, polls = SAME_WORK[i % len(SAME_WORK)]
                if i % len(SAME_WORK) == WECHAT and i // len(SAME_WORK) < args.pool:
                    calls += WECHAT_FIRST_CALLS
                line.append([calls, polls])
                if len(line) == LINE or i == n - 1:
                    line_like.delay(*target, text, line)
                    line = []
            elif same_work:
                calls, polls = SAME_WORK[i % len(SAME_WORK)]
                if i % len(SAME_WORK) == WECHAT and i // len(SAME_WORK) < args.pool:
                    calls += WECHAT_FIRST_CALLS  # the account's first delivery
                deliver_like.delay(*target, text, calls, polls)
            else:
                post.delay(*target, text)
        while int(counter.get(ceiling_tasks.DONE_KEY) or 0) < n and time.monotonic() - start < args.timeout:
            time.sleep(0.2)
        elapsed = time.monotonic() - start
        cpu = cpu_by_part(cpu_before, group)
    finally:
        group.stop_all()
    done = int(counter.get(ceiling_tasks.DONE_KEY) or 0)
    return {"done": done, "seconds": elapsed, "rate": done / elapsed, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contents", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=100, help="accounts per platform pool")
    parser.add_argument("--spread", type=float, default=60, help="the lag run: seconds over which publish_at is spread")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs in this folder")
    parser.add_argument(
        "--loglevel", default="WARNING", help="pipeline workers' log level (INFO: also busy pool processes per second)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the pipeline workers' CPU (consumer and pool processes) and print where it went",
    )
    parser.add_argument(
        "--only", choices=("capacity", "lag"), default=None, help="only this pipeline run, no ceilings (to iterate)"
    )
    args = parser.parse_args()
    args.prefetch = prefetch_multiplier()
    services.require_postgres = lambda: None
    if not (services.reachable("127.0.0.1", 5432) and services.reachable("127.0.0.1", 6379)):
        sys.exit("PostgreSQL and Redis must run on 127.0.0.1")
    with services.redis_namespace(BENCH_REDIS_URL, label="bench") as prefix, tempfile.TemporaryDirectory() as tmp:
        args.redis_prefix = prefix  # the pipeline runs under "<prefix>pipeline:", the ceilings under "<prefix>ceiling:"
        os.environ.update(BENCH_BROKER_URL=BENCH_REDIS_URL, BENCH_KEY_PREFIX=f"{prefix}ceiling:")
        try:
            if args.only:
                spread = 0 if args.only == "capacity" else args.spread
                report(f"{args.only} run", run_pipeline(args, Path(tmp), spread=spread))
                return
            capacity = run_pipeline(args, Path(tmp), spread=0)
            report("capacity run, all due at once", capacity)
            print(f"  load {os.getloadavg()[0]:.1f}", flush=True)
            ceiling = run_ceiling(args, Path(tmp), capacity["expected"])
            print(f"ceiling: {ceiling['rate']:.1f} tasks/s; load {os.getloadavg()[0]:.1f}", flush=True)
            same = run_ceiling(args, Path(tmp), capacity["expected"], same_work=True)
            print(
                f"same-work ceiling: {same['rate']:.1f} deliveries/s; ratio capacity/same-work ceiling "
                f"{capacity['rate'] / same['rate']:.2f}; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            in_lines = run_ceiling(args, Path(tmp), capacity["expected"], lines=True)
            print(
                f"same-work ceiling in lines of {LINE}: {in_lines['rate']:.1f} deliveries/s; ratio capacity/it "
                f"{capacity['rate'] / in_lines['rate']:.2f}; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            lag = run_pipeline(args, Path(tmp), spread=args.spread)
            report(f"lag run, due over {args.spread:g} s", lag)
        finally:
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                for log in Path(tmp).glob("*.log"):
                    shutil.copy(log, args.logs / log.name)
    print(
        f"workers={args.workers} concurrency={args.concurrency} contents={args.contents} "
        f"deliveries={capacity['expected']}"
    )
    print(f"capacity: {capacity['sent']} sent in {capacity['seconds']:.1f}s = {capacity['rate']:.1f} deliveries/s")
    print(
        f"ceiling (bare Celery task + one HTTP POST): {ceiling['done']} in {ceiling['seconds']:.1f}s = "
        f"{ceiling['rate']:.1f} tasks/s"
    )
    print(f"  ceiling CPU ms per task: {cpu_line(ceiling['cpu'], ceiling['done'])}")
    print(f"ratio capacity/ceiling: {capacity['rate'] / ceiling['rate']:.2f}")
    print(
        f"same-work ceiling (bare tasks making the deliveries' platform calls, 2.25 in 1.75 tasks per delivery "
        f"and 3 more for each WeChat account's first, no database): "
        f"{same['done']} in {same['seconds']:.1f}s = {same['rate']:.1f} deliveries/s; "
        f"CPU ms per delivery: {cpu_line(same['cpu'], same['done'])}"
    )
    print(f"ratio capacity/same-work ceiling: {capacity['rate'] / same['rate']:.2f}")
    print(
        f"same-work ceiling in lines (the same calls, {LINE} deliveries and their status reads per task, "
        f"as the pipeline groups an account's line): {in_lines['done']} in {in_lines['seconds']:.1f}s = "
        f"{in_lines['rate']:.1f} deliveries/s; CPU ms per delivery: {cpu_line(in_lines['cpu'], in_lines['done'])}"
    )
    print(f"ratio capacity/same-work ceiling in lines: {capacity['rate'] / in_lines['rate']:.2f}")
    print(
        f"scheduling lag publish_at→sent, due over {args.spread:g} s: p50 {lag['lag_p50']:.1f}s  "
        f"p99 {lag['lag_p99']:.1f}s ({lag['sent']} sent, {lag['rate']:.1f}/s)"
    )


def prefetch_multiplier() -> int:
    """The pipeline workers' WORKER_PREFETCH_MULTIPLIER (the configuration's, or this environment's)."""
    from config import from_env

    return int(from_env()["WORKER_PREFETCH_MULTIPLIER"])


def cpu_line(cpu: dict[str, float], units: int) -> str:
    """CPU milliseconds per unit (delivery, task) of each part, largest first."""
    return "  ".join(
        f"{part} {1000 * sec / max(1, units):.1f}" for part, sec in sorted(cpu.items(), key=lambda i: -i[1])
    )


def report(title: str, run: dict[str, Any]) -> None:
    print(
        f"{title}: {run['sent']}/{run['expected']} sent in {run['seconds']:.1f}s = {run['rate']:.1f} deliveries/s; "
        f"lag p50 {run['lag_p50']:.1f}s p99 {run['lag_p99']:.1f}s",
        flush=True,
    )
    sent = max(1, run["sent"])
    total = sum(run["cpu"].values())
    shares = cpu_line(run["cpu"], sent)
    cpus = os.cpu_count() or 1
    print(
        f"  CPU ms per delivery: {shares}  = {1000 * total / sent:.1f} in all; "
        f"{cpus} CPUs give at most ≈ {cpus * sent / max(total, 0.001):.0f} deliveries/s at this cost",
        flush=True,
    )
    fanout_trace.print_samples(run["samples"])
    for log in run["logs"]:
        if log.exists():
            fanout_trace.print_slots(fanout_trace.slots(log))
    if run.get("profile") is not None:
        fanout_trace.print_profile(run["profile"])


if __name__ == "__main__":
    main()
