"""The editor's live character counters: per platform, which fields it counts and the real limit.

The limits are the adapters' own (``platforms.*``); the fields each platform reads follow the
adapters' ``render``: Weibo posts its 单独文案, else the summary, else the title, plus the link
(a URL counts 10 by Weibo's rule); a WeChat article has a 32-character title and a 128-character
summary; the Douyin caption is the 单独文案, summary, title or body; a Toutiao article title has
5–30 characters. The browser counts (static/js/editor.js); the server checks stay authoritative.
"""

from __future__ import annotations

from typing import Any

from platforms import douyin, toutiao, wechat, weibo
from platforms.types import PLATFORM_LABELS
from registry.models import Platform

WEIBO_LINK_COST = 11  # " " + a URL, which Weibo counts as 10


def counters() -> dict[str, list[dict[str, Any]]]:
    """Counter specs per platform value: label, the form fields read in order, limits, counting mode."""
    low, high = toutiao.ARTICLE_TITLE
    return {
        Platform.weibo.value: [
            {
                "label": "微博正文（含原文链接，按微博规则计）",
                "sources": ["override_weibo", "summary", "title"],
                "max": weibo.MAX_TEXT,
                "mode": "weibo",
                "extra": WEIBO_LINK_COST,
            }
        ],
        Platform.wechat.value: [
            {"label": "公众号标题", "sources": ["title"], "max": wechat.TITLE_MAX, "mode": "chars"},
            {"label": "公众号摘要", "sources": ["summary"], "max": wechat.DIGEST_MAX, "mode": "chars"},
        ],
        Platform.douyin.value: [
            {
                "label": "抖音文案",
                "sources": ["override_douyin", "summary", "title", "body"],
                "max": douyin.CAPTION_MAX,
                "mode": "chars",
            }
        ],
        Platform.toutiao.value: [
            {"label": "头条号文章标题", "sources": ["title"], "min": low, "max": high, "mode": "chars"},
        ],
    }


def counters_for(platforms: list[Platform]) -> list[dict[str, Any]]:
    specs = counters()
    return [
        {"platform": p.value, "platform_label": PLATFORM_LABELS[p], "counters": specs.get(p.value, [])}
        for p in platforms
    ]
