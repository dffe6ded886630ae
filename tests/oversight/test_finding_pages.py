# ruff: noqa: F811 - the publishing fixtures (approve, author) are imported and then requested
"""What the office and the operators read on the 巡检 pages, against the sandbox over HTTP:

* a 巡检 finding (篡改, 平台删除, 未经三审发布) leads to the account, its posts on the platform,
  the 稿件, the post itself and its work order, and its evidence is in words (no internal keys or
  codes); the work order's history names people, not logins;
* the findings list and an account's history show Beijing time;
* the coverage page lists the accounts it cannot see, each with what would let it see them;
* the 互动回应 inbox says which post a comment is on, and the operator's 待办 lists the comments
  not yet answered; an account's posts name their 稿件;
* the 考评 rules say where each value comes from in words, not as [C]/[I] marks.
"""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from auth.models import Role
from common.db import utcnow
from common.timefmt import bj
from oversight import findings as findings_service
from oversight import monitoring
from oversight.inspection import service
from oversight.interaction.cli import poll_one
from oversight.models import Finding, FindingKind, FindingStatus
from oversight.workorders.models import WorkOrder
from registry.models import AccountEvent
from tests.oversight.test_inspection import app_post, fresh_rate_limiter, plant, publish  # noqa: F401
from tests.oversight.test_monitoring import obs_for
from tests.publishers.test_pipeline import approve, author, unit  # noqa: F401 - fixtures

RAW_KEYS = ("live_post_id", "delivery_id", "live_text_hash", "approved_text", "severity", "own_api", "post_url")


def visible(html: str) -> str:
    """The page's text as a person reads it (tags dropped, whitespace folded)."""
    html = re.sub(r"<(script|style|textarea)\b.*?</\1>", " ", html, flags=re.S)  # a textarea holds input
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def page(api_as, user, path):
    response = api_as(user).get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def finding(db_session, account, kind):
    return db_session.scalars(
        sa.select(Finding).where(
            Finding.account_id == account.id,
            Finding.kind == kind,
            Finding.status.in_((FindingStatus.open, FindingStatus.confirmed)),
        )
    ).one()


def test_tampered_post_finding_leads_to_account_posts_content_and_post(
    db_session, sandbox, unit, make_account, approve, make_user, api_as
):
    account = make_account(unit, "weibo", name="页面测试县发布")
    plant(sandbox, "weibo", account.platform_uid, name=account.name, subject=unit.name)
    content = publish(db_session, approve, [account], title="页面测试县冬季供暖通知")
    (post,) = sandbox.live_posts("weibo")
    service.inspect_account(account.id)
    sandbox.call("POST", f"/_sandbox/posts/weibo/{post['post_id']}/edit", json={"text": "本账号已被接管"})
    service.inspect_account(account.id)
    f = finding(db_session, account, FindingKind.tampered)
    auditor = make_user(Role.auditor)

    html = page(api_as, auditor, f"/findings/{f.id}")
    text = visible(html)
    assert f'href="/registry/accounts/{account.id}"' in html and "台账账号「页面测试县发布」" in text
    assert f'href="/inspection/accounts/{account.id}/posts"' in html
    assert f'href="/publishing/contents/{content.id}"' in html and "稿件《页面测试县冬季供暖通知》" in text
    assert "查看平台原文" in text and f'href="{f.evidence["post_url"]}"' in html
    assert "终审通过的文本" in text and "平台上的现文 本账号已被接管" in text and "严重程度 高" in text
    assert "数据来源 账号自身授权" in text
    for raw in RAW_KEYS:
        assert raw not in text, raw
    # nothing to compare with the platform's profile: no table of empty cells
    assert 'id="comparison"' not in html and "无平台数据" not in text
    # the post's page marks what changed: the approved words deleted, the takeover's inserted
    post_html = page(api_as, auditor, f"/inspection/posts/{f.evidence['live_post_id']}")
    changes = re.search(r'<div class="marked-text" id="tamper-changes">(.*?)</div>', post_html, flags=re.S).group(1)
    assert '<ins class="diff-ins">本账号已被接管</ins>' in changes and '<del class="diff-del">' in changes

    # confirmed, it becomes a work order; its history names the office's person, not the login
    auditor.display_name = "网信办-页面测试"
    findings_service.act(f, "confirm", auditor, "请核实是否被盗用")
    db_session.flush()
    order = db_session.scalars(sa.select(WorkOrder).where(WorkOrder.finding_id == f.id)).one()
    assert f'href="/workorders/{order.id}"' in page(api_as, auditor, f"/findings/{f.id}")
    history = visible(page(api_as, auditor, f"/workorders/{order.id}"))
    assert "网信办-页面测试：下发整改" in history and f"{auditor.username}：" not in history

    listing = page(api_as, auditor, "/findings/")
    row = re.search(r'<tr data-kind="tampered".*?</tr>', listing, flags=re.S).group(0)
    assert bj(f.last_seen_at) in visible(row)  # Beijing time, not the stored UTC
    assert f'href="/registry/accounts/{account.id}"' in row


