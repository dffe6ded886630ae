"""The publishing pipeline in-process against the sandbox over real HTTP.

The units of work the Celery tasks run (publishers.pipeline: claim, delivery, poll, withdraw,
sweep) are called here directly, so test and task share one set of transactions; real-process
runs are in test_pipeline_processes.py.
"""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import Role
from common import media
from common.db import utcnow
from extensions import db
from moderation.models import Content, ContentKind, ContentStatus, Disclosure
from moderation.service import content_hash
from platforms import channels
from platforms.models import AccountCredential
from publishers import attempt, manual, pipeline, sweeper, withdraw
from publishers import claim as claiming
from publishers.models import CredentialHealth, Delivery, DeliveryStatus
from publishers.shared import NextStep
from registry.models import AccountStatus

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def unit(make_unit):
    return make_unit("发布测试县人民政府")


@pytest.fixture
def author(make_user, unit):
    return make_user(Role.operator, unit=unit)


@pytest.fixture
def approve(db_session, author):

    def _approve(targets, *, title="示范县召开秋季安全生产工作会议", body="会议部署了冬季防火等重点工作。", **kw):
        sha = media.save(PNG)
        content = Content(
            unit_id=targets[0].unit_id,
            author_id=author.id,
            title=title,
            body_html=f"<p>{body}</p>",
            body_text=body,
            media=[{"name": "cover.png", "content_type": "image/png", "sha256": sha, "alt": "会议现场"}],
            disclosure=kw.pop("disclosure", Disclosure.active),
            kind=kw.pop("kind", ContentKind.news),
            status=kw.pop("status", ContentStatus.approved),
            **kw,
        )
        content.targets = list(targets)
        db_session.add(content)
        db_session.flush()
        content.approved_hash = content_hash(content)
        content.approved_version = content.version
        db_session.commit()
        return content

    return _approve


def run_delivery(delivery_id: int, db_session) -> NextStep:
    """What tasks.publishing.deliver does, minus the broker."""
    return pipeline.run_delivery(delivery_id)


def drain(db_session, ids, polls: int = 5) -> None:
    for delivery_id in ids:
        outcome = run_delivery(delivery_id, db_session)
        for _ in range(polls):
            if outcome.action != "poll":
                break
            outcome = pipeline.run_poll(delivery_id)


def claim(db_session) -> list[int]:
    ids = claiming.claim_due()
    db_session.commit()
    return ids


def deliveries_of(db_session, content) -> dict[str, Delivery]:
    rows = db_session.scalars(sa.select(Delivery).where(Delivery.content_id == content.id)).all()
    return {d.account.platform.value: d for d in rows}


def test_fan_out_publishes_everywhere(db_session, sandbox, unit, make_account, approve):
    accounts = [make_account(unit, p) for p in ("weibo", "wechat", "douyin")]
    content = approve(accounts)
    ids = claim(db_session)
    assert len(ids) == 3
    assert content.status is ContentStatus.publishing
    drain(db_session, ids)
    by_platform = deliveries_of(db_session, content)
    assert {p: d.status for p, d in by_platform.items()} == dict.fromkeys(
        ("weibo", "wechat", "douyin"), DeliveryStatus.sent
    )
    assert all(d.platform_url for d in by_platform.values())
    assert content.status is ContentStatus.published
    for platform in ("weibo", "wechat", "douyin"):
        assert len(sandbox.live_posts(platform)) == 1
    # Weibo's post carries the canonical link on the safe domain.
    assert "gov.example.cn" in sandbox.live_posts("weibo")[0]["text"]


def test_claim_is_idempotent(db_session, sandbox, unit, make_account, approve):
    account = make_account(unit, "weibo")
    approve([account])
    first = claim(db_session)
    assert claim(db_session) == []
    assert len(first) == 1


def test_not_due_yet_is_not_claimed(db_session, sandbox, unit, make_account, approve):
    account = make_account(unit, "weibo")
    approve([account], status=ContentStatus.scheduled, publish_at=utcnow() + timedelta(minutes=5))
    assert claim(db_session) == []


