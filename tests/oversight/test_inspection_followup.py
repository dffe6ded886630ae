# ruff: noqa: F811 - the publishing fixtures (approve, author) are imported and then requested
"""Issue 21 audit follow-up, against the sandbox over HTTP, each with its negative twin:

- 认证主体 of a Douyin account read through its own authorisation (获取用户的抖音身份认证标识,
  ``cert_labels_info``): a label naming a company → ``subject_mismatch``; the unit's name → none;
  an app without the capability → no subject read, the inspection still counts as checked;
- the re-scan after a dictionary change reports new hits, only within ``INSPECTION_RESCAN_DAYS``;
- a Douyin video published through govmedia and removed by the platform → ``post_removed``;
- the findings workbench and API filter by every inspection/interaction kind;
- the sources are taken in the stated order (own → commercial, off by default → import → none);
- a literal rename by uid: decorative suffix → low confidence, other difference → higher, back → resolved.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import openpyxl
import sqlalchemy as sa

from auth.models import Role
from common.db import utcnow
from oversight import discovery
from oversight.inspection import rescan, service
from oversight.inspection.models import AccountInspection, LivePost, PostState
from oversight.inspection.sources import NOT_CHECKABLE_LABELS
from oversight.models import FINDING_LABELS, Finding, FindingKind, FindingStatus
from platforms.types import PlatformAccount
from tasks.monitoring import monitor_account
from tests.oversight.test_inspection import app_post, findings, plant, posts, publish, unit  # noqa: F401
from tests.publishers.test_pipeline import approve, author  # noqa: F401 - fixtures

NEW_KINDS = (
    FindingKind.unreviewed_post,
    FindingKind.post_check_hit,
    FindingKind.tampered,
    FindingKind.post_removed,
    FindingKind.account_unavailable,
    FindingKind.interaction_overdue,
    FindingKind.no_interaction_channel,
    FindingKind.not_authorised,
)


def test_douyin_subject_from_the_cert_label_and_its_twins(app, db_session, sandbox, unit, make_account):
    account = make_account(unit, "douyin", name=unit.name)
    plant(sandbox, "douyin", account.platform_uid, name=unit.name, subject=unit.name)
    outcome = service.inspect_account(account.id)
    assert outcome.source == "own_api" and outcome.result == "checked"
    assert findings(db_session, account, FindingKind.subject_mismatch) == []  # the unit's own label → nothing

    plant(sandbox, "douyin", account.platform_uid, subject="某县星光文化传媒有限公司")
    assert service.inspect_account(account.id).result == "checked"
    (f,) = findings(db_session, account, FindingKind.subject_mismatch)
    assert f.evidence["subject"] == "某县星光文化传媒有限公司" and "inspection:own_api" in f.evidence["source"]

    # An app without the user.cert.labels_info capability (28001018): no subject this time — the
    # read still counts and nothing is concluded about the subject (the open finding stays as it is).
    sandbox.call("POST", "/_sandbox/config", json={"douyin_cert_labels": False})
    plant(sandbox, "douyin", account.platform_uid, subject=unit.name)
    assert service.inspect_account(account.id).result == "checked"
    assert [g.id for g in findings(db_session, account, FindingKind.subject_mismatch)] == [f.id]

    # The capability back and the label the unit's again: resolved.
    sandbox.call("POST", "/_sandbox/config", json={"douyin_cert_labels": True})
    service.inspect_account(account.id)
    assert findings(db_session, account, FindingKind.subject_mismatch) == []


def test_rescan_reports_new_hits_only_within_the_configured_window(
    app, db_session, sandbox, unit, make_account, monkeypatch
):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    recent = app_post(sandbox, "weibo", account.platform_uid, "庆祝中华人民共合国成立七十七周年")
    old = app_post(sandbox, "weibo", account.platform_uid, "中华人民共合国成立纪念活动（旧文）")
    service.inspect_account(account.id)
    # As if both had been checked with an older dictionary that knew no such error: no hits, no findings.
    db_session.execute(
        sa.delete(Finding).where(Finding.account_id == account.id, Finding.kind == FindingKind.post_check_hit)
    )
    stored = posts(db_session, account)
    for lp in stored.values():
        lp.checked_version, lp.check_hits = "old", []
    stored[old["post_id"]].published_at = utcnow() - timedelta(days=400)
    db_session.flush()

    summary = rescan.rescan()  # default window: 365 days
    assert summary["scanned"] == 1 and summary["created"] == 1
    (hit,) = findings(db_session, account, FindingKind.post_check_hit)
    assert hit.evidence["post_id"] == recent["post_id"] and hit.evidence["hits"][0]["suggestion"] == "中华人民共和国"
    assert posts(db_session, account)[old["post_id"]].checked_version == "old"  # outside the window: untouched

    monkeypatch.setitem(app.config, "INSPECTION_RESCAN_DAYS", 500)
    summary = rescan.rescan()
    assert summary["scanned"] == 1 and summary["created"] == 1
    assert {f.evidence["post_id"] for f in findings(db_session, account, FindingKind.post_check_hit)} == {
        recent["post_id"],
        old["post_id"],
    }
    assert rescan.rescan()["scanned"] == 0  # nothing old is left


def test_rescan_of_posts_whose_hits_stay_marks_them_and_reports_nothing_new(db_session, sandbox, unit, make_account):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    bad = app_post(sandbox, "weibo", account.platform_uid, "庆祝中华人民共合国成立七十七周年")
    clean = app_post(sandbox, "weibo", account.platform_uid, "今日天气晴好，注意防暑")
    other = app_post(sandbox, "weibo", account.platform_uid, "中华人民共合国成立纪念活动")
    service.inspect_account(account.id)
    (before,) = {f.evidence["post_id"] for f in findings(db_session, account, FindingKind.post_check_hit)} - {
        other["post_id"]
    }
    assert before == bad["post_id"]
    stored = posts(db_session, account)
    hits = {pid: lp.check_hits for pid, lp in stored.items()}
    assert hits[bad["post_id"]] and hits[clean["post_id"]] == []
    kept = {f.id for f in findings(db_session, account, FindingKind.post_check_hit)} - {
        f.id
        for f in findings(db_session, account, FindingKind.post_check_hit)
        if f.evidence["post_id"] == other["post_id"]
    }
    # A dictionary change that gives these posts the hits they had: marked with the new version, nothing new.
    for lp in stored.values():
        lp.checked_version = "old"
    # Its twin: a post checked with a dictionary that knew no such error (no hits stored, no finding).
    stored[other["post_id"]].check_hits = []
    db_session.execute(
        sa.delete(Finding).where(
            Finding.account_id == account.id,
            Finding.kind == FindingKind.post_check_hit,
            Finding.evidence["post_id"].as_string() == other["post_id"],
        )
    )
    db_session.flush()

    summary = rescan.rescan()
    assert summary["scanned"] == 3 and summary["created"] == 1 and summary["resolved"] == 0
    db_session.expire_all()
    after = posts(db_session, account)
    assert {lp.checked_version for lp in after.values()} == {summary["version"]}
    assert after[bad["post_id"]].check_hits == hits[bad["post_id"]] and after[clean["post_id"]].check_hits == []
    assert after[other["post_id"]].check_hits == hits[other["post_id"]]
    now_open = findings(db_session, account, FindingKind.post_check_hit)
    assert {f.evidence["post_id"] for f in now_open} == {bad["post_id"], other["post_id"]}
    assert kept <= {f.id for f in now_open}  # the unchanged post's finding is the same one, still open
    assert rescan.rescan()["scanned"] == 0


def test_douyin_platform_removal_of_our_post_and_untouched_twin(db_session, sandbox, unit, make_account, approve):
    account = make_account(unit, "douyin", name=unit.name)
    plant(sandbox, "douyin", account.platform_uid, name=unit.name, subject=unit.name)
    publish(db_session, approve, [account])
    service.inspect_account(account.id)
    assert findings(db_session, account, FindingKind.post_removed) == []  # still there → nothing
    (post,) = sandbox.live_posts("douyin")

    sandbox.call("POST", f"/_sandbox/posts/douyin/{post['post_id']}/remove", json={"by": "platform"})
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, FindingKind.post_removed)
    assert f.evidence["post_id"] == post["post_id"]
    assert posts(db_session, account)[post["post_id"]].state is PostState.removed


def test_findings_filters_offer_and_apply_every_inspection_kind(db_session, unit, make_account, make_user, api_as):
    account = make_account(unit, "weibo", name=unit.name, credentials=False)
    for kind in NEW_KINDS:
        db_session.add(
            Finding(
                kind=kind,
                fingerprint=f"{kind.value}:account={account.id}:filter-test",
                account_id=account.id,
                unit_id=unit.id,
                evidence={"message": FINDING_LABELS[kind]},
            )
        )
    db_session.flush()
    auditor = api_as(make_user(Role.auditor))
    page = auditor.client.get("/findings/", headers=auditor.headers).get_data(as_text=True)
    for kind in NEW_KINDS:
        assert f'value="{kind.value}"' in page and FINDING_LABELS[kind] in page
        rows = auditor.get(f"/api/v1/findings?kind={kind.value}&account_id={account.id}").get_json()["items"]
        assert [r["kind"] for r in rows] == [kind.value]
        filtered = auditor.client.get(
            f"/findings/?kind={kind.value}&account_id={account.id}", headers=auditor.headers
        ).get_data(as_text=True)
        assert f'data-kind="{kind.value}"' in filtered
        assert filtered.count("data-kind=") == 1
    assert db_session.scalar(sa.select(sa.func.count()).select_from(LivePost)) == 0
    assert all(f.status is FindingStatus.open for f in findings(db_session, account))


def test_sources_are_taken_in_the_stated_order(app, db_session, sandbox, make_unit, make_account, monkeypatch):
    """Own authorisation → the Weibo commercial interface (off by default) → a recent import →
    not checkable (no_source), each account read from the best source it has."""
    unit = make_unit("来源顺序县人民政府", region="来源顺序县")
    own = make_account(unit, "weibo", name=unit.name)
    biz = make_account(unit, "weibo", name="来源顺序县发布", credentials=False)
    imported = make_account(unit, "weibo", name="来源顺序县政务", credentials=False)
    blind = make_account(unit, "weibo", name="来源顺序县在线", credentials=False)
    for a in (own, biz, imported, blind):
        plant(sandbox, "weibo", a.platform_uid, name=a.name, subject=unit.name)
    seen = [
        PlatformAccount(
            platform="weibo", uid=a.platform_uid, name=a.name, subject=unit.name, verified=True, source="import"
        )
        for a in (own, biz, imported)
    ]
    discovery.record(seen, source="import")  # a third-party monitor's export of their profiles

    def sources_now():
        got = {a.id: service.inspect_account(a.id) for a in (own, biz, imported, blind)}
        return {a.name: (got[a.id].source, got[a.id].reason) for a in (own, biz, imported, blind)}

    # Default: the commercial interface is off.
    assert not app.config["WEIBO_BIZ_ENABLED"]
    assert sources_now() == {
        own.name: ("own_api", None),
        biz.name: ("import", None),
        imported.name: ("import", None),
        blind.name: (None, "no_source"),
    }
    monkeypatch.setitem(app.config, "WEIBO_BIZ_ENABLED", True)
    monkeypatch.setitem(app.config, "WEIBO_BIZ_ACCESS_TOKEN", "biz.contract-token")
    monkeypatch.setitem(app.config, "WEIBO_BIZ_BASE_URL", f"{sandbox.url}/weibo-biz")
    got = sources_now()
    # Switched on, it reads every Weibo account without its own authorisation, ahead of the import.
    assert got[own.name] == ("own_api", None)
    assert got[biz.name] == ("weibo_biz", None) and got[imported.name] == ("weibo_biz", None)
    assert got[blind.name] == ("weibo_biz", None)


def test_literal_rename_confidence_and_rename_back(app, db_session, sandbox, make_unit, make_account):
    """By uid: only a decorative suffix differs → low confidence; another literal difference →
    higher; the platform name back to the ledger's → the finding resolves."""
    unit = make_unit("改名测试县应急管理局", region="改名测试县")
    account = make_account(unit, "weibo", name="改名测试县应急管理局")
    plant(sandbox, "weibo", account.platform_uid, name="改名测试县应急管理局在线", subject=unit.name)
    service.inspect_account(account.id)
    (decorative,) = findings(db_session, account, FindingKind.name_mismatch)
    assert decorative.evidence["decorative_only"] is True

    plant(sandbox, "weibo", account.platform_uid, name="改名测试县应急局")
    service.inspect_account(account.id)
    (other,) = findings(db_session, account, FindingKind.name_mismatch)
    assert other.id == decorative.id and other.evidence["platform_name"] == "改名测试县应急局"
    assert other.evidence["decorative_only"] is False and other.confidence > 0.35

    plant(sandbox, "weibo", account.platform_uid, name="改名测试县应急管理局")
    service.inspect_account(account.id)
    assert findings(db_session, account, FindingKind.name_mismatch) == []