def test_removed_post_finding_names_its_content(db_session, sandbox, unit, make_account, approve, make_user, api_as):
    account = make_account(unit, "wechat", name=unit.name)
    plant(sandbox, "wechat", account.platform_uid, name=unit.name, subject=unit.name)
    content = publish(db_session, approve, [account], title="删除测试县防汛通知")
    service.inspect_account(account.id)
    (post,) = sandbox.live_posts("wechat")
    sandbox.call("POST", f"/_sandbox/posts/wechat/{post['post_id']}/remove", json={"by": "platform"})
    service.inspect_account(account.id)
    f = finding(db_session, account, FindingKind.post_removed)
    auditor = make_user(Role.auditor)

    text = visible(html := page(api_as, auditor, f"/findings/{f.id}"))
    assert "稿件《删除测试县防汛通知》的发布状态" in text and f'href="/publishing/contents/{content.id}"' in html
    assert "由平台删除或屏蔽 是" in text and "删除或屏蔽原因" in text
    # the account's posts name the 稿件 of the removed post too
    posts = page(api_as, auditor, f"/inspection/accounts/{account.id}/posts")
    assert "稿件《删除测试县防汛通知》" in visible(posts)


def test_unreviewed_post_finding_shows_links_and_times_as_read(
    db_session, sandbox, make_unit, make_account, make_user, api_as
):
    unit = make_unit("三审测试县人民政府", region="三审测试县")
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    made = app_post(sandbox, "weibo", account.platform_uid, "今晚停水检修", created_at="2026-03-02T08:05:00+00:00")
    service.inspect_account(account.id)
    f = finding(db_session, account, FindingKind.unreviewed_post)
    auditor = make_user(Role.auditor)

    html = page(api_as, auditor, f"/findings/{f.id}")
    text = visible(html)
    (listed,) = f.evidence["posts"]
    assert made["text"] in text and f'href="{listed["post_url"]}"' in html
    assert "http·" not in text  # a link, not "http·//"
    assert "2026-03-02 16:05" in text  # the posts table in Beijing time
    assert "发现日期" in text and "涉及的全部内容编号" in text
    # the finding is about the day's posts, listed in the table (each with its page), not about the first one
    assert "平台内容编号" not in text and "标题" not in text.split("证据")[1]
    assert f'href="/inspection/posts/{listed["live_post_id"]}"' in html
    for raw in RAW_KEYS:
        assert raw not in text, raw