@pytest.mark.parametrize(
    ("breakage", "code"),
    [
        ("account_closed", "account_not_active"),
        ("text_changed", "hash_mismatch"),
        ("not_public", "not_public"),
    ],
)
def test_worker_guards_refuse(db_session, sandbox, unit, make_account, approve, breakage, code):
    account = make_account(unit, "weibo")
    content = approve([account])
    ids = claim(db_session)
    if breakage == "account_closed":
        account.status = AccountStatus.closed
    elif breakage == "text_changed":
        content.body_text = "终审之后被偷偷改动的正文"
    else:
        content.disclosure = Disclosure.on_request
    db_session.commit()
    drain(db_session, ids)
    delivery = deliveries_of(db_session, content)["weibo"]
    assert delivery.status is DeliveryStatus.failed
    assert delivery.last_error_code == code
    assert delivery.last_error_message  # a Chinese explanation for the operator
    assert sandbox.posts("weibo") == []


def test_rate_limit_waits_without_burning_attempts(db_session, sandbox, unit, make_account, approve):
    account = make_account(unit, "weibo")
    content = approve([account])
    sandbox.fault(platform="weibo", endpoint="statuses/share", error="rate_limit", count=1)
    ids = claim(db_session)
    before = utcnow()
    outcome = run_delivery(ids[0], db_session)
    delivery = deliveries_of(db_session, content)["weibo"]
    assert outcome.action == "retry"
    assert delivery.status is DeliveryStatus.retrying
    assert delivery.attempts == 0
    # Weibo's 10022–10024 limit is hourly: the retry waits for the next clock hour (30 s or more,
    # except when the hour turns within the next 30 s — the test once ran at 01:59:35).
    next_hour = before.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert delivery.next_attempt_at >= min(before + timedelta(seconds=30), next_hour - timedelta(seconds=1))


def test_transient_errors_retry_then_fail_with_reason(
    app, db_session, sandbox, unit, make_account, approve, monkeypatch
):
    monkeypatch.setitem(app.config, "DELIVERY_MAX_ATTEMPTS", 2)
    account = make_account(unit, "weibo")
    content = approve([account])
    sandbox.fault(platform="weibo", endpoint="statuses/share", error="server_error", count=5)
    ids = claim(db_session)
    assert run_delivery(ids[0], db_session).action == "retry"
    delivery = deliveries_of(db_session, content)["weibo"]
    delivery.next_attempt_at = utcnow()
    db_session.commit()
    assert run_delivery(ids[0], db_session).action == "done"
    assert delivery.status is DeliveryStatus.failed
    assert delivery.retryable is True
    assert "重试" in delivery.last_error_message
    assert content.status is ContentStatus.failed


def test_content_rejected_fails_at_once_with_platform_code(db_session, sandbox, unit, make_account, approve):
    account = make_account(unit, "weibo")
    content = approve([account])
    sandbox.fault(platform="weibo", endpoint="statuses/share", error="content_rejected", count=1)
    drain(db_session, claim(db_session))
    delivery = deliveries_of(db_session, content)["weibo"]
    assert delivery.status is DeliveryStatus.failed
    assert delivery.attempts == 1
    assert delivery.last_error_code.isdigit()


def test_partly_failed_then_retry_button(db_session, sandbox, unit, make_account, approve, author):
    weibo, wechat = make_account(unit, "weibo"), make_account(unit, "wechat")
    content = approve([weibo, wechat])
    sandbox.fault(platform="weibo", endpoint="statuses/share", error="content_rejected", count=1)
    drain(db_session, claim(db_session))
    assert content.status is ContentStatus.partly_failed
    failed = deliveries_of(db_session, content)["weibo"]
    manual.retry_delivery(failed, author)
    db_session.commit()
    to_send, _ = sweeper.sweep()
    assert failed.id in to_send
    drain(db_session, [failed.id])
    assert failed.status is DeliveryStatus.sent
    assert content.status is ContentStatus.published


