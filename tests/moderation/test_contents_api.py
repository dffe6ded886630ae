"""The content and review JSON API: /contents, submit, reviews, checks, versions, queue."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from auth.models import Role
from common.db import utcnow
from moderation import register_target_checker, service
from moderation.checks import make_finding
from moderation.models import Content, ContentStatus, Review
from tests.moderation.conftest import CLEAN_BODY, ID_NUMBER, MOBILE


def _create(client, team, **extra):
    body = {
        "title": "示范县召开秋季安全生产工作会议",
        "body": f"<p>{CLEAN_BODY}</p>",
        "disclosure": "active",
        "kind": "news",
        "target_ids": [team.weibo.id, team.wechat.id],
    }
    body.update(extra)
    return client.post("/api/v1/contents", json=body)


def _approve(api_as, team, content_id, stages=(1, 2, 3), **extra):
    reviewers = {1: team.r1, 2: team.r2, 3: team.r3}
    response = None
    for stage in stages:
        response = api_as(reviewers[stage]).post(
            f"/api/v1/contents/{content_id}/reviews", json={"decision": "approve", **extra}
        )
        assert response.status_code == 201, response.json
    return response


def test_create_get_and_list(api_as, team):
    client = api_as(team.operator)
    created = _create(client, team, overrides={"weibo": "微博短文"}, summary="摘要")
    assert created.status_code == 201, created.json
    data = created.json
    assert data["status"] == "draft" and data["version"] == 1 and data["stage"] is None
    assert data["body_text"] == CLEAN_BODY
    assert data["overrides"] == {"weibo": {"text": "微博短文"}}
    assert data["content_hash"] and data["approved_hash"] is None
    assert {t["platform"] for t in data["targets"]} == {"weibo", "wechat"}
    got = client.get(f"/api/v1/contents/{data['id']}")
    assert got.status_code == 200 and got.json["title"] == data["title"]
    listing = client.get("/api/v1/contents?status=draft&q=安全生产")
    assert set(listing.json) == {"items", "total", "page", "per_page"}
    assert [c["id"] for c in listing.json["items"]] == [data["id"]]


def test_create_sanitises_the_body(api_as, team):
    response = _create(
        api_as(team.operator), team, body='<p>正文<script>alert(1)</script><img src=x onerror="y()"></p>'
    )
    assert response.status_code == 201
    assert "script" not in response.json["body_html"] and "onerror" not in response.json["body_html"]


def test_validation_errors(api_as, team, active_account, make_unit):
    client = api_as(team.operator)
    missing = client.post("/api/v1/contents", json={"body": "没有标题"})
    assert missing.status_code == 422 and "title" in str(missing.json["error"]["details"])
    reason = _create(client, team, disclosure="withheld")
    assert reason.status_code == 422
    assert "disclosure_reason" in reason.json["error"]["details"]
    foreign = active_account(make_unit("别的县"), "weibo")
    targets = _create(client, team, target_ids=[foreign.id])
    assert targets.status_code == 422
    assert targets.json["error"]["code"] == "invalid_targets"
    assert str(foreign.id) in targets.json["error"]["details"]["target_ids"]
    bad_platform = _create(client, team, overrides={"kuaishou": {"text": "x"}})
    assert bad_platform.status_code == 422


def test_reviewers_and_auditors_cannot_write(api_as, team, make_user):
    assert _create(api_as(team.r1), team).status_code == 403
    content_id = _create(api_as(team.operator), team).json["id"]
    assert api_as(team.r1).patch(f"/api/v1/contents/{content_id}", json={"title": "x"}).status_code == 403
    assert api_as(team.r1).post(f"/api/v1/contents/{content_id}/submit").status_code == 403
    auditor = make_user(Role.auditor)
    assert api_as(auditor).get(f"/api/v1/contents/{content_id}").status_code == 200


def test_full_review_flow_over_the_api(api_as, team, db_session):
    operator = api_as(team.operator)
    content_id = _create(operator, team).json["id"]
    submitted = operator.post(f"/api/v1/contents/{content_id}/submit")
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["status"] == "review_1" and submitted.json["stage"] == 1
    assert submitted.json["checks"]["stored"] is True

    final = _approve(api_as, team, content_id)
    assert final.json["status"] == "approved"
    content = db_session.get(Content, content_id)
    assert final.json["approved_hash"] == service.content_hash(content)
    assert [(r["stage"], r["decision"]) for r in final.json["reviews"]] == [
        (0, "submit"),
        (1, "approve"),
        (2, "approve"),
        (3, "approve"),
    ]
    assert final.json["reviews"][0]["reviewer_id"] == team.operator.id
    assert final.json["reviews"][0]["decision_label"] == "提交审核"
    assert all(r["content_hash"] == final.json["approved_hash"] for r in final.json["reviews"])

    # Any edit after approval: new version, approvals voided, back to draft, hash changes.
    edited = operator.patch(f"/api/v1/contents/{content_id}", json={"title": "示范县召开冬季安全生产工作会议"})
    assert edited.status_code == 200
    assert edited.json["status"] == "draft" and edited.json["version"] == 2
    assert edited.json["approved_hash"] is None
    assert edited.json["content_hash"] != final.json["approved_hash"]
    assert all(r["voided"] for r in edited.json["reviews"] if r["decision"] == "approve")
    assert not edited.json["reviews"][0]["voided"], "the record of the submission stays"


def test_review_refusals(api_as, team, make_user):
    operator = api_as(team.operator)
    content_id = _create(operator, team).json["id"]
    url = f"/api/v1/contents/{content_id}/reviews"
    draft = api_as(team.r1).post(url, json={"decision": "approve"})
    assert draft.status_code == 409 and draft.json["error"]["code"] == "invalid_state"
    operator.post(f"/api/v1/contents/{content_id}/submit")

    author_reviewer = make_user(Role.operator, Role.reviewer_1, unit=team.unit)
    own = _create(api_as(author_reviewer), team).json["id"]
    api_as(author_reviewer).post(f"/api/v1/contents/{own}/submit")
    refused = api_as(author_reviewer).post(f"/api/v1/contents/{own}/reviews", json={"decision": "approve"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "author_cannot_review"

    wrong_role = api_as(team.r3).post(url, json={"decision": "approve"})
    assert wrong_role.status_code == 403 and wrong_role.json["error"]["code"] == "wrong_role"
    no_comment = api_as(team.r1).post(url, json={"decision": "reject"})
    assert no_comment.status_code == 422 and "comment" in no_comment.json["error"]["details"]
    bad = api_as(team.r1).post(url, json={"decision": "maybe"})
    assert bad.status_code == 422
    rejected = api_as(team.r1).post(url, json={"decision": "reject", "comment": "标题中的日期有误"})
    assert rejected.status_code == 201 and rejected.json["status"] == "rejected"
    assert rejected.json["reviews"][-1]["comment"] == "标题中的日期有误"


def test_same_person_two_stages_refused_over_api(api_as, team, make_user):
    both = make_user(Role.reviewer_1, Role.reviewer_2, unit=team.unit)
    operator = api_as(team.operator)
    content_id = _create(operator, team).json["id"]
    operator.post(f"/api/v1/contents/{content_id}/submit")
    url = f"/api/v1/contents/{content_id}/reviews"
    assert api_as(both).post(url, json={"decision": "approve"}).status_code == 201
    second = api_as(both).post(url, json={"decision": "approve"})
    assert second.status_code == 403 and second.json["error"]["code"] == "same_reviewer"


def test_blocked_submission_lists_findings_and_changes_nothing(api_as, team, db_session):
    operator = api_as(team.operator)
    content_id = _create(operator, team, body=f"<p>申请人身份证号：{ID_NUMBER}</p>").json["id"]
    response = operator.post(f"/api/v1/contents/{content_id}/submit")
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "checks_blocked" and "不能提交审核" in error["message"]
    hit = next(f for f in error["details"]["findings"] if f["rule"] == "privacy.id18")
    assert hit["text"] == ID_NUMBER and hit["severity"] == "block" and hit["field_label"] == "正文"
    assert operator.get(f"/api/v1/contents/{content_id}").json["status"] == "draft"
    live = operator.get(f"/api/v1/contents/{content_id}/checks").json
    assert live["stored"] is False and live["blocking"] is True
    assert operator.get(f"/api/v1/contents/{content_id}/versions").json["total"] == 0


def test_only_active_disclosure_is_submitted_over_api(api_as, team):
    operator = api_as(team.operator)
    content_id = _create(operator, team, disclosure="on_request", disclosure_reason="依申请公开的统计明细").json["id"]
    response = operator.post(f"/api/v1/contents/{content_id}/submit")
    assert response.status_code == 422 and response.json["error"]["code"] == "disclosure_not_public"


def test_stage_two_acknowledgement_over_api(api_as, team):
    operator = api_as(team.operator)
    content_id = _create(operator, team, body=f"<p>咨询电话 {MOBILE}</p>").json["id"]
    operator.post(f"/api/v1/contents/{content_id}/submit")
    checks = operator.get(f"/api/v1/contents/{content_id}/checks").json
    assert checks["stored"] is True and checks["blocking"] is False
    assert checks["findings"][0]["severity"] == "warn"
    _approve(api_as, team, content_id, stages=(1,))
    url = f"/api/v1/contents/{content_id}/reviews"
    refused = api_as(team.r2).post(url, json={"decision": "approve"})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "warnings_not_acknowledged"
    ok = api_as(team.r2).post(url, json={"decision": "approve", "acknowledge_warnings": True})
    assert ok.status_code == 201 and ok.json["warnings_acknowledged"] is True


def test_versions_and_diff(api_as, team):
    operator = api_as(team.operator)
    content_id = _create(operator, team).json["id"]
    operator.post(f"/api/v1/contents/{content_id}/submit")
    operator.patch(f"/api/v1/contents/{content_id}", json={"body": "<p>会议部署了冬季防汛等重点工作。</p>"})
    operator.post(f"/api/v1/contents/{content_id}/submit")
    versions = operator.get(f"/api/v1/contents/{content_id}/versions").json
    assert [v["version"] for v in versions["items"]] == [1, 2] and versions["current_version"] == 2
    assert versions["items"][0]["content_hash"] != versions["items"][1]["content_hash"]
    diff = operator.get(f"/api/v1/contents/{content_id}/versions/2/diff").json
    assert diff["from_version"] == 1 and diff["to_version"] == 2
    body = next(f for f in diff["fields"] if f["field"] == "body_text")
    assert body["changed"] is True
    assert {"op": "insert", "text": "汛"} in body["ops"] or any(o["op"] == "insert" for o in body["ops"])
    title = next(f for f in diff["fields"] if f["field"] == "title")
    assert title["changed"] is False
    assert operator.get(f"/api/v1/contents/{content_id}/versions/9/diff").status_code == 404


def test_review_queue_scope_order_and_overdue(api_as, team, make_unit, make_user, db_session):
    other_unit = make_unit("队列外单位")
    other_operator = make_user(Role.operator, unit=other_unit)
    operator = api_as(team.operator)
    first = _create(operator, team, title="先提交").json["id"]
    second = _create(operator, team, title="后提交").json["id"]
    operator.post(f"/api/v1/contents/{second}/submit")
    operator.post(f"/api/v1/contents/{first}/submit")
    foreign = api_as(other_operator).post("/api/v1/contents", json={"title": "别处", "body": "正文"}).json["id"]
    db_session.get(Content, first).stage_entered_at = utcnow() - timedelta(hours=48)
    db_session.get(Content, second).stage_entered_at = utcnow() - timedelta(hours=2)
    db_session.commit()

    queue = api_as(team.r1).get("/api/v1/review-queue?stage=1").json
    assert [i["id"] for i in queue["items"]] == [first, second]
    assert foreign not in [i["id"] for i in queue["items"]]
    assert [i["overdue"] for i in queue["items"]] == [True, False]
    assert all(i["can_review"] for i in queue["items"])
    assert queue["stages"] == [1] and queue["overdue_hours"] == {"1": 24.0}
    assert api_as(team.r1).get("/api/v1/review-queue").json["stages"] == [1]
    assert api_as(team.r2).get("/api/v1/review-queue?stage=2").json["items"] == []
    assert api_as(team.r2).get("/api/v1/review-queue?stage=1").status_code == 403
    assert api_as(team.operator).get("/api/v1/review-queue").status_code == 403
    assert api_as(team.r1).get("/api/v1/review-queue?stage=4").status_code == 422


def test_other_units_contents_answer_404(api_as, team, make_unit, make_user):
    content_id = _create(api_as(team.operator), team).json["id"]
    api_as(team.operator).post(f"/api/v1/contents/{content_id}/submit")
    other = make_unit("乙县人民政府")
    outsider = api_as(make_user(Role.operator, unit=other))
    outside_reviewer = api_as(make_user(Role.reviewer_1, unit=other))
    base = f"/api/v1/contents/{content_id}"
    assert outsider.get(base).status_code == 404
    assert outsider.patch(base, json={"title": "篡改"}).status_code == 404
    assert outsider.post(f"{base}/submit").status_code == 404
    assert outsider.get(f"{base}/checks").status_code == 404
    assert outsider.get(f"{base}/versions").status_code == 404
    assert outside_reviewer.post(f"{base}/reviews", json={"decision": "approve"}).status_code == 404
    assert content_id not in [c["id"] for c in outsider.get("/api/v1/contents").json["items"]]
    assert outside_reviewer.get("/api/v1/review-queue").json["items"] == []


def test_refused_patch_changes_nothing(api_as, team, db_session):
    operator = api_as(team.operator)
    created = _create(operator, team).json
    response = operator.patch(f"/api/v1/contents/{created['id']}", json={"title": "新标题", "disclosure": "withheld"})
    assert response.status_code == 422
    after = operator.get(f"/api/v1/contents/{created['id']}").json
    assert after["title"] == created["title"] and after["content_hash"] == created["content_hash"]
    count = db_session.scalar(sa.select(sa.func.count(Review.id)))
    assert count == 0


def test_interpretation_over_api(api_as, team):
    operator = api_as(team.operator)
    policy = _create(operator, team, title="促进就业若干措施", kind="policy").json["id"]
    missing = _create(operator, team, title="解读", kind="interpretation")
    assert missing.status_code == 422 and "policy_id" in missing.json["error"]["details"]
    interp = _create(operator, team, title="图解", kind="interpretation", policy_id=policy).json
    assert interp["linked_ids"] == [policy]
    assert operator.get(f"/api/v1/contents/{policy}").json["linked_ids"] == [interp["id"]]


def test_post_checks_returns_findings_and_stores_nothing(api_as, team, db_session):
    client = api_as(team.operator)
    before = db_session.scalar(sa.select(sa.func.count(Content.id)))
    response = client.post("/api/v1/checks", json={"text": f"身份证号 {ID_NUMBER}，电话 {MOBILE}"})
    assert response.status_code == 200
    assert response.json["blocking"] is True
    assert {f["rule"] for f in response.json["findings"]} >= {"privacy.id18", "privacy.mobile"}
    assert db_session.scalar(sa.select(sa.func.count(Content.id))) == before
    bad = client.post("/api/v1/checks", json={"text": "x", "platforms": ["myspace"]})
    assert bad.status_code == 422


def test_post_checks_runs_platform_checkers(app, api_as, team):
    def checker(content):
        return [
            make_finding("platform_limit", f"platform:{a.platform.value}", "超出长度", severity="warn", rule="len")
            for a in content.targets
        ]

    unregister = register_target_checker(app, checker)
    try:
        response = api_as(team.operator).post("/api/v1/checks", json={"text": "短文", "platforms": ["weibo", "douyin"]})
    finally:
        unregister()
    assert {f["field"] for f in response.json["findings"]} == {"platform:weibo", "platform:douyin"}
    assert response.json["findings"][0]["field_label"].startswith("平台限制")


def test_media_upload_and_use(api_as, team, media_dir):
    client = api_as(team.operator)
    upload = client.post(
        "/api/v1/media",
        data={"file": (io.BytesIO("名单：张三".encode()), "名单.txt", "text/plain")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.json
    item = upload.json
    assert item["role"] == "attachment" and item["text"] == "名单：张三" and len(item["sha256"]) == 64
    created = _create(client, team, media=[{k: item[k] for k in ("name", "content_type", "sha256", "text")}])
    assert created.status_code == 201
    submitted = client.post(f"/api/v1/contents/{created.json['id']}/submit")
    assert submitted.status_code == 200, submitted.json
    assert api_as(team.r1).post("/api/v1/media", data={}, content_type="multipart/form-data").status_code in (403, 422)


def test_openapi_lists_the_moderation_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/contents",
        "/api/v1/contents/{content_id}",
        "/api/v1/contents/{content_id}/submit",
        "/api/v1/contents/{content_id}/reviews",
        "/api/v1/contents/{content_id}/checks",
        "/api/v1/contents/{content_id}/versions",
        "/api/v1/contents/{content_id}/versions/{version}/diff",
        "/api/v1/review-queue",
        "/api/v1/checks",
        "/api/v1/media",
    ):
        assert path in paths, path


def test_scheduled_after_final_approval(api_as, team):
    operator = api_as(team.operator)
    at = (utcnow() + timedelta(days=2)).replace(microsecond=0).isoformat() + "Z"
    content_id = _create(operator, team, publish_at=at).json["id"]
    operator.post(f"/api/v1/contents/{content_id}/submit")
    final = _approve(api_as, team, content_id)
    assert final.json["status"] == ContentStatus.scheduled.value
