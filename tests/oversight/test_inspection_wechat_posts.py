# ruff: noqa: F811 - the publishing fixtures (approve, author) are imported and then requested
"""Issue 21 acceptance audit, WeChat posts against the sandbox over HTTP, each with its twin:

- 防篡改 of a 公众号 article: sent without a 摘要, the platform lists the start of the body as
  its digest (draft/add: "如本字段为没有填写，则默认抓取正文前54个字") — that is no tampering;
  an edited digest is; an explicit 摘要 is compared as it is; a post judged tampered under an
  earlier rule is compared again and its finding resolved;
- a govmedia article deleted after publishing (publish_status 5, by the account) is
  ``post_removed`` with the lower confidence (6, banned by the platform: test_inspection.py).
"""

from __future__ import annotations

import sqlalchemy as sa

from oversight.inspection import service
from oversight.inspection.models import LivePost, PostState
from oversight.models import Finding, FindingKind
from tests.oversight.test_inspection import findings, fresh_rate_limiter, plant, posts, publish, unit  # noqa: F401
from tests.publishers.test_pipeline import approve, author  # noqa: F401 - fixtures

T, R = FindingKind.tampered, FindingKind.post_removed


def _wechat(db_session, sandbox, unit, make_account, approve, **kw):
    account = make_account(unit, "wechat", name=unit.name)
    plant(sandbox, "wechat", account.platform_uid, name=unit.name, subject=unit.name)
    publish(db_session, approve, [account], **kw)
    (post,) = sandbox.live_posts("wechat")
    return account, post


def test_article_without_a_summary_is_not_tampered_and_an_edited_digest_is(
    db_session, sandbox, unit, make_account, approve
):
    body = "全县今冬明春供暖季自11月15日开始，各供热企业须按时达标供热，群众可拨打供热服务热线反映问题。" * 2
    account, post = _wechat(db_session, sandbox, unit, make_account, approve, title="供暖季开始通知", body=body)
    service.inspect_account(account.id)
    lp = posts(db_session, account)[post["post_id"]]
    assert lp.text and body.startswith(lp.text)  # the platform's own digest: the start of the body
    assert lp.tamper_state == "same" and findings(db_session, account, T) == []

    service.inspect_account(account.id)  # seen again unchanged: still nothing
    assert findings(db_session, account, T) == []

    sandbox.call(
        "POST", f"/_sandbox/posts/wechat/{post['post_id']}/edit", json={"text": "全县今冬明春供暖季推迟，另行通知"}
    )
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, T)
    assert f.evidence["severity"] == "high" and "推迟" in f.evidence["live_text"]
    assert f.evidence["approved_text"].startswith("供暖季开始通知\n全县今冬明春供暖季自11月15日开始")

    sandbox.call("POST", f"/_sandbox/posts/wechat/{post['post_id']}/edit", json={"text": post["text"]})
    service.inspect_account(account.id)
    assert findings(db_session, account, T) == []  # restored → resolved


def test_article_with_its_own_summary_is_compared_as_approved(db_session, sandbox, unit, make_account, approve):
    account, post = _wechat(db_session, sandbox, unit, make_account, approve, summary="供热服务热线全天有人接听")
    service.inspect_account(account.id)
    assert posts(db_session, account)[post["post_id"]].tamper_state == "same"
    assert findings(db_session, account, T) == []

    # A digest cut short is not the approved 摘要 (only an empty one is the platform's to make).
    sandbox.call("POST", f"/_sandbox/posts/wechat/{post['post_id']}/edit", json={"text": "供热服务热线"})
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, T)
    assert f.evidence["approved_text"].endswith("供热服务热线全天有人接听")


def test_a_digest_cut_shorter_than_the_platforms_cut_is_tampering(db_session, sandbox, unit, make_account, approve):
    """Sent without a 摘要, the platform's digest is the body's first 54 characters: a shorter
    beginning turning a rebuttal into the rumour it rebuts is an edit, not the platform's digest."""
    body = "网传我县将于明日封城系谣言，请广大群众不信谣不传谣，相关部门已依法处置造谣者，生活物资供应充足，请放心。"
    account, post = _wechat(db_session, sandbox, unit, make_account, approve, title="辟谣", body=body)
    service.inspect_account(account.id)
    assert findings(db_session, account, T) == []  # the platform's own cut: no tampering

    sandbox.call("POST", f"/_sandbox/posts/wechat/{post['post_id']}/edit", json={"text": "网传我县将于明日封城"})
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, T)
    assert f.evidence["live_text"] == "辟谣\n网传我县将于明日封城"
    assert "未填摘要：平台取正文开头作摘要" in f.evidence["approved_text"]  # the reader sees why it ends there


def test_an_approved_summary_ending_in_dots_is_compared_as_written(db_session, sandbox, unit, make_account, approve):
    """A 摘要 of its own that ends in …… (common) is not taken for the platform's digest: a live
    digest that keeps only its beginning is tampering."""
    account, post = _wechat(
        db_session, sandbox, unit, make_account, approve, summary="停水通知：明日全天停水，请做好储水准备……"
    )
    service.inspect_account(account.id)
    assert findings(db_session, account, T) == []

    sandbox.call("POST", f"/_sandbox/posts/wechat/{post['post_id']}/edit", json={"text": "停"})
    service.inspect_account(account.id)
    assert len(findings(db_session, account, T)) == 1


def test_a_post_judged_tampered_by_an_earlier_rule_is_compared_again(db_session, sandbox, unit, make_account, approve):
    account, post = _wechat(db_session, sandbox, unit, make_account, approve)
    service.inspect_account(account.id)
    # As an earlier rule left it: the approved digest empty, the post tampered, a finding open.
    lp = db_session.scalars(sa.select(LivePost).where(LivePost.account_id == account.id)).one()
    lp.expected_text, lp.tamper_state = lp.title + "\n", "tampered"
    db_session.add(
        Finding(
            kind=T,
            fingerprint=f"tampered:account={account.id}:post={post['post_id']}",
            account_id=account.id,
            unit_id=unit.id,
            evidence={"message": "经三审发布的内容在平台上已与终审稿不一致", "post_id": post["post_id"]},
        )
    )
    db_session.commit()
    assert len(findings(db_session, account, T)) == 1

    service.inspect_account(account.id)
    assert posts(db_session, account)[post["post_id"]].tamper_state == "same"
    assert findings(db_session, account, T) == []


def test_deleted_after_publishing_is_a_removal(db_session, sandbox, unit, make_account, approve):
    account, post = _wechat(db_session, sandbox, unit, make_account, approve)
    service.inspect_account(account.id)
    assert findings(db_session, account, R) == []  # still there → nothing

    sandbox.call("POST", f"/_sandbox/posts/wechat/{post['post_id']}/remove", json={"by": "user"})
    service.inspect_account(account.id)
    (f,) = findings(db_session, account, R)
    assert f.evidence["raw_status"] == "publish_status=5" and f.evidence["by_platform"] is False
    assert f.confidence == 0.8 and "已被删除" in f.evidence["message"]
    assert posts(db_session, account)[post["post_id"]].state is PostState.removed