def lose_the_answer(app, db_session, content) -> Delivery:
    """Claim and send the content's one delivery; the worker "dies" before recording the answer,
    and its lease has run out."""
    step = attempt.begin_attempt(claim(db_session)[0])
    db_session.commit()
    attempt.send(step)  # the platform takes the post
    db_session.rollback()
    (delivery,) = deliveries_of(db_session, content).values()
    assert delivery.status is DeliveryStatus.sending
    delivery.sending_started_at = utcnow() - timedelta(seconds=app.config["SENDING_LEASE_SECONDS"] + 1)
    db_session.commit()
    return delivery


def test_crash_after_platform_accepted_is_not_resent(app, db_session, sandbox, unit, make_account, approve):
    """A worker died after the platform took the post but before we recorded it."""
    account = make_account(unit, "weibo")
    delivery = lose_the_answer(app, db_session, approve([account]))
    to_send, _ = sweeper.sweep()
    assert delivery.id in to_send
    drain(db_session, to_send)
    assert delivery.status is DeliveryStatus.sent
    assert len(sandbox.posts("weibo")) == 1


def test_dead_workers_post_blocks_its_account_until_recovered(app, db_session, sandbox, unit, make_account, approve):
    """Weibo's timeline shows only the 5 newest posts. While a dead worker's post is unresolved,
    later posts to that account wait; otherwise they would push it out of sight and the resend
    would be refused as a duplicate (20019) — a post on the platform that we call failed."""
    account = make_account(unit, "weibo")
    delivery = lose_the_answer(app, db_session, approve([account], title="第一条：秋季防火通知", body="第一条正文。"))

    later = [approve([account], title=f"后续第{i}条通知", body=f"后续正文{i}。") for i in range(6)]
    later_ids = claim(db_session)
    assert len(later_ids) == 6
    for delivery_id in later_ids:
        outcome = run_delivery(delivery_id, db_session)
        assert (outcome.action, outcome.reason) == ("retry", "account busy")
    assert len(sandbox.posts("weibo")) == 1

    to_send, _ = sweeper.sweep()
    assert delivery.id in to_send
    drain(db_session, [delivery.id])
    assert delivery.status is DeliveryStatus.sent
    drain(db_session, later_ids)
    assert [deliveries_of(db_session, c)["weibo"].status for c in later] == [DeliveryStatus.sent] * 6
    assert len(sandbox.posts("weibo")) == 7


def test_each_account_gets_one_delivery_at_a_time_and_hands_on(db_session, sandbox, unit, make_account, approve):
    weibo, wechat = make_account(unit, "weibo"), make_account(unit, "wechat")
    contents = [approve([weibo, wechat], title=f"第{i}条通知", body=f"正文{i}。") for i in range(3)]
    ids = claim(db_session)
    now, later = claiming.first_per_account(ids)
    first = deliveries_of(db_session, contents[0])
    assert now == [first["weibo"].id, first["wechat"].id] and len(later) == 4
    outcome = run_delivery(now[0], db_session)
    assert outcome.action == "done"
    second = deliveries_of(db_session, contents[1])
    # the finished attempt hands the account on: its next delivery, marked queued
    assert outcome.follower == second["weibo"].id
    assert claiming.next_for_account(now[0]) is None
    outcome = run_delivery(now[1], db_session)
    assert outcome.follower == second["wechat"].id  # accepted (WeChat publishes later): the account is free
    drain(db_session, [now[1]], polls=5)
    assert claiming.next_for_account(now[1]) is None
    # an account with an unresolved post gets nothing new now
    third_batch = approve([weibo], title="第四条通知", body="正文四。")
    db_session.commit()
    step = attempt.begin_attempt(second["weibo"].id)
    db_session.commit()
    assert isinstance(step, attempt.Attempt)
    now, later = claiming.first_per_account(claim(db_session))
    assert now == [] and later == [deliveries_of(db_session, third_batch)["weibo"].id]


