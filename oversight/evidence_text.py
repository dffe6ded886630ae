"""Evidence as a person reads it: labels, Chinese values, Beijing times, people's names.

``readable(evidence)`` turns a finding's evidence dict into rows of (label, value) where value is
text or a nested list of rows; nothing is dumped as JSON or as an internal code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from auth.models import User
from common.timefmt import bj, parse_instant
from extensions import db
from platforms.types import PLATFORM_LABELS
from registry.models import STATUS_LABELS, AccountStatus, Platform

#: Labels of the top-level evidence keys.
EVIDENCE_LABELS = {
    "kind_label": "类型",
    "account_name": "台账账号名称",
    "platform": "平台",
    "uid": "平台ID",
    "name": "平台显示名称",
    "subject": "认证主体",
    "verified": "是否认证",
    "unverified": "平台显示未认证",
    "region": "地区",
    "last_post_at": "最近发文时间",
    "profile_url": "主页链接",
    "source": "数据来源",
    "unit_name": "对应单位",
    "unit_region": "单位地区",
    "unit_resolution": "单位匹配方式",
    "unit_score": "单位匹配得分",
    "region_consistent": "地区一致",
    "registered_status": "台账状态",
    "registered_status_label": "台账状态（中文）",
    "since": "最近发文日期（本次未更新起点）",
    "never_posted": "从未发现发布",
    "days_since_last_post": "未更新天数",
    "threshold_days": "阈值（天）",
    "posts_7d": "近7天发文",
    "posts_30d": "近30天发文",
    "original_posts_30d": "近30天原创发文（平台提供时）",
    "original_share_30d": "近30天原创占比（平台提供时）",
    "followers": "粉丝数",
    "data_source": "数据来源",
    "last_check": "最近一次检查",
    "closed_on": "关停日期",
    "posted_after_closure": "关停后仍有发布",
    "matched_by": "匹配方式",
    "registered_name": "台账登记名称",
    "platform_name": "平台显示名称",
    "score": "相似度",
    "threshold": "阈值",
    "literal_only": "名称相近、仅字面不同",
    "decorative_only": "仅修饰性后缀不同（如“在线”“发布”）",
    "todo": "需要单位办理",
    "registered_subject": "台账登记的认证主体",
    "discovered_subject": "平台认证主体",
    "subject_source": "认证主体来源",
    "subject_is_government": "是否政务主体",
    "subject_unit_id": "认证主体对应单位编号",
    "subject_unit_name": "认证主体对应单位",
    "place_differs": "地名不同",
    "candidate_units": "候选单位",
    "registered_on_platform": "该单位在此平台已登记的账号",
    "registered_accounts": "已登记账号",
    "same_name_account_ids": "同名账号编号",
    "source_of_duplicate": "重复来源",
    "primary_account": "主账号",
    "accounts": "账号",
    "previously_seen": "上次检测时在平台",
    "reopened_at": "重新打开时间",
    "reopened_because": "重新打开原因",
    "reason": "原因",
    "same_name_account": "同名已备案账号",
}

#: Codes that appear as evidence values (data sources, match methods, …).
VALUE_LABELS = {
    "search": "平台搜索",
    "import": "第三方名单导入",
    "imported": "第三方名单导入",
    "probe": "平台探测",
    "inspection": "巡检",
    "credentials": "账号授权",
    "own_credentials": "账号授权",
    "third_party": "第三方监测数据",
    "weibo_biz": "微博商业数据接口",
    "api": "平台接口",
    "uid": "平台ID",
    "name": "名称",
    "subject": "认证主体",
    "exact": "完全一致",
    "fuzzy": "相似",
    # how a found account's unit was matched (reconcile's unit_resolution)
    "place_variant": "地名变体一致",
    "ambiguous": "多个单位相近，未能确定",
    "none": "未匹配到单位",
    "credit_code": "统一社会信用代码",
    "registry": "台账",
    "platform": "平台",
    "manual": "人工",
    "system": "系统",
    "own_api": "账号自身授权",
    "high": "高",
    "medium": "中",
    "low": "低",
    "block": "阻断",
    "warn": "提示",
    "active": "正常",
    "deregistered": "已注销",
    "closed": "已关闭",
    "banned": "已封禁",
    "deleted": "已删除",
    "unavailable": "无法访问",
}
#: Keys of nested evidence that EVIDENCE_LABELS (the top-level keys) does not name.
KEY_LABELS = {
    "status": "状态",
    "at": "时间",
    "by": "经办人",
    "id": "编号",
    "account_id": "台账账号编号",
    "unit_id": "单位编号",
    "kind": "类型",
    "url": "链接",
    "title": "标题",
    "text": "内容",
    "excerpt": "内容摘录（【】内为命中处）",
    "count": "数量",
    # the inspection's post evidence (未经三审发布, 篡改, 平台删除, 检查命中)
    "post_id": "平台内容编号",
    "post_ids": "涉及的全部内容编号",
    "post_count": "内容条数",
    "post_url": "原文链接",
    "published_at": "发布时间",
    "day": "发现日期",
    "repost": "是否转发",
    "severity": "严重程度",
    "approved_text": "终审通过的文本",
    "live_text": "平台上的现文",
    "removed_reason": "删除或屏蔽原因",
    "removed_at": "删除时间",
    "raw_status": "平台接口返回的原始状态（供与平台核对）",
    "by_platform": "由平台删除或屏蔽",
    "platform_status": "平台账号状态",
    "hits": "检查命中",
    "message": "说明",
    "rule": "规则",
    # 互动未回应
    "severe": "严重超期",
    "threshold_workdays": "回复时限（工作日）",
    "overdue": "超期条数",
    "oldest_received_at": "最早一条的收到时间",
    "oldest_waited_hours": "最早一条已等待（小时）",
    "error": "错误",
}
PEOPLE_KEYS = ("by", "actor", "decided_by")
#: posts: their own table on the page; the rest are internal ids and fingerprints, which the page
#: shows as links (the post, the 稿件, the comments) instead of numbers.
SKIP_KEYS = (
    "registered_status_label",
    "kind_label",
    "posts",
    "live_post_id",
    "live_text_hash",
    "delivery_id",
    "item_ids",
    "hit_keys",
    "checked_version",  # a hash of the dictionaries: the post's page says when it was checked
)


def _code(value: str) -> str:
    try:
        return PLATFORM_LABELS[Platform(value)]
    except ValueError:
        pass
    try:
        return STATUS_LABELS[AccountStatus(value)]
    except ValueError:
        pass
    if "://" in value:  # a link stays a link
        return value
    if ":" in value and value.isascii():
        return "·".join(_code(part) for part in value.split(":") if part)
    return VALUE_LABELS.get(value, value)


def _people(evidence: Any) -> dict[str, str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in PEOPLE_KEYS and isinstance(value, str):
                    names.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(evidence)
    if not names:
        return {}
    rows = db.session.execute(sa.select(User.username, User.display_name).where(User.username.in_(names)))
    return dict(rows.tuples().all())


def value_text(key: str, value: Any, people: Mapping[str, str] | None = None) -> Any:
    """One evidence value as text, or a list of (label, value) rows for nested data."""
    if value is None or value == "":
        return "—"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, int | float):
        return f"{value:.2f}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        if key in PEOPLE_KEYS:
            return (people or {}).get(value, "系统" if value == "system" else value)
        if ("T" in value or ":" in value) and value[:1].isdigit() and parse_instant(value) is not None:
            return bj(value)
        return _code(value) if value.isascii() else value
    if key == "hits" and isinstance(value, list | tuple):  # check hits: one line each
        return [(f"第 {i} 处", _hit_text(h)) for i, h in enumerate(value, 1)] or "无"
    if isinstance(value, Mapping):
        return rows_of(value, people)
    if isinstance(value, list | tuple):
        if not value:
            return "无"
        if all(not isinstance(v, Mapping | list) for v in value):
            return "、".join(str(value_text(key, v, people)) for v in value)
        return [(f"第 {i} 项", value_text(key, v, people)) for i, v in enumerate(value, 1)]
    return str(value)


def _hit_text(hit: Any) -> str:
    """A check hit as one line: 【阻断】message（“matched text”）."""
    if not isinstance(hit, Mapping):
        return str(value_text("hit", hit))
    severity = VALUE_LABELS.get(str(hit.get("severity") or ""), "")
    quoted = f"（“{hit['text']}”）" if hit.get("text") else ""
    return f"{'【' + severity + '】' if severity else ''}{hit.get('message') or hit.get('rule') or '—'}{quoted}"


def rows_of(data: Mapping[str, Any], people: Mapping[str, str] | None = None) -> list[tuple[str, Any]]:
    return [
        (EVIDENCE_LABELS.get(k) or KEY_LABELS.get(k) or _code(k), value_text(k, v, people))
        for k, v in data.items()
        if k not in SKIP_KEYS
    ]


def readable(evidence: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The evidence's rows; its ``message`` is the page's summary line, not repeated here."""
    return rows_of({k: v for k, v in evidence.items() if k != "message"}, _people(evidence))


def person(login: str | None) -> str:
    """A login name as the person's display name (``system``, ``system:…`` → 系统)."""
    if not login or login == "system" or login.startswith("system:"):
        return "系统"
    return _people({"by": login}).get(login, login)