def test_coverage_adds_up_in_every_row_with_each_reason(
    db_session, sandbox, make_unit, make_account, make_user, api_as
):
    """checked + stale + not checkable = the row's total in every platform and unit row, the
    reasons add up to each state, and every stale reason (never read, failed, too old) is counted
    with its words — a failed read's error in words on the page, not the stored dict."""
    unit = make_unit("覆盖行测试县人民政府", region="覆盖行测试县")
    other = make_unit("覆盖行测试县水利局", region="覆盖行测试县")
    checked = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", checked.platform_uid, name=unit.name, subject=unit.name)
    failed = make_account(unit, "douyin", name="覆盖行测试县抖音")
    old = make_account(other, "weibo", name="覆盖行测试县水利")
    plant(sandbox, "weibo", old.platform_uid, name=old.name, subject=other.name)
    make_account(other, "douyin", name="覆盖行测试县水利抖音")  # never read
    blind = make_account(other, "wechat", name="覆盖行测试县水利公众号", credentials=False)
    for a in (checked, old, blind):
        service.inspect_account(a.id)
    sandbox.call("POST", "/_sandbox/faults", json={"platform": "douyin", "error": "server_error", "count": 20})
    assert service.inspect_account(failed.id).result == "error"
    state = db_session.get(AccountInspection, old.id)
    state.last_success_at = state.last_attempt_at = utcnow() - timedelta(hours=40)  # > INSPECTION_STALE_HOURS
    db_session.commit()

    auditor = api_as(make_user(Role.auditor))
    data = auditor.get("/api/v1/inspection/coverage").get_json()
    mine = {unit.id, other.id}
    for row in [*data["by_platform"], *[r for r in data["by_unit"] if r["unit_id"] in mine], data["totals"]]:
        assert row["checked"] + row["stale"] + row["not_checkable"] == row["total"], row
    assert data["totals"]["total"] == data["ledger"] == sum(r["total"] for r in data["by_platform"])
    for s in ("checked", "stale", "not_checkable"):
        assert sum(r["count"] for r in data["by_reason"] if r["state"] == s) == data["totals"][s]
    units = {r["unit_id"]: r for r in data["by_unit"] if r["unit_id"] in mine}
    assert {k: units[unit.id][k] for k in ("checked", "stale", "not_checkable")} == {
        "checked": 1,
        "stale": 1,
        "not_checkable": 0,
    }
    assert {k: units[other.id][k] for k in ("checked", "stale", "not_checkable")} == {
        "checked": 0,
        "stale": 2,
        "not_checkable": 1,
    }
    ours = {b["account_name"]: b["reason_label"] for b in data["blind"] if b["unit_name"] in (unit.name, other.name)}
    assert ours == {
        "覆盖行测试县抖音": "最近一次读取失败",
        "覆盖行测试县水利": "超过时限未重新读取",
        "覆盖行测试县水利抖音": "尚未巡检",
        "覆盖行测试县水利公众号": NOT_CHECKABLE_LABELS["no_source"],
    }

    html = auditor.client.get("/inspection/coverage", headers=auditor.headers).get_data(as_text=True)
    assert "（平台错误码 " in html and "TransientError" not in html and "&#39;code&#39;" not in html


