"""Links stored from users are http(s) only, and pages render nothing else as a link (#19)."""

from __future__ import annotations

import pytest
from flask import url_for

from auth.models import Role
from publishers.models import DeliveryStatus
from tests.foundation.test_scoping import published
from tests.oversight.test_findings_api import login

__all__ = ["published"]  # the fixture, used below

BAD_URLS = ["javascript:alert(document.cookie)", "JaVaScRiPt:alert(1)", "data:text/html,<script>1</script>", "//x.cn"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_manual_done_refuses_non_http_links(api_as, published, db_session, url):
    client = api_as(published.operator_a)
    response = client.post(f"/api/v1/deliveries/{published.manual.id}/manual-done", json={"url": url})
    assert response.status_code == 422
    assert "http" in str(response.json["error"]["details"])
    db_session.expire_all()
    assert published.manual.status is DeliveryStatus.manual and published.manual.platform_url is None


def test_manual_done_page_refuses_non_http_links(client, published, db_session):
    login(client, published.operator_a)
    client.post(f"/publishing/deliveries/{published.manual.id}/manual-done", data={"url": BAD_URLS[0]})
    db_session.expire_all()
    assert published.manual.status is DeliveryStatus.manual and published.manual.platform_url is None


def test_manual_done_keeps_an_https_link(api_as, published, db_session):
    url = "https://www.douyin.com/video/7312345678901234567"
    response = api_as(published.operator_a).post(
        f"/api/v1/deliveries/{published.manual.id}/manual-done", json={"url": url}
    )
    assert response.status_code == 200, response.json
    db_session.expire_all()
    assert published.manual.platform_url == url


def test_delivery_page_renders_only_http_links(client, published, db_session):
    published.manual.platform_url = "javascript:alert(1)"  # stored before validation existed
    published.failed.platform_url = "https://weibo.com/123/abc"
    db_session.commit()
    login(client, published.operator_a)
    html = client.get(f"/publishing/contents/{published.content.id}").get_data(as_text=True)
    assert "javascript:" not in html
    assert 'href="https://weibo.com/123/abc"' in html


def test_account_page_renders_only_http_links(client, make_user, make_unit, make_account, db_session):

    unit = make_unit("链接测试县")
    account = make_account(unit, "weibo", credentials=False, profile_url="javascript:alert(2)")
    auditor = make_user(Role.auditor)
    db_session.commit()
    login(client, auditor)
    with client.application.test_request_context():
        page = url_for("registry.account_page", account_id=account.id)
    html = client.get(page).get_data(as_text=True)
    assert "javascript:alert(2)" in html  # shown as text, so the auditor sees what is stored
    assert 'href="javascript:' not in html
