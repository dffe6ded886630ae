"""考评 over the database and HTTP: scores from real findings, posts, interaction items and
deliveries; rules versions; roll-ups; the 抽查 sample; scope; bad input; the XLSX export;
and no ranking by followers anywhere."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from openpyxl import load_workbook

from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from common.timefmt import bj
from oversight import findings as findings_service
from oversight.inspection.models import LivePost, PostSource
from oversight.interaction.models import InteractionItem, ItemKind
from oversight.models import Finding, FindingKind, FindingStatus
from oversight.scoring import rollups, service, spotcheck
from oversight.scoring import rules as rules_mod
from oversight.scoring.models import AccountScore, ScoringRules, SpotCheckItem
from publishers.models import Delivery
from tests.conftest import PASSWORD
from tests.oversight.test_findings_api import _publish as publish

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(make_unit, make_user, make_account, api_as, db_session):
    county = make_unit("考评测试县人民政府")
    bureau = make_unit("考评测试县教育局", parent=county)
    other = make_unit("考评测试县卫健局", parent=county)
    users = {
        "auditor": make_user(Role.auditor, unit=county),
        "admin": make_user(Role.admin, unit=county),
        "operator": make_user(Role.operator, unit=bureau),
        "other_operator": make_user(Role.operator, unit=other),
        "reviewer": make_user(Role.reviewer_1, unit=bureau),
    }
    return {
        "county": county,
        "bureau": bureau,
        "other": other,
        "users": users,
        "api": lambda who: api_as(users[who]),
    }


def fresh_account(make_account, unit, platform="weibo", *, days_ago=1, **kw):
    account = make_account(unit, platform, credentials=False, **kw)
    account.last_post_at = utcnow() - timedelta(days=days_ago)
    account.monitored_at = utcnow()
    return account


def post(db_session, account, *, days_ago=1, original=True, source=PostSource.found, hits=(), delivery_id=None):
    lp = LivePost(
        account_id=account.id,
        platform=account.platform.value,
        platform_post_id=f"p{uuid.uuid4().hex[:8]}",
        published_at=utcnow() - timedelta(days=days_ago),
        text="示范县冬季供暖保障通知",
        original=original,
        source=source,
        delivery_id=delivery_id,
        text_hash="h",
        seen_via="own_api",
        check_hits=list(hits),
    )
    db_session.add(lp)
    db_session.flush()
    return lp


def finding(db_session, account, kind, *, lp=None, hits=(), status=None):
    evidence = {"message": f"{kind.value} 测试线索"}
    if lp is not None:
        evidence.update(post_id=lp.platform_post_id, live_post_id=lp.id)
    if hits:
        evidence["hits"] = [{"kind": k, "severity": "block", "message": k} for k in hits]
    report = findings_service.upsert_many(
        [
            findings_service.FindingInput(
                kind=kind,
                fingerprint=f"{kind.value}:account={account.id}:t={uuid.uuid4().hex[:8]}",
                evidence=evidence,
                account_id=account.id,
                unit_id=account.unit_id,
            )
        ]
    )
    f = report.created[0]
    if status is not None:
        f.status = status
        db_session.flush()
    return f


def score_of(account, period=None):
    p = service.parse_period(period or service.current_quarter())
    row = service.current_rules()
    return service.score_account(account, p, row)


# ----------------------------------------------------------------------------- scoring from the DB


def test_veto_fails_the_account_regardless_of_points(db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"])
    lp = post(db_session, account, hits=[{"kind": "serious_error", "severity": "block"}])
    f = finding(db_session, account, FindingKind.post_check_hit, lp=lp, hits=["serious_error"])

    score = score_of(account)
    assert score.vetoed and not score.passed and score.total == 100
    [veto] = score.veto_items
    assert veto["key"] == "security"
    assert veto["evidence"]["finding_ids"] == [f.id]
    assert veto["evidence"]["post_ids"] == [lp.platform_post_id]
    assert veto["evidence"]["live_post_ids"] == [lp.id]
    assert score.rules_version == "2026.12-default"


def test_dismissed_findings_do_not_count(db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"])
    finding(db_session, account, FindingKind.no_interaction_channel, status=FindingStatus.dismissed)
    assert not score_of(account).vetoed
    finding(db_session, account, FindingKind.no_interaction_channel)
    score = score_of(account)  # same rules version: the account's row is recomputed
    assert score.vetoed and score.veto_items[0]["key"] == "interaction"
    assert (
        db_session.scalar(sa.select(sa.func.count(AccountScore.id)).where(AccountScore.account_id == account.id)) == 1
    )


def test_no_update_veto_from_monitoring_and_posts(db_session, site, make_account):
    stale = fresh_account(make_account, site["bureau"], days_ago=20)
    f = finding(db_session, stale, FindingKind.inactive_14d)
    score = score_of(stale)
    assert score.vetoed and score.veto_items[0]["key"] == "no_update"
    assert score.veto_items[0]["evidence"]["finding_ids"] == [f.id]

    recovered = fresh_account(make_account, site["bureau"], "wechat", days_ago=20)
    post(db_session, recovered, days_ago=3)  # the inspection saw a newer post
    assert not score_of(recovered).vetoed

    unknown = make_account(site["bureau"], "douyin", credentials=False)  # never read: no data
    s = score_of(unknown)
    assert not s.vetoed and s.data_gaps


def test_caps_apply_to_real_findings(db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"])
    for _ in range(5):
        finding(db_session, account, FindingKind.unreviewed_post, lp=post(db_session, account))
    for _ in range(2):
        lp = post(db_session, account, hits=[{"kind": "privacy", "severity": "block"}])
        finding(db_session, account, FindingKind.post_check_hit, lp=lp, hits=["privacy"])
    score = score_of(account)
    content = next(i for i in score.indicators if i["key"] == "content")
    assert content["raw"] == 45 and content["applied"] == 30
    assert score.total == 70 and score.passed
    for kind in (FindingKind.duplicate, FindingKind.duplicate, FindingKind.duplicate, FindingKind.name_mismatch):
        finding(db_session, account, kind)
    finding(db_session, account, FindingKind.subject_mismatch)
    score = score_of(account)
    assert next(i for i in score.indicators if i["key"] == "management")["applied"] == 20
    assert score.total == 50 and not score.passed and not score.vetoed


def _publish(db_session, account, site, *, days_ago, late_stage=None):
    """A sent delivery of content with three approvals (one after sending when ``late_stage``)."""

    reviewers = [site["users"]["reviewer"]] * 3
    publish(db_session, account, site["users"]["operator"], reviewers, sent_days_ago=days_ago, late_stage=late_stage)
    return db_session.scalar(sa.select(Delivery).where(Delivery.account_id == account.id).order_by(Delivery.id.desc()))


def test_quality_indices_from_posts_deliveries_and_interaction(db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"])
    good = _publish(db_session, account, site, days_ago=2)
    post(db_session, account, days_ago=2, original=None, source=PostSource.ours, delivery_id=good.id)
    _publish(db_session, account, site, days_ago=9, late_stage=3)  # stage 3 approved after sending
    post(db_session, account, days_ago=4, original=False)  # a repost found on the platform
    post(db_session, account, days_ago=5, original=True, hits=[{"kind": "link"}, {"kind": "privacy"}])
    now = utcnow()
    for i, (age_h, reply_h) in enumerate([(50, 2), (40, 10), (30, None)]):
        db_session.add(
            InteractionItem(
                account_id=account.id,
                platform=account.platform,
                kind=ItemKind.comment,
                platform_item_id=f"c{i}",
                text="请问",
                received_at=now - timedelta(hours=age_h),
                replied_at=None if reply_h is None else now - timedelta(hours=age_h - reply_h),
            )
        )
    db_session.flush()

    ix = score_of(account).indices
    assert ix["posts"] == 4  # 3 live posts + 1 delivery no live post stands for
    assert ix["original_posts"] == 3 and ix["original_share"] == 0.75
    assert ix["review_compliant_posts"] == 1 and ix["review_compliance"] == 0.25
    assert ix["unreviewed_posts"] == 2
    assert ix["check_hits"] == 2 and ix["posts_with_hits"] == 1 and ix["hits_per_post"] == 0.5
    assert ix["interaction"] == {"received": 3, "answered": 2, "reply_rate": 0.6667, "median_reply_hours": 6.0}
    assert 0 < ix["regularity"] <= 1 and ix["longest_gap_days"] > 0
    assert "followers" not in repr(ix)


# ----------------------------------------------------------------------------- rules versions


def _new_version(version, slow_update_points):
    data = yaml.safe_load(rules_mod.DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    data["version"] = version
    item = data["indicators"][0]["items"][0]
    assert item["key"] == "slow_update"
    item["points"] = slow_update_points
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def test_new_rules_version_is_used_by_new_scores_and_old_scores_stay(db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"], days_ago=10)  # 10 days: slow_update applies
    api = site["api"]("auditor")
    r = api.post("/api/v1/scoring/compute", json={"period": service.current_quarter()})
    assert r.status_code == 200, r.get_json()
    old = db_session.scalar(sa.select(AccountScore).where(AccountScore.account_id == account.id))
    assert (old.rules_version, old.total) == ("2026.12-default", 85)

    r = api.post("/api/v1/scoring/rules", json={"text": _new_version("2027.1", 20), "note": "按省检查指标调整"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["version"] == "2027.1"
    assert api.post("/api/v1/scoring/compute", json={"period": service.current_quarter()}).status_code == 200

    scores = db_session.scalars(
        sa.select(AccountScore).where(AccountScore.account_id == account.id).order_by(AccountScore.id)
    ).all()
    assert [(s.rules_version, s.total) for s in scores] == [("2026.12-default", 85), ("2027.1", 80)]
    listed = api.get(f"/api/v1/scoring/scores?period={service.current_quarter()}").get_json()["items"]
    assert [s["rules_version"] for s in listed if s["account_id"] == account.id] == ["2027.1"]
    history = api.get("/api/v1/scoring/rules").get_json()["history"]
    assert [h["version"] for h in history] == ["2027.1", "2026.12-default"]
    actions = db_session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("scoring:%"))).all()
    assert "scoring:rules:load" in actions and actions.count("scoring:compute") == 2

    # the same version again, or a broken file: refused, nothing stored
    again = api.post("/api/v1/scoring/rules", json={"text": _new_version("2027.1", 5)})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "rules_version_exists"
    bad = api.post("/api/v1/scoring/rules", json={"text": _new_version("2027.2", 500)})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["fields"]
    assert db_session.scalar(sa.select(sa.func.count(ScoringRules.id))) == 2


def test_rules_cli_validates_and_loads(app, db_session, site, tmp_path):
    runner = app.test_cli_runner()
    good = tmp_path / "rules.yaml"
    good.write_text(_new_version("2027.cli", 12), encoding="utf-8")
    out = runner.invoke(args=["scoring", "rules", "validate", str(good)])
    assert out.exit_code == 0 and "校验通过" in out.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(_new_version("2027.bad", 500), encoding="utf-8")
    out = runner.invoke(args=["scoring", "rules", "validate", str(broken)])
    assert out.exit_code != 0 and "校验未通过" in out.output
    who = site["users"]["admin"].username
    out = runner.invoke(args=["scoring", "rules", "load", str(good), "--by", who, "--note", "测试"])
    assert out.exit_code == 0, out.output
    assert db_session.scalar(sa.select(ScoringRules.version).order_by(ScoringRules.id.desc()).limit(1)) == "2027.cli"


def test_fraud_record_vetoes_the_period(db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"])
    api = site["api"]("auditor")
    body = {"kind": "bought_followers", "note": "经核查购买粉丝两万", "decision_ref": "县网信办〔2026〕3号"}
    r = api.post(f"/api/v1/scoring/accounts/{account.id}/fraud", json=body)
    assert r.status_code == 201, r.get_json()
    score = score_of(account)
    assert score.vetoed and score.veto_items[0]["key"] == "fraud"
    assert score.veto_items[0]["evidence"]["fraud_ids"] == [r.get_json()["id"]]
    bad = api.post(f"/api/v1/scoring/accounts/{account.id}/fraud", json={"kind": "rumour", "note": "x"})
    assert bad.status_code in {400, 422}


# ----------------------------------------------------------------------------- roll-ups


def test_rollup_pass_rates_and_quarter_trend(db_session, site, make_account):
    a1 = fresh_account(make_account, site["bureau"])
    a2 = fresh_account(make_account, site["bureau"], "wechat")
    b1 = fresh_account(make_account, site["other"])
    finding(db_session, a2, FindingKind.no_interaction_channel)
    q = service.parse_period(service.current_quarter())
    prev = service.previous_quarters(q, 2)[0]
    rules_row = service.current_rules()
    for a in (a1, a2, b1):
        service.score_account(a, q, rules_row)
    service.score_account(a1, prev, rules_row)  # last quarter: a1 only, and it fails (no posts then)

    data = rollups.rollup(q, None)
    units = {u["unit_name"]: u for u in data["units"]}
    bureau = units["考评测试县教育局"]
    assert (bureau["accounts"], bureau["passed"], bureau["vetoed"], bureau["pass_rate"]) == (2, 1, 1, 0.5)
    assert bureau["veto_reasons"] == {"互动回应差（无有效互动渠道，或留言超期未回复）": 1}
    assert units["考评测试县卫健局"]["pass_rate"] == 1.0
    county = data["county"]
    assert (county["accounts"], county["passed"]) == (3, 2)
    assert [t["period"] for t in county["trend"]] == [p.key for p in service.previous_quarters(q, 4)]
    assert county["trend"][-1]["pass_rate"] == round(2 / 3, 4)
    assert county["trend"][-2]["accounts"] == 1
    # the unit scope: an operator's roll-up holds only their unit
    scoped = site["api"]("operator").get(f"/api/v1/scoring/rollup?period={q.key}").get_json()
    assert [u["unit_name"] for u in scoped["units"]] == ["考评测试县教育局"]


# ----------------------------------------------------------------------------- 抽查


def test_draw_sample_is_reproducible_and_covers_half_of_each_unit():
    population = {1: list(range(100, 107)), 2: list(range(200, 203)), 3: [300]}
    a = spotcheck.draw_sample(population, "seed-1", 0.5, True)
    assert a == spotcheck.draw_sample(population, "seed-1", 0.5, True)
    assert a != spotcheck.draw_sample(population, "seed-2", 0.5, True)
    per_unit = {u: len([i for i in a if i in ids]) for u, ids in population.items()}
    assert per_unit == {1: 4, 2: 2, 3: 1}  # ceil(half) of every unit
    flat = spotcheck.draw_sample(population, "seed-1", 0.5, False)
    assert len(flat) == 6 and flat == spotcheck.draw_sample(population, "seed-1", 0.5, False)


def test_spot_check_draw_and_results(db_session, site, make_account, app, monkeypatch):
    monkeypatch.setitem(app.config, "SPOT_CHECK_PERCENT", 50)
    accounts = [fresh_account(make_account, site["bureau"], p) for p in ("weibo", "wechat", "douyin")]
    accounts.append(fresh_account(make_account, site["other"]))
    api = site["api"]("auditor")
    month = date.today().strftime("%Y-%m")
    r = api.post("/api/v1/scoring/spot-checks", json={"month": month, "seed": "fixed-seed"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["seed"] == "fixed-seed" and body["reproducible"] is True
    assert body["sampled"] / body["population"] >= 0.5
    ours = {a.id for a in accounts}
    sampled_ours = [i for i in body["items"] if i["account_id"] in ours]
    assert len([i for i in sampled_ours if i["unit_id"] == site["bureau"].id]) == 2  # ceil(3/2)
    assert len([i for i in sampled_ours if i["unit_id"] == site["other"].id]) == 1

    assert api.post("/api/v1/scoring/spot-checks", json={"month": month}).status_code == 409
    item_id = body["items"][0]["id"]
    no_reason = api.post(f"/api/v1/scoring/spot-checks/items/{item_id}", json={"result": "failed"})
    assert no_reason.status_code == 400
    assert db_session.get(SpotCheckItem, item_id).result is None
    ok = api.post(f"/api/v1/scoring/spot-checks/items/{item_id}", json={"result": "failed", "problems": "栏目空白"})
    assert ok.status_code == 200 and ok.get_json()["result"] == "failed"
    again = api.get(f"/api/v1/scoring/spot-checks/{month}").get_json()
    assert again["checked"] == 1 and again["failed"] == 1
    actions = db_session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("scoring:spot:%"))).all()
    assert sorted(actions) == ["scoring:spot:draw", "scoring:spot:result"]
    # operators read their own unit's part only and cannot record
    op = site["api"]("operator")
    seen = op.get(f"/api/v1/scoring/spot-checks/{month}").get_json()["items"]
    assert seen and {i["unit_id"] for i in seen} <= {site["bureau"].id}
    assert op.post(f"/api/v1/scoring/spot-checks/items/{item_id}", json={"result": "passed"}).status_code == 403


# ----------------------------------------------------------------------------- scope and bad input


def test_scope_and_read_only_operators(db_session, site, make_account):
    mine = fresh_account(make_account, site["bureau"])
    theirs = fresh_account(make_account, site["other"])
    q = service.parse_period(service.current_quarter())
    row = service.current_rules()
    s_mine, s_theirs = service.score_account(mine, q, row), service.score_account(theirs, q, row)
    op = site["api"]("operator")
    listed = op.get("/api/v1/scoring/scores").get_json()["items"]
    assert {s["account_id"] for s in listed} == {mine.id}
    assert op.get(f"/api/v1/scoring/scores/{s_mine.id}").status_code == 200
    assert op.get(f"/api/v1/scoring/scores/{s_theirs.id}").status_code == 404
    assert op.get(f"/api/v1/scoring/accounts/{theirs.id}/scores").status_code == 404
    assert op.get(f"/api/v1/scoring/scores?unit_id={site['other'].id}").status_code == 404
    assert op.post("/api/v1/scoring/compute", json={"period": q.key}).status_code == 403
    assert op.post("/api/v1/scoring/rules", json={"text": _new_version("op.1", 10)}).status_code == 403
    assert site["api"]("reviewer").get("/api/v1/scoring/scores").status_code == 403
    auditor = site["api"]("auditor").get("/api/v1/scoring/scores").get_json()["items"]
    assert {mine.id, theirs.id} <= {s["account_id"] for s in auditor}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/scoring/scores?period=2026Q5", None),
        ("get", "/api/v1/scoring/scores?period=2099Q1", None),
        ("get", "/api/v1/scoring/rollup?period=last", None),
        ("post", "/api/v1/scoring/compute", {"period": "2026-13"}),
        ("post", "/api/v1/scoring/rules", {"text": "version: [broken"}),
        ("post", "/api/v1/scoring/spot-checks", {"month": "2026/12"}),
        ("post", "/api/v1/scoring/spot-checks", {"month": "2099-01"}),
        ("post", "/api/v1/scoring/spot-checks", {"month": "2026-11", "seed": "有空格 的种子"}),
    ],
)
def test_bad_input_is_4xx_in_chinese_and_changes_nothing(db_session, site, method, path, body):
    api = site["api"]("auditor")
    before = db_session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    r = getattr(api, method)(path, json=body) if body is not None else getattr(api, method)(path)
    assert 400 <= r.status_code < 500, r.get_json()
    err = r.get_json()["error"]
    assert set(err) == {"code", "message", "details"} and re.search(r"[\u4e00-\u9fff]", err["message"])
    assert db_session.scalar(sa.select(sa.func.count(AuditEntry.id))) == before
    assert db_session.scalar(sa.select(sa.func.count(AccountScore.id))) == 0


# ----------------------------------------------------------------------------- no ranking by followers


@pytest.mark.parametrize(
    "path",
    ["/api/v1/scoring/scores", "/api/v1/scoring/rollup", "/api/v1/scoring/scores.xlsx"],
)
def test_scoring_api_refuses_a_sort_parameter(site, path):
    r = site["api"]("auditor").get(f"{path}?sort=followers")
    assert r.status_code in (400, 422)


FOLLOWER_ORDER = re.compile(
    r"order_by\([^)]*followers|sorted\([^)]*followers|\.sort\([^)]*followers|key=[^,)]*followers"
    r"|按粉丝|粉丝数?(增长)?(排名|排行|排序|榜)",
)
NEGATED = re.compile(r"不按粉丝数?(增长)?(排名|排行|排序)")  # the sentences that say we do not


def test_nothing_sorts_or_ranks_by_followers():
    """DOMAIN.md R27: no page, API or export orders or ranks accounts by followers."""
    offenders = []
    for folder in ("registry", "oversight", "reports", "publishers", "moderation", "templates", "jobs", "notify"):
        base = ROOT / folder
        if not base.exists():
            continue
        for path in base.rglob("*"):
            if path.suffix not in (".py", ".html", ".js", ".yaml") or not path.is_file():
                continue
            text = NEGATED.sub("", path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in FOLLOWER_ORDER.finditer(text)]
    assert offenders == []


def test_scores_and_rollup_carry_no_follower_figure(db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"], followers=999_999)
    q = service.parse_period(service.current_quarter())
    service.score_account(account, q, service.current_rules())
    api = site["api"]("auditor")
    for path in (f"/api/v1/scoring/scores?period={q.key}", f"/api/v1/scoring/rollup?period={q.key}"):
        text = api.get(path).get_data(as_text=True)
        assert "followers" not in text and "999999" not in text and "粉丝数" not in text


# ----------------------------------------------------------------------------- export


def test_score_table_xlsx_is_a_filed_form(db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"], name='=HYPERLINK("x")考评号')
    finding(db_session, account, FindingKind.no_interaction_channel)
    q = service.parse_period(service.current_quarter())
    score = service.score_account(account, q, service.current_rules())
    r = site["api"]("auditor").get(f"/api/v1/scoring/scores.xlsx?period={q.key}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    assert ws["A1"].value == f"{q.label}政务新媒体检查指标得分表"
    assert any(str(m).startswith("A1:") for m in ws.merged_cells.ranges)
    assert ws["A2"].value.startswith("制表单位：考评测试县人民政府")
    headers = [c.value for c in ws[3]]
    assert headers[:4] == ["序号", "单位", "账号名称", "平台"] and "得分" in headers
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0] is not None and isinstance(r[0], int)]
    row = next(r for r in rows if r[2] and "考评号" in r[2])
    assert row[2].startswith("'=")  # the cell guard: no live formula
    assert row[headers.index("结论")] == "不合格（单项否决）"
    computed = row[headers.index("计算时间")]
    assert abs((computed - score.computed_at).total_seconds() - 8 * 3600) < 1  # Beijing time
    assert ws.cell(row=4, column=2).border.left.style == "thin"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.print_title_rows == "$3:$3"
    assert ws.freeze_panes == "A4"


# ----------------------------------------------------------------------------- pages


def _login(client, user):
    r = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert r.status_code in (302, 303)


def test_pages_for_office_and_unit(client, db_session, site, make_account):
    account = fresh_account(make_account, site["bureau"])
    lp = post(db_session, account, hits=[{"kind": "secrecy", "severity": "block"}])
    f = finding(db_session, account, FindingKind.post_check_hit, lp=lp, hits=["secrecy"])
    q = service.parse_period(service.current_quarter())
    score = service.score_account(account, q, service.current_rules())
    db_session.flush()

    _login(client, site["users"]["auditor"])
    index = client.get(f"/scoring/?period={q.key}").get_data(as_text=True)
    assert "考评汇总" in index and "考评测试县教育局" in index and "按当前规则计算" in index
    # the quarter as people say it in the heading and the trend columns, not the code 2026Q4
    assert f"考评汇总（{q.label}）" in index and "按当前规则计算本期得分" in index
    assert f'<th scope="col" class="num">{q.label}</th>' in index
    assert f">{q.key}</th>" not in index
    card = client.get(f"/scoring/scores/{score.id}").get_data(as_text=True)
    assert "不合格（单项否决）" in card and f"/findings/{f.id}" in card and lp.platform_post_id in card
    assert "2026.12-default" in card and "北京时间" in card

    assert bj(score.checkpoint_at) in card  # the check point in Beijing time
    assert "弄虚作假" in card
    rules_page = client.get("/scoring/rules").get_data(as_text=True)
    assert "版本历史" in rules_page and "校验并载入" in rules_page
    bad = client.post("/scoring/rules", data={"text": "version: [x", "action": "load"})
    assert bad.status_code == 400 and "不是有效的 YAML" in bad.get_data(as_text=True)
    spot = client.post("/scoring/spot", data={"month": date.today().strftime("%Y-%m"), "stratified": "1"})
    assert spot.status_code == 302
    spot_page = client.get("/scoring/spot").get_data(as_text=True)
    assert "按种子复现一致" in spot_page
    assert client.get(f"/scoring/export.xlsx?period={q.key}").status_code == 200

    client.post("/logout")
    _login(client, site["users"]["other_operator"])
    assert client.get(f"/scoring/scores/{score.id}").status_code == 404
    page = client.get(f"/scoring/accounts?period={q.key}").get_data(as_text=True)
    assert account.name not in page and "按当前规则计算" not in page
    assert client.post("/scoring/compute", data={"period": q.key}).status_code == 403
    assert db_session.scalar(sa.select(sa.func.count(Finding.id)).where(Finding.id == f.id)) == 1
