"""What to do after a platform error — decided in this one place, by the error's class.

Pure functions over the error and a ``Policy`` (the settings); nothing here touches the
database. The attempt, the poll and the withdrawal apply the decision (``publishers.attempt``,
``publishers.poll``, ``publishers.withdraw``).

After a publish:

- ``Unsupported`` → manual (the operator publishes by hand);
- ``RateLimited`` → wait its ``retry_after`` without using up an attempt;
- ``CredentialsError`` → fail, and mark the account as needing re-authorisation;
- ``DuplicateContent`` on a second or later attempt → fail, asking a person to look on the
  platform (our earlier attempt probably got through, out of sight of ``find_published``);
- ``ContentRejected`` / ``AccountUnavailable`` / ``DuplicateContent`` → fail at once;
- ``TransientError`` / ``TokenExpired`` / anything ``retryable`` → exponential backoff with
  jitter up to ``max_attempts``, then fail (``retryable`` kept true); after an ambiguous error
  (timeout, dropped connection) wait at least ``settle_seconds``;
- anything else → fail.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from flask import current_app

from platforms.errors import (
    AccountUnavailable,
    AdapterError,
    ContentRejected,
    CredentialsError,
    DuplicateContent,
    RateLimited,
    TokenExpired,
    TransientError,
    Unsupported,
)
from publishers.shared import AMBIGUOUS_CODES

RETRY = "retry"
FAIL = "fail"
MANUAL = "manual"


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 6
    base_seconds: float = 5
    max_seconds: float = 900
    settle_seconds: float = 30  # AMBIGUOUS_SETTLE_SECONDS
    poll_seconds: float = 3  # STATUS_POLL_SECONDS

    @classmethod
    def from_config(cls) -> Policy:
        config = current_app.config
        return cls(
            max_attempts=int(config["DELIVERY_MAX_ATTEMPTS"]),
            base_seconds=float(config.get("RETRY_BASE_SECONDS", 5)),
            max_seconds=float(config.get("RETRY_MAX_SECONDS", 900)),
            settle_seconds=float(config.get("AMBIGUOUS_SETTLE_SECONDS", 30)),
            poll_seconds=float(config.get("STATUS_POLL_SECONDS", 3)),
        )

    def backoff(self, attempt: int) -> float:
        """Exponential, capped, with ±25 % jitter."""
        return min(self.max_seconds, self.base_seconds * (2 ** max(0, attempt - 1))) * random.uniform(0.75, 1.25)


@dataclass(frozen=True)
class Decision:
    action: str  # RETRY | FAIL | MANUAL
    code: str
    message: str
    delay: float = 0.0
    retryable: bool = False  # recorded with a failure: the error itself was a retryable one
    give_back_attempt: bool = False  # the wait is not the post's fault (rate limit)
    needs_reauth: bool = False  # the account's credentials must be renewed


def ambiguous(error: AdapterError) -> bool:
    """A timeout or dropped connection: the request may have reached the platform."""
    return isinstance(error, TransientError) and (error.code or "") in AMBIGUOUS_CODES


def after_publish_error(error: AdapterError, attempts: int, policy: Policy) -> Decision:
    """``attempts``: the attempts made so far, this one included."""
    code = error.code or type(error).__name__
    if isinstance(error, Unsupported):
        return Decision(MANUAL, "manual_publish", error.message)
    if isinstance(error, RateLimited):
        return Decision(RETRY, code, error.message, delay=float(error.retry_after), give_back_attempt=True)
    if isinstance(error, CredentialsError):
        return Decision(FAIL, code, error.message + "（平台凭据需重新授权）", needs_reauth=True)
    if isinstance(error, DuplicateContent) and attempts > 1:
        # The platform already holds this text, most likely from our earlier attempt whose answer
        # was lost, but it is not among the posts the platform lets us see: a person must look.
        return Decision(
            FAIL, code, f"{error.message}：先前一次发送可能已经成功，但在平台最近的内容中没有找到，请到平台上核对"
        )
    if isinstance(error, (ContentRejected, AccountUnavailable, DuplicateContent)):
        return Decision(FAIL, code, error.message)
    if isinstance(error, (TransientError, TokenExpired)) or error.retryable:
        if attempts >= policy.max_attempts:
            return Decision(FAIL, code, f"{error.message}（已重试 {attempts} 次）", retryable=True)
        delay = policy.backoff(attempts)
        if ambiguous(error):
            # The platform may have taken the post although we never saw the answer; give an
            # asynchronous platform (WeChat) time to finish it, so the next attempt's
            # find_published sees it instead of publishing a second copy.
            delay = max(delay, policy.settle_seconds)
        return Decision(RETRY, code, error.message, delay=delay)
    return Decision(FAIL, code, error.message)


def after_status_error(error: AdapterError, policy: Policy) -> Decision:
    """A status poll failed: ask again later, or give the delivery up."""
    if error.retryable:
        return Decision(RETRY, error.code or type(error).__name__, error.message, delay=policy.poll_seconds * 2)
    return Decision(FAIL, error.code or "status_error", error.message)


def after_withdraw_error(error: AdapterError, policy: Policy) -> Decision:
    """Deleting a post failed: retry later, hand it to a person (no API), or report and stop."""
    if error.retryable:
        return Decision(RETRY, error.code, f"撤回失败，将重试：{error.message}", delay=policy.backoff(2))
    if isinstance(error, Unsupported):
        return Decision(MANUAL, "manual_withdraw", error.message)
    return Decision(FAIL, f"withdraw_failed:{error.code}", f"撤回失败：{error.message}，请在平台后台手工删除")