def test_lost_post_out_of_sight_fails_asking_a_person_to_check(app, db_session, sandbox, unit, make_account, approve):
    """If the platform has our post but no longer shows it, the resend is refused as a duplicate:
    the delivery fails with a message that tells the operator to look on the platform."""
    account = make_account(unit, "weibo")
    delivery = lose_the_answer(app, db_session, approve([account]))
    sandbox.configure(weibo_timeline_count=0)  # the post is out of the visible timeline
    drain(db_session, sweeper.sweep()[0])
    assert delivery.status is DeliveryStatus.failed
    assert delivery.last_error_code == "20019"
    assert "请到平台上核对" in delivery.last_error_message
    assert len(sandbox.posts("weibo")) == 1


def test_withdraw_deletes_everywhere_and_lists_manual_work(db_session, sandbox, unit, make_account, approve, author):
    weibo, wechat, douyin = (make_account(unit, p) for p in ("weibo", "wechat", "douyin"))
    content = approve([weibo, wechat, douyin])
    drain(db_session, claim(db_session))
    assert len(sandbox.live_posts()) == 3
    to_delete = withdraw.withdraw_content(content, "内容有误，全平台撤回", author)
    db_session.commit()
    assert len(to_delete) == 3
    _, to_withdraw = sweeper.sweep()
    assert sorted(to_withdraw) == sorted(to_delete)
    for delivery_id in to_withdraw:
        pipeline.run_withdraw(delivery_id)
    rows = deliveries_of(db_session, content)
    assert rows["weibo"].status is DeliveryStatus.withdrawn
    assert rows["wechat"].status is DeliveryStatus.withdrawn
    # Douyin has no delete API: the operator gets a manual task and marks it done.
    assert rows["douyin"].status is DeliveryStatus.manual
    # the note names the row's own button (templates/publishers/deliveries.html), not a "已处理" nobody sees
    assert "点击本行的“已人工处理：已在平台删除”" in rows["douyin"].last_error_message
    assert {p["platform"] for p in sandbox.live_posts()} == {"douyin"}
    manual.mark_manual_done(rows["douyin"], author)
    db_session.commit()
    assert rows["douyin"].status is DeliveryStatus.withdrawn
    assert content.status is ContentStatus.withdrawn
    assert sweeper.sweep() == ([], [])


def test_withdraw_before_sending_cancels(db_session, sandbox, unit, make_account, approve, author):
    account = make_account(unit, "weibo")
    content = approve([account])
    ids = claim(db_session)
    withdraw.withdraw_content(content, "临时取消", author)
    db_session.commit()
    drain(db_session, ids)
    assert deliveries_of(db_session, content)["weibo"].status is DeliveryStatus.cancelled
    assert sandbox.posts("weibo") == []


def test_policy_and_interpretation_go_out_together(db_session, sandbox, unit, make_account, approve):
    account = make_account(unit, "weibo")
    policy = approve(
        [account], title="示范县关于促进就业的若干措施", kind=ContentKind.policy, status=ContentStatus.review_3
    )
    interp = approve([account], title="图解：促进就业若干措施", kind=ContentKind.interpretation, policy_id=policy.id)
    assert claim(db_session) == []  # the 解读 waits for its policy
    assert interp.status is ContentStatus.approved
    policy.status = ContentStatus.approved
    db_session.commit()
    ids = claim(db_session)
    assert len(ids) == 2
    assert policy.status is ContentStatus.publishing
    assert interp.status is ContentStatus.publishing


