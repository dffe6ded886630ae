"""Browser journey: a unit's operator has a 公众号 authorise the office's 微信第三方平台 (扫码授权).

On a stack of its own with the 第三方平台 configured (WECHAT_COMPONENT_*, the sandbox's component)
and Redis as the token store (the component_verify_ticket, pushed once to the web, must reach both
gunicorn workers and the inspection's process, as in production):

* the operator, at 390 px in 大字模式, opens the account page → 通过第三方平台授权 → the page says
  what will happen (the administrator scans the QR code on this PC page; no phone link) → the PC
  link opens the sandbox's componentloginpage → the 公众号's administrator confirms → our callback
  says 授权成功 in Chinese → the account page shows 已通过第三方平台授权 and no secret →
  ``flask inspection run`` (what the scheduler's sweep runs) reads the account's posts with the authorizer token;
* the twin: the administrator authorises another 公众号 than the ledger's → the Chinese refusal, no
  credential stored, the account page still says 未授权.

Every page of ours fits the screen (no sideways scrolling), passes axe and shows no raw code or
English word. Screenshots: test-output/screenshots/wxcomp-*.png.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from auth.models import User
from devkit import services
from oversight.inspection.models import LivePost
from platforms import credentials
from registry.models import Account, AccountStatus, Platform
from tests.browser.conftest import OUTPUT, LiveStack, axe, js_errors, shot, signed_in_people, start_live_stack
from tests.oversight.test_inspection_wechat_component import COMPONENT, TICKET_PUSH

pytestmark = pytest.mark.browser

#: the office's 第三方平台, as the settings give it (the sandbox registers it on the first ticket push)
COMPONENT_ENV = {f"WECHAT_{key.upper()}": value for key, value in COMPONENT.items()}
PHONE = (390, 844)
#: Latin words a Chinese page of ours may show: names WeChat itself uses on its pages.
ALLOWED_WORDS = {"AppID", "AppSecret", "IP", "ID"}
#: a Chinese character or full-width punctuation mark
CJK = "[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    workdir = Path(tempfile.mkdtemp(prefix="govmedia-wxcomp-", dir="/tmp"))
    try:
        with (
            services.redis_namespace(label="browser") as prefix,
            start_live_stack(
                workdir,
                REDIS_URL=services.REDIS_URL,
                REDIS_KEY_PREFIX=prefix,
                FIRST_SWEEP_MINUTES="600",
                **COMPONENT_ENV,
            ) as live,
        ):
            push_ticket(live)
            yield live
    finally:
        keep = OUTPUT / "wxcomp-stack-logs"
        shutil.rmtree(keep, ignore_errors=True)
        if (workdir / "logs").is_dir():
            shutil.copytree(workdir / "logs", keep)
        shutil.rmtree(workdir, ignore_errors=True)


def push_ticket(stack: LiveStack) -> None:
    """WeChat's component_verify_ticket push (every 10 minutes in production) to our 授权事件接收 URL."""
    pushed = stack.sandbox("POST", "/_sandbox/wechat/component/push-ticket", json=TICKET_PUSH)
    answer = requests.post(
        f"{stack.url}/interaction/push/wechat/component",
        params=pushed["query"],
        data=pushed["body"].encode() if isinstance(pushed["body"], str) else pushed["body"],
        timeout=30,
    )
    assert answer.status_code == 200 and answer.text == "success", answer.text


def new_appid() -> str:
    return "wx" + uuid.uuid4().hex[:16]


def ledger_account(stack: LiveStack, appid: str, name: str) -> int:
    """A 公众号 of the operator's unit in the ledger (AppID as its platform uid, no credentials),
    and on the sandbox's WeChat with one post made in the 公众平台."""
    with stack.db() as session:
        unit = session.scalar(sa.select(User).where(User.username == "operator")).unit
        account = Account(
            platform=Platform.wechat,
            platform_uid=appid,
            name=name,
            unit_id=unit.id,
            status=AccountStatus.active,
        )
        session.add(account)
        session.flush()
        account_id = account.id
    plant(stack, appid, name)
    return account_id


def plant(stack: LiveStack, appid: str, name: str) -> None:
    stack.sandbox(
        "POST",
        "/_sandbox/accounts",
        json={"platform": "wechat", "uid": appid, "app_id": appid, "name": name, "verified": True, "status": "active"},
    )


def stored(stack: LiveStack, account_id: int) -> dict[str, Any]:
    with stack.app.app_context():
        try:
            return credentials.get_credentials(account_id)
        except credentials.CredentialsUnavailable:
            return {}


def check_page(page: Any, name: str, *, data: tuple[str, ...] = (), prose: bool = False) -> str:
    """Screenshot, fits the screen, axe, no script errors, no raw code or English word (``data``:
    values the page rightly shows, such as an AppID); ``prose``: no stray space inside its Chinese
    sentences either. Returns the main text."""
    shot(page, f"wxcomp-{name}")
    scroll, client = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client, f"{name}: the page scrolls sideways ({scroll} > {client})"
    axe(page, f"wxcomp-{name}")
    assert not js_errors(page), f"script errors or CSP violations on {name}: {js_errors(page)}"
    text = page.locator("main").inner_text()
    for value in data:
        text = text.replace(value, "")
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*[A-Za-z_0-9]", text)) - ALLOWED_WORDS
    assert not words, f"{name} shows raw codes or English words: {sorted(words)}"
    stray = re.findall(f"{CJK} +{CJK}", text) if prose else []
    assert not stray, f"{name}: a space inside Chinese text (a line break in the template?): {stray}"
    return page.locator("main").inner_text()