def _xlsx(rows: list[list[str]]) -> io.BytesIO:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def test_xlsx_imports_of_posts_and_profiles_feed_the_inspection(app, db_session, unit, make_account, make_user, api_as):
    """A third-party monitor's XLSX exports — posts (one marked 已删除) and profiles — make two
    accounts without authorisation checkable: the posts are traced (未经三审发布 lists the live
    one), the company shown as 认证主体 is a finding and its twin with the unit's name is not."""
    moved = make_account(unit, "douyin", "dyxlsx01", name=unit.name, credentials=False)
    same = make_account(unit, "douyin", "dyxlsx02", name=f"{unit.name}发布", credentials=False)
    auditor = api_as(make_user(Role.auditor))
    posts_file = _xlsx(
        [
            ["平台", "账号ID", "内容ID", "发布时间", "正文", "链接", "状态"],
            [
                "抖音",
                "dyxlsx01",
                "v2001",
                "2026-11-30 09:00",
                "监测机构看到的作品",
                "https://www.douyin.com/video/v2001",
                "正常",
            ],
            [
                "抖音",
                "dyxlsx01",
                "v2002",
                "2026-11-29 09:00",
                "已被删除的作品",
                "https://www.douyin.com/video/v2002",
                "已删除",
            ],
        ]
    )
    resp = auditor.post("/api/v1/inspection/imports", data={"file": (posts_file, "posts.xlsx"), "kind": "posts"})
    assert resp.status_code == 201, resp.get_json()
    profiles = _xlsx(
        [
            ["平台", "账号ID", "账号名称", "认证主体", "认证"],
            ["抖音", "dyxlsx01", unit.name, "某县星河文化传媒有限公司", "是"],
            ["抖音", "dyxlsx02", f"{unit.name}发布", unit.name, "是"],
        ]
    )
    resp = auditor.post("/api/v1/inspection/imports", data={"file": (profiles, "profiles.xlsx"), "kind": "profiles"})
    assert resp.status_code == 201, resp.get_json()

    for account in (moved, same):
        outcome = service.inspect_account(account.id)
        assert (outcome.result, outcome.source) == ("checked", "import")
    (f,) = findings(db_session, moved, FindingKind.unreviewed_post)
    assert [p["post_url"] for p in f.evidence["posts"]] == ["https://www.douyin.com/video/v2001"]
    assert posts(db_session, moved)["v2001"].state is PostState.live
    (s,) = findings(db_session, moved, FindingKind.subject_mismatch)
    assert s.evidence["subject"] == "某县星河文化传媒有限公司"
    assert findings(db_session, same, FindingKind.subject_mismatch) == []  # the unit's own name → nothing


