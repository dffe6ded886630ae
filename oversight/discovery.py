"""Discovery (账号发现): platform search and third-party lists → snapshots → reconciliation → findings.

Two sources feed the same pipeline:

* **platform search** — ``plan_search()`` builds keywords from the org list (unit names, i.e. the
  认证主体 to look for, their regions, names of closed accounts, ``DISCOVERY_EXTRA_KEYWORDS``);
  ``search(plan)`` asks every platform's ``search_accounts`` (network only, rate-limited through
  the adapters' shared limiter, errors collected per platform and keyword, never raised);
* **imported lists** from third-party monitors — ``parse_import(data, filename)`` reads CSV or
  XLSX with Chinese headers (平台, 账号ID, 账号名称, 认证主体, 认证, 主页链接, 粉丝数, 最近发文时间 …);
  it is all-or-nothing: any bad row raises :class:`ImportRowsInvalid` (422) listing
  (row, column, reason) and nothing is written.

``record(accounts, …)`` then upserts one :class:`~oversight.models.DiscoveredAccount` snapshot per
(platform, uid), runs :func:`oversight.reconcile.reconcile` against every unit and registered
account, and writes all findings in one batch (upsert by fingerprint: re-running on the same
data adds nothing; dismissed/resolved findings stay closed unless there is new evidence). One
audit entry ``discovery:run`` records each run with its figures; it is also how the next run
knows what the previous one saw (``previously_seen`` → ``reopened``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context

from audit import service as audit
from audit.models import AuditEntry
from common import sheets
from common.db import utcnow
from common.errors import Invalid
from common.timefmt import CN_TZ
from extensions import db
from jobs import ProgressFn, no_progress
from oversight import findings as findings_service
from oversight.findings import FindingInput, iso_cn, parse_iso, setting_int, to_cn, to_naive_utc
from oversight.models import DiscoveredAccount, Finding, FindingKind
from oversight.probes import adapter_or_none, throttle
from oversight.reconcile import ReconRecord, RegisteredAccount, Thresholds, UnitRef, reconcile
from platforms.errors import AdapterError, RateLimited, Unsupported
from platforms.types import PLATFORM_LABELS, PlatformAccount
from registry.models import Account, AccountStatus, Platform, Unit

RUN_ACTION = "discovery:run"
# Discovery findings that a later run may close by itself: the record was evaluated again and
# the problem is gone (e.g. the account was registered, the name corrected).
SELF_CLEARING_KINDS = (
    FindingKind.unregistered,
    FindingKind.name_mismatch,
    FindingKind.subject_mismatch,
    FindingKind.duplicate,
)
REASON_CLEARED = "复核时未再发现该问题（台账或平台信息已更正）"
SOURCES = ("search", "import")


def reconcile_thresholds() -> Thresholds:
    """``Thresholds`` with overrides from the ``RECONCILE_THRESHOLDS`` setting (a dict)."""
    raw: Any = (current_app.config.get("RECONCILE_THRESHOLDS") if has_app_context() else None) or {}
    overrides: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw)
    known = {f.name: f for f in fields(Thresholds)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items() if k in known}
    # Any literal name difference of a uid-matched account is reported (issue 21), unless the
    # setting turns it off.
    values.setdefault("literal_names", True)
    return Thresholds(**values)


# ----------------------------------------------------------------------------- observed accounts


@dataclass(frozen=True)
class SearchPlan:
    platforms: tuple[str, ...]
    keywords: tuple[str, ...]


@dataclass
class SearchResult:
    accounts: list[PlatformAccount]
    started_at: datetime
    platforms: dict[str, dict[str, Any]]
    errors: list[dict[str, Any]]


def plan_search(platforms: Sequence[str] | None = None, extra_keywords: Sequence[str] = ()) -> SearchPlan:
    """Keywords from the org list. Reads only; the caller ends the transaction before searching."""
    configured = list(current_app.config.get("PLATFORM_BASE_URLS", {}))
    chosen = tuple(p for p in (platforms or configured) if p in configured)
    words: list[str] = []
    for name, region in db.session.execute(sa.select(Unit.name, Unit.region).order_by(Unit.id)):
        words.append(name)
        if region:
            words.append(region)
    closed = db.session.scalars(
        sa.select(Account.name).where(Account.status.in_((AccountStatus.closed, AccountStatus.closed_on_platform)))
    )
    words.extend(closed)
    extra = current_app.config.get("DISCOVERY_EXTRA_KEYWORDS") or ""
    if isinstance(extra, str):
        extra = [w for w in re.split(r"[,，;；\s]+", extra) if w]
    words.extend(extra)
    words.extend(extra_keywords)
    seen: dict[str, None] = {}
    for word in words:
        w = (word or "").strip()
        if len(w) >= 2:
            seen.setdefault(w, None)
    limit = setting_int("DISCOVERY_MAX_KEYWORDS", 500)
    return SearchPlan(platforms=chosen, keywords=tuple(seen)[:limit])


def search(
    plan: SearchPlan,
    *,
    max_wait: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: ProgressFn = no_progress,
) -> SearchResult:
    """Ask each platform's account search for every keyword. No database access.

    Rate limits: our own per-platform budget (``DISCOVERY_SEARCH_PER_MINUTE``) through the
    adapters' shared limiter; a wait longer than ``max_wait`` (``DISCOVERY_MAX_WAIT_SECONDS``,
    default 120) stops that platform for this run, as does a platform's own rate limit.
    """

    started = utcnow()
    if max_wait is None:
        max_wait = float(setting_int("DISCOVERY_MAX_WAIT_SECONDS", 120))
    per_minute = setting_int("DISCOVERY_SEARCH_PER_MINUTE", 60)
    found: dict[tuple[str, str], PlatformAccount] = {}
    report: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    total = len(plan.platforms) * len(plan.keywords)
    for index, platform in enumerate(plan.platforms):
        progress(index * len(plan.keywords), total, f"正在检索{PLATFORM_LABELS.get(Platform(platform), platform)}…")
        info: dict[str, Any] = {"status": "ok", "keywords": 0, "found": 0}
        report[platform] = info
        adapter = adapter_or_none(platform)
        if adapter is None or not adapter.supports("search_accounts"):
            info["status"] = "unsupported"
            continue
        for keyword in plan.keywords:
            wait = throttle(adapter, "discovery", "search", per_minute, max_wait=max_wait, sleep=sleep)
            if wait is not None:
                info["status"] = "rate_limited"
                errors.append(
                    {"platform": platform, "keyword": keyword, "code": "local_rate_limit", "retry_after": wait}
                )
                break
            try:
                hits = adapter.search_accounts(keyword)
            except Unsupported:
                info["status"] = "unsupported"
                break
            except RateLimited as exc:
                info["status"] = "rate_limited"
                errors.append(_search_error(platform, keyword, exc))
                break
            except AdapterError as exc:
                info["status"] = "partial"
                errors.append(_search_error(platform, keyword, exc))
                continue
            info["keywords"] += 1
            progress(index * len(plan.keywords) + info["keywords"], total)
            for h in hits:
                if not h.uid:
                    continue
                found[(platform, h.uid)] = PlatformAccount(
                    platform=platform,
                    uid=h.uid,
                    name=h.name or h.uid,
                    subject=h.subject or None,
                    verified=h.verified,
                    profile_url=h.profile_url,
                    followers=h.followers,
                    posts_count=h.posts_count,
                    last_post_at=to_naive_utc(h.last_post_at),
                    status=h.status,
                    source="search",
                    source_ref=keyword,
                )
        info["found"] = sum(1 for p, _ in found if p == platform)
        if info["status"] == "partial" and info["keywords"] == 0:
            info["status"] = "error"
    progress(total, total, "检索完成，正在与台账比对…", force=True)
    return SearchResult(accounts=list(found.values()), started_at=started, platforms=report, errors=errors)


def run_search(
    platforms: Sequence[str] | None = None,
    keywords: Sequence[str] = (),
    *,
    actor: Any = None,
    progress: ProgressFn = no_progress,
) -> dict[str, Any]:
    """Plan (read) → end the read transaction → search (network) → record (flushes).

    Commits once, after planning, so no transaction (nor SQLite's write lock) is held across
    the network calls; the caller commits what ``record`` wrote.
    """
    plan = plan_search(platforms, extra_keywords=keywords)
    db.session.commit()
    result = search(plan, progress=progress)
    return record(
        result.accounts,
        source="search",
        actor=actor,
        started_at=result.started_at,
        searched={**result.platforms, "keywords": len(plan.keywords)},
        errors=result.errors,
    )


def summary_text(summary: dict[str, Any]) -> str:
    """One Chinese sentence for a run's or an import's summary."""
    f = summary["findings"]
    text = (
        f"共核对 {summary['accounts_seen']} 个平台账号：新增问题线索 {f['created']} 条，"
        f"更新 {f['updated']} 条，重新打开 {f['reopened']} 条，自动解决 {f['resolved']} 条"
    )
    if summary.get("errors"):
        text += f"；{len(summary['errors'])} 次检索失败（详见审计日志）"
    return text


def _search_error(platform: str, keyword: str, exc: Any) -> dict[str, Any]:
    return {
        "platform": platform,
        "keyword": keyword,
        "type": type(exc).__name__,
        "code": exc.code,
        "message": exc.message,
    }


# ----------------------------------------------------------------------------- imports


class ImportRowsInvalid(Invalid):
    """422: the file has bad rows; nothing was written. ``details.errors``: row, column, reason."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        shown = errors[:500]
        super().__init__(
            f"导入文件有 {len(errors)} 处错误，未写入任何数据",
            code="import_rows_invalid",
            details={"errors": shown, "total_errors": len(errors)},
        )
        self.errors = errors


HEADERS: dict[str, tuple[str, ...]] = {
    "platform": ("平台", "平台类型", "平台名称", "platform"),
    "uid": ("账号ID", "账号id", "账号Id", "平台ID", "平台账号ID", "UID", "uid", "微信号", "抖音号"),
    "name": ("账号名称", "名称", "账号", "昵称", "name"),
    "subject": ("认证主体", "主体", "认证单位", "subject"),
    "verified": ("认证", "是否认证", "认证状态", "verified"),
    "profile_url": ("主页链接", "主页", "链接", "主页地址", "URL", "url"),
    "followers": ("粉丝数", "粉丝", "关注量", "订阅数", "followers"),
    "last_post_at": ("最近发文时间", "最后发文时间", "最近更新时间", "最近发布时间", "last_post_at"),
    "posts_count": ("发文数", "发文总数", "作品数", "posts_count"),
    "region": ("地区", "所属地区", "区域", "region"),
    "platform_status": ("状态", "账号状态", "status"),
}
HEADER_LABELS = {key: names[0] for key, names in HEADERS.items()}
REQUIRED = ("platform", "uid", "name")

PLATFORM_ALIASES: dict[str, Platform] = {
    "微博": Platform.weibo,
    "新浪微博": Platform.weibo,
    "微信": Platform.wechat,
    "微信公众号": Platform.wechat,
    "公众号": Platform.wechat,
    "服务号": Platform.wechat,
    "订阅号": Platform.wechat,
    "抖音": Platform.douyin,
    "今日头条": Platform.toutiao,
    "头条": Platform.toutiao,
    "头条号": Platform.toutiao,
    "快手": Platform.kuaishou,
    "哔哩哔哩": Platform.bilibili,
    "b站": Platform.bilibili,
    "小红书": Platform.xiaohongshu,
    "视频号": Platform.channels,
    "微信视频号": Platform.channels,
    "百家号": Platform.baijiahao,
    "客户端": Platform.app,
    "移动客户端": Platform.app,
    "app": Platform.app,
    "小程序": Platform.miniprogram,
    "其他": Platform.other,
}
_TRUE = {"是", "已认证", "认证", "蓝v", "黄v", "true", "1", "yes", "y"}
_FALSE = {"否", "未认证", "无", "false", "0", "no", "n"}
_PLATFORM_STATUSES = {
    "正常": "active",
    "active": "active",
    "运行": "active",
    "已注销": "deregistered",
    "注销": "deregistered",
    "deregistered": "deregistered",
    "封禁": "banned",
    "已封禁": "banned",
    "banned": "banned",
    "已关闭": "closed",
    "closed": "closed",
}
_DT_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def _platform_of(value: str) -> Platform | None:
    text = value.strip()
    try:
        return Platform(text.lower())
    except ValueError:
        return PLATFORM_ALIASES.get(text.lower()) or PLATFORM_ALIASES.get(text)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _parse_int(text: str) -> int:
    t = text.replace(",", "").replace("，", "").strip()
    factor = 1
    if t.endswith("万"):
        factor, t = 10_000, t[:-1]
    elif t.endswith("亿"):
        factor, t = 100_000_000, t[:-1]
    number = float(t)
    if number < 0:
        raise ValueError("negative")
    return round(number * factor)


def _parse_time(value: Any) -> datetime:
    """Naive values are Beijing time (what Chinese monitors export); returns naive UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, dtime())
    else:
        text = _as_text(value).replace("T", " ").replace("年", "-").replace("月", "-").replace("日", "")
        parsed = None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            for fmt in _DT_FORMATS:
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if parsed is None:
            raise ValueError(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CN_TZ)
    return to_naive_utc(parsed)  # type: ignore[return-value]


def read_sheet(
    data: bytes, filename: str, headers: dict[str, tuple[str, ...]], required: Sequence[str]
) -> tuple[list[tuple[int, list[Any]]], dict[str, int]]:
    """The rows of a CSV/XLSX upload as (spreadsheet row number, cells), header first, and the
    column of each known header, or :class:`ImportRowsInvalid` (wrong type, empty, a required
    column missing, too many rows or columns — read lazily, common/sheets.py). Shared by the
    account-list import here and the post import of the inspection."""
    name = (filename or "").lower()
    if not (name.endswith((".xlsx", ".csv", ".txt")) or not name or data[:2] == b"PK"):
        raise ImportRowsInvalid([{"row": 0, "column": None, "reason": "只支持 CSV 或 XLSX 文件"}])
    limits = {**sheets.upload_limits(), "max_rows": setting_int("DISCOVERY_IMPORT_MAX_ROWS", 100_000)}
    try:
        rows = sheets.read_rows(data, **limits)
    except sheets.SheetError as exc:
        raise ImportRowsInvalid([{"row": exc.row, "column": None, "reason": exc.reason}]) from None
    if not rows:
        raise ImportRowsInvalid([{"row": 1, "column": None, "reason": "文件为空，缺少表头"}])
    header = [_as_text(h) for h in rows[0][1]]
    index: dict[str, int] = {}
    for key, names in headers.items():
        lowered = {n.lower() for n in names}
        for i, h in enumerate(header):
            if h in names or h.lower() in lowered:
                index.setdefault(key, i)
                break
    errors: list[dict[str, Any]] = [
        {"row": 1, "column": headers[k][0], "reason": f"缺少必填列“{headers[k][0]}”"}
        for k in required
        if k not in index
    ]
    if errors:
        raise ImportRowsInvalid(errors)
    return rows, index


def parse_import(data: bytes, filename: str, *, source_ref: str | None = None) -> list[PlatformAccount]:
    """Read a third-party list; all rows valid or :class:`ImportRowsInvalid`. Row numbers are
    the spreadsheet's (header = row 1)."""
    rows, index = read_sheet(data, filename, HEADERS, REQUIRED)
    errors: list[dict[str, Any]] = []
    out: list[PlatformAccount] = []
    first_row_of: dict[tuple[str, str], int] = {}
    ref = source_ref or filename or "import"
    for number, row in rows[1:]:
        cells = {k: (row[i] if i < len(row) else None) for k, i in index.items()}
        if not any(_as_text(v) for v in cells.values()):
            continue  # blank line
        row_errors: list[dict[str, Any]] = []

        def bad(key: str, reason: str, number: int = number, row_errors: list[dict[str, Any]] = row_errors) -> None:
            row_errors.append({"row": number, "column": HEADER_LABELS[key], "reason": reason})

        text = {k: _as_text(v) for k, v in cells.items()}
        platform = None
        if not text.get("platform"):
            bad("platform", "不能为空")
        else:
            platform = _platform_of(text["platform"])
            if platform is None:
                bad("platform", f"无法识别的平台“{text['platform']}”")
        uid = text.get("uid", "")
        if not uid:
            bad("uid", "不能为空")
        elif len(uid) > 128:
            bad("uid", "超过 128 个字符")
        acct_name = text.get("name", "")
        if not acct_name:
            bad("name", "不能为空")
        elif len(acct_name) > 200:
            bad("name", "超过 200 个字符")
        subject = text.get("subject") or None
        if subject and len(subject) > 200:
            bad("subject", "超过 200 个字符")
        verified: bool | None = None
        if text.get("verified"):
            v = text["verified"].lower()
            if v in _TRUE:
                verified = True
            elif v in _FALSE:
                verified = False
            else:
                bad("verified", f"应为“是”或“否”，实际为“{text['verified']}”")
        url = text.get("profile_url") or None
        if url and (not re.match(r"^https?://\S+$", url) or len(url) > 500):
            bad("profile_url", "不是有效的 http(s) 链接")
        followers = posts_count = None
        for key in ("followers", "posts_count"):
            if text.get(key):
                try:
                    number_value = _parse_int(text[key])
                except ValueError:
                    bad(key, f"应为非负整数，实际为“{text[key]}”")
                else:
                    if key == "followers":
                        followers = number_value
                    else:
                        posts_count = number_value
        last_post_at = None
        if cells.get("last_post_at") not in (None, ""):
            try:
                last_post_at = _parse_time(cells["last_post_at"])
            except ValueError:
                bad("last_post_at", f"无法识别的时间“{text['last_post_at']}”（示例：2026-05-01 09:30）")
            else:
                if last_post_at > utcnow():
                    bad("last_post_at", "时间晚于当前时间")
        status = None
        if text.get("platform_status"):
            status = _PLATFORM_STATUSES.get(text["platform_status"].lower())
            if status is None:
                bad("platform_status", f"无法识别的状态“{text['platform_status']}”（正常/已注销/封禁）")
        region = text.get("region") or None
        if platform is not None and uid:
            key = (platform.value, uid)
            if key in first_row_of:
                bad("uid", f"与第 {first_row_of[key]} 行重复（同一平台同一账号ID）")
            else:
                first_row_of[key] = number
        if row_errors:
            errors.extend(row_errors)
            continue
        assert platform is not None  # noqa: S101 - narrowed by the checks above
        out.append(
            PlatformAccount(
                platform=platform.value,
                uid=uid,
                name=acct_name,
                subject=subject,
                verified=verified,
                profile_url=url,
                followers=followers,
                posts_count=posts_count,
                last_post_at=last_post_at,
                region=region[:100] if region else None,
                status=status,
                source="import",
                source_ref=ref[:200],
            )
        )
    if errors:
        raise ImportRowsInvalid(errors)
    if not out:
        raise ImportRowsInvalid([{"row": 2, "column": None, "reason": "文件没有数据行"}])
    return out


# ----------------------------------------------------------------------------- recording


def last_run_started_at() -> datetime | None:
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == RUN_ACTION).order_by(AuditEntry.id.desc()).limit(1)
    )
    if entry is None:
        return None
    started = parse_iso((entry.after or {}).get("started_at"))
    return to_naive_utc(started) if started else entry.at


