"""整改 work orders: the state machine walked pair by pair, the unit's feedback with evidence,
the office's decision, the automatic re-check against the sandbox, escalation, scope and files."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from audit import service as audit_service
from audit.models import AuditEntry
from auth.models import Role
from common.db import utcnow
from common.errors import Invalid
from common.statemachine import IllegalTransition, TransitionTable
from common.timefmt import today_cn
from oversight import findings
from oversight.findings import FindingInput
from oversight.models import FindingKind, FindingStatus
from oversight.workorders import lifecycle
from oversight.workorders import service as workorders
from oversight.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderStatus
from tasks import monitoring as monitoring_tasks
from tasks import workorders as workorder_tasks
from tests.conftest import PASSWORD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ALLOWED, FORBIDDEN = lifecycle.TABLE.pairs()


@pytest.fixture
def county(make_unit):
    return make_unit("整改县人民政府", region="整改县")


@pytest.fixture
def bureau(make_unit, county):
    return make_unit("整改县教育局", parent=county, region="整改县")


@pytest.fixture
def people(make_user, make_unit, bureau):
    return {
        "operator": make_user(Role.operator, unit=bureau),
        "stranger": make_user(Role.operator, unit=make_unit("邻县人民政府")),
        "auditor": make_user(Role.auditor),
        "reviewer": make_user(Role.reviewer_1, unit=bureau),
    }


def make_finding(unit, kind=FindingKind.duplicate, account=None, **evidence):
    report = findings.upsert_many(
        [
            FindingInput(
                kind=kind,
                fingerprint=f"test:{uuid.uuid4().hex}",
                evidence={"message": evidence.pop("message", "同一单位在同一平台重复开设账号"), **evidence},
                account_id=getattr(account, "id", None),
                unit_id=unit.id,
            )
        ]
    )
    return report.created[0]


def confirmed_order(unit, auditor, **kw):
    finding = make_finding(unit, **kw)
    findings.act(finding, "confirm", auditor)
    return workorders.order_of(finding)


def audits(db_session, action, order):
    """Committed and still pending audit entries of ``order`` with ``action``."""
    committed = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_id == str(order.id))
    ).all()
    pending = [
        e
        for e in audit_service.pending()
        if e.action == action and e.object_type == "work_orders" and e.object_id == str(order.id)
    ]
    return [*committed, *pending]


# ----------------------------------------------------------------------------- the table, pair by pair


def test_table_is_a_transition_table_with_an_edge_into_every_state():
    assert isinstance(lifecycle.TABLE, TransitionTable)
    reached = {b for _, b in ALLOWED} | {lifecycle.INITIAL}
    assert reached == set(WorkOrderStatus)


@pytest.mark.parametrize("pair", ALLOWED, ids=TransitionTable.pair_id)
def test_every_move_in_the_table_changes_status_records_history_and_audit(db_session, bureau, people, pair):
    source, target = pair
    order = confirmed_order(bureau, people["auditor"])
    order.status = source  # the fixture puts the order in the source state directly
    db_session.flush()
    event = lifecycle.transition(order, target, actor=people["auditor"], text="测试")
    assert order.status is target
    assert (event.from_status, event.to_status) == (source.value, target.value)
    (entry,) = audits(db_session, lifecycle.TABLE.edge(source, target).audit, order)[-1:]
    assert entry.before == {"status": source.value} and entry.after["status"] == target.value
    assert (order.closed_at is not None) == (target in lifecycle.TERMINAL)


@pytest.mark.parametrize("pair", FORBIDDEN, ids=TransitionTable.pair_id)
def test_every_move_outside_the_table_is_refused_and_changes_nothing(db_session, bureau, people, pair):
    source, target = pair
    order = confirmed_order(bureau, people["auditor"])
    order.status = source
    db_session.flush()
    events = len(order.events)
    with pytest.raises(IllegalTransition) as caught:
        lifecycle.transition(order, target, actor=people["auditor"])
    assert caught.value.status_code == 409
    assert order.status is source and len(order.events) == events


# ----------------------------------------------------------------------------- issue


def test_confirming_a_finding_issues_the_units_order_with_the_workday_deadline(db_session, bureau, people):
    finding = make_finding(bureau)
    assert workorders.order_of(finding) is None
    findings.act(finding, "confirm", people["auditor"])
    order = workorders.order_of(finding)
    assert order.status is WorkOrderStatus.issued
    assert order.unit_id == bureau.id and order.due_on == finding.due_on > today_cn()
    assert order.events[0].kind == "issue" and "前完成整改" in order.events[0].text
    assert audits(db_session, "workorder:issue", order)


def test_ensure_orders_backfills_findings_confirmed_before_work_orders(db_session, bureau, people):
    finding = make_finding(bureau)
    finding.status, finding.due_on = FindingStatus.confirmed, today_cn() + timedelta(days=7)
    db_session.flush()
    assert workorders.ensure_orders() and workorders.order_of(finding).status is WorkOrderStatus.issued
    assert workorders.ensure_orders() == []


def test_dismissing_the_finding_cancels_the_order(db_session, bureau, people):
    order = confirmed_order(bureau, people["auditor"])
    findings.act(order.finding, "dismiss", people["auditor"], "经核实为误报")
    assert order.status is WorkOrderStatus.cancelled
    assert order.events[-1].text == "经核实为误报"


# ----------------------------------------------------------------------------- API: answer and decide


def test_unit_answers_with_evidence_office_returns_then_accepts(client, api_as, db_session, bureau, people):
    order = confirmed_order(bureau, people["auditor"])
    db_session.commit()
    unit_api = api_as(people["operator"])
    office = api_as(people["auditor"])

    listed = unit_api.get("/api/v1/workorders?open=true").get_json()
    assert [o["id"] for o in listed["items"]] == [order.id]
    assert listed["items"][0]["actions"] == ["feedback"]

    bad = unit_api.post(
        f"/api/v1/workorders/{order.id}/feedback",
        data={"text": "已整改", "links": ["javascript:alert(1)"]},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "链接" in bad.get_json()["error"]["message"]
    assert db_session.get(WorkOrder, order.id).status is WorkOrderStatus.issued

    first = unit_api.post(
        f"/api/v1/workorders/{order.id}/feedback",
        data={
            "text": "已注销重复账号，附截图",
            "links": ["https://weibo.com/notice/1"],
            "files": [(io.BytesIO(PNG), "截图.png"), (io.BytesIO(b"<script>x</script>"), "page.html")],
        },
        content_type="multipart/form-data",
    )
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["status"] == "submitted" and body["actions"] == []  # duplicate: no automatic re-check
    files = body["events"][-1]["files"]
    assert [f["content_type"] for f in files] == ["image/png", "application/octet-stream"]
    assert body["events"][-1]["links"] == ["https://weibo.com/notice/1"]

    # The evidence is served from the media store with safe types: images inline, the rest downloaded.
    image = unit_api.get(f"/api/v1/workorders/{order.id}/files/{files[0]['sha256']}")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG
    assert "attachment" not in image.headers.get("Content-Disposition", "")
    html = office.get(f"/api/v1/workorders/{order.id}/files/{files[1]['sha256']}")
    assert html.mimetype == "application/octet-stream"
    assert html.headers["Content-Disposition"].startswith("attachment")
    assert html.headers["X-Content-Type-Options"] == "nosniff"
    assert unit_api.get(f"/api/v1/workorders/{order.id}/files/{'0' * 64}").status_code == 404

    # The unit cannot decide; the office must give a reason to return.
    assert unit_api.post(f"/api/v1/workorders/{order.id}/actions/accept", json={}).status_code == 403
    no_reason = office.post(f"/api/v1/workorders/{order.id}/actions/return", json={})
    assert no_reason.status_code == 422
    returned = office.post(f"/api/v1/workorders/{order.id}/actions/return", json={"reason": "截图看不清账号名称"})
    assert returned.get_json()["status"] == "returned"
    assert unit_api.get(f"/api/v1/workorders/{order.id}").get_json()["actions"] == ["feedback"]

    second = unit_api.post(
        f"/api/v1/workorders/{order.id}/feedback", data={"text": "补充清晰截图"}, content_type="multipart/form-data"
    )
    assert second.get_json()["status"] == "submitted"
    accepted = office.post(f"/api/v1/workorders/{order.id}/actions/accept", json={"reason": "整改到位"})
    body = accepted.get_json()
    assert body["status"] == "accepted"
    assert [e["kind"] for e in body["events"]] == ["issue", "feedback", "return", "feedback", "accept"]
    db_session.refresh(order.finding)
    assert order.finding.status is FindingStatus.resolved and "整改到位" in order.finding.reason
    again = unit_api.post(
        f"/api/v1/workorders/{order.id}/feedback", data={"text": "再次反馈"}, content_type="multipart/form-data"
    )
    assert again.status_code == 409


def test_scope_another_units_user_gets_404_and_other_roles_403(api_as, db_session, bureau, people):
    order = confirmed_order(bureau, people["auditor"])
    stranger = api_as(people["stranger"])
    assert stranger.get(f"/api/v1/workorders/{order.id}").status_code == 404
    response = stranger.post(
        f"/api/v1/workorders/{order.id}/feedback", data={"text": "不是我的"}, content_type="multipart/form-data"
    )
    assert response.status_code == 404
    assert stranger.get("/api/v1/workorders").get_json()["total"] == 0
    assert api_as(people["reviewer"]).get(f"/api/v1/workorders/{order.id}").status_code == 403
    assert db_session.get(WorkOrder, order.id).status is WorkOrderStatus.issued


def test_files_over_the_media_limit_are_refused(app, api_as, db_session, bureau, people, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_MAX_MB", 1)
    monkeypatch.setitem(app.config, "WORKORDER_MAX_FILES", 2)
    order = confirmed_order(bureau, people["auditor"])
    unit_api = api_as(people["operator"])
    # Encoded here, in memory: the test client spools bodies over 500 KB to a file it never closes.
    big_file = FileStorage(io.BytesIO(b"x" * (1024 * 1024 + 1)), "big.bin")
    boundary, body = encode_multipart({"text": "附件", "files": big_file})
    big = unit_api.post(
        f"/api/v1/workorders/{order.id}/feedback", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert big.status_code == 413 and "1 MB" in big.get_json()["error"]["message"]
    many = unit_api.post(
        f"/api/v1/workorders/{order.id}/feedback",
        data={"text": "附件", "files": [(io.BytesIO(PNG), f"{i}.png") for i in range(3)]},
        content_type="multipart/form-data",
    )
    assert many.status_code == 422
    assert db_session.get(WorkOrder, order.id).status is WorkOrderStatus.issued


# ----------------------------------------------------------------------------- automatic re-check (sandbox)


def plant(sandbox, uid, days):
    now = utcnow()
    sandbox.call(
        "POST",
        "/_sandbox/accounts",
        json={
            "platform": "weibo",
            "uid": uid,
            "name": f"账号{uid}",
            "subject": "整改县教育局",
            "verified": True,
            "posts": [
                {"text": f"第{i}条", "created_at": (now - timedelta(days=d)).isoformat() + "+00:00"}
                for i, d in enumerate(days)
            ],
        },
    )


def test_inactive_account_loop_recheck_returns_then_closes_the_order(
    api_as, db_session, sandbox, bureau, people, make_account
):
    account = make_account(bureau, "weibo", uid="wbwo0001")
    plant(sandbox, "wbwo0001", [20])
    db_session.commit()
    outcome = monitoring_tasks.monitor_account(account.id)
    (finding_id,) = outcome.created
    office, unit_api = api_as(people["auditor"]), api_as(people["operator"])
    assert office.post(f"/api/v1/findings/{finding_id}/actions/confirm", json={}).status_code == 200
    order = db_session.scalar(sa.select(WorkOrder).where(WorkOrder.finding_id == finding_id))

    # 1) The unit says it is fixed, but the account still has not posted: the re-check sends it back.
    first = unit_api.post(
        f"/api/v1/workorders/{order.id}/feedback",
        data={"text": "已安排专人更新", "files": [(io.BytesIO(PNG), "排班表.png")]},
        content_type="multipart/form-data",
    )
    assert first.get_json()["status"] == "rechecking"
    summary = workorder_tasks.sweep()
    assert summary["rechecked"] == {order.id: "returned"}
    db_session.refresh(order)
    assert order.events[-1].text.startswith("自动复查仍发现问题")
    assert order.last_recheck["ran"] is True and order.last_recheck["kind"] == "activity"

    # 2) The account posts again; the second answer is re-checked and the order closes itself.
    plant(sandbox, "wbwo0001", [0, 20])
    second = unit_api.post(
        f"/api/v1/workorders/{order.id}/feedback", data={"text": "已恢复更新"}, content_type="multipart/form-data"
    )
    assert second.get_json()["status"] == "rechecking"
    assert workorder_tasks.sweep()["rechecked"] == {order.id: "verified"}
    db_session.refresh(order)
    db_session.refresh(order.finding)
    assert order.status is WorkOrderStatus.verified and order.closed_at is not None
    assert order.finding.status is FindingStatus.resolved
    kinds = [e.kind for e in order.events]
    assert kinds == ["issue", "feedback", "recheck", "recheck_failed", "feedback", "recheck", "verify"]
    assert audits(db_session, "workorder:verify", order)


def test_recheck_that_cannot_reach_the_platform_goes_to_the_office(db_session, sandbox, bureau, people, make_account):
    account = make_account(bureau, "weibo", uid="wbwo0002")
    plant(sandbox, "wbwo0002", [20])
    db_session.commit()
    (finding_id,) = monitoring_tasks.monitor_account(account.id).created
    finding = db_session.get(findings.Finding, finding_id)
    findings.act(finding, "confirm", people["auditor"])
    order = workorders.order_of(finding)
    workorders.feedback(order, people["operator"], "已恢复更新")
    db_session.commit()
    sandbox.fault(platform="weibo", endpoint="*", error="server_error", count=50)
    assert workorder_tasks.sweep()["rechecked"] == {order.id: "submitted"}
    db_session.refresh(order)
    assert "人工审核" in order.events[-1].text and order.last_recheck["ran"] is False


def test_monitoring_seeing_the_problem_gone_closes_an_unanswered_order(
    db_session, sandbox, bureau, people, make_account
):
    account = make_account(bureau, "weibo", uid="wbwo0003")
    plant(sandbox, "wbwo0003", [20])
    db_session.commit()
    (finding_id,) = monitoring_tasks.monitor_account(account.id).created
    findings.act(db_session.get(findings.Finding, finding_id), "confirm", people["auditor"])
    db_session.commit()
    plant(sandbox, "wbwo0003", [1, 20])
    monitoring_tasks.monitor_account(account.id)
    order = db_session.scalar(sa.select(WorkOrder).where(WorkOrder.finding_id == finding_id))
    assert order.status is WorkOrderStatus.verified
    assert order.events[-1].actor_label == "system:monitoring"


# ----------------------------------------------------------------------------- escalation


@pytest.mark.parametrize(
    ("setting", "to_parent", "office"), [("both", True, True), ("superior", True, False), ("office", False, True)]
)
def test_overdue_order_escalates_once(app, db_session, county, bureau, people, monkeypatch, setting, to_parent, office):
    monkeypatch.setitem(app.config, "WORKORDER_ESCALATE_TO", setting)
    order = confirmed_order(bureau, people["auditor"])
    submitted = confirmed_order(bureau, people["auditor"])
    workorders.feedback(submitted, people["operator"], "已整改")  # the office's turn: never escalated
    order.due_on = submitted.due_on = today_cn() - timedelta(days=2)
    db_session.flush()
    assert workorders.escalate_overdue() == [order.id]
    assert order.escalation_level == 1 and order.escalated_at is not None
    assert order.escalated_to == {"unit_ids": [county.id] if to_parent else [], "office": office}
    assert order.events[-1].kind == "escalate" and "升级督办" in order.events[-1].text
    assert audits(db_session, "workorder:escalate", order)
    assert workorders.escalate_overdue() == []


def test_unit_without_superior_escalates_to_the_office(app, db_session, county, people, monkeypatch):
    monkeypatch.setitem(app.config, "WORKORDER_ESCALATE_TO", "superior")
    order = confirmed_order(county, people["auditor"])
    order.due_on = today_cn() - timedelta(days=1)
    assert workorders.escalate_overdue() == [order.id]
    assert order.escalated_to == {"unit_ids": [], "office": True}


# ----------------------------------------------------------------------------- pages


def login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_confirmed_finding_page_lets_the_unit_answer(client, db_session, bureau, people):
    order = confirmed_order(bureau, people["auditor"])
    db_session.commit()
    login(client, people["operator"])
    page = client.get(f"/findings/{order.finding_id}").get_data(as_text=True)
    assert 'id="wo-feedback"' in page and "提交整改反馈" in page
    response = client.post(
        f"/workorders/{order.id}/feedback",
        data={
            "text": "已整改",
            "links": "https://example.gov.cn/a\n",
            "files": [(io.BytesIO(PNG), "a.png")],
            "next": f"/findings/{order.finding_id}",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/findings/{order.finding_id}")
    page = client.get(f"/findings/{order.finding_id}").get_data(as_text=True)
    assert "已反馈，待审核" in page and "a.png" in page and 'id="wo-feedback"' not in page
    board = client.get("/workorders/").get_data(as_text=True)
    assert f"#{order.id}" in board


def test_office_decides_on_the_order_page(client, db_session, bureau, people):
    order = confirmed_order(bureau, people["auditor"])
    workorders.feedback(order, people["operator"], "已整改")
    db_session.commit()
    login(client, people["auditor"])
    assert 'id="wo-decide"' in client.get(f"/workorders/{order.id}").get_data(as_text=True)
    client.post(f"/workorders/{order.id}/act", data={"action": "return", "reason": ""})
    assert db_session.get(WorkOrder, order.id).status is WorkOrderStatus.submitted
    client.post(f"/workorders/{order.id}/act", data={"action": "return", "reason": "请补充证据"})
    db_session.refresh(order)
    assert order.status is WorkOrderStatus.returned
    assert (
        db_session.scalar(sa.select(sa.func.count(WorkOrderEvent.id)).where(WorkOrderEvent.order_id == order.id)) == 3
    )


def test_board_shows_all_orders_when_asked(client, db_session, bureau, people):
    """The board opens on 未办结; 全部 also lists the closed and cancelled (已撤销) orders (and keeps the
    choice across pages)."""
    open_order = confirmed_order(bureau, people["auditor"])
    gone = confirmed_order(bureau, people["auditor"])
    findings.act(gone.finding, "dismiss", people["auditor"], "经核实为误报")
    db_session.commit()
    assert gone.status is WorkOrderStatus.cancelled
    login(client, people["auditor"])
    board = client.get("/workorders/").get_data(as_text=True)
    assert f'href="/workorders/{open_order.id}"' in board and f'href="/workorders/{gone.id}"' not in board
    everything = client.get("/workorders/?status=all").get_data(as_text=True)
    assert f'href="/workorders/{open_order.id}"' in everything and f'href="/workorders/{gone.id}"' in everything
    assert '<option value="all" selected>全部</option>' in everything


def test_workbench_says_what_needs_attention(client, db_session, bureau, people):
    """The office lands on 问题线索: above the list it sees the open 整改工单 with the overdue ones
    linked, and the quiet accounts (超14天未更新, 疑似僵尸号) with a link to each list."""
    late = confirmed_order(bureau, people["auditor"])
    late.due_on = today_cn() - timedelta(days=2)
    soon = confirmed_order(bureau, people["auditor"])
    soon.due_on = today_cn() + timedelta(days=1)
    findings.act(make_finding(bureau, kind=FindingKind.inactive_14d), "confirm", people["auditor"])
    db_session.commit()
    login(client, people["auditor"])
    html = client.get("/findings/").get_data(as_text=True)
    line = html[html.index('<p id="attention">') : html.index("</p>", html.index('<p id="attention">'))]
    assert '未办结整改工单 <a href="/workorders/">3 个</a>' in line
    assert '<a href="/workorders/?overdue=1"><strong>1 个已逾期</strong></a>' in line and "1 个 3 天内到期" in line
    assert '超14天未更新（单项否决）：<a href="/findings/?kind=inactive_14d&amp;status=active">1 条未办结</a>' in line
    assert "疑似僵尸号（超90天未更新）：0 条" in line


def test_findings_filter_on_all_that_is_not_yet_done(client, api_as, db_session, bureau, people):
    """状态「未办结」lists 待处理 and 整改中 together (what the dashboard's and the workbench's
    未办结 counts link to), not the resolved or dismissed ones — on the page, in the API and the export."""
    waiting = make_finding(bureau)
    in_hand = confirmed_order(bureau, people["auditor"]).finding
    done = make_finding(bureau)
    findings.act(done, "dismiss", people["auditor"], "经核实为误报")
    db_session.commit()
    login(client, people["auditor"])
    html = client.get("/findings/?status=active").get_data(as_text=True)
    shown = html[html.index('id="findings"') :]
    assert f">#{waiting.id}<" in shown and f">#{in_hand.id}<" in shown and f">#{done.id}<" not in shown
    assert '<option value="active" selected>未办结（待处理 + 整改中）</option>' in html
    body = api_as(people["auditor"]).get("/api/v1/findings?status=active").get_json()
    assert {f["id"] for f in body["items"]} == {waiting.id, in_hand.id}
    bad = api_as(people["auditor"]).get("/api/v1/findings?status=unfinished")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"]


def test_office_sets_the_deadline_and_requirement_when_confirming(client, db_session, bureau, people):
    """确认并下发整改 on the finding page: the office may pick the 整改期限 (today to 180 days on)
    and its 原因/意见 becomes the order's 整改要求; a date in the past is refused and says why."""
    finding = make_finding(bureau)
    db_session.commit()
    login(client, people["auditor"])
    page = client.get(f"/findings/{finding.id}").get_data(as_text=True)
    assert 'name="due_on" type="date"' in page and f'min="{today_cn().isoformat()}"' in page
    assert "不填为 5 个工作日后" in page

    past = today_cn() - timedelta(days=1)
    client.post(f"/findings/{finding.id}/act", data={"action": "confirm", "due_on": past.isoformat()})
    db_session.refresh(finding)
    assert finding.status is FindingStatus.open and workorders.order_of(finding) is None
    assert "整改期限不能早于今天" in client.get(f"/findings/{finding.id}").get_data(as_text=True)

    due = today_cn() + timedelta(days=20)
    client.post(
        f"/findings/{finding.id}/act",
        data={"action": "confirm", "due_on": due.isoformat(), "reason": "注销重复账号并在台账登记"},
    )
    db_session.refresh(finding)
    order = workorders.order_of(finding)
    assert finding.status is FindingStatus.confirmed and finding.due_on == order.due_on == due
    assert order.events[0].text.startswith("整改要求：注销重复账号并在台账登记。请于 " + due.isoformat())
    shown = client.get(f"/workorders/{order.id}").get_data(as_text=True)
    assert "整改要求：注销重复账号并在台账登记" in shown and due.isoformat() in shown


