"""``bench/inspection.py --rescan-year --texts realistic``: fill a year of stored posts of realistic
length through COPY (not through the first-read path) for the re-scan at full size.

Every post is its own window of ``bench/checks.py``'s corpus, its length drawn per platform as in the
first-read bench (:data:`bench.inspection.LENGTHS`), and stored as the daily reads would have left it:
checked, with the hits the *old* dictionary gives it. The dictionary change the re-scan then catches
adds about 1 % of the 50,000 generated terms (every 97th; a tenth of them blocking, like the rest), so
some posts gain hits (blocking ones become findings) and every post's dictionary version is old.

The parent process computes the old hits while PostgreSQL stores the previous rows (one COPY stream,
the two sides on the two cores); on SQLite (small smoke runs) the rows go in by ``executemany``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ADDED_EVERY = 97  # the dictionary change: every 97th generated term is new (≈ 1 %)

COLUMNS = (
    "account_id, platform, platform_post_id, published_at, title, text, url, links, media, original, source,"
    " text_hash, state, seen_via, first_seen_at, last_seen_at, check_hits, checked_version, checked_at"
)


def write_dictionaries(terms: list[str], old_dir: Path, new_dir: Path) -> int:
    """The dictionary before the change (without every ``ADDED_EVERY``-th term) and after it (all of
    them), the severities of ``RealisticTexts.write_dictionary`` (every 10th term blocking). Returns the
    number of terms added."""
    old_dir.mkdir()
    new_dir.mkdir()
    lines = [(i, f"{t}\t{'block' if i % 10 == 0 else 'warn'}\tbench") for i, t in enumerate(terms)]
    (new_dir / "sensitive_terms.txt").write_text("\n".join(x for _, x in lines) + "\n", encoding="utf-8")
    old = [x for i, x in lines if i % ADDED_EVERY]
    (old_dir / "sensitive_terms.txt").write_text("\n".join(old) + "\n", encoding="utf-8")
    return len(lines) - len(old)


def _escape(value: str) -> str:
    """A value in COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _posts(
    accounts: list[tuple[int, str]], days: int, now: datetime, texts: Any, check: Callable[[str, str], Any]
) -> Iterator[tuple[int, str, int, datetime, str, str, str]]:
    """(account id, platform, day, published at, title, text, hits JSON) of every post, account by account."""
    for account_id, platform in accounts:
        for d in range(days):
            title, text = texts.post(platform)
            yield account_id, platform, d, now - timedelta(days=d), title, text, json.dumps(check(title, text))


def fill(
    conn: Any, accounts: list[tuple[int, str]], *, days: int, now: datetime, version: str, texts: Any, check: Any
) -> dict[str, Any]:
    """Store ``accounts`` × ``days`` posts; returns {"posts", "chars", "bytes", "check_cpu", "hit_posts"}."""
    stats = {"posts": 0, "chars": 0, "bytes": 0, "check_cpu": 0.0, "hit_posts": 0, "sample": []}

    def timed_check(title: str, text: str) -> Any:
        c0 = time.process_time()
        hits = check(title, text)
        stats["check_cpu"] += time.process_time() - c0
        return hits

    ts = now.isoformat(sep=" ")
    rows = _posts(accounts, days, now, texts, timed_check)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection  # psycopg 3
        buf: list[bytes] = []
        size = 0
        with raw.cursor() as cur, cur.copy(f"COPY live_posts ({COLUMNS}) FROM STDIN") as copy:
            for account_id, platform, d, published, title, text, hits in rows:
                line = (
                    f"{account_id}\t{platform}\tp{account_id}-{d}\t{published.isoformat(sep=' ')}\t{_escape(title)}\t"
                    f"{_escape(text)}\t\\N\t[]\t[]\t\\N\tfound\th{account_id}-{d}\tlive\timport\t{ts}\t{ts}\t"
                    f"{_escape(hits)}\t{version}\t{ts}\n"
                ).encode()
                _count(stats, (title, text, hits, platform), line)
                buf.append(line)
                size += len(line)
                if size > 4 << 20:
                    copy.write(b"".join(buf))
                    buf, size = [], 0
            if buf:
                copy.write(b"".join(buf))
        return stats
    insert = sa.text(
        f"INSERT INTO live_posts ({COLUMNS}) VALUES (:a, :p, :pid, :pub, :title, :text, NULL, '[]', '[]', NULL,"  # noqa: S608  fixed SQL
        " 'found', :h, 'live', 'import', :now, :now, :hits, :v, :now)"
    )
    batch: list[dict[str, Any]] = []
    for account_id, platform, d, published, title, text, hits in rows:
        _count(stats, (title, text, hits, platform), text.encode())
        batch.append(
            {
                "a": account_id,
                "p": platform,
                "pid": f"p{account_id}-{d}",
                "pub": published,
                "title": title,
                "text": text,
                "h": f"h{account_id}-{d}",
                "now": now,
                "hits": hits,
                "v": version,
            }
        )
        if len(batch) >= 5000:
            conn.execute(insert, batch)
            batch = []
    if batch:
        conn.execute(insert, batch)
    return stats


