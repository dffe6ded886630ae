"""Benchmark of the registry (台账) API at county-province scale (prints figures, asserts nothing).

    .venv/bin/python bench/registry.py                 # 100,000 accounts over 2,000 units, SQLite and PostgreSQL
    .venv/bin/python bench/registry.py --quick         # 10,000 accounts over 200 units
    .venv/bin/python bench/registry.py --backend postgresql --requests 300

Each backend gets a fresh database (SQLite: a temporary file; PostgreSQL: a new database on
127.0.0.1:5432 that is dropped afterwards), migrated with Alembic and seeded with a bulk insert.
The app is served by a werkzeug server thread on 127.0.0.1 and called over real HTTP with a
bearer token (an auditor, i.e. the whole ledger in scope). Figures per query: p50 / p95 / max
in milliseconds over --requests calls with varying parameters; export of the whole ledger
(XLSX and CSV) and import of --import-rows new accounts (XLSX) in rows/s.

Goals: p95 ≤ 50 ms for list/filter/search at 100,000 accounts on PostgreSQL; export of
100,000 rows to XLSX ≤ 20 s.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
import sqlalchemy as sa
from openpyxl import Workbook

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PLACES = (
    "安宁平和兴隆昌盛丰泰康福永宝山河江湖海川岭峰林松柏青绿白黄红金银石玉东南西北中上下新长高大小清明阳台德仁义信华光"
)
DEPARTMENTS = (
    ("人民政府", "发布"),
    ("教育局", "教育"),
    ("公安局", "警方"),
    ("卫生健康局", "健康"),
    ("文化和旅游局", "文旅"),
    ("市场监督管理局", "市场监管"),
    ("应急管理局", "应急"),
    ("人力资源和社会保障局", "人社"),
    ("融媒体中心", "融媒"),
    ("交通运输局", "交通"),
)
PLATFORMS = ("wechat", "weibo", "douyin", "toutiao", "channels", "kuaishou", "bilibili", "xiaohongshu", "baijiahao")
STATUS_MIX = (
    ("active", 0.86),
    ("applying", 0.03),
    ("changing", 0.02),
    ("suspended", 0.02),
    ("closing", 0.02),
    ("closed_on_platform", 0.01),
    ("closed", 0.03),
    ("rejected", 0.01),
)


# ----------------------------------------------------------------------------- data


def unit_names(n: int, rng: random.Random) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        place = "".join(rng.choice(PLACES) for _ in range(2)) + rng.choice("县区市")
        for department, _short in DEPARTMENTS:
            name = place + department
            if name not in seen:
                seen.add(name)
                names.append(name)
            if len(names) == n:
                break
    return names


def seed(db: Any, n_units: int, n_accounts: int, rng: random.Random) -> dict[str, Any]:
    from registry.models import Account, AccountStatus, Platform, Unit, UnitKind

    started = time.perf_counter()
    names = unit_names(n_units, rng)
    db.session.execute(sa.insert(Unit), [{"name": n, "kind": UnitKind.department, "region": n[:3]} for n in names])
    unit_ids = dict(db.session.execute(sa.select(Unit.name, Unit.id)).tuples().all())
    statuses = [AccountStatus(s) for s, _ in STATUS_MIX]
    weights = [w for _, w in STATUS_MIX]
    today = date.today()
    rows: list[dict[str, Any]] = []
    sample_names: list[str] = []
    sample_uids: list[str] = []
    for i in range(n_accounts):
        unit = names[i % n_units]
        short = next(s for d, s in DEPARTMENTS if unit.endswith(d))
        platform = Platform(PLATFORMS[(i // n_units) % len(PLATFORMS)])
        status = rng.choices(statuses, weights)[0]
        uid = f"{platform.value[:2]}{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}"
        name = f"{unit[:3]}{short}" + ("" if i < n_units * len(PLATFORMS) else f"{i // (n_units * len(PLATFORMS))}号")
        due = None
        if status.value in ("applying", "changing", "closed_on_platform"):
            due = today + timedelta(days=rng.randint(-20, 10))
        rows.append(
            {
                "platform": platform,
                "platform_uid": uid,
                "name": name,
                "unit_id": unit_ids[unit],
                "status": status,
                "verified_subject": unit,
                "verified": True,
                "is_primary": True,
                "opened_on": today - timedelta(days=rng.randint(30, 3000)),
                "filing_number": f"BA-{i:06d}",
                "filed_on": today - timedelta(days=rng.randint(20, 2900)),
                "filing_due_on": due,
                "contact_phone": "0571-12345678",
                "person_in_charge": "分管副主任",
                "profile_url": f"https://example.invalid/{platform.value}/{uid}",
            }
        )
        if i % 97 == 0:
            sample_names.append(name)
            sample_uids.append(uid)
        if len(rows) == 10_000:
            db.session.execute(sa.insert(Account), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(Account), rows)
    db.session.commit()
    elapsed = time.perf_counter() - started
    return {
        "unit_ids": list(unit_ids.values()),
        "unit_names": names,
        "sample_names": sample_names,
        "sample_uids": sample_uids,
        "seed_seconds": elapsed,
    }


def import_workbook(units: list[str], n_rows: int, rng: random.Random) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("台账")
    sheet.append(["平台", "平台账号ID", "账号名称", "主办单位", "认证主体", "是否已认证", "开设日期", "重复开设理由"])
    for i in range(n_rows):
        unit = rng.choice(units)
        sheet.append(
            ["小红书", f"imp{i:07d}", f"{unit[:3]}导入{i}", unit, unit, "是", "2025-06-01", "批量导入的矩阵账号"]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- plumbing


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite"
        return
    name = f"govmedia_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(session: requests.Session, base: str, n: int, make_params: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    latencies: list[float] = []
    totals: list[int] = []
    for _ in range(3):  # warm-up
        session.get(f"{base}/api/v1/accounts", params=make_params(), timeout=60).raise_for_status()
    for _ in range(n):
        params = make_params()
        started = time.perf_counter()
        response = session.get(f"{base}/api/v1/accounts", params=params, timeout=60)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        totals.append(response.json()["total"])
    return {
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "max": max(latencies),
        "matches": statistics.median(totals),
    }


# ----------------------------------------------------------------------------- run


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    from flask_migrate import upgrade

    from app import create_app
    from auth import service as auth_service
    from auth.models import Role
    from extensions import db
    from registry.models import Unit

    rng = random.Random(args.seed)
    results: dict[str, Any] = {"backend": backend}
    with database(backend) as url:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "BROKER_URL": "memory://",
                "RATELIMIT_ENABLED": False,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, "pool_size": 10}
                if backend == "postgresql"
                else {},
            }
        )
        with app.app_context():
            upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
            data = seed(db, args.units, args.accounts, rng)
            county = db.session.scalar(sa.select(Unit.id).order_by(Unit.id).limit(1))
            user = auth_service.create_user(
                "bench_auditor", unit_id=county, roles=[Role.auditor], password="bench-password"
            )
            token, _ = auth_service.issue_token(user)
            db.session.commit()
            db.session.commit()
            # Steady state of a long-lived table (what autovacuum leaves behind): visibility map
            # for index-only counts, fresh statistics for the planner.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE" if backend == "postgresql" else "ANALYZE")
            db.session.remove()
        results["seed_s"] = data["seed_seconds"]
        print(
            f"  [{backend}] seeded {args.accounts:,} accounts over {args.units:,} units in {data['seed_seconds']:.1f} s"
        )
        with serve(app) as base:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            queries: dict[str, Callable[[], dict[str, Any]]] = {
                "list page 1": lambda: {},
                "list page 1..200": lambda: {"page": rng.randint(1, 200)},
                "filter platform": lambda: {"platform": rng.choice(PLATFORMS)},
                "filter status": lambda: {"status": rng.choice(["applying", "changing", "closing", "suspended"])},
                "filter unit": lambda: {"unit_id": rng.choice(data["unit_ids"])},
                "filter platform+status": lambda: {"platform": rng.choice(PLATFORMS), "status": "active"},
                "filter overdue": lambda: {"overdue": "true"},
                "search name (exact-ish)": lambda: {"q": rng.choice(data["sample_names"])},
                "search name (fragment)": lambda: {"q": rng.choice(data["sample_names"])[:4]},
                "search uid": lambda: {"q": rng.choice(data["sample_uids"])[2:10]},
                "search + platform": lambda: {"q": rng.choice(data["sample_names"])[:3], "platform": "weibo"},
            }
            for label, make in queries.items():
                figures = timed(session, base, args.requests, make)
                results[label] = figures
                print(
                    f"  [{backend}] {label:<26} p50 {figures['p50']:6.1f} ms  p95 {figures['p95']:6.1f} ms"
                    f"  max {figures['max']:6.1f} ms  (median matches {figures['matches']:,.0f})"
                )
            for fmt in ("xlsx", "csv"):
                started = time.perf_counter()
                response = session.get(f"{base}/api/v1/reports/accounts.{fmt}", timeout=600)
                response.raise_for_status()
                seconds = time.perf_counter() - started
                results[f"export {fmt}"] = {"seconds": seconds, "rows_per_s": args.accounts / seconds}
                print(
                    f"  [{backend}] export {fmt:<4} {args.accounts:,} rows in {seconds:5.1f} s"
                    f"  = {args.accounts / seconds:,.0f} rows/s  ({len(response.content) / 1e6:.1f} MB)"
                )
            workbook = import_workbook(data["unit_names"], args.import_rows, rng)
            for attempt in ("import", "re-import"):
                started = time.perf_counter()
                response = session.post(
                    f"{base}/api/v1/registry/imports",
                    files={"file": ("bench.xlsx", workbook, "application/octet-stream")},
                    timeout=600,
                )
                seconds = time.perf_counter() - started
                response.raise_for_status()
                report = response.json()
                results[attempt] = {"seconds": seconds, "rows_per_s": args.import_rows / seconds}
                print(
                    f"  [{backend}] {attempt:<9} {args.import_rows:,} rows in {seconds:5.1f} s"
                    f"  = {args.import_rows / seconds:,.0f} rows/s  (created {report['created']},"
                    f" unchanged {report['unchanged']})"
                )
            session.close()
        with app.app_context():
            db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 accounts over 200 units")
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--units", type=int, default=None)
    parser.add_argument("--requests", type=int, default=200, help="calls per query kind")
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    args.accounts = args.accounts or (10_000 if args.quick else 100_000)
    args.units = args.units or (200 if args.quick else 2_000)
    if args.quick:
        args.import_rows = min(args.import_rows, 2_000)
        args.requests = min(args.requests, 50)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    logging.getLogger("alembic").setLevel(logging.WARNING)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print(
        f"registry bench: {args.accounts:,} accounts, {args.units:,} units, {args.requests} requests per query,"
        f" import {args.import_rows:,} rows; {os.cpu_count()} CPUs"
    )
    for backend in backends:
        run_backend(backend, args)


if __name__ == "__main__":
    main()
