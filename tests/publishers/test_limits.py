"""Platform limits from the adapters' render() become blocking findings at submit."""

from __future__ import annotations

import io

from auth.models import Role
from tests.publishers.test_pipeline import PNG


def _draft(client, target_ids, **extra):
    body = {
        "title": "示范县召开秋季安全生产工作会议",
        "body": "<p>会议部署冬季防火工作。</p>",
        "disclosure": "active",
        "kind": "news",
        "target_ids": target_ids,
        **extra,
    }
    response = client.post("/api/v1/contents", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_wechat_target_without_cover_is_refused_with_the_platform_reason(api_as, make_user, make_unit, make_account):
    unit = make_unit()
    client = api_as(make_user(Role.operator, unit=unit))
    wechat = make_account(unit, "wechat")
    content_id = _draft(client, [wechat.id])
    response = client.post(f"/api/v1/contents/{content_id}/submit")
    assert response.status_code == 422
    findings = response.json["error"]["details"]["findings"]
    limits = [f for f in findings if f["kind"] == "platform_limit"]
    assert limits, findings
    assert all(f["severity"] == "block" for f in limits)
    assert any("微信公众号" in f["message"] for f in limits)


def test_with_a_cover_the_same_content_passes(api_as, make_user, make_unit, make_account, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path))
    unit = make_unit()
    client = api_as(make_user(Role.operator, unit=unit))
    wechat = make_account(unit, "wechat")
    upload = client.post(
        "/api/v1/media", data={"file": (io.BytesIO(PNG), "cover.png", "image/png")}, content_type="multipart/form-data"
    )
    assert upload.status_code == 201, upload.json
    content_id = _draft(
        client,
        [wechat.id],
        media=[{"name": "cover.png", "content_type": "image/png", "sha256": upload.json["sha256"], "alt": "会议现场"}],
    )
    response = client.post(f"/api/v1/contents/{content_id}/submit")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "review_1"


def test_weibo_topic_syntax_is_reported_by_the_checks_endpoint(api_as, make_user):
    client = api_as(make_user(Role.operator))
    response = client.post("/api/v1/checks", json={"text": "欢迎参加#示范县马拉松#活动", "platforms": ["weibo"]})
    assert response.status_code == 200
    kinds = {f["kind"] for f in response.json["findings"]}
    assert "platform_limit" in kinds
