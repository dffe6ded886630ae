# ruff: noqa: F811 - the publishing fixtures (approve, author) are imported and then requested
"""Inspection (巡检) against the sandbox over HTTP: every finding kind with its negative twin,
coverage that adds up, the profile checks by uid, imports and the re-scan."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
from apscheduler.util import ref_to_obj

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from common.timefmt import bj
from oversight import discovery
from oversight.inspection import rescan, service, sources
from oversight.inspection.models import AccountInspection, LivePost, PostSource, PostState, ReadWindow
from oversight.models import Finding, FindingKind, FindingStatus
from platforms.ratelimit import InMemoryRateLimiter
from platforms.types import PlatformAccount
from registry.models import AccountStatus
from tasks import inspection as inspection_tasks
from tasks import jobs
from tests.publishers.test_pipeline import approve, author, claim, drain  # noqa: F401 - fixtures

U, C, T, R = FindingKind.unreviewed_post, FindingKind.post_check_hit, FindingKind.tampered, FindingKind.post_removed


@pytest.fixture(autouse=True)
def fresh_rate_limiter(monkeypatch):
    """Each test its own platform rate limiter: the process-wide default also counts earlier
    tests' calls (the same sandbox uids recur), which would defer a later test's reads."""
    fresh = InMemoryRateLimiter()
    monkeypatch.setattr("platforms.channels.default_rate_limiter", lambda: fresh)


@pytest.fixture
def unit(make_unit):
    return make_unit("巡检测试县应急管理局", region="巡检测试县")


def plant(sandbox, platform, uid, **extra):
    body = {"platform": platform, "uid": uid, "verified": True, "status": "active", **extra}
    return sandbox.call("POST", "/_sandbox/accounts", json=body)


def app_post(sandbox, platform, uid, text, **extra):
    return sandbox.call("POST", "/_sandbox/app/posts", json={"platform": platform, "uid": uid, "text": text, **extra})[
        "post"
    ]


def findings(db_session, account, kind=None, active=True):
    stmt = sa.select(Finding).where(Finding.account_id == account.id)
    if kind is not None:
        stmt = stmt.where(Finding.kind == kind)
    if active:
        stmt = stmt.where(Finding.status.in_((FindingStatus.open, FindingStatus.confirmed)))
    return list(db_session.scalars(stmt.order_by(Finding.id)))


def posts(db_session, account):
    return {
        lp.platform_post_id: lp
        for lp in db_session.scalars(sa.select(LivePost).where(LivePost.account_id == account.id))
    }


def publish(db_session, approve, accounts, **kw):
    content = approve(accounts, **kw)
    drain(db_session, claim(db_session))
    return content


# ----------------------------------------------------------------------------- 三审 trace


def test_a_post_is_stored_exactly_and_seen_again_unchanged(db_session, sandbox, unit, make_account):
    """New posts go to the database as pre-encoded rows (COPY on PostgreSQL): text with tabs, line
    breaks, backslashes and quotes comes back as the platform showed it, and the next read of the
    same post changes nothing (same row, no second finding)."""
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    text = '通知：\t第一行\n第二行 \\N 反斜杠\\ "引号" 🙂 见 https://example.gov.cn/a?b=1'
    post = app_post(sandbox, "weibo", account.platform_uid, text)
    service.inspect_account(account.id)
    lp = posts(db_session, account)[post["post_id"]]
    assert lp.text == text and lp.source is PostSource.found and lp.state is PostState.live
    assert lp.published_at is not None and lp.checked_version and lp.check_hits == []
    first = (lp.id, lp.checked_at, lp.text_hash)
    (group,) = findings(db_session, account, U)

    service.inspect_account(account.id)
    db_session.expire_all()
    lp = posts(db_session, account)[post["post_id"]]
    assert (lp.id, lp.checked_at, lp.text_hash) == first  # not re-checked, not rewritten
    assert [f.id for f in findings(db_session, account, U)] == [group.id]


def test_unreviewed_post_and_its_negative_twin(db_session, sandbox, unit, make_account, approve, api_as, make_user):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    publish(db_session, approve, [account])
    ours = sandbox.live_posts("weibo")[0]
    theirs = app_post(sandbox, "weibo", account.platform_uid, "今天在App里直接发的一条通知")

    outcome = service.inspect_account(account.id)
    assert outcome.result == "checked" and outcome.source == "own_api"
    stored = posts(db_session, account)
    assert stored[ours["post_id"]].source is PostSource.ours and stored[ours["post_id"]].delivery_id
    assert stored[theirs["post_id"]].source is PostSource.found
    unreviewed = findings(db_session, account, U)
    assert unreviewed[0].evidence["post_ids"] == [theirs["post_id"]]  # the govmedia post raises none
    (listed,) = unreviewed[0].evidence["posts"]
    assert listed["post_url"].endswith(theirs["post_id"]) and listed["live_post_id"] == stored[theirs["post_id"]].id
    assert "未经本平台三审" in unreviewed[0].evidence["message"]

    # The unit records an allowed exception (audited): the finding closes and stays closed.
    operator = make_user(Role.operator, unit=unit)
    lp = stored[theirs["post_id"]]
    resp = api_as(operator).post(
        f"/api/v1/inspection/posts/{lp.id}/exception", json={"reason": "转发指定稿源单位的稿件"}
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["exception"]["reason"] == "转发指定稿源单位的稿件"
    assert findings(db_session, account, U) == []
    assert db_session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "live_post:exception")) is not None
    service.inspect_account(account.id)
    assert findings(db_session, account, U) == []
    # Bad input changes nothing; another unit's operator does not see the post.
    assert api_as(operator).post(f"/api/v1/inspection/posts/{lp.id}/exception", json={"reason": "x"}).status_code == 422
    stranger = make_user(Role.operator)
    assert api_as(stranger).get(f"/api/v1/inspection/accounts/{account.id}/posts").status_code == 404
    listing = api_as(operator).get(f"/api/v1/inspection/accounts/{account.id}/posts").get_json()
    assert listing["total"] == 2 and {p["source"] for p in listing["items"]} == {"ours", "found"}


# ----------------------------------------------------------------------------- 防篡改


def test_tampered_post_and_unchanged_twin(db_session, sandbox, unit, make_account, approve):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    publish(db_session, approve, [account])
    post = sandbox.live_posts("weibo")[0]

    service.inspect_account(account.id)
    lp = posts(db_session, account)[post["post_id"]]
    assert lp.tamper_state == "same"
    assert findings(db_session, account, T) == []  # unchanged → no tampered

    sandbox.call(
        "POST", f"/_sandbox/posts/weibo/{post['post_id']}/edit", json={"text": "本账号已被接管，请关注某某商城"}
    )
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, T)
    assert f.evidence["severity"] == "high"
    assert "秋季安全生产" in f.evidence["approved_text"] or "冬季防火" in f.evidence["approved_text"]
    assert "某某商城" in f.evidence["live_text"]
    assert posts(db_session, account)[post["post_id"]].tamper_state == "tampered"

    # Restored → resolved by the next inspection.
    sandbox.call("POST", f"/_sandbox/posts/weibo/{post['post_id']}/edit", json={"text": post["text"]})
    service.inspect_account(account.id)
    assert findings(db_session, account, T) == []


# ----------------------------------------------------------------------------- checks on live posts


def test_live_checks_and_rescan(db_session, sandbox, unit, make_account):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    bad = app_post(sandbox, "weibo", account.platform_uid, "庆祝中华人民共合国成立七十七周年")
    clean = app_post(sandbox, "weibo", account.platform_uid, "今日天气晴好，注意防暑")
    service.inspect_account(account.id)
    (hit,) = findings(db_session, account, C)
    assert hit.evidence["post_id"] == bad["post_id"]
    assert hit.evidence["hits"][0]["suggestion"] == "中华人民共和国"
    assert hit.evidence["hits"][0]["start"] == 2
    # the finding shows the hit in its place, not a copy of the whole post (that is on the posts tab)
    assert hit.evidence["excerpt"] == "庆祝【中华人民共合国】成立七十七周年" and "text" not in hit.evidence
    assert posts(db_session, account)[clean["post_id"]].check_hits == []  # clean post → no hit

    # A dictionary change: posts checked with an older version are re-scanned in the background.
    hit_id = hit.id
    findings_service_resolve = FindingStatus.resolved
    hit.status = findings_service_resolve
    db_session.flush()
    for lp in posts(db_session, account).values():
        lp.checked_version = "old"
        lp.check_hits = []
    db_session.flush()
    summary = rescan.rescan()
    assert summary["scanned"] == 2 and not summary["more"]
    assert posts(db_session, account)[bad["post_id"]].checked_version == summary["version"]
    assert db_session.get(Finding, hit_id).kind is C
    assert rescan.rescan()["scanned"] == 0  # nothing old is left


# ----------------------------------------------------------------------------- removal


def test_platform_removal_of_our_post_and_untouched_twin(db_session, sandbox, unit, make_account, approve):
    wechat = make_account(unit, "wechat", name=unit.name)
    plant(sandbox, "wechat", wechat.platform_uid, name=unit.name, subject=unit.name)
    publish(db_session, approve, [wechat])
    service.inspect_account(wechat.id)
    assert findings(db_session, wechat, R) == []  # still there → nothing
    (lp,) = posts(db_session, wechat).values()
    assert lp.source is PostSource.ours

    (post,) = sandbox.live_posts("wechat")
    sandbox.call("POST", f"/_sandbox/posts/wechat/{post['post_id']}/remove", json={"by": "platform"})
    service.inspect_account(wechat.id)
    (f,) = findings(db_session, wechat, R)
    assert f.evidence["raw_status"] == "publish_status=6" and f.evidence["by_platform"] is True
    assert posts(db_session, wechat)[lp.platform_post_id].state is PostState.removed


def test_our_post_removed_before_any_reading_shows_its_approved_text(db_session, sandbox, unit, make_account, approve):
    """The platform removed our post before the first inspection listed it: the finding still says
    which post it was — the approved text, its link and when it went out — not empty fields."""
    wechat = make_account(unit, "wechat", name=unit.name)
    plant(sandbox, "wechat", wechat.platform_uid, name=unit.name, subject=unit.name)
    content = publish(db_session, approve, [wechat])
    (post,) = sandbox.live_posts("wechat")
    sandbox.call("POST", f"/_sandbox/posts/wechat/{post['post_id']}/remove", json={"by": "platform"})

    service.inspect_account(wechat.id)
    (f,) = findings(db_session, wechat, R)
    assert f.evidence["title"] == content.title and f.evidence["text"]
    assert f.evidence["published_at"] and f.evidence["post_url"]
    assert posts(db_session, wechat)[f.evidence["post_id"]].state is PostState.removed


# ----------------------------------------------------------------------------- profile by uid


def test_rename_with_decorative_suffix_is_a_low_confidence_finding(db_session, sandbox, make_unit, make_account):
    unit = make_unit("某县应急管理局", region="某县")
    same = make_account(unit, "weibo", name="某县应急管理局发布")
    plant(sandbox, "weibo", same.platform_uid, name="某县应急管理局发布", subject="某县应急管理局")
    renamed = make_account(unit, "douyin", name="某县应急管理局")
    plant(sandbox, "douyin", renamed.platform_uid, name="某县应急管理局在线", subject="某县应急管理局")
    service.inspect_account(same.id)
    service.inspect_account(renamed.id)
    assert findings(db_session, same, FindingKind.name_mismatch) == []  # literal match → nothing
    (f,) = findings(db_session, renamed, FindingKind.name_mismatch)
    assert f.evidence["platform_name"] == "某县应急管理局在线" and f.evidence["decorative_only"] is True
    assert f.confidence < 0.5


def test_brand_name_account_subject_change_through_weibo_biz(
    app, db_session, sandbox, make_unit, make_account, monkeypatch
):
    monkeypatch.setitem(app.config, "WEIBO_BIZ_ENABLED", True)
    monkeypatch.setitem(app.config, "WEIBO_BIZ_ACCESS_TOKEN", "biz.contract-token")
    monkeypatch.setitem(app.config, "WEIBO_BIZ_BASE_URL", f"{sandbox.url}/weibo-biz")
    unit = make_unit("某县公安局", region="某县")
    account = make_account(unit, "weibo", name="平安某县", credentials=False)
    plant(sandbox, "weibo", account.platform_uid, name="平安某县", subject="某县公安局")
    assert service.inspect_account(account.id).source == "weibo_biz"
    assert findings(db_session, account, FindingKind.subject_mismatch) == []

    plant(sandbox, "weibo", account.platform_uid, subject="某县平安网络科技有限公司")
    app_post(sandbox, "weibo", account.platform_uid, "新主体发布的第一条")
    outcome = service.inspect_account(account.id)
    assert outcome.source == "weibo_biz"
    (f,) = findings(db_session, account, FindingKind.subject_mismatch)
    assert f.evidence["subject"] == "某县平安网络科技有限公司"
    assert len(findings(db_session, account, U)) == 1  # app-level reads also trace posts


def test_banned_account_is_a_finding(db_session, sandbox, unit, make_account):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    service.inspect_account(account.id)
    assert findings(db_session, account, FindingKind.account_unavailable) == []
    plant(sandbox, "weibo", account.platform_uid, status="banned")
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, FindingKind.account_unavailable)
    assert f.evidence["platform_status"] == "unavailable"


def test_duplicate_list_row_names_the_found_account(db_session, make_unit, make_account, make_user, api_as):
    unit = make_unit("重复测试县人民政府", region="重复测试县")
    registered = make_account(unit, "weibo", "dupreg001", name="重复测试县发布", credentials=False)
    seen = PlatformAccount(platform="weibo", uid="dupfound002", name="重复测试县政务", subject=unit.name, verified=True)
    discovery.record([seen], source="import")
    auditor = make_user(Role.auditor)
    rows = api_as(auditor).get("/api/v1/findings?kind=duplicate").get_json()["items"]
    row = next(r for r in rows if r["account_id"] == registered.id)
    assert row["uid"] == "dupfound002" and row["found_name"] == "重复测试县政务"
    # the list page names the account found outside the ledger, and the registered one beside it
    page = api_as(auditor).client.get("/findings/?kind=duplicate", headers=api_as(auditor).headers)
    cell = re.search(
        rf'<tr data-kind="duplicate".*?href="/findings/{row["id"]}.*?<td class="account"[^>]*>(.*?)</td>',
        page.get_data(as_text=True),
        flags=re.S,
    ).group(1)
    assert "平台上的「重复测试县政务」" in cell and cell.count("dupfound002") == 1 and "台账账号：" in cell
    assert f'href="/registry/accounts/{registered.id}">重复测试县发布</a>' in cell


# ----------------------------------------------------------------------------- imports, coverage


def test_imported_posts_make_an_account_checkable(db_session, sandbox, unit, make_account, make_user, api_as):
    account = make_account(unit, "douyin", "dyimport01", name=unit.name, credentials=False)
    auditor = make_user(Role.auditor)
    assert service.inspect_account(account.id).result == "not_checkable"
    bad = "平台,账号ID,内容ID,发布时间\n抖音,dyimport01,,2026-01-01\n"
    resp = api_as(auditor).post(
        "/api/v1/inspection/imports", data={"file": (io.BytesIO(bad.encode()), "posts.csv"), "kind": "posts"}
    )
    assert resp.status_code == 422 and resp.get_json()["error"]["details"]["errors"][0]["row"] == 2
    csv = "平台,账号ID,内容ID,发布时间,正文,链接\n抖音,dyimport01,v1001,2026-11-30 09:00,监测机构看到的作品,https://www.douyin.com/video/v1001\n"
    resp = api_as(auditor).post(
        "/api/v1/inspection/imports", data={"file": (io.BytesIO(csv.encode()), "posts.csv"), "kind": "posts"}
    )
    assert resp.status_code == 201 and resp.get_json()["rows_of_registered_accounts"] == 1
    outcome = service.inspect_account(account.id)
    assert outcome.result == "checked" and outcome.source == "import"
    (f,) = findings(db_session, account, U)
    assert [p["post_url"] for p in f.evidence["posts"]] == ["https://www.douyin.com/video/v1001"]


def test_coverage_adds_up_to_the_ledger(db_session, sandbox, make_unit, make_account, make_user, api_as):
    unit = make_unit("覆盖测试县人民政府", region="覆盖测试县")
    other = make_unit("覆盖测试县其他局", region="覆盖测试县")
    checked = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", checked.platform_uid, name=unit.name, subject=unit.name)
    blind = make_account(unit, "wechat", credentials=False)
    make_account(other, "douyin")  # has credentials, never inspected: stale
    no_uid = make_account(other, "toutiao", credentials=False)
    no_uid.platform_uid = None
    make_account(unit, "weibo", credentials=False, status=AccountStatus.closed)  # not in the inspected ledger
    db_session.flush()
    for a in (checked, blind, no_uid):
        service.inspect_account(a.id)
    assert db_session.get(AccountInspection, blind.id).not_checkable_reason == "no_source"

    auditor = make_user(Role.auditor)
    data = api_as(auditor).get("/api/v1/inspection/coverage").get_json()
    mine = {unit.id, other.id}
    rows = [r for r in data["by_unit"] if r["unit_id"] in mine]
    totals = {k: sum(r[k] for r in rows) for k in ("checked", "stale", "not_checkable", "total")}
    assert totals == {"checked": 1, "stale": 1, "not_checkable": 2, "total": 4}
    t = data["totals"]
    assert t["checked"] + t["stale"] + t["not_checkable"] == t["total"] == data["ledger"]
    assert sum(r["total"] for r in data["by_platform"]) == data["ledger"]
    assert sum(r["count"] for r in data["by_reason"]) == data["ledger"]
    assert data["ledger"] == db_session.scalar(
        sa.select(sa.func.count())
        .select_from(sa.text("accounts"))
        .where(sa.text("status in ('active','changing','closing','suspended')"))
    )
    # An operator sees only their unit's accounts.
    operator = make_user(Role.operator, unit=other)
    own = api_as(operator).get("/api/v1/inspection/coverage").get_json()
    assert own["ledger"] == 2 and own["totals"]["not_checkable"] == 1 and own["totals"]["stale"] == 1
    page = api_as(auditor).client.get("/inspection/coverage", headers=api_as(auditor).headers)
    assert page.status_code == 200 and "巡检覆盖" in page.get_data(as_text=True)


def test_posts_tab_shows_ours_found_hits_and_tamper_state(
    db_session, sandbox, unit, make_account, approve, make_user, api_as
):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    publish(db_session, approve, [account])
    app_post(sandbox, "weibo", account.platform_uid, "庆祝中华人民共合国成立")
    service.inspect_account(account.id)
    auditor = api_as(make_user(Role.auditor))
    html = auditor.client.get(f"/inspection/accounts/{account.id}/posts", headers=auditor.headers).get_data(
        as_text=True
    )
    assert "经本平台三审发布" in html and "平台上发现（非本平台发布）" in html
    assert "严重表述错误" in html and "一致" in html and "登记例外" in html


# ----------------------------------------------------------------------------- schedule


def test_daily_sweep_is_scheduled_and_spread_over_the_day(app, db_session, unit, make_account, monkeypatch):
    got = {job_id: (path, trigger) for job_id, path, trigger in jobs.periodic_jobs(app)}
    assert got["inspection-daily"][1]["trigger"] == "cron" and callable(ref_to_obj(got["inspection-daily"][0]))
    assert got["inspection-rescan"][1]["hours"] == 1 and callable(ref_to_obj(got["inspection-rescan"][0]))
    # 3,000 weibo accounts over a day at ≤ 30/min → 3 a minute (every 20 s); 10 accounts → 1 a minute.
    big = [(i, "weibo") for i in range(3000)]
    assert inspection_tasks.spread_rate(big, 30) == 3
    assert inspection_tasks.spread_rate([(i, "weibo") for i in range(10)], 30) == 1
    assert inspection_tasks.spread_rate([(i, "weibo") for i in range(100_000)], 30) == 30  # never above the rate
    sent = []
    monkeypatch.setattr(inspection_tasks.inspect_batch, "apply_async", lambda args, **kw: sent.append((args, kw)))
    monkeypatch.setitem(app.config, "INSPECTION_BATCH_SIZE", 1)
    a = make_account(unit, "weibo")
    b = make_account(unit, "weibo")
    make_account(unit, "douyin", status=AccountStatus.closed)
    assert inspection_tasks.inspection_sweep.run() >= 2
    mine = {args[0][0]: kw.get("countdown") or 0 for args, kw in sent if args[0][0] in (a.id, b.id)}
    assert len(mine) == 2 and sorted(mine.values())[1] > 0  # the second weibo account waits its turn


def test_sweep_queues_one_task_per_batch_of_a_platform(app, db_session, unit, make_account, monkeypatch):

    # 45 weibo + 5 wechat accounts, batches of 20, at 30 a minute: weibo in 20 + 20 + 5, each batch
    # due when its first account is (the 21st weibo account at 20 × 2 s = 40 s), wechat in one.
    targets = [(i, "weibo") for i in range(45)] + [(100 + i, "wechat") for i in range(5)]
    batches, later, dropped = inspection_tasks.batch_plan(targets, 30, 20, 86400)
    assert [(len(ids), due) for ids, due in batches] == [(20, 0.0), (5, 0.0), (20, 40.0), (5, 80.0)]
    assert sorted(i for ids, _ in batches for i in ids) == sorted(i for i, _ in targets) and not later and not dropped
    assert all(len({p for i, p in targets if i in ids}) == 1 for ids, _ in batches)  # one platform a batch
    # Beyond the hour-long countdown window: the continuation takes them, in batches again.
    batches, later, _ = inspection_tasks.batch_plan([(i, "weibo") for i in range(200)], 1, 20, 86400)
    assert sum(len(ids) for ids, _ in batches) == 60 and len(batches) == 3 and len(later) == 140

    sent = []
    monkeypatch.setattr(inspection_tasks.inspect_batch, "apply_async", lambda args, **kw: sent.append((args, kw)))
    monkeypatch.setitem(app.config, "INSPECTION_BATCH_SIZE", 2)
    ids = [make_account(unit, "weibo").id for _ in range(5)]
    assert inspection_tasks.inspection_sweep.run() >= 5
    mine = [args[0] for args, _ in sent if set(args[0]) & set(ids)]
    assert sorted(len(b) for b in mine) == [1, 2, 2] and sorted(i for b in mine for i in b) == ids


def test_a_batch_task_inspects_its_accounts_and_runs_again_harmlessly(app, db_session, sandbox, unit, make_account):

    a = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", a.platform_uid, name=unit.name, subject=unit.name)
    b = make_account(unit, "weibo", credentials=False)
    app_post(sandbox, "weibo", a.platform_uid, "在App里直接发的一条")
    got = inspection_tasks.inspect_batch.run([a.id, b.id])
    assert got == {"checked": 1, "not_checkable": 1}
    posts = db_session.scalar(sa.select(sa.func.count()).select_from(LivePost))
    findings = db_session.scalar(sa.select(sa.func.count()).select_from(Finding))
    assert posts >= 1 and findings >= 1
    assert inspection_tasks.inspect_batch.run([a.id, b.id]) == {"checked": 1, "not_checkable": 1}
    assert db_session.scalar(sa.select(sa.func.count()).select_from(LivePost)) == posts
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Finding)) == findings
    assert db_session.get(AccountInspection, b.id).not_checkable_reason == "no_source"


def test_sandbox_timeline_shows_app_posts_and_edits(sandbox):
    plant(sandbox, "weibo", "wbtimeline1", name="时间线测试")
    post = app_post(sandbox, "weibo", "wbtimeline1", "在App里发的")
    sandbox.call("POST", f"/_sandbox/posts/weibo/{post['post_id']}/edit", json={"text": "改过的正文"})
    html = requests.get(f"{sandbox.url}/_sandbox/timeline/weibo?uid=wbtimeline1", timeout=10).text
    assert "来自 App · 已编辑" in html and "改过的正文" in html
    assert sandbox.posts("weibo")[0]["source"] == "app"
    # removals: by the platform (屏蔽) and by the user, each shown as the platform would
    banned = app_post(sandbox, "weibo", "wbtimeline1", "将被平台屏蔽的一条")
    deleted = app_post(sandbox, "weibo", "wbtimeline1", "将被作者删除的一条")
    sandbox.call("POST", f"/_sandbox/posts/weibo/{banned['post_id']}/remove", json={"by": "platform"})
    sandbox.call("POST", f"/_sandbox/posts/weibo/{deleted['post_id']}/remove", json={"by": "user"})
    html = requests.get(f"{sandbox.url}/_sandbox/timeline/weibo?uid=wbtimeline1", timeout=10).text
    assert "该内容因违反平台规定已被屏蔽" in html and "此微博已被作者删除" in html
    assert "将被平台屏蔽的一条" not in html and "将被作者删除的一条" not in html


# ----------------------------------------------------------------------------- per-day grouping, batch path


def test_unreviewed_posts_of_a_day_are_one_finding_listing_each_post(
    db_session, sandbox, unit, make_account, approve, make_user, api_as
):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    publish(db_session, approve, [account])
    ours = sandbox.live_posts("weibo")[0]
    first = app_post(sandbox, "weibo", account.platform_uid, "App里发的第一条")
    second = app_post(sandbox, "weibo", account.platform_uid, "App里发的第二条")
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, U)  # one finding for the day, not one per post
    assert f.fingerprint.endswith(
        f"day={service.group_day(posts(db_session, account)[first['post_id']].first_seen_at)}"
    )
    assert sorted(f.evidence["post_ids"]) == sorted([first["post_id"], second["post_id"]])
    assert ours["post_id"] not in f.evidence["post_ids"]  # the govmedia post is not listed
    assert f.evidence["post_count"] == 2 and "2条内容未经本平台三审" in f.evidence["message"]
    auditor = api_as(make_user(Role.auditor))
    html = auditor.client.get(f"/findings/{f.id}", headers=auditor.headers).get_data(as_text=True)
    for p in (first, second):
        assert p["post_id"] in f.evidence["post_ids"]
        link = next(x["post_url"] for x in f.evidence["posts"] if x["post_id"] == p["post_id"])
        assert f'href="{link}"' in html  # each post with its link on the finding page
    # A later read of the same day adds nothing new: the same finding, no new audit entry.
    entries = db_session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "inspection:findings")
    )
    service.inspect_account(account.id)
    assert [x.id for x in findings(db_session, account, U)] == [f.id]
    assert (
        db_session.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "inspection:findings")
        )
        == entries
    )
    # An exception for one post shrinks the list; for both it resolves the finding.
    operator = api_as(make_user(Role.operator, unit=unit))
    stored = posts(db_session, account)
    assert (
        operator.post(
            f"/api/v1/inspection/posts/{stored[first['post_id']].id}/exception", json={"reason": "转发指定稿源"}
        ).status_code
        == 201
    )
    (f,) = findings(db_session, account, U)
    assert f.evidence["post_ids"] == [second["post_id"]]
    assert (
        operator.post(
            f"/api/v1/inspection/posts/{stored[second['post_id']].id}/exception", json={"reason": "转发指定稿源"}
        ).status_code
        == 201
    )
    assert findings(db_session, account, U) == []


def test_unchanged_posts_are_not_rewritten_or_rechecked(db_session, sandbox, unit, make_account, make_user, api_as):
    """A reading that shows a post unchanged writes nothing of the post: the reading is recorded
    once for the account, and the posts tab shows the post online as of that reading."""
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    post = app_post(sandbox, "weibo", account.platform_uid, "今日天气晴好")
    first_at = utcnow() - timedelta(hours=2)
    service.inspect_account(account.id, now=first_at)
    lp = posts(db_session, account)[post["post_id"]]
    checked_at, seen_at = lp.checked_at, lp.last_seen_at
    later = first_at + timedelta(hours=1)
    service.inspect_account(account.id, now=later)
    db_session.expire_all()
    lp = posts(db_session, account)[post["post_id"]]
    assert lp.checked_at == checked_at and lp.last_seen_at == seen_at  # not re-checked, row not written
    reading = db_session.get(AccountInspection, account.id)
    assert reading.read_at == later and reading.read_window is ReadWindow.all  # the sandbox lists every post
    auditor = api_as(make_user(Role.auditor))
    html = auditor.client.get(f"/inspection/accounts/{account.id}/posts", headers=auditor.headers).get_data(
        as_text=True
    )
    assert f"在线（截至 {bj(later)}）" in html
    (item,) = auditor.get(f"/api/v1/inspection/accounts/{account.id}/posts").json["items"]
    assert item["in_last_reading"] is True and item["state_detail"] == f"在线（截至 {bj(later)}）"
    # Its twin: an edit on the platform is re-checked (and the row changes).
    sandbox.call("POST", f"/_sandbox/posts/weibo/{post['post_id']}/edit", json={"text": "庆祝中华人民共合国成立"})
    service.inspect_account(account.id)
    db_session.expire_all()
    lp = posts(db_session, account)[post["post_id"]]
    assert lp.checked_at > checked_at and "共合国" in lp.text and lp.last_seen_at > seen_at
    assert len(findings(db_session, account, C)) == 1


def test_a_post_older_than_a_partial_listing_is_not_vouched_for_nor_removed(
    app, db_session, sandbox, unit, make_account, make_user, api_as, monkeypatch
):
    """A listing of the newest N posts (as many as asked) covers what was published since the
    oldest of them. An older stored post the listing no longer shows is neither marked removed
    nor shown as online at that reading — only as confirmed when it was last seen."""
    monkeypatch.setitem(app.config, "INSPECTION_RECENT_POSTS", 5)
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    old = app_post(sandbox, "weibo", account.platform_uid, "较早的一条", created_at="2026-11-01T08:00:00+08:00")
    first = utcnow() - timedelta(hours=3)
    service.inspect_account(account.id, now=first)
    for i in range(5):
        app_post(sandbox, "weibo", account.platform_uid, f"新的一条{i}")
    last = utcnow()
    service.inspect_account(account.id, now=last)
    db_session.expire_all()
    reading = db_session.get(AccountInspection, account.id)
    assert reading.read_window is ReadWindow.since and reading.read_at == last
    assert posts(db_session, account)[old["post_id"]].state is PostState.live
    auditor = api_as(make_user(Role.auditor))
    items = {
        i["platform_post_id"]: i for i in auditor.get(f"/api/v1/inspection/accounts/{account.id}/posts").json["items"]
    }
    assert len(items) == 6
    assert items[old["post_id"]]["in_last_reading"] is False
    assert items[old["post_id"]]["state_detail"] == f"在线（最近确认于 {bj(first)}）"
    assert sum(i["state_detail"] == f"在线（截至 {bj(last)}）" for i in items.values()) == 5


def test_a_found_post_gone_from_a_complete_listing_is_removed_and_its_twin_stays(
    db_session, sandbox, unit, make_account, make_user, api_as
):
    """Removal detection works from the account's reading and the ids it returned (no per-post
    write on the readings in between): the post deleted in the app is marked removed, the other
    stays online as of the last reading."""
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    gone = app_post(sandbox, "weibo", account.platform_uid, "今日天气晴好")
    kept = app_post(sandbox, "weibo", account.platform_uid, "县文旅局推出冬季旅游线路")
    service.inspect_account(account.id)
    service.inspect_account(account.id)  # unchanged: nothing written per post
    sandbox.call("POST", f"/_sandbox/posts/weibo/{gone['post_id']}/remove", json={"by": "user"})
    last = utcnow()
    service.inspect_account(account.id, now=last)
    db_session.expire_all()
    stored = posts(db_session, account)
    assert stored[gone["post_id"]].state is PostState.removed
    assert stored[gone["post_id"]].removed_reason == "平台列表中已不再出现"
    assert stored[kept["post_id"]].state is PostState.live
    auditor = api_as(make_user(Role.auditor))
    items = {
        i["platform_post_id"]: i for i in auditor.get(f"/api/v1/inspection/accounts/{account.id}/posts").json["items"]
    }
    assert items[kept["post_id"]]["state_detail"] == f"在线（截至 {bj(last)}）"
    assert items[gone["post_id"]]["state_detail"] == "已删除/被屏蔽" and items[gone["post_id"]]["confirmed_at"] is None


def test_apply_many_equals_one_by_one(db_session, unit, make_account):
    now = utcnow()
    accounts = [make_account(unit, "douyin", name=unit.name, credentials=False) for _ in range(3)]

    def reading(a):
        seen = [
            sources.SeenPost(f"{a.platform_uid}-{i}", now - timedelta(hours=i), "", text, f"https://x.example/{i}")
            for i, text in enumerate(("普通的一条", "庆祝中华人民共合国成立"))
        ]
        return sources.Reading(a.id, "import", now, True, sources.SeenProfile(name=a.name), tuple(seen))

    outcomes = service.apply_many([reading(a) for a in accounts], now)
    assert [o.result for o in outcomes] == ["checked"] * 3 and [o.new_posts for o in outcomes] == [2] * 3
    for a in accounts:
        assert len(findings(db_session, a, U)) == 1 and len(findings(db_session, a, C)) == 1
        assert len(posts(db_session, a)) == 2
    # One audit entry for the batch's new findings (entries are written when the transaction commits).
    db_session.commit()
    entry = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "inspection:findings").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None and len(entry.after["created"]) == 6


def test_a_unit_renamed_after_the_org_list_was_read_is_known_to_the_next_batch(db_session, unit, make_account):
    """The org list for 认证主体 is kept per process and read again when the units change: after a
    unit's rename (机构改革) the next batch compares the platform's subject with the new name (a list
    cached for a minute still held the old name and reported the unit's own new name as a
    different subject)."""
    account = make_account(unit, "douyin", name=unit.name, credentials=False)

    def reading(subject):
        profile = sources.SeenProfile(name=account.name, subject=subject)
        return sources.Reading(account.id, "import", utcnow(), True, profile, ())

    service.apply(reading(unit.name))
    unit.name = "巡检测试县应急管理和消防救援局"
    db_session.flush()
    service.apply(reading(unit.name))
    assert findings(db_session, account, FindingKind.subject_mismatch) == []


def test_cli_run_inspects_in_batches(app, db_session, sandbox, unit, make_account):
    checked = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", checked.platform_uid, name=unit.name, subject=unit.name)
    app_post(sandbox, "weibo", checked.platform_uid, "App里发的")
    blind = make_account(unit, "wechat", credentials=False)
    db_session.commit()
    out = app.test_cli_runner().invoke(
        args=["inspection", "run", "--account", str(checked.id), "--account", str(blind.id)]
    )
    assert out.exit_code == 0, out.output
    assert "已巡检 1" in out.output and "无法巡检 1" in out.output
    assert "未经三审发布 1" in out.output and "unreviewed_post" not in out.output  # the kind in words
    assert len(findings(db_session, checked, U)) == 1
    # The unread account's only finding: its unit has not authorised it (a reminder, not a post finding).
    assert [f.kind for f in findings(db_session, blind)] == [FindingKind.not_authorised]


def test_tampered_douyin_post_and_unchanged_twin(db_session, sandbox, unit, make_account, approve):
    """防篡改 on Douyin: a video published through govmedia whose caption is edited in the app."""
    account = make_account(unit, "douyin", name=unit.name)
    plant(sandbox, "douyin", account.platform_uid, name=unit.name, subject=unit.name)
    publish(db_session, approve, [account])
    (post,) = sandbox.live_posts("douyin")

    outcome = service.inspect_account(account.id)
    assert outcome.result == "checked" and outcome.source == "own_api"
    lp = posts(db_session, account)[post["post_id"]]
    assert lp.source is PostSource.ours and lp.tamper_state == "same"
    assert findings(db_session, account, T) == []  # unchanged → no tampered
    assert findings(db_session, account, U) == []

    sandbox.call(
        "POST", f"/_sandbox/posts/douyin/{post['post_id']}/edit", json={"text": "本账号已被接管，请关注某某商城"}
    )
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, T)
    assert f.evidence["severity"] == "high"
    assert "某某商城" in f.evidence["live_text"] and "某某商城" not in f.evidence["approved_text"]
    assert posts(db_session, account)[post["post_id"]].tamper_state == "tampered"


def test_subject_from_the_accounts_own_weibo_credentials_and_unchanged_twin(
    app, db_session, sandbox, unit, make_account
):
    """认证主体 read through the account's own authorisation (Weibo users/show verified_reason)."""
    account = make_account(unit, "weibo", name=unit.name)  # verified_subject = the unit name
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    assert service.inspect_account(account.id).source == "own_api"
    assert findings(db_session, account, FindingKind.subject_mismatch) == []  # same subject → nothing

    plant(sandbox, "weibo", account.platform_uid, subject="某县新媒体运营有限公司")
    outcome = service.inspect_account(account.id)
    assert outcome.source == "own_api" and outcome.result == "checked"
    (f,) = findings(db_session, account, FindingKind.subject_mismatch)
    assert f.evidence["subject"] == "某县新媒体运营有限公司"