def test_weibo_removal_of_our_post_and_untouched_twin(db_session, sandbox, unit, make_account, approve):
    """A govmedia Weibo post the platform no longer has (statuses/show: not found) → post_removed."""
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    publish(db_session, approve, [account])
    service.inspect_account(account.id)
    assert findings(db_session, account, FindingKind.post_removed) == []  # still there → nothing
    (post,) = sandbox.live_posts("weibo")

    sandbox.call("POST", f"/_sandbox/posts/weibo/{post['post_id']}/remove", json={"by": "platform"})
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, FindingKind.post_removed)
    assert f.evidence["post_id"] == post["post_id"] and "微博不存在" in f.evidence["removed_reason"]
    assert posts(db_session, account)[post["post_id"]].state is PostState.removed


def test_the_14_day_rule_sees_an_account_without_its_own_credentials(
    app, db_session, sandbox, make_unit, make_account, monkeypatch
):
    """Activity monitoring reads only through an account's own credentials; the inspection's read
    (here the Weibo commercial interface) gives it the last post of an account without them: silent
    for 20 days → 超14天未更新; its twin, posting 2 days ago → nothing."""
    monkeypatch.setitem(app.config, "WEIBO_BIZ_ENABLED", True)
    monkeypatch.setitem(app.config, "WEIBO_BIZ_ACCESS_TOKEN", "biz.contract-token")
    monkeypatch.setitem(app.config, "WEIBO_BIZ_BASE_URL", f"{sandbox.url}/weibo-biz")
    unit = make_unit("沉默测试县人民政府", region="沉默测试县")
    silent = make_account(unit, "weibo", name="沉默测试县发布", credentials=False)
    lively = make_account(unit, "weibo", name="沉默测试县政务", credentials=False)
    for account, days in ((silent, 20), (lively, 2)):
        plant(sandbox, "weibo", account.platform_uid, name=account.name, subject=unit.name)
        when = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        app_post(sandbox, "weibo", account.platform_uid, f"{days}天前的一条", created_at=when)
        assert service.inspect_account(account.id).source == "weibo_biz"

    for account in (silent, lively):
        monitor_account(account.id)  # no credentials of its own: the platform read fails
    (f,) = findings(db_session, silent, FindingKind.inactive_14d)
    assert f.evidence["days_since_last_post"] >= 19 and "inspection" in f.evidence["data_source"]
    assert findings(db_session, lively, FindingKind.inactive_14d) == []
    assert findings(db_session, lively, FindingKind.inactive_warning) == []