def test_lost_answer_to_an_asynchronous_publish_is_not_resent(app, db_session, sandbox, unit, make_account, approve):
    """WeChat took the submit but the answer never arrived: the retry waits for the platform to
    settle, then finds the article instead of publishing a second copy."""
    sandbox.configure(wechat_publish_seconds=0.5, timeout_delay=2.5)
    account = make_account(unit, "wechat")
    content = approve([account])
    sandbox.fault(platform="wechat", endpoint="freepublish/submit", error="timeout", count=1)
    ids = claim(db_session)
    outcome = run_delivery(ids[0], db_session)
    delivery = deliveries_of(db_session, content)["wechat"]
    assert outcome.action == "retry"
    assert outcome.delay >= app.config["AMBIGUOUS_SETTLE_SECONDS"]

    time.sleep(2)  # the sandbox finishes the late submit and settles the job
    delivery.next_attempt_at = utcnow()
    db_session.commit()
    drain(db_session, ids)
    assert delivery.status is DeliveryStatus.sent
    assert len(sandbox.live_posts("wechat")) == 1


def test_sweeper_queues_only_the_head_of_a_free_accounts_line(app, db_session, sandbox, unit, make_account, approve):
    """Queued work is left alone; a lost message is queued again, but only the head of each
    account's line — the rest follow by hand-off instead of being queued to find the account busy."""
    weibo, wechat = make_account(unit, "weibo"), make_account(unit, "wechat")
    for i in range(3):
        approve([weibo, wechat], title=f"第{i}条通知", body=f"正文{i}。")
    now, later = claiming.first_per_account(claim(db_session))
    assert len(now) == 2 and len(later) == 4
    claiming.mark_enqueued(now)
    db_session.commit()
    assert sweeper.sweep()[0] == []

    lost = utcnow() - timedelta(seconds=app.config["ENQUEUE_STALE_SECONDS"] + 1)
    db_session.execute(sa.update(Delivery).where(Delivery.id.in_(now)).values(enqueued_at=lost))
    db_session.commit()
    # still waiting their turn: the publishing queue's front was queued no later than they were
    assert sweeper.sweep(queue_waiting_since=lost)[0] == []
    assert sorted(sweeper.sweep()[0]) == sorted(now)
    # the queue has moved on past them: their messages were lost
    later_front = lost + timedelta(seconds=app.config["ENQUEUE_STALE_SECONDS"] + 1)
    assert sorted(sweeper.sweep(queue_waiting_since=later_front)[0]) == sorted(now)


def test_hand_off_never_queues_a_delivery_twice(db_session, sandbox, unit, make_account, approve):
    weibo = make_account(unit, "weibo")
    first, second = (approve([weibo], title=f"第{i}条通知", body=f"正文{i}。") for i in range(2))
    now, later = claiming.first_per_account(claim(db_session))
    outcome = run_delivery(now[0], db_session)
    assert outcome.action == "done"
    assert outcome.follower == later[0]
    claiming.mark_enqueued(later)  # the hand-off (or the sweeper) queued it
    db_session.commit()
    assert claiming.next_for_account(now[0]) is None
    # a second message for the delivery already sent is skipped
    outcome = attempt.begin_attempt(now[0])
    assert (outcome.action, outcome.reason) == ("skip", "already sent")
    assert deliveries_of(db_session, second)["weibo"].id == later[0]
    assert deliveries_of(db_session, first)["weibo"].status is DeliveryStatus.sent


def test_poll_does_not_overwrite_a_delivery_settled_while_the_platform_was_asked(
    db_session, sandbox, unit, make_account, approve, monkeypatch
):
    """The poll reads, asks the platform with no transaction open, then records under the row
    lock: a delivery someone settled in between (here: cancelled) keeps that state."""

    account = make_account(unit, "wechat")
    content = approve([account])
    [delivery_id] = claim(db_session)
    assert run_delivery(delivery_id, db_session).action == "poll"
    adapter = channels.adapter_for("wechat")
    real_status = adapter.status

    def status_while_someone_cancels(creds, post_id):  # type: ignore[no-untyped-def]
        # another transaction's change: the poll's loaded Delivery does not see it
        db_session.execute(
            sa.update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(status=DeliveryStatus.cancelled)
            .execution_options(synchronize_session=False)
        )
        db_session.commit()
        return real_status(creds, post_id)

    monkeypatch.setattr(adapter, "status", status_while_someone_cancels)
    # as in the poll task: loaded objects survive commits, so only a fresh read can see the change
    monkeypatch.setattr(db_session(), "expire_on_commit", False)
    outcome = pipeline.run_poll(delivery_id)
    db_session.commit()
    assert outcome.action == "skip"
    db_session.expire_all()
    assert deliveries_of(db_session, content)["wechat"].status is DeliveryStatus.cancelled


