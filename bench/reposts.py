"""Benchmark of the repost-task completion sweep (prints figures, asserts nothing).

    .venv/bin/python bench/reposts.py                      # 200 units × 2 platforms, 30 posts per account
    .venv/bin/python bench/reposts.py --units 2000         # a province-sized task
    .venv/bin/python bench/reposts.py --units 500 --database-url postgresql://…

One task to every unit on Weibo and WeChat. A third of the units reposted through govmedia (a
content made from the task with a sent delivery on each platform), a third reposted in the
platform's app (one of the account's ``--posts`` stored live posts carries the source URL or the
source title), the rest did nothing; the deadline has passed. ``reposts.completion.sweep`` then runs
once (every target decided: 已完成/逾期未完成) and once more (nothing open but the missing ones).
Figures: targets/s of the first sweep, of the second, the live posts read per second, and the
ratio second/first (the sweep of a settled task should cost little).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SOURCE_URL = "https://www.gov.cn/zhengce/2026-12/01/content_7001234.htm"
SOURCE_TITLE = "国务院办公厅关于进一步优化政务服务提升行政效能的意见"
FILLER = (
    "今天召开安全生产工作会议，部署冬季防火和道路交通安全工作",
    "县应急管理局开展防汛演练，检验预案可行性",
    "我县持续优化营商环境，新办企业审批时限压缩至一个工作日",
    "请广大市民注意防范电信诈骗，不轻信陌生来电",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=200)
    ap.add_argument("--posts", type=int, default=30, help="stored live posts per account since the task")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args()

    from flask_migrate import upgrade

    from app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-reposts-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "BROKER_URL": "memory://", "TESTING": True})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        run(args)


def run(args: argparse.Namespace) -> None:
    from auth.models import User
    from common.db import utcnow
    from extensions import db
    from moderation.models import Content, ContentStatus
    from oversight.inspection.models import LivePost, PostSource, PostState
    from publishers.models import Delivery, DeliveryStatus
    from registry.models import Account, AccountStatus, Platform, Unit
    from reposts import completion
    from reposts.models import RepostSourceKind, RepostTarget, RepostTargetStatus, RepostTask

    rng = random.Random(args.seed)
    now = utcnow()
    issued = now - timedelta(days=3)
    county = Unit(name="压测县人民政府", region="压测县")
    db.session.add(county)
    db.session.flush()
    office = User(username="bench-office", display_name="网信办", unit_id=county.id, password_hash="x")
    db.session.add(office)
    db.session.flush()
    task = RepostTask(
        title=SOURCE_TITLE,
        source_kind=RepostSourceKind.url,
        source_url=SOURCE_URL,
        source_title=SOURCE_TITLE,
        source_name="中国政府网",
        platforms=["weibo", "wechat"],
        deadline_at=now - timedelta(hours=1),
        issued_by_id=office.id,
        issuer_unit_id=county.id,
        issued_at=issued,
    )
    db.session.add(task)
    db.session.flush()
    platforms = (Platform.weibo, Platform.wechat)
    posts = 0
    for i in range(args.units):
        unit = Unit(name=f"压测县单位{i:05d}", region="压测县", parent_id=county.id)
        db.session.add(unit)
        db.session.flush()
        kind = i % 3  # 0: through govmedia, 1: in the platform's app, 2: nothing
        content = None
        if kind == 0:
            content = Content(
                unit_id=unit.id,
                author_id=office.id,
                title=SOURCE_TITLE,
                body_html="<p>来源：中国政府网</p>",
                body_text="来源：中国政府网",
                status=ContentStatus.published,
            )
            db.session.add(content)
            db.session.flush()
        for p in platforms:
            account = Account(
                platform=p,
                platform_uid=f"b{i:05d}{p.value}",
                name=f"单位{i}{p.value}",
                unit_id=unit.id,
                status=AccountStatus.active,
            )
            db.session.add(account)
            db.session.flush()
            db.session.add(
                RepostTarget(
                    task_id=task.id,
                    unit_id=unit.id,
                    platform=p,
                    status=RepostTargetStatus.pending,
                    content_id=content.id if content else None,
                )
            )
            if content is not None:
                db.session.add(
                    Delivery(
                        content_id=content.id,
                        version=1,
                        account_id=account.id,
                        status=DeliveryStatus.sent,
                        idempotency_key=f"bench-{content.id}-{account.id}",
                        content_hash="x",
                        sent_at=issued + timedelta(hours=5),
                        platform_url=f"https://example.invalid/{account.id}",
                    )
                )
            match_at = rng.randrange(args.posts) if kind == 1 else -1
            for n in range(args.posts):
                text = rng.choice(FILLER)
                if n == match_at:
                    text = f"转发：{SOURCE_TITLE} {SOURCE_URL}" if n % 2 else f"{SOURCE_TITLE}！全文见中国政府网"
                db.session.add(
                    LivePost(
                        account_id=account.id,
                        platform=p.value,
                        platform_post_id=f"{account.id}-{n}",
                        published_at=issued + timedelta(minutes=10 * (n + 1)),
                        text=text,
                        source=PostSource.found,
                        state=PostState.live,
                        text_hash=str(n),
                        seen_via="bench",
                    )
                )
                posts += 1
        if i % 200 == 199:
            db.session.commit()
    db.session.commit()
    targets = args.units * len(platforms)

    started = time.perf_counter()
    first = completion.sweep()
    db.session.commit()
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    second = completion.sweep()
    db.session.commit()
    second_s = time.perf_counter() - started

    print(f"units {args.units}, targets {targets}, stored live posts {posts}")
    print(f"first sweep:  {first.as_dict()} in {first_s:.2f} s = {targets / first_s:,.0f} targets/s")
    print(f"              {posts / first_s:,.0f} live posts considered/s")
    open_left = first.overdue
    print(f"second sweep: {second.as_dict()} in {second_s:.2f} s ({open_left} targets still open)")
    print(f"ratio second/first: {second_s / first_s:.2f}")


if __name__ == "__main__":
    main()
