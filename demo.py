"""flask seed-demo: units, users for every role, accounts on all platforms, sample content, a
government-website feed and a 转载任务 (repost task) from the office to three units.

Idempotent: running it again on a seeded database changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from kombu.exceptions import OperationalError

from auth import models as auth_models
from auth import service as auth_service
from auth.models import Role, User
from extensions import db
from intake import feeds as intake_feeds
from moderation import review
from moderation import service as content_service
from oversight.inspection import service as inspection
from oversight.interaction import service as interaction
from publishers.credential_admin import set_credentials
from registry.models import Account, AccountStatus, Platform, Unit, UnitKind
from registry.units import create_unit
from reposts import service as reposts
from tasks.inspection import inspect_batch
from tasks.interaction import interaction_poll

DEMO_PASSWORD = "demo12345"  # noqa: S105 - printed demo login, demo data only
COUNTY = "示范县人民政府"

DEMO_USERS = (
    ("operator", "运营-王敏", COUNTY, (Role.operator,)),
    ("reviewer1", "初审-李编辑", COUNTY, (Role.reviewer_1,)),
    ("reviewer2", "复审-张科长", COUNTY, (Role.reviewer_2,)),
    ("reviewer3", "终审-赵副县长", COUNTY, (Role.reviewer_3,)),
    ("edu_operator", "运营-教育局小陈", "示范县教育局", (Role.operator,)),
    ("auditor", "网信办-刘审计", "中共示范县委网络安全和信息化委员会办公室", (Role.auditor,)),
    ("admin", "系统管理员", "中共示范县委网络安全和信息化委员会办公室", (Role.admin,)),
)


def _sandbox_credentials(platform: Platform, uid: str) -> dict[str, str]:
    """Credentials the sandbox accepts on first use (docs/sandbox.md)."""
    if platform is Platform.wechat:
        return {"app_id": f"wx{uid[-8:]}", "app_secret": f"sandbox:{uid}"}
    if platform is Platform.weibo:
        return {"access_token": f"sandbox:{uid}"}
    return {
        "client_key": "sandbox-client",
        "client_secret": "sandbox",
        "open_id": uid,
        "access_token": f"act.sandbox.{uid}",
        "refresh_token": f"rft.sandbox.{uid}",
    }


def seed() -> bool:
    if db.session.scalar(sa.select(Unit.id).where(Unit.name == COUNTY)):
        return False
    county = create_unit(
        {"name": COUNTY, "kind": UnitKind.government.value, "region": "示范县", "credit_code": "11330000MB1234567X"}
    )
    cac = create_unit(
        {
            "name": "中共示范县委网络安全和信息化委员会办公室",
            "kind": UnitKind.department.value,
            "region": "示范县",
            "parent_id": county.id,
        }
    )
    edu = create_unit(
        {"name": "示范县教育局", "kind": UnitKind.department.value, "region": "示范县", "parent_id": county.id}
    )
    health = create_unit(
        {"name": "示范县卫生健康局", "kind": UnitKind.department.value, "region": "示范县", "parent_id": county.id}
    )
    town = create_unit(
        {"name": "示范县城关镇人民政府", "kind": UnitKind.town.value, "region": "示范县", "parent_id": county.id}
    )
    units = {u.name: u for u in (county, cac, edu, health, town)}
    for username, display, unit_name, roles in DEMO_USERS:
        auth_service.create_user(
            username, unit_id=units[unit_name].id, roles=roles, password=DEMO_PASSWORD, display_name=display
        )
    today = date.today()
    plan = [
        (county, Platform.weibo, "sfx_weibo_001", "示范县发布"),
        (county, Platform.wechat, "gh_sfx000000001", "示范县发布"),
        (county, Platform.douyin, "dy_sfx_001", "示范县发布"),
        (county, Platform.toutiao, "tt_sfx_001", "示范县发布"),
        (edu, Platform.wechat, "gh_sfxedu00001", "示范县教育"),
        (edu, Platform.weibo, "sfx_edu_weibo", "示范县教育"),
        (health, Platform.wechat, "gh_sfxwjj00001", "健康示范县"),
        (town, Platform.douyin, "dy_cgz_001", "城关镇发布"),
    ]
    # 关停不彻底 demo: closed in the registry two months ago, still posting on the platform.
    closed = Account(
        platform=Platform.weibo,
        platform_uid="cgz_old_weibo",
        name="城关镇微博",
        unit_id=town.id,
        status=AccountStatus.closed,
        verified_subject=town.name,
        verified=True,
        opened_on=today - timedelta(days=900),
        closure_notice_on=today - timedelta(days=90),
        closure_requested_on=today - timedelta(days=70),
        closed_on=today - timedelta(days=60),
        closure_filed_on=today - timedelta(days=58),
        filing_number="SFX-WEIBO-OLD",
    )
    db.session.add(closed)
    for number, (unit, platform, uid, name) in enumerate(plan, start=1):
        account = Account(
            platform=platform,
            platform_uid=uid,
            name=name,
            unit_id=unit.id,
            status=AccountStatus.active,
            verified_subject=unit.name,
            verified=True,
            opened_on=today - timedelta(days=400),
            filing_number=f"SFX-{platform.value.upper()}-{number:03d}",  # unique, like a real 备案编号
            filed_on=today - timedelta(days=395),
            person_in_charge="分管副主任",
            admin_name="办公室管理员",
            contact_phone="0571-12345678",
            profile_url=f"https://example.invalid/{platform.value}/{uid}",
        )
        db.session.add(account)
        db.session.flush()
        set_credentials(account.id, _sandbox_credentials(platform, uid))
    db.session.flush()
    _sample_contents(county)
    _site_feed()
    _repost_task([edu, health, town])
    return True


def _repost_task(units: list[Unit]) -> None:
    """One 转载任务 from the office to three units (docs/reposts.md): 示范县教育局's operator
    (edu_operator) finds it in 待办 and under 本单位转载任务; the office sees its board."""
    auditor = db.session.scalar(sa.select(User).where(User.username == "auditor"))
    reposts.create_task(
        {
            "source_kind": "url",
            "source_url": "https://www.gov.cn/zhengce/content/2026-11/20/content_7001188.htm",
            "source_title": "国务院办公厅关于进一步做好冬季安全生产工作的通知",
            "source_name": "中国政府网",
            "unit_ids": [u.id for u in units],
            "platforms": [Platform.weibo.value, Platform.wechat.value],
            "workdays": 5,
            "note": "请在本单位官方微博、微信公众号转载，注明来源；未开设的平台请说明不适用。",
        },
        auditor,
    )


def _site_feed() -> None:
    """One government-website column feed, served by the sandbox's sample site (docs/intake.md)."""
    operator = db.session.scalar(sa.select(auth_models.User).where(auth_models.User.username == "operator"))
    base = str(current_app.config.get("SANDBOX_URL") or "http://127.0.0.1:5100").rstrip("/")
    intake_feeds.create_feed({"name": "政策文件", "url": f"{base}/site/zcwj/rss.xml", "format": "rss"}, operator)