def _count(stats: dict[str, Any], post: tuple[str, str, str, str], line: bytes) -> None:
    title, text, hits, platform = post
    stats["posts"] += 1
    stats["chars"] += len(title) + len(text)
    stats["bytes"] += len(line)
    stats["hit_posts"] += hits != "[]"
    if len(stats["sample"]) < 100_000 and stats["posts"] % 7 == 0:
        stats["sample"].append(((title, text), platform))


def realistic_year(  # type: ignore[no-untyped-def]
    db, args, *, unit_id: int, now: datetime, texts_cls, length_table, tmp: Path
) -> tuple[str, float, list[str]]:
    """Fill the year (see the module); returns (the old version, bare checks CPU a post, extra worker
    arguments: the new dictionary's directory)."""
    from oversight.inspection import service

    t0 = time.perf_counter()
    texts = texts_cls(random.Random(args.seed + 1), args.corpus_chars)
    added = write_dictionaries(texts.generator.terms, tmp / "checks-old", tmp / "checks-new")
    from flask import current_app

    current_app.config["CHECKS_DATA_DIR"] = str(tmp / "checks-old")  # read when the pipeline is first built
    version = service.lexicon_version()
    prepared = time.perf_counter() - t0
    accounts = [
        (i, p)
        for i, p in db.session.execute(
            sa.text("SELECT id, platform FROM accounts WHERE unit_id = :u ORDER BY id"), {"u": unit_id}
        )
    ]
    t0, c0 = time.perf_counter(), time.process_time()
    conn = db.session.connection()
    stats = fill(conn, accounts, days=args.rescan_days, now=now, version=version, texts=texts, check=service.run_checks)
    db.session.commit()
    copied, copy_cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    if db.engine.dialect.name == "postgresql":
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM (ANALYZE) live_posts")
            sizes = c.exec_driver_sql(
                "SELECT pg_size_pretty(pg_table_size('live_posts')), pg_size_pretty(pg_relation_size('live_posts')),"
                " pg_size_pretty(pg_indexes_size('live_posts'))"
            ).one()
        size_note = f"; table {sizes[0]} (heap {sizes[1]}, the rest TOAST), indexes {sizes[2]}"
    else:
        size_note = ""
    vacuumed = time.perf_counter() - t1
    print(
        f"{len(accounts)} accounts × {args.rescan_days} days = {stats['posts']} stored posts of realistic length, "
        f"{stats['chars'] / 1e6:.1f}M characters ({stats['bytes'] / 1e9:.2f} GB as COPY text), "
        f"{stats['hit_posts']} with hits of the old dictionary; filled in {copied:.0f} s wall by COPY "
        f"({copy_cpu:.0f} s CPU of the filler, {stats['check_cpu']:.0f} s of it the old dictionary's checks) "
        f"+ {vacuumed:.0f} s VACUUM ANALYZE; corpus and dictionaries prepared in {prepared:.0f} s{size_note}",
        flush=True,
    )
    print(
        f"dictionary change: {added} of {len(texts.generator.terms)} terms added (every {ADDED_EVERY}th, "
        f"a tenth blocking); old version {version}"
    )
    sample = stats["sample"]
    for line in length_table([t for t, _ in sample], [p for _, p in sample]):
        print(line)
    bare = stats["check_cpu"] / max(stats["posts"], 1)
    return version, bare, ["--checks-data-dir", str(tmp / "checks-new")]
