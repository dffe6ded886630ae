"""考评 charts: trend by quarter, score distribution and veto reasons per scope (county, one unit)
and per account; the same numbers in the chart data and in the tables beside the charts; the
charts hidden without JavaScript; scope respected."""

from __future__ import annotations

import json
import re

import pytest

from auth.models import Role
from oversight.models import FindingKind
from oversight.scoring import charts, schedule, service
from tests.conftest import PASSWORD
from tests.oversight.test_scoring import finding, fresh_account


@pytest.fixture
def world(make_unit, make_user, make_account, db_session):
    county = make_unit("图表测试县人民政府")
    bureau = make_unit("图表测试县教育局", parent=county)
    other = make_unit("图表测试县卫健局", parent=county)
    ok = fresh_account(make_account, bureau)
    vetoed = fresh_account(make_account, bureau, "wechat")
    finding(db_session, vetoed, FindingKind.no_interaction_channel)
    fine = fresh_account(make_account, other)
    now_q = service.parse_period(service.current_quarter())
    last_q = service.parse_period(schedule.previous_quarter(now_q.start))
    rules = service.current_rules()
    scores = {}
    for a in (ok, vetoed, fine):
        scores[a.id] = service.score_account(a, now_q, rules)
    earlier = service.score_account(ok, last_q, rules)  # no post before that check point: vetoed
    db_session.commit()
    return {
        "county": county,
        "bureau": bureau,
        "other": other,
        "ok": ok,
        "vetoed": vetoed,
        "fine": fine,
        "scores": scores,
        "earlier": earlier,
        "now_q": now_q,
        "last_q": last_q,
        "auditor": make_user(Role.auditor, unit=county),
        "bureau_operator": make_user(Role.operator, unit=bureau),
    }


def _band(total):
    return next(label for label, low, high, _ in charts.BANDS if low <= total < high)


def test_scope_figures_for_a_unit(world):
    data = charts.scope_charts(world["now_q"], {world["bureau"].id})
    dist = {r["label"]: r["count"] for r in data["distribution"]}
    assert dist[charts.VETO_BAND] == 1
    assert dist[_band(world["scores"][world["ok"].id].total)] == 1
    assert sum(dist.values()) == 2
    [veto] = data["veto"]
    assert veto["count"] == 1 and veto["label"] == world["scores"][world["vetoed"].id].veto_items[0]["label"]
    trend = {t["period"]: t for t in data["trend"]}
    assert list(trend)[-1] == world["now_q"].key and len(trend) == 4
    this, last = trend[world["now_q"].key], trend[world["last_q"].key]
    assert (this["accounts"], this["passed"], this["vetoed"], this["pass_rate"]) == (2, 1, 1, 0.5)
    assert this["average"] == world["scores"][world["ok"].id].total  # the vetoed one is not averaged
    earlier = world["earlier"]
    assert (last["accounts"], last["passed"], last["vetoed"]) == (1, int(earlier.passed), int(earlier.vetoed))
    spec = data["specs"]["trend"]
    assert spec["labels"] == list(trend) and spec["datasets"][0]["data"][-1] == 50.0


def test_account_figures(world):
    ok_score = world["scores"][world["ok"].id]
    data = charts.account_charts(ok_score)
    assert [h["period"] for h in data["trend"]] == [world["last_q"].key, world["now_q"].key]
    assert data["specs"]["trend"]["datasets"][0]["data"] == [h["total"] for h in data["trend"]]
    assert [i["label"] for i in data["indicators"]] == [i["label"] for i in ok_score.indicators]
    vetoed = charts.account_charts(world["scores"][world["vetoed"].id])
    assert vetoed["veto"][0]["count"] == 1 and vetoed["specs"]["trend"]["tones"] == ["bad"]


def _login(client, user):
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code in (302, 303)


def _chart_block(html):
    m = re.search(r'<script type="application/json" id="dashboard-charts">(.*?)</script>', html, re.S)
    assert m, "chart data block missing"
    return json.loads(m.group(1))


def _table_rows(html, table_id):
    m = re.search(rf'<table class="data compact" id="{table_id}">(.*?)</table>', html, re.S)
    assert m, table_id
    body = re.search(r"<tbody>(.*?)</tbody>", m.group(1), re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_pages_have_charts_with_table_fallback(client, world):
    _login(client, world["auditor"])
    q = world["now_q"].key
    index = client.get(f"/scoring/?period={q}").get_data(as_text=True)
    # every canvas is hidden until the script draws it, is an image with a label, and has its table
    for key in ("trend", "distribution", "veto"):
        assert re.search(
            rf'<div class="chart-box" hidden><canvas data-chart="{key}" role="img" '
            r'aria-label="[^"]+（图表，数值见下方表格）">',
            index,
        )
    assert "vendor/chartjs/chart.umd.min.js" in index and "<script>" not in index  # no inline script (CSP)
    specs = _chart_block(index)
    dist_rows = _table_rows(index, "distribution-table")
    assert [r[0] for r in dist_rows] == specs["distribution"]["labels"]
    assert [int(r[1]) for r in dist_rows] == specs["distribution"]["datasets"][0]["data"]
    assert sum(specs["distribution"]["datasets"][0]["data"]) >= 3
    veto_rows = _table_rows(index, "veto-table")
    assert [int(r[1]) for r in veto_rows] == specs["veto"]["datasets"][0]["data"]
    trend_rows = _table_rows(index, "trend-table")
    assert len(trend_rows) == 4 and trend_rows[-1][0] == world["now_q"].label

    unit = client.get(f"/scoring/accounts?period={q}&unit_id={world['other'].id}").get_data(as_text=True)
    assert "图表测试县卫健局：趋势、分布与否决原因" in unit and 'id="veto-none"' in unit
    assert sum(_chart_block(unit)["distribution"]["datasets"][0]["data"]) == 1

    card = client.get(f"/scoring/scores/{world['scores'][world['ok'].id].id}").get_data(as_text=True)
    assert 'id="account-charts"' in card
    assert [r[0] for r in _table_rows(card, "account-trend-table")] == [world["last_q"].label, world["now_q"].label]
    assert _chart_block(card)["trend"]["labels"] == [world["last_q"].key, world["now_q"].key]


def test_unit_operator_charts_cover_only_their_units(client, world):
    _login(client, world["bureau_operator"])
    html = client.get(f"/scoring/?period={world['now_q'].key}").get_data(as_text=True)
    assert "本单位及下级单位：趋势、分布与否决原因" in html
    assert sum(_chart_block(html)["distribution"]["datasets"][0]["data"]) == 2  # not the other bureau's
    other = client.get(f"/scoring/accounts?period={world['now_q'].key}&unit_id={world['other'].id}")
    assert other.status_code == 404