def _sample_contents(county: Unit) -> None:
    """Two sample posts: a draft to edit, and one waiting for 初审."""

    operator = db.session.scalar(sa.select(User).where(User.username == "operator"))
    weibo = db.session.scalar(
        sa.select(Account).where(Account.unit_id == county.id, Account.platform == Platform.weibo)
    )
    draft = {
        "title": "示范县开展冬季消防安全检查",
        "body": "<p>近日，示范县组织应急、消防等部门对全县人员密集场所开展冬季消防安全检查。</p>",
        "disclosure": "active",
        "kind": "news",
        "target_ids": [weibo.id],
    }
    content_service.create_content(draft, operator)
    pending = content_service.create_content(
        {
            **draft,
            "title": "示范县2026年秋季义务植树活动圆满完成",
            "body": "<p>全县干部群众共植树一万余株，进一步改善了城乡生态环境。</p>",
        },
        operator,
    )
    db.session.flush()
    review.advance(pending, "submit", operator)


def _posts(days_ago: list[float], name: str) -> list[dict[str, str]]:
    now = datetime.now(UTC)
    return [
        {
            "text": f"{name}：政务信息第{i + 1}期 https://gov.example.cn/news/{i + 1}",
            "created_at": (now - timedelta(days=d)).isoformat(),
        }
        for i, d in enumerate(days_ago)
    ]


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


#: What the public and the app add on the platforms (sandbox seed extras, sandbox/__main__.py):
#: comments (one waiting past the reply limit), a private message, and a post made in the
#: Weibo app outside govmedia (an unreviewed_post finding after `flask inspection run`).
INTERACTION_SEED: dict[str, dict[str, list[dict[str, object]]]] = {
    "sfx_weibo_001": {
        "app_posts": [
            {"text": "【提醒】今晚停水检修，请市民提前储水（本条在微博App里直接发布）", "created_at": _ago(0.1)}
        ],
        "comments": [
            {"post": 1, "text": "请问城东片区几点恢复供水？", "author": "城东居民老周", "created_at": _ago(0.3)},
            {"post": 4, "text": "学校门口的红绿灯坏了一周了，谁来管？", "author": "家长小林", "created_at": _ago(5)},
        ],
        "messages": [{"text": "想咨询一下医保异地备案怎么办理", "author": "网友6612"}],
    },
    "dy_sfx_001": {"comments": [{"post": 0, "text": "视频里的集市在哪里？周末想去", "author": "抖音用户小吴"}]},
    "gh_sfx000000001": {"messages": [{"text": "你好，请问新生入学材料在哪里下载？", "author": "家长"}]},
}


