"""Benchmark of the inspection's trace-and-check path (prints figures, asserts nothing).

    .venv/bin/python bench/inspection.py                          # 200 accounts × 30 days (smoke)
    .venv/bin/python bench/inspection.py --accounts 1000          # SQLite, a minute
    .venv/bin/python bench/inspection.py --accounts 10000 --database-url postgresql+psycopg://…  # the issue's size
    .venv/bin/python bench/inspection.py --texts realistic --accounts 10000 --database-url postgresql+psycopg://…
                                      # post lengths per platform (Weibo, WeChat, Toutiao, Douyin), corpus text
    .venv/bin/python bench/inspection.py --profile FILE           # cProfile of the first read
    .venv/bin/python bench/inspection.py --phases                 # CPU of the first read's steps, µs per post
    .venv/bin/python bench/inspection.py --profile-next FILE      # cProfile of the next day's read
    .venv/bin/python bench/inspection.py --rescan-year --accounts 10000 --database-url postgresql+psycopg://…
                                      # the re-scan for real: 10,000 × 365 stored posts, 2 worker processes

For each synthetic account, a reading of 30 days of posts (``--posts-per-day``, default 1; a third
of the accounts have govmedia deliveries to trace) goes
through ``oversight.inspection.service.apply_many`` — store, trace to deliveries, run the draft
checks, write findings — ``--batch`` accounts per transaction (default 200, as the daily sweep) on a
fresh SQLite file (removed afterwards) or ``--database-url`` (give a throwaway database: the bench
fills it). In the same run the bare checks pipeline runs over the same texts.

The texts (``--texts``):

* ``short`` (default, the figures reported since the first round): ≈ 30-character sentences, every
  10th post a check hit (a wrong country name or a mobile number), the app's own dictionaries;
* ``realistic``: the accounts' platforms rotate Weibo, WeChat, Douyin, Toutiao and each post's length
  is drawn log-uniformly from its platform's range (:data:`LENGTHS`: Weibo 80–500 characters, one
  post in ten a long post of 500–2,000; WeChat articles 800–3,000 with a 10–30 character title;
  Toutiao articles 500–2,500 with a title; Douyin titles/descriptions 15–100), the text a window of
  the synthetic Chinese corpus of ``bench/checks.py`` (its :class:`Generator`: the character
  frequencies of modern Chinese, something for the checks planted about every 275 characters — a
  dictionary term, a starter-list term, a phone, an ID, a card, a URL, a date or amount) and the
  dictionaries those of ``bench/checks.py`` (its 50,000 generated terms, every 10th blocking, plus
  the starter lists). The length distribution is printed beside the figures (docs/monitoring.md,
  性能, gives the reasoning for the ranges).

Figures (besides the findings by kind, with a digest to compare two versions of the code on one seed):

* the first read (every post new) and the bare checks: posts/s, their ratio (goal ≥ 0.5×) in wall
  time and in CPU time of this process (steadier on a shared machine; on PostgreSQL the backend's
  CPU is printed beside it, read from /proc for a local server, and a second CPU ratio counts it in);
* the next day (each account shows 1 new post and 29 it showed before, as the daily sweep sees
  it): CPU per post read and the ratio against the bare checks over as many texts;
* ``--rescan-year`` instead: ``--accounts`` × ``--rescan-days`` (365) stored posts filled in SQL, the
  dictionary version made old, ``--workers`` (2) processes each re-scanning one shard as the Celery task does:
  wall time, CPU of each worker and its PostgreSQL backend, peak memory of each worker (:func:`rescan_year`);
  with ``--texts realistic`` every post is its own text of realistic length, stored by COPY with the hits of a
  dictionary 1 % smaller, and the re-scan runs with the full one (bench/inspection_year.py); ``--profile FILE``
  profiles worker 0;
* the re-scan after a dictionary change of every stored post (``oversight.inspection.rescan.rescan``
  in batches of 2,000, committed), extrapolated to 1 year × the accounts; peak resident memory.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.inspection_phases import Phases, findings_digest, store_floor

WORDS = (
    "今天召开安全生产工作会议，部署冬季防火和道路交通安全工作",
    "县应急管理局开展防汛演练，检验预案可行性",
    "我县持续优化营商环境，新办企业审批时限压缩至一个工作日",
    "请广大市民注意防范电信诈骗，不轻信陌生来电",
    "文旅局推出冬季旅游线路，欢迎各地游客",
)
HITS = ("庆祝中华人民共合国成立纪念日", "联系电话13800138000咨询")

# --texts realistic: characters of a post's text per platform, drawn log-uniformly from (low, high);
# (share, low, high) of long posts in the same way; a title of (low, high) characters or none.
# Reasoning in docs/monitoring.md (性能).
LENGTHS: dict[str, dict[str, Any]] = {
    "weibo": {"text": (80, 500), "long": (0.1, 500, 2000), "title": None},
    "wechat": {"text": (800, 3000), "long": None, "title": (10, 30)},
    "douyin": {"text": (15, 100), "long": None, "title": None},
    "toutiao": {"text": (500, 2500), "long": None, "title": (10, 30)},
}
CORPUS_SEED = 20240607  # bench/checks.py's default seed
CORPUS_TERMS = 50_000  # bench/checks.py's default dictionary size


class RealisticTexts:
    """Post texts of realistic length per platform: windows of one corpus of ``bench/checks.py``'s
    generator (generating every post afresh would take minutes at 300,000 posts; a window at a random
    offset keeps the corpus's rate of check hits per character)."""

    def __init__(self, rng: random.Random, corpus_chars: int) -> None:
        from bench.checks import Generator

        t0 = time.perf_counter()
        self.generator = Generator(CORPUS_SEED, CORPUS_TERMS)
        self.corpus = self.generator.text(corpus_chars)
        self.rng = rng
        self.seconds = time.perf_counter() - t0

    def write_dictionary(self, data_dir: Path) -> None:
        lines = [f"{t}\t{'block' if i % 10 == 0 else 'warn'}\tbench" for i, t in enumerate(self.generator.terms)]
        (data_dir / "sensitive_terms.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _length(self, low: int, high: int) -> int:
        return round(math.exp(self.rng.uniform(math.log(low), math.log(high))))

    def _window(self, n: int) -> str:
        start = self.rng.randrange(len(self.corpus) - n)
        return self.corpus[start : start + n].strip() or self.corpus[start : start + n]

    def post(self, platform: str) -> tuple[str, str]:
        spec = LENGTHS[platform]
        long = spec["long"]
        if long is not None and self.rng.random() < long[0]:
            n = self._length(long[1], long[2])
        else:
            n = self._length(*spec["text"])
        title = self._window(self._length(*spec["title"])) if spec["title"] else ""
        return title, self._window(n)


def length_table(texts: list[tuple[str, str]], platforms: list[str]) -> list[str]:
    """Lines: characters per post (text; title beside) — mean, p50, p90, max — per platform and overall."""
    by: dict[str, list[int]] = {}
    titles: dict[str, list[int]] = {}
    for (title, text), platform in zip(texts, platforms, strict=True):
        by.setdefault(platform, []).append(len(text))
        titles.setdefault(platform, []).append(len(title))
    by["all"] = [n for k in list(by) for n in by[k]]
    titles["all"] = [n for k in list(titles) for n in titles[k]]

    def pct(values: list[int], p: float) -> int:
        return values[min(len(values) - 1, int(p * len(values)))]

    lines = ["text length, characters per post (text; title):  posts    mean     p50     p90     max   title mean"]
    for platform, values in by.items():
        values.sort()
        mean = sum(values) / len(values)
        tmean = sum(titles[platform]) / len(titles[platform])
        lines.append(
            f"  {platform:<46} {len(values):7d} {mean:7.0f} {pct(values, 0.5):7d} {pct(values, 0.9):7d} "
            f"{values[-1]:7d} {tmean:8.1f}"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--posts-per-day", type=int, default=1)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument(
        "--texts",
        choices=("short", "realistic"),
        default="short",
        help="short: ≈ 30-character posts, every 10th a hit (the figures reported so far); realistic: lengths per "
        "platform from bench/checks.py's corpus with its 50,000-term dictionary (see the description)",
    )
    ap.add_argument(
        "--corpus-chars",
        type=int,
        default=8_000_000,
        help="--texts realistic: characters of the generated corpus the posts are windows of (default 8M)",
    )
    ap.add_argument("--batch", type=int, default=200, help="accounts per transaction (1: one per account)")
    ap.add_argument(
        "--profile",
        default=None,
        metavar="FILE",
        help="cProfile the first read (trace-and-check) into FILE and print its top functions (with --rescan-year: "
        "worker 0's re-scan)",
    )
    ap.add_argument(
        "--phases",
        action="store_true",
        help="time the first read's steps (CPU of this process; of the PostgreSQL backend for the batch-wide ones) "
        "and print µs per post for each",
    )
    ap.add_argument("--profile-next", default=None, metavar="FILE", help="cProfile the next day's read into FILE")
    ap.add_argument(
        "--rescan-year",
        action="store_true",
        help="only the re-scan, for real at full size: fill --accounts × --rescan-days stored posts (in SQL) and "
        "re-scan them all with --workers processes (shards), reporting wall time, CPU and peak memory",
    )
    ap.add_argument("--rescan-days", type=int, default=365)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rescan-worker", default=None, help=argparse.SUPPRESS)  # "k/n": one shard (internal)
    ap.add_argument("--checks-data-dir", default=None, help=argparse.SUPPRESS)  # a worker's dictionaries (internal)
    args = ap.parse_args()

    from flask_migrate import upgrade

    from app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-inspection-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    config: dict[str, Any] = {"SQLALCHEMY_DATABASE_URI": url, "BROKER_URL": "memory://", "TESTING": True}
    args.realistic = None
    if args.texts == "realistic" and not args.rescan_year and not args.rescan_worker:
        args.realistic = RealisticTexts(random.Random(args.seed + 1), args.corpus_chars)
        data_dir = tmp / "checks-data"
        data_dir.mkdir()
        args.realistic.write_dictionary(data_dir)
        config["CHECKS_DATA_DIR"] = str(data_dir)
    if args.checks_data_dir:
        config["CHECKS_DATA_DIR"] = args.checks_data_dir
    app = create_app(config)
    try:
        with app.app_context():
            if args.rescan_worker:
                rescan_worker(args)
                return
            upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
            if args.rescan_year:
                rescan_year(app, args, url, tmp)
            else:
                run(app, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(app, args) -> None:  # type: ignore[no-untyped-def]
    from common.db import utcnow
    from extensions import db
    from oversight.inspection import service, sources
    from oversight.inspection.rescan import rescan as rescan_posts
    from publishers.models import Delivery, DeliveryStatus
    from registry.models import Account, AccountStatus, Platform, Unit

    rng = random.Random(args.seed)
    now = utcnow()
    unit = Unit(name="压测县人民政府", region="压测县")
    db.session.add(unit)
    db.session.flush()
    platforms = (Platform.weibo, Platform.wechat, Platform.douyin, Platform.toutiao)
    accounts = []
    for i in range(args.accounts):
        a = Account(
            platform=platforms[i % 4],
            platform_uid=f"bench{i:06d}",
            name=f"压测县账号{i}",
            unit_id=unit.id,
            status=AccountStatus.active,
            verified_subject=unit.name,
        )
        db.session.add(a)
        accounts.append(a)
    db.session.flush()
    # A third of the accounts have govmedia deliveries (a minimal content row each) to trace.
    from auth.models import User
    from moderation.models import Content, ContentStatus

    author = User(username="bench-author", display_name="压测", unit_id=unit.id, password_hash="-")
    db.session.add(author)
    db.session.flush()
    realistic: RealisticTexts | None = args.realistic
    contents: dict[str, Any] = {}  # per platform (short texts: one for all)
    for p in platforms if realistic else (None,):
        if realistic is None:
            title, body = "压测稿件", "压测"
        else:  # the approved draft as long as the platform's posts
            title, body = realistic.post(p.value)
            title = title or body[:20]
        contents[p.value if p else ""] = c = Content(
            unit_id=unit.id, author_id=author.id, title=title, body_text=body, status=ContentStatus.published
        )
        if realistic is not None:
            c.body_html = "".join(f"<p>{line}</p>" for line in body.split("\n") if line.strip())
        db.session.add(c)
    db.session.flush()
    readings = []
    texts: list[tuple[str, str]] = []
    platform_of: list[str] = []  # the platform of each text, in order
    approved: dict[str, tuple[str, str]] = {}  # per platform: the approved text as the platform shows it
    n = 0
    for a in accounts:
        posts = []
        for d in range(args.days):
            for k in range(args.posts_per_day):
                n += 1
                if realistic is None:
                    title, text = "", HITS[n % 2] if n % 10 == 0 else rng.choice(WORDS) + f"（第{n}条）"
                else:
                    title, text = realistic.post(a.platform.value)
                pid = f"p{a.id}-{d}-{k}"
                posts.append(
                    sources.SeenPost(pid, now - timedelta(days=d, minutes=k), title, text, f"https://x.example/{pid}")
                )
        if a.id % 3 == 0:
            # Every 6th post was published through govmedia (a delivery to trace), unchanged.
            for i in range(0, len(posts), max(1, len(posts) // 5)):
                p = posts[i]
                delivery = Delivery(
                    content_id=contents[a.platform.value if realistic else ""].id,
                    version=i + 1,
                    account_id=a.id,
                    status=DeliveryStatus.sent,
                    idempotency_key=f"bench-{p.post_id}",
                    content_hash="0" * 64,
                    platform_post_id=p.post_id,
                    sent_at=now,
                )
                db.session.add(delivery)
                if a.platform.value not in approved:
                    from oversight.inspection import trace

                    db.session.flush()
                    approved[a.platform.value] = trace.expected_text(delivery.id, a.platform.value) or ("", "")
                title, body = approved[a.platform.value]
                posts[i] = sources.SeenPost(p.post_id, p.published_at, title, body, p.url)
        texts.extend((p.title, p.text) for p in posts)
        platform_of.extend([a.platform.value] * len(posts))
        readings.append(
            sources.Reading(a.id, "import", now, True, sources.SeenProfile(name=a.name), tuple(posts), datetime_max())
        )
    db.session.commit()
    print(
        f"{len(accounts)} accounts × {args.days} days = {len(texts)} posts; database {db.engine.dialect.name}; "
        f"{args.batch} accounts per transaction; texts {args.texts}"
        + (
            f" (windows of a {len(realistic.corpus):,}-character corpus of bench/checks.py, generated in "
            f"{realistic.seconds:.0f} s; its {len(realistic.generator.terms):,}-term dictionary)"
            if realistic
            else ""
        )
    )
    for line in length_table(texts, platform_of):
        print(line)

    service.lexicon_version()  # compile the dictionaries once, outside both timings
    held = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    for title, text in texts:
        service.run_checks(title, text)
    bare, bare_cpu = time.perf_counter() - t0, time.process_time() - c0
    after_bare = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    profiler = _start_profile(args.profile)
    phases = Phases() if args.phases else None  # bench/inspection_phases.py
    s0 = server_cpu()
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(readings), args.batch):
        service.apply_many(readings[i : i + args.batch], now)
        db.session.commit()
    full, full_cpu = time.perf_counter() - t0, time.process_time() - c0
    full_backend = _backend(s0)
    after_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    full_server = _server(s0)
    if phases is not None:
        phases.remove()
        for line in phases.table(len(texts), full_cpu, full_backend):
            print(line)
    _stop_profile(profiler, args.profile, "the first read")
    from oversight.inspection.models import LivePost
    from oversight.models import Finding

    findings = db.session.scalar(sa_count(Finding))
    print(findings_digest() + f" (peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB after it)")
    print(f"bare checks:       {len(texts) / bare:10.0f} posts/s ({bare:.1f} s)")
    print(f"trace-and-check:   {len(texts) / full:10.0f} posts/s ({full:.1f} s; first read; {findings} findings)")
    print(f"ratio:             {bare / full:10.2f}× of the bare checks (goal ≥ 0.5×)")
    # CPU time of this process: steadier than wall-clock on a shared machine (SQLite's work is in-process;
    # a PostgreSQL server's is not counted, so use it for SQLite comparisons).
    print(
        f"ratio (CPU time):  {bare_cpu / full_cpu:10.2f}× ({bare_cpu / len(texts) * 1e6:.1f} vs "
        f"{full_cpu / len(texts) * 1e6:.1f} µs CPU per post{full_server})"
    )
    if full_backend is not None:
        with_backend = full_cpu + full_backend
        print(
            f"  with the backend: {bare_cpu / with_backend:9.2f}× ({bare_cpu / len(texts) * 1e6:.1f} vs "
            f"{with_backend / len(texts) * 1e6:.1f} µs CPU per post, this process + its PostgreSQL backend)"
        )

    # The floor under the first read: its posts stored again by the database itself.
    rows_per_batch = max(1, round(len(texts) / max(1, math.ceil(len(readings) / args.batch))))
    s_wall, s_cpu, s_backend, s_rows = store_floor(rows_per_batch, server_cpu)
    backend_s = f" + {s_backend:.1f} s PostgreSQL backend CPU" if s_backend is not None else ""
    print(
        f"store floor:       {s_rows / s_wall:10.0f} posts/s (the same {s_rows} rows written again by the database, "
        f"INSERT … SELECT into a copy of live_posts with its indexes, {rows_per_batch} a transaction: {s_wall:.1f} s; "
        f"{s_cpu / s_rows * 1e6:.1f} µs CPU per post{backend_s})"
    )
    print(
        f"  ratio (bare checks + store floor) / first read: {(bare + s_wall) / full:.2f}× wall"
        + (
            f", {(bare_cpu + s_cpu + s_backend) / (full_cpu + full_backend):.2f}× CPU with the backend"
            if s_backend is not None and full_backend is not None
            else f", {(bare_cpu + s_cpu) / full_cpu:.2f}× CPU"
        )
        + " — how near the first read is to the work it cannot avoid (checking and storing every post)"
    )

    # The next day: every account shows one new post on top of the 29 it showed yesterday.
    later = now + timedelta(days=1)
    nxt: list[Any] = []
    platform_of_account = {a.id: a.platform.value for a in accounts}
    for reading in readings:
        if realistic is None:
            title, text = "", rng.choice(WORDS) + "（次日）"
        else:
            title, text = realistic.post(platform_of_account[reading.account_id])
        new = sources.SeenPost(f"n{reading.account_id}", later, title, text, None)
        nxt.append(
            sources.Reading(
                reading.account_id, "import", later, True, reading.profile, (new, *reading.posts[:-1]), datetime_max()
            )
        )
    profiler = _start_profile(args.profile_next)
    s0 = server_cpu()
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(nxt), args.batch):
        service.apply_many(nxt[i : i + args.batch], later)
        db.session.commit()
    day2, day2_cpu = time.perf_counter() - t0, time.process_time() - c0
    day2_server = _server(s0)
    after_day2 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _stop_profile(profiler, args.profile_next, "the next day's read")
    read = sum(len(r.posts) for r in nxt)
    print(
        f"next day:          {read / day2:10.0f} posts/s read ({len(nxt)} new of {read}, {day2:.1f} s; "
        f"{day2_cpu / read * 1e6:.1f} µs CPU per post read{day2_server})"
    )
    print(f"  ratio (CPU time): {bare_cpu / day2_cpu * read / len(texts):9.2f}× of the bare checks over as many texts")

    db.session.execute(sa_update(LivePost).values(checked_version="old"))
    db.session.commit()
    stored = db.session.scalar(sa_count(LivePost))
    s0 = server_cpu()
    t0, c0 = time.perf_counter(), time.process_time()
    scanned = 0
    after_id = 0
    while True:
        summary = rescan_posts(later, batch=2000, after_id=after_id)
        db.session.commit()
        scanned += summary["scanned"]
        after_id = summary["last_id"]
        if not summary["more"]:
            break
    rescan, rescan_cpu = time.perf_counter() - t0, time.process_time() - c0
    per_s = scanned / rescan
    year = args.accounts * 365 * args.posts_per_day
    print(
        f"re-scan:           {per_s:10.0f} posts/s ({scanned} of {stored} posts in {rescan:.1f} s, one process; "
        f"{rescan_cpu / max(scanned, 1) * 1e6:.1f} µs CPU per post{_server(s0)})"
    )
    print(
        f"  1 year × {args.accounts} accounts = {year} posts: {year / per_s / 60:.1f} min in one process, "
        f"{year / per_s / 120:.1f} min on 2 workers if they scale linearly (goal ≤ 10 min)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak memory:       {peak:10.0f} MB (goal ≤ 2048 MB; {held:.0f} MB of it before the first read: the bench "
        f"holds every account's reading, {sum(len(t) + len(x) for t, x in texts) / 1e6:.1f}M characters of text, "
        f"at once, where the daily sweep holds one batch; peak {after_bare:.0f} MB after the bare checks, "
        f"{after_first:.0f} MB after the first read, "
        f"{after_day2:.0f} MB after the next day)"
    )


def rescan_year(app, args, url: str, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    """The re-scan after a dictionary change at full size: ``--accounts`` × ``--rescan-days`` stored
    posts (filled in SQL, as the daily reads would have left them: checked, hits stored), the
    dictionary version made old, then ``--workers`` processes each re-scan one shard (ids modulo n,
    batches of 2,000, committed: what the Celery task runs). Wall time of the whole, CPU of each
    worker and its PostgreSQL backend, peak resident memory of each worker."""
    import json
    import subprocess

    import sqlalchemy as sa

    from common.db import utcnow
    from extensions import db
    from registry.models import Account, AccountStatus, Platform, Unit

    if db.engine.dialect.name != "postgresql" and args.workers > 1:
        sys.exit("--rescan-year with several workers needs --database-url postgresql+psycopg://…")
    now = utcnow()
    unit = Unit(name="压测县人民政府", region="压测县")
    db.session.add(unit)
    db.session.flush()
    platforms = (Platform.weibo, Platform.wechat, Platform.douyin, Platform.toutiao)
    db.session.execute(
        sa.insert(Account),
        [
            {
                "platform": platforms[i % 4],
                "platform_uid": f"bench{i:06d}",
                "name": f"压测县账号{i}",
                "unit_id": unit.id,
                "status": AccountStatus.active,
                "verified_subject": unit.name,
            }
            for i in range(args.accounts)
        ],
    )
    if args.texts == "realistic":
        from bench.inspection_year import realistic_year

        version, bare_cpu, extra = realistic_year(
            db, args, unit_id=unit.id, now=now, texts_cls=RealisticTexts, length_table=length_table, tmp=tmp
        )
    else:
        version, bare_cpu = short_year(db, args, unit.id, now)
        extra = []
    db.session.remove()
    db.engine.dispose()
    cmd = [sys.executable, __file__, "--database-url", url, "--rescan-days", str(args.rescan_days), *extra]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                *cmd,
                "--rescan-worker",
                f"{k}/{args.workers}",
                *(["--profile", args.profile] if args.profile and k == 0 else []),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(args.workers)
    ]
    results = []
    for p in procs:
        out, _ = p.communicate()
        *printed, last = out.strip().splitlines()
        results.append(json.loads(last))
        if printed:  # --profile: worker 0's profile
            print("\n".join(printed))
    wall = time.perf_counter() - t0
    scanned = sum(r["scanned"] for r in results)
    cpu = sum(r["cpu"] for r in results)
    server = sum(r["server"] or 0 for r in results)
    for k, r in enumerate(results):
        print(
            f"  worker {k}: {r['scanned']} posts in {r['wall']:.0f} s, {r['cpu']:.1f} s CPU"
            + (f" + {r['server']:.1f} s backend CPU" if r["server"] is not None else "")
            + f", peak {r['peak_mb']:.0f} MB, {r['created']} findings created"
        )
    print(
        f"re-scan (full size): {scanned} posts in {wall:.0f} s = {wall / 60:.1f} min wall on {args.workers} worker(s) "
        f"(goal ≤ 10 min); {scanned / wall:.0f} posts/s; CPU {cpu:.0f} s workers + {server:.0f} s PostgreSQL "
        f"= {(cpu + server) / max(scanned, 1) * 1e6:.0f} µs a post (bare checks {bare_cpu * 1e6:.1f} µs)"
    )
    print(
        f"peak memory:       {max(r['peak_mb'] for r in results):10.0f} MB per worker, "
        f"{sum(r['peak_mb'] for r in results):.0f} MB together (goal ≤ 2048 MB)"
    )
    left = db.session.scalar(
        sa.text("SELECT count(*) FROM live_posts WHERE checked_version IS NULL OR checked_version != :v"),
        {"v": results[0]["version"]},
    )
    print(
        f"  posts left with an old dictionary version: {left} (version before {version}, after "
        f"{results[0]['version']}); findings in the database: {db.session.scalar(sa_count_model('findings'))}"
    )


def short_year(db, args, unit_id: int, now) -> tuple[str, float]:  # type: ignore[no-untyped-def]
    """Fill the year with the first read's short texts (every 10th post a hit) in one INSERT … SELECT;
    returns (the dictionary version, made 'old' in the rows, bare checks CPU a post)."""
    import json

    import sqlalchemy as sa

    from oversight.inspection import service

    version = service.lexicon_version()
    # The texts of the first-read bench (every 10th post a hit), with the hits the checks give them.
    texts = [*WORDS, *HITS]  # + "（第n条）" on the WORDS, as in the first read
    hits = [json.dumps(service.run_checks("", t + ("（第1条）" if i < 5 else ""))) for i, t in enumerate(texts)]
    t0 = time.perf_counter()
    conn = db.session.connection()
    pg = db.engine.dialect.name == "postgresql"
    series = (
        "generate_series(0, :days - 1) AS d(d)"
        if pg
        else "(WITH RECURSIVE s(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM s WHERE d + 1 < :days)"
        " SELECT d FROM s) AS d"
    )
    when = "CAST(:now AS timestamp) - d * interval '1 day'" if pg else "datetime(:now, '-' || d || ' days')"
    pick = "CASE WHEN (a.id * 7 + d) % 10 = 0 THEN 5 + (a.id + d) % 2 ELSE (a.id * 3 + d) % 5 END"  # 10 % hits
    texts_sql = " ".join(f"WHEN {i} THEN :t{i}" for i in range(len(texts)))
    hits_sql = " ".join(f"WHEN {i} THEN :h{i}" for i in range(len(texts)))
    json_cast = "CAST(({}) AS json)" if pg else "({})"
    empty = json_cast.format("'[]'")
    suffix = f"CASE WHEN {pick} < 5 THEN '（第' || (a.id * 1000 + d) || '条）' ELSE '' END"
    text_sql = f"CASE {pick} {texts_sql} END || {suffix}"
    hash_sql = "md5(a.id || '-' || d)" if pg else "'h' || a.id || '-' || d"
    values = (
        f"a.id, a.platform, 'p' || a.id || '-' || d, {when}, '', {text_sql}, NULL, {empty}, {empty}, NULL, 'found',"
        f" {hash_sql}, 'live', 'import', :now, :now, {json_cast.format(f'CASE {pick} {hits_sql} END')}, 'old', :now"
    )
    columns = (
        "account_id, platform, platform_post_id, published_at, title, text, url, links, media, original, source,"
        " text_hash, state, seen_via, first_seen_at, last_seen_at, check_hits, checked_version, checked_at"
    )
    sql = f"INSERT INTO live_posts ({columns}) SELECT {values} FROM accounts a CROSS JOIN {series}"  # noqa: S608  fixed SQL
    sql += " WHERE a.unit_id = :unit"
    conn.execute(
        sa.text(sql),
        {
            "days": args.rescan_days,
            "now": now,
            "unit": unit_id,
            **{f"t{i}": t for i, t in enumerate(texts)},
            **{f"h{i}": h for i, h in enumerate(hits)},
        },
    )
    db.session.commit()
    if pg:
        conn = db.session.connection()
        conn.exec_driver_sql("ANALYZE live_posts")
        db.session.commit()
    stored = db.session.scalar(sa_count_model("live_posts"))
    print(
        f"{args.accounts} accounts × {args.rescan_days} days = {stored} stored posts filled in "
        f"{time.perf_counter() - t0:.0f} s; database {db.engine.dialect.name}; dictionary version {version}; "
        f"{args.workers} worker process(es)",
        flush=True,
    )
    # The bare checks over a sample of the same texts (the per-post floor of any re-scan).
    sample = [texts[(i * 3) % 5] + f"（第{i}条）" if i % 10 else texts[5 + i % 2] for i in range(20000)]
    c0 = time.process_time()
    for t in sample:
        service.run_checks("", t)
    bare_cpu = (time.process_time() - c0) / len(sample)
    return version, bare_cpu


def rescan_worker(args) -> None:  # type: ignore[no-untyped-def]
    """One shard of :func:`rescan_year` (a child process); prints one JSON line."""
    import json

    from common.db import utcnow
    from extensions import db
    from oversight.inspection.rescan import rescan as rescan_posts

    app_config_days(args.rescan_days)
    k, n = (int(x) for x in args.rescan_worker.split("/"))
    now = utcnow()
    s0 = server_cpu()
    profiler = _start_profile(args.profile)
    t0, c0 = time.perf_counter(), time.process_time()
    total = {"scanned": 0, "created": 0, "resolved": 0}
    after_id = 0
    while True:
        summary = rescan_posts(now, batch=2000, after_id=after_id, shard=(k, n))
        db.session.commit()
        for key in total:
            total[key] += summary[key]
        after_id = summary["last_id"]
        if not summary["more"]:
            break
    _stop_profile(profiler, args.profile, f"re-scan worker {k}", r"rescan|oversight|moderation|sqlalchemy|psycopg")
    s1 = server_cpu()
    print(
        json.dumps(
            {
                **total,
                "version": summary["version"],
                "wall": time.perf_counter() - t0,
                "cpu": time.process_time() - c0,
                "server": None if s0 is None or s1 is None else s1 - s0,
                "peak_mb": own_peak_mb(),
            }
        )
    )


def own_peak_mb() -> float:
    """Peak resident memory of this process's own image: VmHWM (Linux), not ru_maxrss, which a child
    started by fork + exec inherits from its parent (the bench's parent holds the corpus and a sample)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def app_config_days(days: int) -> None:
    from flask import current_app

    current_app.config["INSPECTION_RESCAN_DAYS"] = days


def server_cpu() -> float | None:
    """CPU seconds of this session's PostgreSQL backend so far (local server only), or None."""
    from extensions import db

    if db.engine.dialect.name != "postgresql":
        return None
    pid = db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend(before: float | None) -> float | None:
    after = server_cpu()
    return None if before is None or after is None else after - before


def _server(before: float | None) -> str:
    after = server_cpu()
    if before is None or after is None:
        return ""
    return f" + {after - before:.1f} s PostgreSQL backend CPU"


def _start_profile(path: str | None) -> Any:
    if not path:
        return None
    import cProfile

    profiler = cProfile.Profile(time.process_time)  # CPU time: a shared machine skews wall-clock attributions
    profiler.enable()
    return profiler


def _stop_profile(profiler: Any, path: str | None, what: str, restrict: str = r"oversight|moderation|findings") -> None:
    if profiler is None:
        return
    import pstats

    profiler.disable()
    profiler.dump_stats(path)
    print(f"profile of {what} in {path} (times under the profiler are inflated):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(restrict, 25)


def sa_count(model):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    return sa.select(sa.func.count()).select_from(model)


def sa_count_model(table: str):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    return sa.select(sa.func.count()).select_from(sa.table(table))


def datetime_max():  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.max


def sa_update(model):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    return sa.update(model)


if __name__ == "__main__":
    main()