def _gone(snapshot: DiscoveredAccount, gone_statuses: Iterable[str]) -> bool:
    return (snapshot.raw or {}).get("platform_status") in (*gone_statuses, "not_found")


def previously_seen_closed(gone_statuses: Iterable[str]) -> set[tuple[str, str]] | None:
    """(platform, uid) of closed accounts present at the latest observation since the previous
    run (search, list or closure probe). None when there was no previous run: no history."""
    since = last_run_started_at()
    if since is None:
        return None
    gone_statuses = tuple(gone_statuses)
    rows = db.session.execute(
        sa.select(DiscoveredAccount)
        .join(
            Account,
            sa.and_(
                Account.platform == DiscoveredAccount.platform, Account.platform_uid == DiscoveredAccount.platform_uid
            ),
        )
        .where(Account.status.in_((AccountStatus.closed, AccountStatus.closed_on_platform)))
        .where(DiscoveredAccount.seen_at >= since)
    ).scalars()
    return {(s.platform.value, s.platform_uid) for s in rows if not _gone(s, gone_statuses)}


def upsert_snapshots(accounts: Sequence[PlatformAccount], now: datetime) -> list[DiscoveredAccount]:
    """One snapshot per (platform, uid), latest observation wins. Returns this run's rows."""
    latest: dict[tuple[str, str], PlatformAccount] = {}
    for a in accounts:
        latest[(a.platform, a.uid)] = a
    existing: dict[tuple[str, str], DiscoveredAccount] = {}
    by_platform: dict[str, list[str]] = {}
    for p, uid in latest:
        by_platform.setdefault(p, []).append(uid)
    for p, uids in by_platform.items():
        for i in range(0, len(uids), 500):
            chunk = uids[i : i + 500]
            for snap in db.session.scalars(
                sa.select(DiscoveredAccount).where(
                    DiscoveredAccount.platform == Platform(p), DiscoveredAccount.platform_uid.in_(chunk)
                )
            ):
                existing[(p, snap.platform_uid)] = snap
    out: list[DiscoveredAccount] = []
    for key, a in latest.items():
        snap = existing.get(key)
        if snap is None:
            snap = DiscoveredAccount(platform=Platform(a.platform), platform_uid=a.uid, first_seen_at=now)
            db.session.add(snap)
        snap.name = a.name[:200]
        snap.subject = a.subject[:200] if a.subject else None
        snap.verified = a.verified
        snap.profile_url = a.profile_url[:500] if a.profile_url else snap.profile_url
        if a.followers is not None:
            snap.followers = a.followers
        if a.posts_count is not None:
            snap.posts_count = a.posts_count
        if a.last_post_at is not None:
            snap.last_post_at = a.last_post_at
        snap.region = a.region or snap.region
        snap.source = a.source
        snap.source_ref = a.source_ref
        snap.seen_at = now
        snap.raw = {
            **{k: v for k, v in (snap.raw or {}).items() if k not in ("probed_at", "probe_via")},
            "platform_status": a.status,
            **a.extra,
        }
        out.append(snap)
    db.session.flush()
    return out