def test_subject_from_the_accounts_own_wechat_credentials_and_unchanged_twin(
    app, db_session, sandbox, unit, make_account
):
    """认证主体 of a 公众号 read through its own credentials (getaccountbasicinfo principal_name)."""
    account = make_account(unit, "wechat", name=unit.name)  # verified_subject = the unit name
    plant(sandbox, "wechat", account.platform_uid, name=unit.name, subject=unit.name)
    outcome = service.inspect_account(account.id)
    assert outcome.source == "own_api" and outcome.result == "checked"
    assert findings(db_session, account, FindingKind.subject_mismatch) == []  # same subject → nothing
    assert findings(db_session, account, FindingKind.name_mismatch) == []

    plant(sandbox, "wechat", account.platform_uid, subject="某县文化传媒有限公司")
    assert service.inspect_account(account.id).result == "checked"
    (f,) = findings(db_session, account, FindingKind.subject_mismatch)
    assert f.evidence["subject"] == "某县文化传媒有限公司" and "inspection:own_api" in f.evidence["source"]
    # Back to the unit: the finding resolves on the next inspection.
    plant(sandbox, "wechat", account.platform_uid, subject=unit.name)
    service.inspect_account(account.id)
    assert findings(db_session, account, FindingKind.subject_mismatch) == []