def test_hand_on_marks_the_follower_queued_once(db_session, sandbox, unit, make_account, approve):
    weibo = make_account(unit, "weibo")
    for i in range(3):
        approve([weibo], title=f"第{i}条通知", body=f"正文{i}。")
    now, later = claiming.first_per_account(claim(db_session))
    outcome = run_delivery(now[0], db_session)
    assert outcome.action == "done"
    assert outcome.follower == later[0]  # run_delivery's closing transaction handed on
    queued = db_session.get(Delivery, later[0])
    db_session.refresh(queued)
    assert queued.enqueued_at is not None
    # the same finish seen twice (a redelivered message) queues nothing more
    assert claiming.hand_on(now[0]) is None
    db_session.commit()
    assert db_session.get(Delivery, later[1]).enqueued_at is None


def test_account_without_usable_credentials_fails_with_a_reason(db_session, sandbox, unit, make_account, approve):

    bare = make_account(unit, "weibo", credentials=False)
    broken = make_account(unit, "douyin")
    db_session.execute(
        sa.update(AccountCredential).where(AccountCredential.account_id == broken.id).values(ciphertext=b"garbage")
    )
    content = approve([bare, broken], title="凭据检查", body="正文。")
    drain(db_session, claim(db_session))
    deliveries = deliveries_of(db_session, content)
    for platform, reason in (("weibo", "未配置平台凭据"), ("douyin", "无法用当前密钥解密")):
        delivery = deliveries[platform]
        assert delivery.status is DeliveryStatus.failed
        assert delivery.last_error_code == "no_credentials"
        assert reason in delivery.last_error_message
        assert delivery.retryable is False
    assert db_session.get(Content, content.id).status is ContentStatus.failed


@pytest.mark.parametrize("platform", ["weibo", "wechat"])
def test_the_platform_calls_run_with_no_transaction_open_and_no_query(
    db_session, sandbox, unit, make_account, approve, monkeypatch, platform
):
    """run_delivery, run_poll and run_withdraw commit before calling the adapter, and the call
    itself reads nothing from the database (everything it needs was prepared before)."""

    account = make_account(unit, platform)
    content = approve([account])
    adapter = channels.adapter_for(platform)
    seen: list[tuple[str, bool, int]] = []
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def watched(name):  # type: ignore[no-untyped-def]
        real = getattr(adapter, name)

        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            before = len(statements)
            try:
                return real(*args, **kwargs)
            finally:
                seen.append((name, db.session().in_transaction(), len(statements) - before))

        monkeypatch.setattr(adapter, name, call)

    for name in ("publish", "status", "withdraw"):
        watched(name)
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        drain(db_session, claim(db_session))
        withdraw.withdraw_content(content, "核对撤回", content.author)
        db_session.commit()
        for delivery_id in sweeper.sweep()[1]:
            pipeline.run_withdraw(delivery_id)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert deliveries_of(db_session, content)[platform].status is DeliveryStatus.withdrawn
    called = {name for name, _, _ in seen}
    assert {"publish", "withdraw"} <= called and (platform != "wechat" or "status" in called)
    assert [(name, open_, queries) for name, open_, queries in seen if open_ or queries] == []


