"""The delivery page after failures and withdrawal: truthful states, the right next steps, no codes."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from datetime import datetime
from pathlib import Path

from auth.models import Role
from moderation.models import ContentStatus
from platforms.models import AccountCredential
from publishers.models import Delivery, DeliveryStatus
from tests.conftest import PASSWORD
from tests.foundation.test_scoping import published  # noqa: F401  (the fixture)

INTERNAL_CODES = ("manual_publish", "manual_withdraw", "content_rejected", "withdraw_failed", "（代码")


def _login(client, user):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _row(html, platform):
    match = re.search(rf'<tr data-status="([^"]*)" data-platform="{platform}">(.*?)</tr>', html, re.S)
    assert match, html
    return match.group(1), match.group(2)


def test_retry_only_for_retryable_errors_and_no_internal_codes(client, published, db_session):  # noqa: F811
    _login(client, published.operator_a)
    page = f"/publishing/contents/{published.content.id}"
    html = client.get(page).get_data(as_text=True)
    status, weibo = _row(html, "weibo")
    assert status == "failed" and ">重试</button>" not in weibo and "重试无法解决" in weibo
    assert not any(code in html for code in INTERNAL_CODES), html
    _, douyin = _row(html, "douyin")
    assert "待人工处理（发布）" in douyin and "已在平台发布" in douyin and "下载人工发布包" in douyin

    published.failed.retryable = True
    db_session.commit()
    _, weibo = _row(client.get(page).get_data(as_text=True), "weibo")
    assert ">重试</button>" in weibo


def test_the_manual_package_mentioned_on_the_page_downloads(client, published):  # noqa: F811
    _login(client, published.operator_a)
    html = client.get(f"/publishing/contents/{published.content.id}").get_data(as_text=True)
    url = f"/publishing/deliveries/{published.manual.id}/manual-package"
    assert f'href="{url}"' in html
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    text = archive.read("说明.txt").decode("utf-8")
    assert "人工发布说明" in text and published.content.title in text
    assert client.get(f"/publishing/deliveries/{published.failed.id}/manual-package").status_code == 404


def test_reauthorisation_is_addressed_to_whoever_can_act(client, published, db_session, make_user):  # noqa: F811

    db_session.add(AccountCredential(account_id=published.account.id, ciphertext=b"", needs_reauth=True))
    published.failed.retryable = True
    db_session.commit()
    page = f"/publishing/contents/{published.content.id}"
    _login(client, published.operator_a)
    _, weibo = _row(client.get(page).get_data(as_text=True), "weibo")
    assert "请联系管理员重新授权" in weibo and ">重试</button>" not in weibo and "/accounts/" not in weibo
    client.post("/logout")
    _login(client, make_user(Role.admin, unit=published.unit_a))
    _, weibo = _row(client.get(page).get_data(as_text=True), "weibo")
    assert (
        f'/accounts/{published.account.id}#credentials">' in weibo
        and "前往账号页重新授权" in weibo
        and "请联系管理员" not in weibo
    )


def test_withdraw_asks_for_confirmation_then_shows_each_channel_truthfully(
    client,
    published,  # noqa: F811
    db_session,
    make_account,
):

    wechat = make_account(published.unit_a, "wechat")
    sent = Delivery(
        content_id=published.content.id,
        version=published.content.version,
        account_id=wechat.id,
        status=DeliveryStatus.sent,
        attempts=1,
        idempotency_key=uuid.uuid4().hex,
        content_hash=published.content.approved_hash,
        platform_post_id="mp-1",
        platform_url="https://mp.example.cn/s/1",
    )
    db_session.add(sent)
    db_session.commit()
    _login(client, published.operator_a)
    page = f"/publishing/contents/{published.content.id}"
    assert "确认后才会撤回" in client.get(page).get_data(as_text=True)

    confirm = client.post(f"{page}/withdraw", data={"reason": "误发，全部撤回"})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "确认撤回" in html and "误发，全部撤回" in html
    assert "已发布，将通过平台接口删除" in html and "尚未人工发布，将取消" in html
    db_session.expire_all()
    assert published.content.status is ContentStatus.partly_failed  # nothing happened yet

    done = client.post(f"{page}/withdraw", data={"reason": "误发，全部撤回", "confirm": "1"})
    assert done.status_code == 302
    db_session.expire_all()
    assert published.content.status is ContentStatus.withdrawn
    assert published.manual.status is DeliveryStatus.cancelled  # nobody is asked to publish it any more

    html = client.get(page).get_data(as_text=True)
    status, row = _row(html, "wechat")
    assert status == "withdrawing" and "正在从平台删除" in row and "已发布" not in row
    _, douyin = _row(html, "douyin")
    assert "已取消" in douyin and "已在平台发布" not in douyin and "人工发布包" not in douyin
    assert not any(code in html for code in INTERNAL_CODES)
    script = (Path(__file__).resolve().parents[2] / "static" / "js" / "autorefresh.js").read_text(encoding="utf-8")
    assert '"withdrawing"' in script  # the page keeps refreshing while the deletion runs


def test_withdraw_without_a_reason_changes_nothing(client, published, db_session):  # noqa: F811
    _login(client, published.operator_a)
    response = client.post(f"/publishing/contents/{published.content.id}/withdraw", data={"reason": " "})
    assert response.status_code == 302
    db_session.expire_all()
    assert published.content.withdraw_reason is None
    assert "撤回必须填写原因" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_sent_channel_shows_when_it_went_out_in_beijing_time(client, published, db_session):  # noqa: F811
    published.failed.status = DeliveryStatus.sent
    published.failed.sent_at = datetime(2026, 3, 2, 8, 5)  # naive UTC, as stored
    published.failed.platform_url = "https://weibo.com/1/abc"
    db_session.commit()
    _login(client, published.operator_a)
    html = client.get(f"/publishing/contents/{published.content.id}").get_data(as_text=True)
    status, weibo = _row(html, "weibo")
    assert status == "sent" and "2026-03-02 16:05 发出" in weibo
    _, douyin = _row(html, "douyin")
    assert "发出" not in douyin  # not sent yet: no time
    assert "已发出的渠道以上表“平台链接”中的实际内容为准" in html