def _unit_refs() -> list[UnitRef]:
    return [
        UnitRef(id=i, name=n, credit_code=c, region=r)
        for i, n, c, r in db.session.execute(sa.select(Unit.id, Unit.name, Unit.credit_code, Unit.region))
    ]


def _registered() -> list[RegisteredAccount]:
    rows = db.session.execute(
        sa.select(
            Account.id,
            Account.platform,
            Account.platform_uid,
            Account.name,
            Account.unit_id,
            Account.verified_subject,
            Account.status,
            Account.closed_on,
            Account.duplicate_reason,
            Unit.region,
        ).join(Unit, Unit.id == Account.unit_id)
    )
    return [
        RegisteredAccount(
            id=r.id,
            platform=r.platform.value,
            uid=r.platform_uid or "",
            name=r.name,
            unit_id=r.unit_id,
            subject=r.verified_subject,
            status=r.status.value,
            region=r.region,
            closed_on=r.closed_on,
            duplicate_reason=r.duplicate_reason,
        )
        for r in rows
    ]


def _record_of(s: DiscoveredAccount) -> ReconRecord:
    return ReconRecord(
        key=str(s.id),
        platform=s.platform.value,
        uid=s.platform_uid,
        name=s.name,
        subject=s.subject,
        verified=s.verified,
        region=s.region,
        last_post_at=to_cn(s.last_post_at),
        profile_url=s.profile_url,
        source=s.source,
        platform_status=(s.raw or {}).get("platform_status"),
    )


