"""Runtime settings of the sandbox: defaults, validation and merging.

Every key can be given to ``create_sandbox_app(config)`` and changed at runtime with
``POST /_sandbox/config``. Keys starting with ``douyin_`` apply to Toutiao as well (the
two share the ByteDance open platform).
"""

from __future__ import annotations

import copy
from typing import Any

#: WeChat daily quotas per account, keyed by the path after ``/cgi-bin/`` (PROTOCOLS §1).
WECHAT_DAILY_QUOTA: dict[str, int] = {
    "token": 2000,
    "draft/add": 1000,
    "draft/get": 500,
    "freepublish/submit": 100,
    "freepublish/get": 100,
    "freepublish/getarticle": 100,
    "freepublish/batchget": 100,
    "freepublish/delete": 10,
}

DEFAULTS: dict[str, Any] = {
    # general
    "auto_provision": True,
    "timeout_delay": 3.0,
    "clock_offset": 0.0,
    "public_base_url": "",
    "reject_words": ["违规内容", "SANDBOX_REJECT"],
    # WeChat
    "wechat_publish_polls": 1,
    "wechat_publish_seconds": 5.0,
    "wechat_original_fail_words": ["SANDBOX_ORIGINAL_FAIL"],
    "wechat_token_ttl": 7200,
    "wechat_daily_quota": WECHAT_DAILY_QUOTA,
    "wechat_clear_quota_per_month": 10,
    # 群发 (sandbox/mass.py)
    "wechat_mass_daily": 1,
    "wechat_mass_monthly": 4,
    "wechat_mass_polls": 1,
    "wechat_mass_protection": False,
    "wechat_mass_confirm_seconds": 1800.0,
    # Weibo
    "weibo_safe_domains": ["gov.example.cn", "127.0.0.1", "localhost"],
    "weibo_posts_per_hour": 30,
    "weibo_require_rip": True,
    "weibo_token_ttl": 7 * 86400,
    "weibo_timeline_count": 5,
    "weibo_destroy_enabled": True,
    "weibo_article_enabled": True,
    "weibo_length_mode": "weibo",
    # Douyin and Toutiao
    "douyin_max_renewals": 5,
    "douyin_access_ttl": 15 * 86400,
    "douyin_refresh_ttl": 30 * 86400,
    "douyin_client_ttl": 7200,
    "douyin_reject_mode": "hide",
    "douyin_legacy_status_fields": False,
    "douyin_cert_labels": True,
    "toutiao_text_max": 30,
    "toutiao_legacy_articles": False,
}

_CHOICES: dict[str, set[str]] = {
    "weibo_length_mode": {"weibo", "chars"},
    "douyin_reject_mode": {"hide", "error"},
}


class ConfigError(ValueError):
    """An unknown key or a value of the wrong type."""


def defaults() -> dict[str, Any]:
    return copy.deepcopy(DEFAULTS)


def _check(key: str, value: Any) -> Any:
    expected = DEFAULTS[key]
    if isinstance(expected, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key} 必须是布尔值")
        return value
    if isinstance(expected, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} 必须是数字")
        if key != "clock_offset" and value < 0:
            raise ConfigError(f"{key} 不能为负数")
        return type(expected)(value) if isinstance(expected, float) else int(value)
    if isinstance(expected, str):
        if not isinstance(value, str):
            raise ConfigError(f"{key} 必须是字符串")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ConfigError(f"{key} 只能是 {sorted(_CHOICES[key])} 之一")
        return value
    if isinstance(expected, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} 必须是字符串列表")
        return list(value)
    if isinstance(expected, dict):
        if not isinstance(value, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value.values()
        ):
            raise ConfigError(f"{key} 必须是 名称→非负整数 的对象")
        return dict(value)
    raise ConfigError(f"无法识别的配置项 {key}")  # pragma: no cover - defaults are typed


def merge(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A new config with ``changes`` applied; dict values are merged one level deep."""
    unknown = sorted(set(changes) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"未知配置项：{', '.join(unknown)}")
    result = copy.deepcopy(current)
    for key, value in changes.items():
        checked = _check(key, value)
        if isinstance(checked, dict):
            result[key] = {**result[key], **checked}
        else:
            result[key] = checked
    return result