def test_deadline_only_with_confirm_and_within_180_days(db_session, bureau, people):
    finding = make_finding(bureau)
    with pytest.raises(Invalid, match="180"):
        findings.act(finding, "confirm", people["auditor"], due_on=today_cn() + timedelta(days=181))
    with pytest.raises(Invalid, match="确认并下发整改"):
        findings.act(finding, "dismiss", people["auditor"], "误报", due_on=today_cn())
    findings.act(finding, "confirm", people["auditor"], due_on=today_cn())
    assert workorders.order_of(finding).due_on == today_cn()


def test_finding_page_keeps_the_lists_filters(client, db_session, bureau, people):
    """From a filtered 问题线索 list to a finding and back (also after acting on it): the filters
    and the page are kept, so the office works down its list without setting them again."""
    finding = make_finding(bureau)
    db_session.commit()
    login(client, people["auditor"])
    listing = client.get(f"/findings/?kind=duplicate&status=open&unit_id={bureau.id}").get_data(as_text=True)
    link = f"/findings/{finding.id}?kind=duplicate&amp;status=open&amp;unit_id={bureau.id}"
    assert f'href="{link}"' in listing
    page = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    back = f'href="/findings/?kind=duplicate&amp;status=open&amp;unit_id={bureau.id}" id="back-to-list"'
    assert back in page and "（保留筛选条件）" in page
    assert '<input type="hidden" name="list_kind" value="duplicate">' in page
    response = client.post(
        f"/findings/{finding.id}/act",
        data={"action": "confirm", "list_kind": "duplicate", "list_status": "open", "list_bogus": "x"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/findings/{finding.id}?kind=duplicate&status=open")
    plain = client.get(f"/findings/{finding.id}").get_data(as_text=True)
    assert 'href="/findings/" id="back-to-list">← 返回问题线索</a>' in plain