def authorise_on_sandbox(page: Any, appid: str) -> None:
    """On the sandbox's componentloginpage the 公众号's administrator picks ``appid`` and confirms."""
    assert "/cgi-bin/componentloginpage" in page.url, page.url
    page.locator(f"input[name=uid][value='{appid}']").check()
    page.get_by_role("button", name="同意授权").click()
    page.wait_for_load_state()


def start_authorisation(page: Any, account_id: int, name: str, data: tuple[str, ...]) -> str:
    page.goto(f"/registry/accounts/{account_id}")
    check_page(page, f"{name}-account-before", data=data)
    assert "未配置平台凭据" in page.locator("#publishing-health").inner_text()
    page.get_by_role("button", name="通过第三方平台授权").click()
    page.wait_for_load_state()
    text = check_page(page, f"{name}-links", data=data, prose=True)
    assert "请公众号管理员完成授权" in text and "管理员的微信" in text and "授权了别的公众号会被拒绝" in text, text
    pc = page.get_by_role("link", name="打开授权页（电脑扫码）")
    assert "/cgi-bin/componentloginpage?" in (pc.get_attribute("href") or "")
    # The administrator scans the QR code on this PC page: no phone link to forward (its redirect
    # would come back inside the administrator's WeChat, without the operator's one-use state).
    assert "bindcomponent" not in page.content() and "这台电脑" in text and "不能转发" in text, text
    assert re.search(r"授权页 \d+ 分钟内有效", text), text
    pc.click()
    page.wait_for_load_state()
    return text


def test_operator_authorises_the_account_through_the_component(
    stack: LiveStack, browser: Any, request: pytest.FixtureRequest
) -> None:
    appid = new_appid()
    name = f"示范县扫码授权{appid[-4:]}"
    account_id = ledger_account(stack, appid, name)
    post = stack.sandbox(
        "POST",
        "/_sandbox/app/posts",
        json={"platform": "wechat", "uid": appid, "text": "第三方平台授权后巡检读取的文章"},
    )["post"]
    data = (appid, name)

    with signed_in_people(browser, stack.url, request, viewport=PHONE, failed_prefix="FAILED-wxcomp") as open_as:
        page = open_as("operator")
        page.get_by_role("button", name="大字模式").click()
        assert page.get_by_role("button", name="大字模式").get_attribute("aria-pressed") == "true"

        start_authorisation(page, account_id, "ok", data)
        shot(page, "wxcomp-ok-sandbox")
        authorise_on_sandbox(page, appid)

        assert page.url.startswith(stack.url + "/publishing/wechat/component/callback"), page.url
        assert page.evaluate("() => document.documentElement.classList.contains('gm-large-font')")
        text = check_page(page, "ok-callback", data=data, prose=True)
        assert page.get_by_role("heading", name="授权成功").is_visible()
        assert f"授权成功：公众号（AppID {appid}）已授权本平台，测试连接成功" in text, text

        grant = stored(stack, account_id)
        assert grant["app_id"] == appid and grant["via"] == "component" and "app_secret" not in grant

        page.get_by_role("link", name="返回账号页").click()
        page.wait_for_load_state()
        assert page.url.endswith(f"/registry/accounts/{account_id}#publishing-health"), page.url
        text = check_page(page, "ok-account-after", data=data)
        health = page.locator("#publishing-health").inner_text()
        assert "已通过第三方平台授权" in health and "未配置平台凭据" not in health, health
        html = page.content()
        assert grant["refresh_token"] not in html

        # The inspection (`flask inspection run`, what the scheduler's sweep runs) reads the
        # account's posts with the authorizer token; the operator sees the post the account made
        # in the 公众平台 on the account's inspection page.
        lines = stack.flask("inspection", "run", "--account", str(account_id), "--json").splitlines()
        outcome = next(line for line in lines if line.startswith("{"))
        assert '"result": "checked"' in outcome and '"source": "own_api"' in outcome, outcome
        with stack.db() as session:
            seen = set(session.scalars(sa.select(LivePost.platform_post_id).where(LivePost.account_id == account_id)))
        assert post["post_id"] in seen, seen
        page.locator("#account-posts").click()
        page.wait_for_load_state()
        text = check_page(page, "ok-account-posts", data=data)
        assert "第三方平台授权后巡检读取的文章" in text, text


def test_another_gongzhonghao_is_refused_and_nothing_changes(
    stack: LiveStack, browser: Any, request: pytest.FixtureRequest
) -> None:
    mine, other = new_appid(), new_appid()
    name = f"示范县拒绝授权{mine[-4:]}"
    account_id = ledger_account(stack, mine, name)
    plant(stack, other, "别的公众号")
    data = (mine, other, name)

    with signed_in_people(browser, stack.url, request, failed_prefix="FAILED-wxcomp-refused") as open_as:
        page = open_as("operator")
        start_authorisation(page, account_id, "refused", data)
        authorise_on_sandbox(page, other)

        text = check_page(page, "refused-callback", data=data, prose=True)
        assert page.get_by_role("heading", name="授权未完成").is_visible()
        assert f"授权的公众号（AppID {other}）不是台账账号“{name}”" in text, text
        assert "授权未保存，账号的凭据没有任何改变" in text, text
        assert stored(stack, account_id) == {}

        page.get_by_role("link", name="返回账号页").click()
        page.wait_for_load_state()
        check_page(page, "refused-account-after", data=data)
        health = page.locator("#publishing-health").inner_text()
        assert "未配置平台凭据" in health and "已通过第三方平台授权" not in health, health