#: Items on the sandbox's sample government website, column zcwj (政策文件): a policy and its 解读,
#: which the demo's website feed turns into two linked drafts (三同步) on its first poll.
SITE_ITEMS = [
    {
        "column": "zcwj",
        "guid": "sfx-zcwj-0001",
        "title": "关于印发《示范县城区集中供热管理办法》的通知",
        "summary": "为规范城区集中供热管理，保障居民冬季用热，"
        "现将《示范县城区集中供热管理办法》印发给你们，请认真贯彻执行。",
        "category": "政策文件",
        "disclosure": "主动公开",
    },
    {
        "column": "zcwj",
        "guid": "sfx-zcwj-0002",
        "title": "关于《示范县城区集中供热管理办法》的解读",
        "summary": "一、制定背景；二、主要内容；三、供热时间和收费标准；四、投诉渠道：12345 热线。",
        "category": "政策解读",
        "disclosure": "主动公开",
        "policy_guid": "sfx-zcwj-0001",
    },
]


def sandbox_seed() -> list[dict[str, object]]:
    """Platform-side accounts for the sandbox (POST /_sandbox/accounts bodies).

    Active demo accounts post regularly; 示范县发布 also has comments and messages from the public
    and one Weibo post made in the app, outside govmedia (INTERACTION_SEED); 健康示范县 has been
    silent for 20 days (超14天未更新);
    城关镇微博 is closed in the registry but still posting (关停不彻底); 示范县市场监管 runs on
    Weibo under a government 认证主体 without being in the registry (体外运行).

    Every registry account is listed, also those added later (by hand or by import) that lack
    optional fields: one without a platform uid has nothing to mirror on a platform and is left
    out; one without a 认证主体 is sent without "subject" (the sandbox's default, none).
    """
    bodies: list[dict[str, object]] = []
    for account in db.session.scalars(sa.select(Account).order_by(Account.id)):
        if account.platform not in (Platform.weibo, Platform.wechat, Platform.douyin, Platform.toutiao):
            continue
        if not account.platform_uid:
            continue
        silent = account.platform_uid == "gh_sfxwjj00001"
        days = [20, 27, 35] if silent else [0.2, 1.5, 3, 6]
        body: dict[str, object] = {
            "platform": account.platform.value,
            "uid": account.platform_uid,
            "name": account.name,
            "verified": True,
            "followers": 12000,
            "posts": _posts(days, account.name),
        }
        if account.verified_subject:
            body["subject"] = account.verified_subject
        if account.platform is Platform.wechat:
            body.update(_sandbox_credentials(Platform.wechat, account.platform_uid))
        body.update(INTERACTION_SEED.get(account.platform_uid, {}))
        if account.platform_uid == "sfx_weibo_001":
            body["site_items"] = SITE_ITEMS  # the county website's 政策文件 column (the demo's feed)
        bodies.append(body)
    bodies.append(
        {
            "platform": "weibo",
            "uid": "sfx_scjg_weibo",
            "name": "示范县市场监管",
            "subject": "示范县市场监督管理局",
            "verified": True,
            "followers": 3200,
            "posts": _posts([1, 4, 9], "示范县市场监管"),
        }
    )
    return bodies


def write_sandbox_seed() -> Path:
    path = Path(current_app.config.get("SANDBOX_SEED_FILE") or Path(current_app.instance_path) / "sandbox-seed.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sandbox_seed(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


#: Seconds before the first sweep's tasks run: `make run` starts the sandbox beside the worker.
FIRST_SWEEP_DELAY = 5.0


def queue_first_sweep(countdown: float = FIRST_SWEEP_DELAY) -> int:
    """Queue, for the background worker, one inspection of every inspected account and one
    interaction poll of every monitored account — what the scheduler's daily and six-hourly
    sweeps would do later — so the demo's 问题线索 and 互动回应 are not empty on the first visit.
    Returns the tasks queued (0 when the broker cannot be reached: the sweeps come later)."""
    accounts = [account_id for account_id, _ in inspection.sweep_targets()]
    polls = interaction.poll_targets()
    db.session.commit()
    try:
        if accounts:
            inspect_batch.apply_async((accounts,), countdown=countdown, retry=False)
        for account_id in polls:
            interaction_poll.apply_async((account_id,), countdown=countdown, retry=False)
    except OperationalError:
        return 0
    return (1 if accounts else 0) + len(polls)


@click.command("seed-demo")
@click.option(
    "--first-sweep",
    is_flag=True,
    help="演示用（make run）：写入后让后台任务立即巡检一次、拉取一次评论私信，不等定时任务",
)
@with_appcontext
def seed_demo_command(first_sweep: bool) -> None:
    """写入演示数据（单位、各角色用户、各平台账号、示例稿件）。"""
    created = seed()
    db.session.commit()
    seed_file = write_sandbox_seed()
    click.echo(f"模拟平台初始账号与内容：{seed_file}")
    if created:
        click.echo("演示数据已写入。")
    else:
        click.echo("演示数据已存在，未做改动。")
    if first_sweep:
        if queue_first_sweep():
            click.echo(f"已安排首次巡检与互动拉取（后台任务，约 {FIRST_SWEEP_DELAY:g} 秒后开始）。")
        else:
            click.echo("消息队列不可用，首次巡检留待定时任务。")
    click.echo(f"演示账号（密码均为 {DEMO_PASSWORD}）：" + "、".join(u[0] for u in DEMO_USERS))
