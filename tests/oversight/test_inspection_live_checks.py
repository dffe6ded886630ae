# ruff: noqa: F811 - the unit fixture is imported and then requested
"""Every draft check runs on what accounts publish, against the sandbox over HTTP: a secrecy mark,
a citizen's ID number and a commercial link in a post made in the platform's app each raise a
``post_check_hit`` naming the problem, the place and the fix; the same words as prose (a warning
for a draft) raise nothing — the negative twin."""

from __future__ import annotations

from oversight.inspection import service
from oversight.models import FindingKind
from tests.moderation.test_checks import VALID_ID
from tests.oversight.test_inspection import app_post, findings, plant, posts, unit  # noqa: F401

C = FindingKind.post_check_hit


def test_secrecy_privacy_and_links_on_live_posts_and_prose_twin(db_session, sandbox, unit, make_account):
    account = make_account(unit, "weibo", name=unit.name)
    plant(sandbox, "weibo", account.platform_uid, name=unit.name, subject=unit.name)
    marked = app_post(sandbox, "weibo", account.platform_uid, "机密★长期\n关于冬季防火工作的部署")
    private = app_post(sandbox, "weibo", account.platform_uid, f"寻找失主：身份证号{VALID_ID}，请到派出所认领")
    shop = app_post(
        sandbox, "weibo", account.platform_uid, "年货节优惠，购买请点 https://item.taobao.com/item.htm?id=123"
    )
    prose = app_post(
        sandbox, "weibo", account.platform_uid, "全体干部要保守秘密，严守纪律。详见 https://www.gov.cn/a.htm"
    )

    service.inspect_account(account.id)

    by_post = {f.evidence["post_id"]: f for f in findings(db_session, account, C)}
    assert set(by_post) == {marked["post_id"], private["post_id"], shop["post_id"]}  # prose: none

    (hit,) = by_post[marked["post_id"]].evidence["hits"]
    assert (hit["kind"], hit["text"], hit["start"]) == ("secrecy", "机密★长期", 0)
    assert "【机密★长期】" in by_post[marked["post_id"]].evidence["excerpt"]

    (hit,) = by_post[private["post_id"]].evidence["hits"]
    assert (hit["kind"], hit["rule"]) == ("privacy", "privacy.id18")
    assert hit["suggestion"] == VALID_ID[:3] + "*" * 11 + VALID_ID[-4:]  # the fix: masked
    assert "个人信息" in by_post[private["post_id"]].evidence["message"]

    (hit,) = by_post[shop["post_id"]].evidence["hits"]
    assert (hit["kind"], hit["rule"]) == ("link", "link.commercial:taobao.com")

    # The prose twin was checked (its warnings are kept on the post) but is no finding.
    stored = posts(db_session, account)[prose["post_id"]]
    assert stored.checked_version and all(h["severity"] == "warn" for h in stored.check_hits)
    assert {h["kind"] for h in stored.check_hits} == {"secrecy"}