def record(
    accounts: Sequence[PlatformAccount],
    *,
    source: str,
    source_ref: str | None = None,
    actor: Any = None,
    started_at: datetime | None = None,
    searched: dict[str, Any] | None = None,
    errors: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Snapshots → reconcile → one batch of findings → one audit entry. Flushes; returns the
    run's figures."""
    now = utcnow()
    started_at = started_at or now
    t = reconcile_thresholds()
    previously_seen = previously_seen_closed(t.gone_platform_statuses)  # before this run's writes
    snapshots = upsert_snapshots(accounts, now)
    snap_ids = {s.id for s in snapshots}
    result = reconcile(
        _unit_refs(),
        _registered(),
        [_record_of(s) for s in snapshots],
        t,
        previously_seen=previously_seen,
    )
    inputs = [
        FindingInput(
            kind=FindingKind(f.kind),
            fingerprint=f.fingerprint,
            evidence=dict(f.evidence),
            confidence=f.confidence,
            account_id=f.account_id,
            unit_id=f.unit_id,
            discovered_id=int(f.discovered_key) if f.discovered_key else None,
        )
        for f in result.findings
    ]
    report = findings_service.upsert_many(inputs, now)
    produced = {i.fingerprint for i in inputs}
    cleared = _clear_fixed(produced, snap_ids)
    summary = {
        "source": source,
        "source_ref": source_ref,
        "started_at": iso_cn(started_at),
        "finished_at": iso_cn(utcnow()),
        "accounts_seen": len(snapshots),
        "snapshots_new": sum(1 for s in snapshots if s.first_seen_at == now),
        "had_history": previously_seen is not None,
        "findings": {**report.counts(), "resolved": len(cleared), "total": len(inputs)},
        "findings_by_kind": dict(result.stats.get("findings_by_kind", {})),
        "created_ids": [f.id for f in report.created][:1000],
        "reopened_ids": [f.id for f in report.reopened][:1000],
        "resolved_ids": cleared[:1000],
        "platforms": searched or {},
        "errors": list(errors)[:200],
        "reconcile_seconds": result.stats.get("seconds"),
    }
    audit.record(
        RUN_ACTION,
        object_type="discovery",
        object_id=source,
        after=summary,
        actor=actor,
        actor_label=None if actor is not None else "system:discovery",
    )
    return summary


def _clear_fixed(produced: set[str], snap_ids: set[int]) -> list[int]:
    """Resolve open discovery findings that this run re-evaluated and no longer produced."""
    candidates = db.session.scalars(
        sa.select(Finding).where(
            Finding.kind.in_(SELF_CLEARING_KINDS), Finding.status.in_(findings_service.ACTIVE_STATUSES)
        )
    )
    cleared: list[int] = []
    for f in candidates:
        if f.fingerprint in produced:
            continue
        evaluated = (f.discovered_id is not None and f.discovered_id in snap_ids) or (
            f.kind is FindingKind.duplicate and (f.evidence or {}).get("source_of_duplicate") == "registry"
        )
        if evaluated and findings_service.resolve_by_system(f, REASON_CLEARED, actor_label="system:discovery"):
            cleared.append(f.id)
    return cleared


def import_list(data: bytes, filename: str, *, actor: Any = None, source_ref: str | None = None) -> dict[str, Any]:
    """Parse (all-or-nothing) and record a third-party list. Flushes."""
    started = utcnow()
    accounts = parse_import(data, filename, source_ref=source_ref)
    summary = record(accounts, source="import", source_ref=source_ref or filename, actor=actor, started_at=started)
    summary["rows"] = len(accounts)
    return summary