def test_coverage_lists_the_accounts_it_cannot_see_and_what_to_provide(
    db_session, sandbox, make_unit, make_account, make_user, api_as
):
    unit = make_unit("盲区测试县人民政府", region="盲区测试县")
    other = make_unit("盲区测试县交通局", region="盲区测试县")
    seen = make_account(unit, "weibo", name="盲区测试县发布")
    plant(sandbox, "weibo", seen.platform_uid, name=seen.name, subject=unit.name)
    blind = make_account(unit, "wechat", name="盲区测试县公众号", credentials=False)
    no_uid = make_account(other, "toutiao", name="盲区测试县交通头条", credentials=False)
    no_uid.platform_uid = None
    db_session.flush()
    for a in (seen, blind, no_uid):
        service.inspect_account(a.id)
    auditor = make_user(Role.auditor)

    html = page(api_as, auditor, "/inspection/coverage")
    table = visible(re.search(r'<table class="data" id="coverage-blind">.*?</table>', html, flags=re.S).group(0))
    assert "盲区测试县公众号" in table and "由单位在账号页完成平台授权" in table
    assert "盲区测试县交通头条" in table and "在台账中补登平台账号ID" in table
    assert "盲区测试县发布" not in table  # read a moment ago: not blind
    assert f'href="/registry/accounts/{blind.id}"' in html
    # stale inspection data is not mistaken for an account that stopped posting (超14天未更新)
    text = visible(html)
    assert "巡检数据过期" in text and "与账号本身是否更新无关" in text and "过期未更新" not in text
    assert re.search(r"统计时间 \d{4}-\d\d-\d\d \d\d:\d\d（北京时间）", text)

    narrowed = page(api_as, auditor, f"/inspection/coverage?unit_id={other.id}")
    table = visible(re.search(r'id="coverage-blind">.*?</table>', narrowed, flags=re.S).group(0))
    assert "盲区测试县交通头条" in table and "盲区测试县公众号" not in table


def test_inbox_says_which_post_a_comment_is_on(db_session, sandbox, make_unit, make_account, make_user, api_as):
    unit = make_unit("评论测试县人民政府", region="评论测试县")
    account = make_account(unit, "weibo", name=unit.name)
    sandbox.call(
        "POST",
        "/_sandbox/accounts",
        json={"platform": "weibo", "uid": account.platform_uid, "posts": [{"text": "评论测试县冬季供暖保障通知"}]},
    )
    post_id = next(p for p in sandbox.posts("weibo") if p["uid"] == account.platform_uid)["post_id"]
    sandbox.call(
        "POST",
        "/_sandbox/comments",
        json={"platform": "weibo", "uid": account.platform_uid, "post_id": post_id, "text": "暖气什么时候来？"},
    )
    service.inspect_account(account.id)
    poll_one(account.id)
    operator = make_user(Role.operator, unit=unit)

    text = visible(page(api_as, operator, "/interaction/"))
    assert "暖气什么时候来？ 评论的内容： 评论测试县冬季供暖保障通知" in text
    # and the operator's 待办 has it, leading to the inbox of that account
    todo = page(api_as, operator, "/todo/")
    section = re.search(r'id="section-unanswered".*?</section>', todo, flags=re.S).group(0)
    assert "未回复的评论和私信（1）" in visible(section) and "暖气什么时候来？" in visible(section)
    assert f'href="/interaction/?account_id={account.id}"' in section
    mine = visible(page(api_as, operator, f"/interaction/?account_id={account.id}"))
    assert "只列出一个账号的评论和私信" in mine and "查看全部账号" in mine and "暖气什么时候来？" in mine


def test_account_history_is_in_beijing_time(db_session, make_unit, make_account, make_user, api_as):
    unit = make_unit("历史测试县人民政府")
    account = make_account(unit, "weibo")
    event = AccountEvent(account_id=account.id, action="create", to_status=account.status.value)
    db_session.add(event)
    db_session.flush()
    text = visible(page(api_as, make_user(Role.auditor), f"/registry/accounts/{account.id}"))
    assert "UTC" not in text and bj(event.at) in text


def test_scoring_rules_name_their_basis_in_words(db_session, make_user, api_as):
    text = visible(page(api_as, make_user(Role.auditor), "/scoring/rules"))
    assert "推断，待核实" in text and "有出处" in text
    assert "[I]" not in text and "[C]" not in text


def test_review_queue_states_its_time_limit_without_a_trailing_zero(db_session, make_user, api_as):
    text = visible(page(api_as, make_user(Role.reviewer_1), "/review?stage=1"))
    assert re.search(r"等待超过 \d+ 小时标为“超时”", text), text[:400]