def test_one_poll_reads_every_post_an_account_has_in_the_platforms_hands(
    db_session, sandbox, unit, make_account, approve
):
    """WeChat publishes asynchronously. A post accepted while another of its account awaits
    the platform joins that account's poll instead of starting its own; the one poll settles
    both, and audits each."""

    wechat = make_account(unit, "wechat")
    contents = [approve([wechat], title=f"第{i}条通知", body=f"正文{i}。") for i in range(2)]
    first, second = claim(db_session)
    outcome = run_delivery(first, db_session)
    assert outcome.action == "poll" and outcome.follower == second
    joined = run_delivery(second, db_session)
    assert (joined.action, joined.reason) == ("done", "polled with the account's other posts")
    for _ in range(5):  # the first post's poll, rescheduled while anything of the account is pending
        outcome = pipeline.run_poll(first)
        if outcome.action != "poll":
            break
    assert outcome.action == "done"
    for content in contents:
        db_session.expire_all()
        assert deliveries_of(db_session, content)["wechat"].status is DeliveryStatus.sent
        assert content.status is ContentStatus.published
    sent = db_session.scalars(sa.select(AuditEntry.object_id).where(AuditEntry.action == "delivery:status:sent")).all()
    assert sorted(sent) == sorted([str(first), str(second)])
    assert len(sandbox.posts("wechat")) == 2


def test_result_goes_the_locked_way_when_the_lease_was_taken_over(
    app, db_session, sandbox, unit, make_account, approve
):
    """The hot path records the result only while the row is as its attempt left it; a row
    whose lease another attempt took over meanwhile is recorded under the row lock instead
    (the same result, once)."""
    account = make_account(unit, "weibo")
    content = approve([account])
    [delivery_id] = claim(db_session)
    step = attempt.begin_attempt(delivery_id)
    db_session.commit()
    assert isinstance(step, attempt.Attempt) and step.plain is not None
    result, error = attempt.send(step)
    # meanwhile: the lease is renewed (another attempt's start)
    db_session.execute(
        sa.update(Delivery).where(Delivery.id == delivery_id).values(sending_started_at=utcnow() + timedelta(seconds=1))
    )
    db_session.commit()
    outcome = attempt.finish_attempt(step, result, error)
    db_session.commit()
    assert outcome.action == "done"
    db_session.expire_all()
    delivery = deliveries_of(db_session, content)["weibo"]
    assert delivery.status is DeliveryStatus.sent and delivery.platform_post_id == result.post_id
    assert content.status is ContentStatus.published


def test_hot_path_notes_the_accounts_last_success_as_the_orm_way_does(db_session, sandbox, unit, make_account, approve):
    """Credential health: a post published on the Core path (Weibo at once, WeChat through the
    account's poll) records the account's last success, as ``note_platform_answer`` does."""

    weibo, wechat = make_account(unit, "weibo"), make_account(unit, "wechat")
    approve([weibo, wechat])
    ids = claim(db_session)
    steps = [attempt.begin_attempt(delivery_id) for delivery_id in ids[:1]]
    db_session.commit()
    assert isinstance(steps[0], attempt.Attempt) and steps[0].plain is not None  # the hot path
    attempt.finish_attempt(steps[0], *attempt.send(steps[0]))
    db_session.commit()
    drain(db_session, ids[1:])
    db_session.expire_all()
    health = {row.account_id: row for row in db_session.scalars(sa.select(CredentialHealth))}
    assert set(health) == {weibo.id, wechat.id}
    assert all(row.last_success_at is not None for row in health.values())


def test_a_held_delivery_is_left_for_a_person(db_session, sandbox, unit, make_account, approve):
    """A scheduled Douyin post waits as ``held``; a task for it arriving again (a redelivered
    message) leaves it held and sends nothing."""
    account = make_account(unit, "douyin")
    content = approve([account], publish_at=utcnow() - timedelta(minutes=1))
    [delivery_id] = claim(db_session)
    assert run_delivery(delivery_id, db_session).reason == "held"
    again = run_delivery(delivery_id, db_session)
    assert again.action == "skip" and again.follower is None
    db_session.expire_all()
    assert deliveries_of(db_session, content)["douyin"].status is DeliveryStatus.held
    assert sandbox.posts("douyin") == []
