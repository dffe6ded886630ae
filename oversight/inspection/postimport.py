"""Import of a third-party monitor's post export (spreadsheet): parsed all-or-nothing with
spreadsheet row numbers (discovery's file reading), stored as :class:`ImportedPost` for the
next inspection of each registered account (source ``import``). Audited. Flushes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from audit import service as audit
from common.db import utcnow
from extensions import db
from oversight.discovery import (
    ImportRowsInvalid,
    _as_text,
    _parse_time,
    _platform_of,
    read_sheet,
)
from oversight.inspection.models import ImportedPost
from registry.models import Account, Platform


def _platform_or_none(value: str) -> Platform | None:
    try:
        return Platform(value)
    except ValueError:
        return None


# ----------------------------------------------------------------------------- import of posts

POST_HEADERS: dict[str, tuple[str, ...]] = {
    "platform": ("平台", "平台类型", "platform"),
    "uid": ("账号ID", "账号id", "平台ID", "平台账号ID", "UID", "uid", "微信号", "抖音号"),
    "post_id": ("内容ID", "内容id", "帖子ID", "微博ID", "作品ID", "文章ID", "post_id"),
    "published_at": ("发布时间", "发文时间", "published_at"),
    "title": ("标题", "title"),
    "text": ("正文", "内容", "摘要", "text"),
    "url": ("链接", "内容链接", "原文链接", "url"),
    "state": ("状态", "内容状态", "state"),
}
POST_REQUIRED = ("platform", "uid", "post_id")
_REMOVED_WORDS = {"已删除", "删除", "被删除", "屏蔽", "已屏蔽", "removed", "deleted"}
_LIVE_WORDS = {"正常", "在线", "live", "published", ""}


def parse_post_import(data: bytes, filename: str, *, source_ref: str | None = None) -> list[dict[str, Any]]:
    """Rows of a third-party monitor's post export; all valid or ``ImportRowsInvalid``
    (spreadsheet row numbers, header = row 1). Reuses discovery's file reading."""

    rows, index = read_sheet(data, filename, POST_HEADERS, POST_REQUIRED)
    label = {k: v[0] for k, v in POST_HEADERS.items()}
    errors: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    first: dict[tuple[str, str, str], int] = {}
    now = utcnow()
    for number, row in rows[1:]:
        cells = {k: (row[i] if i < len(row) else None) for k, i in index.items()}
        text = {k: _as_text(v) for k, v in cells.items()}
        if not any(text.values()):
            continue
        row_errors: list[dict[str, Any]] = []

        def bad(key: str, reason: str, number: int = number, row_errors: list[dict[str, Any]] = row_errors) -> None:
            row_errors.append({"row": number, "column": label[key], "reason": reason})

        platform = _platform_of(text.get("platform", "")) if text.get("platform") else None
        if not text.get("platform"):
            bad("platform", "不能为空")
        elif platform is None:
            bad("platform", f"无法识别的平台“{text['platform']}”")
        for key in ("uid", "post_id"):
            if not text.get(key):
                bad(key, "不能为空")
            elif len(text[key]) > 128:
                bad(key, "超过 128 个字符")
        published = None
        if cells.get("published_at") not in (None, ""):
            try:
                published = _parse_time(cells["published_at"])
            except ValueError:
                bad("published_at", f"无法识别的时间“{text['published_at']}”（示例：2026-05-01 09:30）")
            else:
                if published > now:
                    bad("published_at", "时间晚于当前时间")
        url = text.get("url") or None
        if url and (not url.startswith(("http://", "https://")) or len(url) > 500):
            bad("url", "不是有效的 http(s) 链接")
        state = text.get("state", "").lower()
        if state not in _REMOVED_WORDS and state not in _LIVE_WORDS:
            bad("state", f"无法识别的状态“{text.get('state')}”（正常/已删除）")
        if platform is not None and text.get("uid") and text.get("post_id"):
            key3 = (platform.value, text["uid"], text["post_id"])
            if key3 in first:
                bad("post_id", f"与第 {first[key3]} 行重复（同一账号同一内容ID）")
            else:
                first[key3] = number
        if row_errors:
            errors.extend(row_errors)
            continue
        assert platform is not None  # noqa: S101 - narrowed above
        out.append(
            {
                "platform": platform.value,
                "platform_uid": text["uid"],
                "platform_post_id": text["post_id"],
                "published_at": published,
                "title": text.get("title", ""),
                "text": text.get("text", ""),
                "url": url,
                "removed": state in _REMOVED_WORDS,
                "source_ref": (source_ref or filename or "import")[:200],
            }
        )
    if errors:
        raise ImportRowsInvalid(errors)
    if not out:
        raise ImportRowsInvalid([{"row": 2, "column": None, "reason": "文件没有数据行"}])
    return out


def import_posts(data: bytes, filename: str, *, actor: Any = None, source_ref: str | None = None) -> dict[str, Any]:
    """Parse (all-or-nothing) and store a post export; the next inspection of each registered
    account reads them (source ``import``). Audited. Flushes."""

    rows = parse_post_import(data, filename, source_ref=source_ref)
    now = utcnow()
    created = updated = 0
    for r in rows:
        row = db.session.scalar(
            sa.select(ImportedPost).where(
                ImportedPost.platform == r["platform"],
                ImportedPost.platform_uid == r["platform_uid"],
                ImportedPost.platform_post_id == r["platform_post_id"],
            )
        )
        if row is None:
            row = ImportedPost(**r, imported_at=now)
            db.session.add(row)
            created += 1
        else:
            for k, v in r.items():
                setattr(row, k, v)
            row.imported_at = now
            updated += 1
    db.session.flush()
    registered = {
        (p.value, u) for p, u in db.session.execute(sa.select(Account.platform, Account.platform_uid)) if u is not None
    }
    matched = sum(1 for r in rows if (r["platform"], r["platform_uid"]) in registered)
    summary = {
        "rows": len(rows),
        "created": created,
        "updated": updated,
        "rows_of_registered_accounts": matched,
        "source_ref": source_ref or filename,
    }
    audit.record("inspection:import_posts", object_type="inspection", object_id="import", after=summary, actor=actor)
    return summary