def test_account_page_leads_to_its_posts_and_its_findings(db_session, make_unit, make_account, make_user, api_as):
    unit = make_unit("链接测试县人民政府")
    account = make_account(unit, "weibo")
    other = make_account(unit, "douyin")
    for a in (account, other):
        findings_service.upsert_many(
            [
                findings_service.FindingInput(
                    kind=FindingKind.inactive_14d,
                    fingerprint=f"walk:{a.id}",
                    evidence={"message": f"账号{a.id}超过14天未更新"},
                    unit_id=unit.id,
                    account_id=a.id,
                )
            ]
        )
    auditor = make_user(Role.auditor)
    html = page(api_as, auditor, f"/registry/accounts/{account.id}")
    assert f'href="/inspection/accounts/{account.id}/posts"' in html
    assert f'href="/findings/?account_id={account.id}"' in html
    listing = visible(page(api_as, auditor, f"/findings/?account_id={account.id}"))
    assert f"账号{account.id}超过14天未更新" in listing and f"账号{other.id}超过14天未更新" not in listing
    assert "只列出一个台账账号的线索" in listing and "查看全部线索" in listing


def test_no_channel_finding_leads_to_where_the_channel_is_recorded(
    db_session, make_unit, make_account, make_user, api_as
):
    unit = make_unit("渠道测试县人民政府")
    account = make_account(unit, "toutiao", name="渠道测试县发布")
    findings_service.upsert_many(
        [
            findings_service.FindingInput(
                kind=FindingKind.no_interaction_channel,
                fingerprint=f"walk:channel:{account.id}",
                evidence={"message": "没有有效的互动渠道", "reason": "未登记"},
                unit_id=unit.id,
                account_id=account.id,
            )
        ]
    )
    f = finding(db_session, account, FindingKind.no_interaction_channel)
    html = page(api_as, make_user(Role.auditor), f"/findings/{f.id}")
    assert f'href="/interaction/accounts/{account.id}/channel"' in html and "登记该账号的互动渠道" in visible(html)
    assert 'id="comparison"' not in html


def test_no_comparison_table_when_the_platform_returned_nothing(
    db_session, sandbox, make_unit, make_account, make_user, api_as
):
    """账号未授权 and 超14天未更新 whose platform said nothing (no source; a failed call, figures from the
    registry's cache): no table of empty cells. One whose platform did answer keeps it."""
    unit = make_unit("对照测试县人民政府")
    auditor = make_user(Role.auditor)
    blind = make_account(unit, "wechat", name="对照测试县未授权号", credentials=False)
    service.inspect_account(blind.id)
    f = finding(db_session, blind, FindingKind.not_authorised)
    html = page(api_as, auditor, f"/findings/{f.id}")
    assert "未向本平台授权" in visible(html)
    assert 'id="comparison"' not in html and "无平台数据" not in visible(html)

    silent = make_account(unit, "weibo", name="对照测试县沉默号")
    silent.last_post_at = utcnow() - timedelta(days=16)
    error = {"type": "TransientError", "code": "http_503", "message": "平台服务异常（HTTP 503）"}
    monitoring.apply_activity(obs_for(silent, ok=False, error=error))
    f = finding(db_session, silent, FindingKind.inactive_14d)
    html = page(api_as, auditor, f"/findings/{f.id}")
    assert "16天未更新" in visible(html)
    assert 'id="comparison"' not in html

    answered = make_account(unit, "douyin", name="对照测试县抖音号")
    monitoring.apply_activity(obs_for(answered, days=20))
    f = finding(db_session, answered, FindingKind.inactive_14d)
    html = page(api_as, auditor, f"/findings/{f.id}")
    assert 'id="comparison"' in html and "台账与平台信息对照" in visible(html)


