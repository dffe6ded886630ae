"""The retry decision by error class (publishers.retry_policy): pure, no database."""

from __future__ import annotations

import pytest

from platforms.errors import (
    AccountUnavailable,
    ContentRejected,
    CredentialsError,
    DuplicateContent,
    InvalidRequest,
    RateLimited,
    TokenExpired,
    TransientError,
    Unsupported,
)
from publishers import retry_policy
from publishers.retry_policy import FAIL, MANUAL, RETRY, Policy

POLICY = Policy(max_attempts=3, base_seconds=10, max_seconds=100, settle_seconds=30, poll_seconds=3)


@pytest.mark.parametrize(
    ("error", "attempts", "action", "code"),
    [
        (Unsupported("toutiao", "no_api", "头条图文无发布接口"), 1, MANUAL, "manual_publish"),
        (RateLimited("weibo", "10023", retry_after=120), 1, RETRY, "10023"),
        (CredentialsError("weibo", "21332", "令牌无效"), 1, FAIL, "21332"),
        (DuplicateContent("weibo", "20019", "重复内容"), 1, FAIL, "20019"),
        (DuplicateContent("weibo", "20019", "重复内容"), 2, FAIL, "20019"),
        (ContentRejected("douyin", "2190008", "内容违规"), 1, FAIL, "2190008"),
        (AccountUnavailable("weibo", "20003", "账号被封"), 1, FAIL, "20003"),
        (TransientError("weibo", "http_503"), 1, RETRY, "http_503"),
        (TransientError("weibo", "http_503"), 3, FAIL, "http_503"),
        (TokenExpired("douyin", "2190002"), 1, RETRY, "2190002"),
        (InvalidRequest("weibo", "10008", "参数错误"), 1, FAIL, "10008"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_after_publish_error_by_class(error, attempts, action, code):
    decision = retry_policy.after_publish_error(error, attempts, POLICY)
    assert (decision.action, decision.code) == (action, code)


def test_rate_limit_waits_its_time_and_gives_the_attempt_back():
    decision = retry_policy.after_publish_error(RateLimited("weibo", "10023", retry_after=120), 1, POLICY)
    assert decision.delay == 120 and decision.give_back_attempt


def test_backoff_grows_with_jitter_up_to_the_cap():
    delays = [retry_policy.after_publish_error(TransientError("weibo", "http_503"), n, POLICY).delay for n in (1, 2)]
    assert 7.5 <= delays[0] <= 12.5 and 15 <= delays[1] <= 25
    capped = Policy(max_attempts=99, base_seconds=10, max_seconds=100)
    assert capped.backoff(20) <= 125


def test_an_ambiguous_error_waits_for_the_platform_to_settle():
    decision = retry_policy.after_publish_error(TransientError("wechat", "timeout"), 1, POLICY)
    assert decision.action == RETRY and decision.delay >= POLICY.settle_seconds


def test_exhausted_retries_fail_and_say_so():
    decision = retry_policy.after_publish_error(TransientError("weibo", "http_503", "平台繁忙"), 3, POLICY)
    assert decision.retryable and decision.message == "平台繁忙（已重试 3 次）"


def test_bad_credentials_ask_for_reauthorisation():
    decision = retry_policy.after_publish_error(CredentialsError("weibo", "21332", "令牌无效"), 1, POLICY)
    assert decision.needs_reauth and "重新授权" in decision.message


def test_a_duplicate_after_a_lost_answer_asks_a_person_to_look():
    first = retry_policy.after_publish_error(DuplicateContent("weibo", "20019", "重复内容"), 1, POLICY)
    later = retry_policy.after_publish_error(DuplicateContent("weibo", "20019", "重复内容"), 2, POLICY)
    assert "核对" not in first.message and "请到平台上核对" in later.message


@pytest.mark.parametrize(
    ("error", "action", "code"),
    [
        (TransientError("wechat", "http_502"), RETRY, "http_502"),
        (ContentRejected("wechat", "10080", "审核不通过"), FAIL, "10080"),
    ],
)
def test_after_status_error(error, action, code):
    decision = retry_policy.after_status_error(error, POLICY)
    assert (decision.action, decision.code) == (action, code)
    if action == RETRY:
        assert decision.delay == POLICY.poll_seconds * 2


@pytest.mark.parametrize(
    ("error", "action", "code"),
    [
        (TransientError("weibo", "http_503"), RETRY, "http_503"),
        (Unsupported("douyin", "no_api", "抖音不支持删除"), MANUAL, "manual_withdraw"),
        (ContentRejected("weibo", "20101", "已被删除"), FAIL, "withdraw_failed:20101"),
    ],
)
def test_after_withdraw_error(error, action, code):
    decision = retry_policy.after_withdraw_error(error, POLICY)
    assert (decision.action, decision.code) == (action, code)
