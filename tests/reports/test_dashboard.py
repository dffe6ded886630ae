"""工作台 figures: dashboard_data(user) counts, scoping and the page (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from auth.models import Role
from common.timefmt import today_cn
from moderation.models import Content, ContentStatus, Review, ReviewDecision
from oversight.models import Finding, FindingKind, FindingStatus
from oversight.workorders.models import WorkOrder, WorkOrderStatus
from publishers.models import Delivery, DeliveryStatus
from registry.models import AccountStatus
from reports.dashboard import chart_specs, dashboard_data
from tests.conftest import PASSWORD

# Wednesday 2026-11-18 12:00 China time; that week starts Monday 2026-11-16 00:00 CST = 11-15 16:00 UTC.
NOW = datetime(2026, 11, 18, 4, 0)
WEEK_START = datetime(2026, 11, 15, 16, 0)


def rows(items, key="key"):
    return {item[key]: item for item in items}


@pytest.fixture
def world(db_session, make_unit, make_user, make_account):
    """Unit A with sub-unit A1, and an unrelated unit B, with accounts, findings, content, deliveries."""

    a = make_unit("看板甲县")
    a1 = make_unit("看板甲县教育局", parent=a)
    b = make_unit("看板乙县")
    author = make_user(Role.operator, unit=a)
    reviewer = make_user(Role.reviewer_3, unit=a)

    def account(unit, platform, days_ago, status=AccountStatus.active):
        last = None if days_ago is None else NOW - timedelta(days=days_ago)
        return make_account(unit, platform, status=status, last_post_at=last)

    weibo = account(a, "weibo", 2)  # ≤7
    wechat = account(a, "wechat", 7.9)  # 8–14 (more than 7×24 hours)
    account(a, "weibo", 7)  # exactly 7 days: still ≤7
    account(a1, "douyin", 30)  # 15–90
    account(a1, "toutiao", 200)  # >90
    account(a, "douyin", None)  # never posted
    account(a, "toutiao", 1, status=AccountStatus.changing)  # operating: counted, ≤7
    account(a, "wechat", 500, status=AccountStatus.closed)  # not operating: not in freshness
    account(a, "kuaishou", None, status=AccountStatus.applying)
    b_weibo = account(b, "weibo", 1)

    def finding(kind, status, unit):
        db_session.add(
            Finding(kind=kind, status=status, unit_id=getattr(unit, "id", None), fingerprint=uuid.uuid4().hex)
        )

    finding(FindingKind.inactive_14d, FindingStatus.open, a)
    finding(FindingKind.inactive_14d, FindingStatus.confirmed, a)
    finding(FindingKind.zombie_90d, FindingStatus.confirmed, a1)
    finding(FindingKind.duplicate, FindingStatus.dismissed, a)
    finding(FindingKind.name_mismatch, FindingStatus.resolved, a)
    finding(FindingKind.unregistered, FindingStatus.open, b)
    finding(FindingKind.unregistered, FindingStatus.open, None)  # no unit: only the 网信办 sees it

    def content(unit, status=ContentStatus.published, entered_hours_ago=None):
        item = Content(unit_id=unit.id, author_id=author.id, title="看板测试稿件", status=status)
        if entered_hours_ago is not None:
            item.stage_entered_at = NOW - timedelta(hours=entered_hours_ago)
        db_session.add(item)
        db_session.flush()
        return item

    content(a, ContentStatus.review_1, 30)  # overdue (24 h)
    content(a, ContentStatus.review_1, 2)
    content(a, ContentStatus.review_2, 1)
    content(a1, ContentStatus.review_3, 48)  # overdue
    content(b, ContentStatus.review_1, 100)  # other unit

    def review(item, at, stage=3, decision=ReviewDecision.approve, voided=False):
        db_session.add(
            Review(
                content_id=item.id,
                version=1,
                stage=stage,
                reviewer_id=reviewer.id,
                decision=decision,
                content_hash="h",
                at=at,
                voided=voided,
            )
        )

    c1, c2, c3, c4, c5 = (content(a) for _ in range(5))
    review(c1, NOW - timedelta(days=1))  # this week
    review(c2, WEEK_START + timedelta(hours=1))  # Monday 01:00 CST: this week
    review(c3, WEEK_START - timedelta(hours=1))  # Sunday 23:00 CST: last week
    review(c4, NOW - timedelta(weeks=3))
    review(c4, NOW - timedelta(weeks=3, days=1), stage=1)  # stage 1 approval: not a final approval
    review(c5, NOW - timedelta(days=2), stage=2, decision=ReviewDecision.reject)
    review(c5, NOW - timedelta(days=1), voided=True)  # voided by an edit
    review(c5, NOW - timedelta(weeks=20))  # older than the 8 weeks shown
    review(content(b), NOW - timedelta(days=1))  # other unit

    def delivery(item, acc, status, days_ago=1):
        db_session.add(
            Delivery(
                content_id=item.id,
                version=1,
                account_id=acc.id,
                status=status,
                idempotency_key=uuid.uuid4().hex,
                content_hash="h",
                created_at=NOW - timedelta(days=days_ago),
            )
        )

    delivery(c1, weibo, DeliveryStatus.sent)
    delivery(c2, weibo, DeliveryStatus.sent)
    delivery(c3, weibo, DeliveryStatus.withdrawn)  # was sent, then withdrawn
    delivery(c1, wechat, DeliveryStatus.failed)
    delivery(c2, wechat, DeliveryStatus.pending)  # not finished: not counted
    delivery(c3, wechat, DeliveryStatus.cancelled)
    delivery(c4, wechat, DeliveryStatus.failed, days_ago=45)  # outside 30 days
    delivery(content(b), b_weibo, DeliveryStatus.failed)
    db_session.flush()
    return {
        "a": a,
        "a1": a1,
        "b": b,
        "operator_a": author,
        "operator_a1": make_user(Role.operator, unit=a1),
        "operator_b": make_user(Role.operator, unit=b),
        "auditor": make_user(Role.auditor),
    }


def test_unit_scope_counts(world):

    data = dashboard_data(world["operator_a"], now=NOW)
    assert data["scope"] == "看板甲县及下属单位"

    accounts = data["accounts"]
    assert accounts["total"] == 9
    platform = {k: v["count"] for k, v in rows(accounts["by_platform"]).items()}
    assert platform == {"weibo": 2, "wechat": 2, "douyin": 2, "toutiao": 2, "kuaishou": 1}
    status = {k: v["count"] for k, v in rows(accounts["by_status"]).items()}
    assert status["active"] == 6 and status["changing"] == 1 and status["closed"] == 1 and status["applying"] == 1
    assert status["suspended"] == 0

    fresh = data["freshness"]
    assert {k: v["count"] for k, v in rows(fresh["buckets"]).items()} == {
        "recent": 3,
        "warn": 1,
        "veto": 1,
        "zombie": 1,
        "never": 1,
    }
    assert [b["label"] for b in fresh["buckets"]] == ["7天内", "8–14天", "15–90天", "90天以上", "从未发布"]
    assert fresh["total"] == 7 and fresh["stale"] == 2
    by_unit = {u["unit"]: u for u in fresh["by_unit"]}
    assert set(by_unit) == {"看板甲县", "看板甲县教育局"}
    assert by_unit["看板甲县教育局"]["counts"] == {"recent": 0, "warn": 0, "veto": 1, "zombie": 1, "never": 0}
    assert fresh["by_unit"][0]["unit"] == "看板甲县教育局"  # most stale first

    findings = rows(data["findings"]["by_kind"])
    assert findings["inactive_14d"]["open"] == 1 and findings["inactive_14d"]["confirmed"] == 1
    assert findings["zombie_90d"]["total"] == 1
    assert findings["duplicate"]["total"] == 0 and findings["name_mismatch"]["total"] == 0
    assert findings["unregistered"]["total"] == 0
    assert data["findings"]["total"] == 3

    review = data["review"]
    weeks = review["weeks"]
    assert len(weeks) == 8 and weeks[-1]["start"] == "2026-11-16" and weeks[0]["start"] == "2026-09-28"
    assert weeks[-1]["label"] == "11月16日–11月22日"
    assert [w["approved"] for w in weeks] == [0, 0, 0, 0, 1, 0, 1, 2]
    assert [w["rejected"] for w in weeks] == [0, 0, 0, 0, 0, 0, 0, 1]
    stages = {s["stage"]: s for s in review["stages"]}
    assert (stages[1]["waiting"], stages[1]["overdue"]) == (2, 1)
    assert (stages[2]["waiting"], stages[2]["overdue"]) == (1, 0)
    assert (stages[3]["waiting"], stages[3]["overdue"]) == (1, 1)
    assert stages[1]["label"] == "初审" and stages[1]["overdue_hours"] == 24
    assert review["waiting_total"] == 4 and review["overdue_total"] == 2

    delivery = data["delivery"]
    assert (delivery["sent"], delivery["failed"]) == (3, 1)
    assert delivery["rate"] == 0.75
    per_platform = rows(delivery["by_platform"])
    assert per_platform["weibo"]["rate"] == 1.0 and per_platform["wechat"]["rate"] == 0.0
    assert per_platform["douyin"]["rate"] is None  # nothing finished there


def test_sub_unit_sees_only_its_subtree(world):

    data = dashboard_data(world["operator_a1"], now=NOW)
    assert data["accounts"]["total"] == 2
    assert [u["unit"] for u in data["freshness"]["by_unit"]] == ["看板甲县教育局"]
    assert data["findings"]["total"] == 1
    assert data["review"]["waiting_total"] == 1
    assert data["delivery"]["rate"] is None


def test_auditor_sees_every_unit(world):

    data = dashboard_data(world["auditor"], now=NOW)
    assert data["scope"] == "全部单位"
    units = {u["unit"] for u in data["freshness"]["by_unit"]}
    assert {"看板甲县", "看板甲县教育局", "看板乙县"} <= units
    unregistered = rows(data["findings"]["by_kind"])["unregistered"]
    assert unregistered["open"] >= 2  # unit B's and the one without a unit
    assert data["delivery"]["failed"] >= 2


def test_other_unit_sees_none_of_a(world):

    data = dashboard_data(world["operator_b"], now=NOW)
    assert data["accounts"]["total"] == 1
    assert [u["unit"] for u in data["freshness"]["by_unit"]] == ["看板乙县"]
    assert data["findings"]["total"] == 1
    assert [w["approved"] for w in data["review"]["weeks"]][-1] == 1
    assert (data["delivery"]["sent"], data["delivery"]["failed"]) == (0, 1)


def test_freshness_follows_settings(app, world, monkeypatch):

    monkeypatch.setitem(app.config, "INACTIVE_WARN_DAYS", 3)
    monkeypatch.setitem(app.config, "INACTIVE_VETO_DAYS", 10)
    monkeypatch.setitem(app.config, "ZOMBIE_DAYS", 100)
    fresh = dashboard_data(world["operator_a"], now=NOW)["freshness"]
    assert [b["label"] for b in fresh["buckets"]] == ["3天内", "4–10天", "11–100天", "100天以上", "从未发布"]
    assert [b["count"] for b in fresh["buckets"]] == [2, 2, 1, 1, 1]


def test_empty_scope(db_session, make_user, make_unit):

    data = dashboard_data(make_user(Role.reviewer_1, unit=make_unit()), now=NOW)
    assert data["accounts"]["total"] == 0 and data["freshness"]["by_unit"] == []
    assert data["delivery"]["rate"] is None and data["findings"]["total"] == 0
    specs = chart_specs(data)
    assert set(specs) == {"platform", "status", "freshness", "findings", "throughput", "waiting", "delivery"}
    assert all(len(ds["data"]) == len(spec["labels"]) for spec in specs.values() for ds in spec["datasets"])


def test_dashboard_page_is_landing_page_with_tables_and_chart_data(client, world):
    operator = world["operator_a"]
    response = client.post("/login", data={"username": operator.username, "password": PASSWORD})
    # Operators land on their contents (issue 20: each role lands on its own work); the dashboard
    # stays one click away at /.
    assert response.status_code == 302 and response.headers["Location"].endswith("/contents")
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "看板甲县及下属单位" in html and "看板乙县" not in html
    # every chart has its table; every table has a caption and scoped headers
    canvases = re.findall(r'<canvas data-chart="(\w+)" role="img" aria-label="[^"]+"', html)
    assert set(canvases) == {"platform", "status", "freshness", "findings", "throughput", "waiting", "delivery"}
    assert html.count("<table") == html.count("<caption>") == 8
    assert "<th>" not in html and "<th " in html
    assert re.search(r"<th(?![^>]*scope=)[ >]", html) is None
    # chart data in a JSON block, no inline script (CSP default-src 'self')
    block = re.search(r'<script type="application/json" id="dashboard-charts">(.*?)</script>', html, re.S)
    charts = json.loads(block.group(1))
    assert charts["freshness"]["labels"][0] == "7天内"
    scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert scripts == []
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/dashboard.js" in html


def test_vendored_chartjs_matches_package_json():

    root = Path(__file__).resolve().parents[2]
    pinned = json.loads((root / "package.json").read_text())["devDependencies"]["chart.js"]
    vendored = (root / "static/vendor/chartjs/chart.umd.min.js").read_text()[:200]
    assert f"Chart.js v{pinned}" in vendored
    assert (root / "static/vendor/chartjs/LICENSE.md").is_file()


def test_office_landing_page_shows_work_orders_due_and_links_counts(client, db_session, world):
    """The office's landing page answers "what needs me today": 整改工单 still open, how many are
    past their deadline or due within three days (linked to the board), and every finding count
    by type opens the 问题线索 list filtered to that type and status."""
    today = today_cn()
    for due, status in [
        (today - timedelta(days=1), WorkOrderStatus.issued),  # 已逾期
        (today + timedelta(days=2), WorkOrderStatus.returned),  # 3 天内到期
        (today + timedelta(days=10), WorkOrderStatus.issued),  # later
        (today - timedelta(days=5), WorkOrderStatus.submitted),  # the office's turn: not the unit's overdue
        (today - timedelta(days=5), WorkOrderStatus.accepted),  # closed: not counted
    ]:
        f = Finding(
            kind=FindingKind.inactive_14d,
            status=FindingStatus.confirmed,
            unit_id=world["a"].id,
            fingerprint=uuid.uuid4().hex,
        )
        db_session.add(f)
        db_session.flush()
        db_session.add(WorkOrder(finding_id=f.id, unit_id=world["a"].id, status=status, due_on=due))
    db_session.flush()
    wo = dashboard_data(world["auditor"])["workorders"]
    assert (wo["open"], wo["overdue"], wo["due_soon"]) == (4, 1, 1)
    assert dashboard_data(world["operator_b"])["workorders"] == {**wo, "open": 0, "overdue": 0, "due_soon": 0}

    client.post("/login", data={"username": world["auditor"].username, "password": PASSWORD})
    html = client.get("/").get_data(as_text=True)
    kpi = re.search(r'<li class="kpi-bad" id="kpi-workorders">(.*?)</li>', html, re.S).group(1)
    assert ">4<" in kpi and "未办结整改工单" in kpi and "1 个 3 天内到期" in kpi
    assert '<a href="/workorders/?overdue=1">1 个已逾期</a>' in kpi
    assert 'href="/findings/?kind=inactive_14d&amp;status=open"' in html
    assert 'href="/findings/?kind=unregistered&amp;status=open"' in html
    assert 'href="/findings/?kind=duplicate&amp;status=open"' not in html  # none open: a plain 0