def test_check_hit_finding_shows_the_hit_in_its_place_and_the_post_page_the_whole_text(
    db_session, sandbox, make_unit, make_account, make_user, api_as
):
    """A 检查命中 finding carries an excerpt around the hit (not a copy of the whole post); its
    link leads to the post's page, where the whole text is shown with the hits marked and the
    unit can record an exception. Another unit's operator cannot open it."""
    unit = make_unit("摘录测试县人民政府", region="摘录测试县")
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    long_text = "今天" + "全县开展冬季安全生产检查，" * 10 + "庆祝中华人民共合国成立七十七周年" + "欢迎监督。" * 10
    long_text += "再次庆祝中华人民共合国成立。"  # the same hit twice: two places, one message
    app_post(sandbox, "weibo", account.platform_uid, long_text)
    service.inspect_account(account.id)
    f = finding(db_session, account, FindingKind.post_check_hit)
    auditor = make_user(Role.auditor)

    text = visible(html := page(api_as, auditor, f"/findings/{f.id}"))
    assert "内容摘录（【】内为命中处）" in text and "【中华人民共合国】" in text
    assert "全县开展冬季安全生产检查，" * 4 not in text  # 30 characters either side, not the whole post
    assert "已发布内容有 2 处阻断级问题（严重表述错误）" in text
    assert text.count("应为“中华人民共和国”") == 1 + 2  # the summary says it once; each hit is listed
    post_path = f"/inspection/posts/{f.evidence['live_post_id']}"
    assert f'href="{post_path}" id="link-live-post"' in html and "该条内容全文与检查结果" in text

    text = visible(html := page(api_as, auditor, post_path))
    assert '<mark class="finding-block"' in html and ">中华人民共合国</mark>" in html
    assert "全县开展冬季安全生产检查，" * 10 in text.replace(" ", "")  # the whole text, not 140 characters
    assert "平台上发现" in text and f"#{f.id}" in text and "登记例外" in text
    for raw in RAW_KEYS:
        assert raw not in text, raw

    data = api_as(auditor).get(f"/api/v1/inspection/posts/{f.evidence['live_post_id']}").get_json()
    assert data["text"] == long_text and data["blocking_hits"] == 2
    assert {o["kind"] for o in data["open_findings"]} == {"post_check_hit", "unreviewed_post"}  # found, not ours

    # the unit's operator records the exception from the post's page and comes back to it
    operator = make_user(Role.operator, unit=unit)
    resp = api_as(operator).post(post_path + "/exception", data={"reason": "转发指定稿源", "back": "post"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(post_path)
    assert "已登记例外：转发指定稿源" in visible(page(api_as, operator, post_path))

    other = make_user(Role.operator, unit=make_unit("摘录测试邻县人民政府", region="摘录测试邻县"))
    assert api_as(other).get(post_path).status_code == 404
    assert api_as(other).get(f"/api/v1/inspection/posts/{f.evidence['live_post_id']}").status_code == 404
    assert api_as(auditor).get("/api/v1/inspection/posts/999999").status_code == 404


def test_rename_and_unauthorised_findings_read_in_words(
    db_session, sandbox, make_unit, make_account, make_user, api_as
):
    """Every evidence key of the rename (literal, decorative suffix) and the 未授权 findings has a
    Chinese label: no English key is shown to the office."""
    unit = make_unit("字面测试县应急管理局", region="字面测试县")
    renamed = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", renamed.platform_uid, name=f"{unit.name}在线", subject=unit.name)
    blind = make_account(unit, "douyin", name="字面测试县抖音", credentials=False)
    for account in (renamed, blind):
        service.inspect_account(account.id)
    auditor = make_user(Role.auditor)

    rename = visible(page(api_as, auditor, f"/findings/{finding(db_session, renamed, FindingKind.name_mismatch).id}"))
    assert "仅修饰性后缀不同（如“在线”“发布”） 是" in rename and "名称相近、仅字面不同 是" in rename
    todo = visible(page(api_as, auditor, f"/findings/{finding(db_session, blind, FindingKind.not_authorised).id}"))
    assert "需要单位办理 请授权账号以纳入巡检" in todo
    for raw in (*RAW_KEYS, "literal_only", "decorative_only", "todo"):
        assert raw not in rename and raw not in todo, raw
