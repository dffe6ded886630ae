"""Fault injection: count-based rules per endpoint suffix and seeded ratio-based random rules.

A rule matches a platform (or ``*``) and an endpoint path suffix (or ``*``). The suffix is
compared after dropping slashes at both ends and a ``.json`` extension, so
``statuses/share`` matches ``/2/statuses/share.json`` and ``video/create_video`` matches
``/api/douyin/v1/video/create_video/``. Each platform module renders the chosen error in
its own envelope; ``timeout`` sleeps and then lets the request through.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

#: ``rate_limit_minute`` is WeChat's per-minute 45011; platforms without a separate
#: per-minute code answer it like ``rate_limit``.
ERRORS: tuple[str, ...] = (
    "rate_limit",
    "rate_limit_minute",
    "server_error",
    "timeout",
    "token_expired",
    "content_rejected",
    "banned",
)
FAULT_PLATFORMS: tuple[str, ...] = ("wechat", "weibo", "douyin", "toutiao", "*")


class FaultError(ValueError):
    """An invalid fault definition (message in Chinese)."""


@dataclass
class FaultRule:
    id: int
    platform: str
    endpoint: str
    error: str | None = None
    count: int = 0
    ratio: float = 0.0
    errors: list[str] = field(default_factory=list)
    seed: int | None = None
    delay: float | None = None
    http_status: int | None = None
    retry_after: float | None = None
    #: WeChat only: answer this errcode instead of the error's (e.g. 48001, 61004, 61007)
    errcode: int | None = None
    hits: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def public(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "platform": self.platform, "endpoint": self.endpoint, "hits": self.hits}
        if self.error is not None:
            data.update(error=self.error, count=self.count)
        else:
            data.update(ratio=self.ratio, errors=list(self.errors), seed=self.seed)
        if self.delay is not None:
            data["delay"] = self.delay
        if self.http_status is not None:
            data["http_status"] = self.http_status
        if self.retry_after is not None:
            data["retry_after"] = self.retry_after
        if self.errcode is not None:
            data["errcode"] = self.errcode
        return data


@dataclass(frozen=True)
class FaultHit:
    error: str
    rule_id: int
    delay: float | None = None
    http_status: int | None = None
    retry_after: float | None = None
    errcode: int | None = None


def normalise(path: str) -> str:
    path = path.strip().strip("/")
    if path.endswith(".json"):
        path = path[: -len(".json")]
    return path.strip("/")


def endpoint_matches(endpoint: str, path: str) -> bool:
    if endpoint == "*":
        return True
    want, have = normalise(endpoint), normalise(path)
    return bool(want) and (have == want or have.endswith("/" + want))


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} 必须是数字")
    return float(value)


class FaultBook:
    """The active fault rules; thread-safe on its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.public() for r in self._rules]

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a rule from a JSON body; raises FaultError with a Chinese message."""
        platform = body.get("platform", "*")
        if platform not in FAULT_PLATFORMS:
            raise FaultError(f"platform 只能是 {', '.join(FAULT_PLATFORMS)}")
        endpoint = body.get("endpoint", "*")
        if not isinstance(endpoint, str) or not endpoint.strip():
            raise FaultError("endpoint 必须是接口路径后缀或 *")
        delay = body.get("delay")
        http_status = body.get("http_status")
        if delay is not None:
            delay = _number(delay, "delay")
        if http_status is not None and (not isinstance(http_status, int) or not 200 <= http_status <= 599):
            raise FaultError("http_status 必须是 200–599 的整数")
        retry_after = body.get("retry_after")
        if retry_after is not None:
            retry_after = _number(retry_after, "retry_after")
            if retry_after < 0:
                raise FaultError("retry_after 不能为负数")
        errcode = body.get("errcode")
        if errcode is not None and (platform != "wechat" or isinstance(errcode, bool) or not isinstance(errcode, int)):
            raise FaultError("errcode 只用于 wechat，且必须是整数")
        with self._lock:
            rule = FaultRule(
                id=self._next_id,
                platform=platform,
                endpoint=endpoint.strip(),
                delay=delay,
                http_status=http_status,
                retry_after=retry_after,
                errcode=errcode,
            )
            if "ratio" in body:
                ratio = _number(body["ratio"], "ratio")
                errors = body.get("errors") or ([body["error"]] if body.get("error") else [])
                if not 0 < ratio <= 1:
                    raise FaultError("ratio 必须在 (0, 1] 之间")
                if not isinstance(errors, list) or not errors or any(e not in ERRORS for e in errors):
                    raise FaultError(f"errors 必须是非空列表，取值为 {', '.join(ERRORS)}")
                seed = body.get("seed")
                if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                    raise FaultError("seed 必须是整数")
                rule.ratio, rule.errors, rule.seed = ratio, list(errors), seed
                rule.rng = random.Random(seed)
            else:
                error = body.get("error")
                count = body.get("count", 1)
                if error not in ERRORS:
                    raise FaultError(f"error 只能是 {', '.join(ERRORS)}")
                if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                    raise FaultError("count 必须是正整数")
                rule.error, rule.count = error, count
            self._rules.append(rule)
            self._next_id += 1
            return rule.public()

    def take(self, platform: str, path: str) -> FaultHit | None:
        """The fault for this request, if any (consumes one use of a count rule)."""
        with self._lock:
            for rule in self._rules:
                if rule.error is None or rule.platform not in (platform, "*"):
                    continue
                if endpoint_matches(rule.endpoint, path):
                    rule.count -= 1
                    rule.hits += 1
                    hit = FaultHit(rule.error, rule.id, rule.delay, rule.http_status, rule.retry_after, rule.errcode)
                    if rule.count <= 0:
                        self._rules.remove(rule)
                    return hit
            for rule in self._rules:
                if rule.error is not None or rule.platform not in (platform, "*"):
                    continue
                if endpoint_matches(rule.endpoint, path) and rule.rng.random() < rule.ratio:
                    rule.hits += 1
                    return FaultHit(
                        rule.rng.choice(rule.errors),
                        rule.id,
                        rule.delay,
                        rule.http_status,
                        rule.retry_after,
                        rule.errcode,
                    )
        return None
