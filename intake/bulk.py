"""Bulk scheduling (批量排期): a week's posts for several accounts from one XLSX/CSV and a zip of media.

The whole file is read and checked before anything is written, the way the 台账 import does it
(``registry.importexport``: the same cell reading, the same sheet limits of ``common.sheets``
and the same ``{row, column, reason}`` errors, raised as ``registry.errors.LedgerImportError``'s
kind). Only when every row and the zip pass does ``BulkSchedule.run`` store the media files and
create one content per row through ``moderation.service.create_content`` — a draft, or submitted
for 初审 through ``moderation.review.submit`` when the operator asked for it. If any row is still
refused while being written (the checks block its submission), the savepoint is rolled back and
that row is reported: nothing is written.

Targets are the operator's own accounts: accounts of the operator's unit and its sub-units,
named by their name or their system id.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import sqlalchemy as sa
from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from auth.models import User
from auth.scoping import unit_subtree_ids
from common import media as media_store
from common import sheets
from common.db import utcnow
from common.errors import ApiError, Forbidden
from common.timefmt import CN_TZ
from common.validation import control_char_problem
from extensions import db
from jobs import ProgressFn, no_progress
from moderation import attachments
from moderation import review as workflow
from moderation import service as content_service
from moderation.models import CONTENT_KIND_LABELS, DISCLOSURE_LABELS, ContentKind, Disclosure
from moderation.sanitize import text_to_html
from platforms.types import PLATFORM_LABELS
from registry.errors import LedgerImportError
from registry.importexport import XLSX_MIME
from registry.ledger_columns import _cell_text
from registry.models import PUBLISHABLE_PLATFORMS, STATUS_LABELS, Account, AccountStatus

__all__ = ["COLUMNS", "XLSX_MIME", "BulkImportError", "BulkReport", "BulkSchedule", "template_csv", "template_workbook"]

ZIP_COLUMN = "素材压缩包"
#: "名称（平台）" or "平台:名称" — one of several same-named accounts (e.g. 示范县发布 on four platforms).
QUALIFIED = re.compile(r"^(?:(?P<name>.+?)[（(](?P<platform>[^）)]+)[）)]|(?P<platform2>[^:：]+)[:：](?P<name2>.+))$")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SPLIT = re.compile(r"[、,，;；\n]+")
TIME_RE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?[ T]+(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2})秒?)?$"
)
DISCLOSURE_ALIASES: dict[str, Disclosure] = {
    **{d.value: d for d in Disclosure},
    **{label: d for d, label in DISCLOSURE_LABELS.items()},
}
PLATFORM_BY_LABEL = {**{label: p for p, label in PLATFORM_LABELS.items()}, **{p: p for p in PLATFORM_LABELS}}
KIND_ALIASES: dict[str, ContentKind] = {
    **{k.value: k for k in ContentKind},
    **{label: k for k, label in CONTENT_KIND_LABELS.items()},
    "新闻": ContentKind.news,
    "政策": ContentKind.policy,
    "解读": ContentKind.interpretation,
}


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    required: bool = False
    note: str = ""
    max_len: int = 200


OVERRIDE_COLUMNS = tuple(
    Column(
        f"text_{p.value}",
        f"{PLATFORM_LABELS[p.value]}文案",
        note=f"发往{PLATFORM_LABELS[p.value]}时替换正文；留空用正文",
        max_len=5000,
    )
    for p in PUBLISHABLE_PLATFORMS
)
COLUMNS: tuple[Column, ...] = (
    Column("title", "标题", required=True, note="不超过 200 字"),
    Column("body", "正文", note="纯文本，空行分段；有图片时可留空", max_len=50_000),
    Column("summary", "摘要", note="可留空，不超过 500 字", max_len=500),
    Column("disclosure", "公开属性", note="主动公开 / 依申请公开 / 不予公开；留空为主动公开"),
    Column("disclosure_reason", "不公开理由", note="公开属性不是“主动公开”时必填", max_len=2000),
    Column("kind", "稿件类型", note="新闻动态 / 政策文件 / 政策解读；留空为新闻动态"),
    Column(
        "policy_row", "所解读政策（行号）", note="稿件类型为“政策解读”时必填：本文件中那份政策文件所在的行号（三同步）"
    ),
    Column(
        "targets",
        "发布账号",
        required=True,
        note="账号名称或系统ID，多个用顿号、逗号或分号分隔；重名时写“名称（平台）”，如 示范县发布（微博）；"
        "只能是本单位及下属单位运行中的账号",
    ),
    *OVERRIDE_COLUMNS,
    Column("publish_at", "发布时间（北京时间）", note="YYYY-MM-DD HH:MM，须晚于导入时间；留空为审核通过后立即发布"),
    Column(
        "media", "图片/附件文件名", note="随表格上传的 zip 压缩包中的文件名，多个用顿号、逗号或分号分隔", max_len=2000
    ),
)
BY_HEADER = {c.header: c for c in COLUMNS}
HEADERS = [c.header for c in COLUMNS]
TEXT_FIELDS = frozenset({"title", "body", "summary", "disclosure_reason"} | {c.field for c in OVERRIDE_COLUMNS})


class BulkImportError(LedgerImportError):
    """A bulk file with at least one bad row or a bad zip; nothing was written (422)."""

    code = "import_rejected"


def _err(row: int | None, column: str | None, reason: str) -> dict[str, Any]:
    return {"row": row, "column": column, "reason": reason}


def _sort_key(error: dict[str, Any]) -> tuple[int, int, str]:
    row = error["row"]
    column = error["column"] or ""
    order = HEADERS.index(column) if column in HEADERS else len(HEADERS)
    return (row if row is not None else 0, order, column)


# ----------------------------------------------------------------------------- limits


def limits() -> dict[str, int]:
    conf = current_app.config
    sheet = sheets.upload_limits()
    sheet["max_rows"] = min(sheet["max_rows"], int(conf.get("BULK_MAX_ROWS") or 10_000))
    return {
        **sheet,
        "zip_bytes": int(conf.get("BULK_ZIP_MAX_MB") or 200) * 1024 * 1024,
        "zip_files": int(conf.get("BULK_ZIP_MAX_FILES") or 1000),
        "zip_unpacked": int(conf.get("BULK_ZIP_MAX_UNPACKED_MB") or 500) * 1024 * 1024,
        "file_bytes": media_store.max_bytes(),
    }


# ----------------------------------------------------------------------------- the zip


@dataclass
class MediaFile:
    name: str
    data: bytes
    content_type: str
    role: str


def read_zip(data: bytes | None, lim: dict[str, int], errors: list[dict[str, Any]]) -> dict[str, MediaFile]:
    """The media files of the zip by file name (without folders). Problems go to ``errors``.

    Refused: a zip over the size, file-count or unpacked-size limits, an entry with an absolute
    path or ``..`` (path traversal), a file larger than one upload may be, two files of one
    name, and any file that is not really an image (PNG/JPEG/GIF/WebP) or a PDF/Word attachment
    — judged from its bytes (``common.media.sniff``, ``moderation.attachments.kind_of``), never
    from its name.
    """
    if not data:
        return {}
    if len(data) > lim["zip_bytes"]:
        errors.append(_err(None, ZIP_COLUMN, f"压缩包超过 {lim['zip_bytes'] // (1024 * 1024)} MB 的上限"))
        return {}
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError):
        errors.append(_err(None, ZIP_COLUMN, "无法读取压缩包，请上传 .zip 文件"))
        return {}
    with archive:
        if len(infos) > lim["zip_files"]:
            errors.append(_err(None, ZIP_COLUMN, f"压缩包内文件超过 {lim['zip_files']} 个"))
            return {}
        if sum(i.file_size for i in infos) > lim["zip_unpacked"]:
            errors.append(_err(None, ZIP_COLUMN, f"压缩包解压后超过 {lim['zip_unpacked'] // (1024 * 1024)} MB"))
            return {}
        out: dict[str, MediaFile] = {}
        for info in infos:
            raw = info.filename.replace("\\", "/")
            path = PurePosixPath(raw)
            if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw) or ".." in path.parts:
                errors.append(_err(None, ZIP_COLUMN, f"文件路径不安全：{raw}"))
                continue
            name = path.name
            if name.startswith(".") or raw.startswith("__MACOSX/"):
                continue  # macOS/Finder metadata, not a file the operator chose
            if info.file_size > lim["file_bytes"]:
                errors.append(
                    _err(None, ZIP_COLUMN, f"“{name}”超过 {lim['file_bytes'] // (1024 * 1024)} MB 的单个文件上限")
                )
                continue
            if name in out:
                errors.append(_err(None, ZIP_COLUMN, f"压缩包内有两个同名文件“{name}”"))
                continue
            try:
                with archive.open(info) as handle:
                    content = handle.read(lim["file_bytes"] + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
                errors.append(_err(None, ZIP_COLUMN, f"无法解压“{name}”（可能已损坏或加密）"))
                continue
            if len(content) > lim["file_bytes"]:
                errors.append(_err(None, ZIP_COLUMN, f"“{name}”超过单个文件上限"))
                continue
            sniffed = media_store.sniff(content)
            if sniffed in media_store.INLINE_TYPES:
                out[name] = MediaFile(name, content, sniffed, "image")
            elif (kind := attachments.kind_of(content, "", name)) in ("pdf", "docx"):
                mime = "application/pdf" if kind == "pdf" else DOCX_MIME
                out[name] = MediaFile(name, content, mime, "attachment")
            else:
                errors.append(_err(None, ZIP_COLUMN, f"“{name}”不是可发布的图片（PNG/JPEG/GIF/WebP）或 PDF/Word 附件"))
        return out


# ----------------------------------------------------------------------------- cells


def parse_time(value: Any) -> datetime | None:
    """A Beijing wall-clock time in a cell → naive UTC, or ValueError with the reason."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        local = value.replace(tzinfo=None)
    else:
        text = _cell_text(value)
        if text is None:
            return None
        match = TIME_RE.match(text)
        if not match:
            raise ValueError(f"时间格式应为 YYYY-MM-DD HH:MM（北京时间），而不是“{text}”")
        try:
            local = datetime(*(int(g) for g in match.groups() if g is not None))  # type: ignore[misc]
        except ValueError:
            raise ValueError(f"时间不存在：“{text}”") from None
    return local.replace(tzinfo=CN_TZ).astimezone(UTC).replace(tzinfo=None)


@dataclass
class Row:
    number: int
    values: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    target_ids: list[int] = field(default_factory=list)
    media: list[MediaFile] = field(default_factory=list)


@dataclass
class BulkReport:
    rows: int
    created: int
    submitted: int
    dry_run: bool
    content_ids: list[int] = field(default_factory=list)
    media_files: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "submitted": self.submitted,
            "dry_run": self.dry_run,
            "media_files": self.media_files,
            "content_ids": self.content_ids[:1000],
        }


class BulkSchedule:
    """One bulk import for one operator (``submit``: send each draft to 初审 as well)."""

    def __init__(self, actor: User, *, submit: bool = False, source: str = "") -> None:
        if not actor.has_role(*content_service.AUTHOR_ROLES):
            raise Forbidden("只有运营人员可以批量导入稿件", code="wrong_role")
        self.actor = actor
        self.submit = submit
        self.source = source
        self.errors: list[dict[str, Any]] = []

    # -- the whole run

    def validate(self, data: bytes, zip_data: bytes | None, progress: ProgressFn = no_progress) -> list[Row]:
        """Every row parsed and checked; raises ``BulkImportError`` listing every problem."""
        lim = limits()
        progress(0, None, "正在读取文件…")
        headers, body = self._read(data, lim)
        columns = self._columns(headers)
        files = read_zip(zip_data, lim, self.errors)
        if self.errors and not body:
            self._raise(len(body))
        rows = []
        for i, (number, cells) in enumerate(body, start=1):
            rows.append(self._parse(number, cells, columns))
            if i % 500 == 0:
                progress(i, len(body) * 2 + 1, f"正在校验第 {i} / {len(body)} 行…")
        self._resolve(rows, files)
        if self.errors:
            self._raise(len(body))
        return rows

    def run(
        self, data: bytes, zip_data: bytes | None = None, *, dry_run: bool = False, progress: ProgressFn | None = None
    ) -> BulkReport:
        report_progress = progress or no_progress
        rows = self.validate(data, zip_data, report_progress)
        total = len(rows) * 2 + 1
        report = BulkReport(rows=len(rows), created=0, submitted=0, dry_run=dry_run)
        if dry_run:
            report_progress(total, total, "校验通过（未写入）", force=True)
            return report
        report_progress(len(rows), total, "校验通过，正在生成稿件…", force=True)
        with db.session.begin_nested() as savepoint:
            stored = self._store_media(rows)
            report.media_files = len(stored)
            ids_by_row: dict[int, int] = {}
            ordered = sorted(rows, key=lambda r: r.values["kind"] is ContentKind.interpretation)
            for done, row in enumerate(ordered, start=1):
                try:
                    content = content_service.create_content(self._content_data(row, stored, ids_by_row), self.actor)
                    if self.submit:
                        workflow.submit(content, self.actor)
                        report.submitted += 1
                except ApiError as exc:
                    self.errors.append(_err(row.number, "提交审核" if self.submit else None, _api_reason(exc)))
                    continue
                ids_by_row[row.number] = content.id
                report.created += 1
                if done % 50 == 0:
                    report_progress(len(rows) + done, total, f"已生成 {done} / {len(rows)} 篇稿件…")
            if self.errors:
                savepoint.rollback()
                self._raise(len(rows))
            report.content_ids = [ids_by_row[r.number] for r in rows]
        report_progress(total, total, "完成", force=True)
        return report

    def _raise(self, rows: int) -> None:
        raise BulkImportError(sorted(self.errors, key=_sort_key), rows)

    # -- reading

    def _read(self, data: bytes, lim: dict[str, int]) -> tuple[list[str], list[tuple[int, list[Any]]]]:
        if self.source.lower().endswith(".xls") and not data.startswith(b"PK"):
            raise BulkImportError([_err(1, None, "不支持旧版 .xls 文件，请另存为 .xlsx 或 .csv")], 0)
        try:
            rows = sheets.read_rows(
                data,
                max_rows=lim["max_rows"],
                max_cols=lim["max_cols"],
                max_unpacked_bytes=lim["max_unpacked_bytes"],
                sheet_name="批量排期",
            )
        except sheets.SheetError as exc:
            raise BulkImportError([_err(exc.row or 1, None, exc.reason)], 0) from None
        if not rows:
            raise BulkImportError([_err(1, None, "文件为空，缺少表头")], 0)
        headers = [_cell_text(h) or "" for h in rows[0][1]]
        body = [(n, cells) for n, cells in rows[1:] if any(_cell_text(c) for c in cells)]
        if not body:
            self.errors.append(_err(2, None, "文件中没有数据行"))
        return headers, body

    def _columns(self, headers: list[str]) -> list[Column | None]:
        columns: list[Column | None] = []
        seen: set[str] = set()
        for header in headers:
            column = BY_HEADER.get(header)
            if header and header in seen:
                self.errors.append(_err(1, header, "列名重复"))
            seen.add(header)
            if column is None and header and header != "序号":
                self.errors.append(_err(1, header, "无法识别的列名（请使用模板中的列名）"))
            columns.append(column)
        for column in COLUMNS:
            if column.required and column.header not in seen:
                self.errors.append(_err(1, column.header, "缺少必填列"))
        return columns

    def _parse(self, number: int, cells: list[Any], columns: list[Column | None]) -> Row:
        row = Row(number)
        raw: dict[str, Any] = {}
        for index, column in enumerate(columns):
            if column is not None:
                raw[column.field] = cells[index] if index < len(cells) else None

        def bad(field_name: str, reason: str) -> None:
            self.errors.append(_err(number, BY_HEADER_FIELD[field_name], reason))
            row.ok = False

        for name in TEXT_FIELDS:
            text = _cell_text(raw.get(name)) if name in raw else None
            if name in ("body", "disclosure_reason") or name.startswith("text_"):
                text = str(raw.get(name)).strip() if raw.get(name) not in (None, "") else None
                text = sheets.unguard(text) if text else None
            column = BY_FIELD[name]
            if text and len(text) > column.max_len:
                bad(name, f"不能超过 {column.max_len} 个字")
            elif problem := control_char_problem(text, single_line=name in ("title", "summary")):
                bad(name, problem)
            row.values[name] = text
        if not row.values.get("title"):
            bad("title", "此项为必填")

        disclosure_text = _cell_text(raw.get("disclosure"))
        disclosure = DISCLOSURE_ALIASES.get(disclosure_text or "主动公开")
        if disclosure is None:
            choices = "、".join(DISCLOSURE_LABELS.values())
            bad("disclosure", f"无法识别的公开属性“{disclosure_text}”（可选：{choices}）")
        elif disclosure is not Disclosure.active and not row.values.get("disclosure_reason"):
            bad("disclosure_reason", f"公开属性为“{DISCLOSURE_LABELS[disclosure]}”时必须填写理由")
        elif disclosure is not Disclosure.active and self.submit:
            bad("disclosure", f"只有“主动公开”的稿件可以提交审核发布（本行为“{DISCLOSURE_LABELS[disclosure]}”）")
        row.values["disclosure"] = disclosure

        kind_text = _cell_text(raw.get("kind"))
        kind = KIND_ALIASES.get(kind_text or "新闻动态")
        if kind is None:
            bad("kind", f"无法识别的稿件类型“{kind_text}”（可选：{'、'.join(CONTENT_KIND_LABELS.values())}）")
        row.values["kind"] = kind
        policy_text = _cell_text(raw.get("policy_row"))
        row.values["policy_row"] = None
        if kind is ContentKind.interpretation:
            if not policy_text:
                bad("policy_row", "政策解读须填写所解读政策文件所在的行号（三同步）")
            elif not policy_text.isdigit():
                bad("policy_row", f"行号应为数字，而不是“{policy_text}”")
            else:
                row.values["policy_row"] = int(policy_text)
        elif policy_text:
            bad("policy_row", "只有政策解读需要填写所解读政策的行号")

        try:
            publish_at = parse_time(raw.get("publish_at"))
        except ValueError as exc:
            bad("publish_at", str(exc))
            publish_at = None
        if publish_at is not None and publish_at <= utcnow():
            bad("publish_at", "发布时间已过，须晚于导入时间")
        row.values["publish_at"] = publish_at

        row.values["targets"] = _split(raw.get("targets"))
        if not row.values["targets"]:
            bad("targets", "此项为必填")
        row.values["media"] = _split(raw.get("media"))
        if not row.values.get("body") and not row.values["media"] and row.ok:
            bad("body", "正文和图片/附件不能都为空")
        return row

    # -- cross-row checks (reads only)

    def _resolve(self, rows: list[Row], files: dict[str, MediaFile]) -> None:
        scope = unit_subtree_ids(self.actor.unit_id)
        accounts = db.session.scalars(sa.select(Account).where(Account.unit_id.in_(scope))).all()
        by_id = {a.id: a for a in accounts}
        by_name: dict[str, list[Account]] = {}
        for account in accounts:
            by_name.setdefault(account.name, []).append(account)
        kinds = {r.number: r.values.get("kind") for r in rows}
        per_content = media_store.max_per_content()
        for row in rows:
            for ref in row.values["targets"]:
                account = self._account(ref, by_id, by_name, row.number)
                if account is None:
                    continue
                if account.status is not AccountStatus.active:
                    reason = f"账号“{account.name}”状态为“{STATUS_LABELS[account.status]}”，只有运行中的账号可以发布"
                    self.errors.append(_err(row.number, "发布账号", reason))
                elif account.platform not in PUBLISHABLE_PLATFORMS:
                    reason = f"账号“{account.name}”所在平台（{PLATFORM_LABELS[account.platform]}）暂不支持发布"
                    self.errors.append(_err(row.number, "发布账号", reason))
                elif account.id not in row.target_ids:
                    row.target_ids.append(account.id)
            for name in row.values["media"]:
                found = files.get(PurePosixPath(name.replace("\\", "/")).name)
                if found is None:
                    self.errors.append(_err(row.number, "图片/附件文件名", f"压缩包中没有文件“{name}”"))
                elif found not in row.media:
                    row.media.append(found)
            if len(row.media) > per_content:
                self.errors.append(_err(row.number, "图片/附件文件名", f"每篇稿件最多 {per_content} 个图片或附件"))
            policy_row = row.values.get("policy_row")
            if policy_row is not None and kinds.get(policy_row) is not ContentKind.policy:
                self.errors.append(_err(row.number, "所解读政策（行号）", f"第 {policy_row} 行不是本文件中的政策文件"))

    def _account(
        self, ref: str, by_id: dict[int, Account], by_name: dict[str, list[Account]], number: int
    ) -> Account | None:
        named = by_name.get(ref, [])
        qualified = QUALIFIED.match(ref)
        if not named and qualified:
            name = qualified.group("name") or qualified.group("name2")
            platform = PLATFORM_BY_LABEL.get(qualified.group("platform") or qualified.group("platform2") or "")
            named = [a for a in by_name.get(name or "", []) if a.platform == platform]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            live = [a for a in named if a.status is AccountStatus.active and a.platform in PUBLISHABLE_PLATFORMS]
            if len(live) == 1:
                return live[0]
            ids = "、".join(str(a.id) for a in named)
            self.errors.append(
                _err(number, "发布账号", f"有多个账号名为“{ref}”，请写成“{ref}（平台）”或改填系统ID（{ids}）")
            )
            return None
        if ref.isdigit() and int(ref) in by_id:
            return by_id[int(ref)]
        self.errors.append(_err(number, "发布账号", f"账号“{ref}”不存在或不属于本单位及下属单位"))
        return None

    # -- writing

    def _store_media(self, rows: Iterable[Row]) -> dict[str, dict[str, Any]]:
        stored: dict[str, dict[str, Any]] = {}
        for row in rows:
            for item in row.media:
                if item.name in stored:
                    continue
                sha = media_store.save(item.data)
                text = (
                    attachments.extract_text(item.data, item.content_type, item.name)
                    if item.role == "attachment"
                    else ""
                )
                stored[item.name] = {
                    "name": item.name,
                    "content_type": item.content_type,
                    "sha256": sha,
                    "role": item.role,
                    "alt": "",
                    "text": text,
                }
        return stored

    def _content_data(self, row: Row, stored: dict[str, dict[str, Any]], ids_by_row: dict[int, int]) -> dict[str, Any]:
        v = row.values
        overrides = {p.value: {"text": v[f"text_{p.value}"]} for p in PUBLISHABLE_PLATFORMS if v.get(f"text_{p.value}")}
        data: dict[str, Any] = {
            "unit_id": self.actor.unit_id,
            "title": v["title"],
            "body": text_to_html(v.get("body") or ""),
            "summary": v.get("summary"),
            "disclosure": v["disclosure"].value,
            "disclosure_reason": v.get("disclosure_reason"),
            "kind": v["kind"].value,
            "target_ids": row.target_ids,
            "overrides": overrides,
            "media": [stored[m.name] for m in row.media],
            "publish_at": v.get("publish_at"),
        }
        if v.get("policy_row") is not None:
            data["policy_id"] = ids_by_row.get(v["policy_row"])
        return data


BY_FIELD = {c.field: c for c in COLUMNS}
BY_HEADER_FIELD = {c.field: c.header for c in COLUMNS}


def _split(value: Any) -> list[str]:
    text = _cell_text(value)
    if not text:
        return []
    return list(dict.fromkeys(part.strip() for part in SPLIT.split(text) if part.strip()))


def _api_reason(exc: ApiError) -> str:
    details = exc.detail or {}
    findings = details.get("findings") if isinstance(details, dict) else None
    if findings:
        words = "；".join(str(f.get("message") or "") for f in findings if f.get("severity") == "block")[:300]
        return f"{exc.message}：{words}" if words else exc.message
    return exc.message


# ----------------------------------------------------------------------------- template

EXAMPLE = [
    "示范县2026年冬季供暖保障工作情况",
    "全县集中供暖已于11月15日起正常运行。\n\n如遇供暖问题，请拨打热线12345。",
    "",
    "主动公开",
    "",
    "新闻动态",
    "",
    "示范县发布（微博）、示范县发布（微信公众号）",
    "",
    "",
    "",
    "",
    "2026-12-08 09:30",
    "供暖.jpg",
]


def template_workbook() -> bytes:
    """The template: the header row with drop-downs, one example row, and the instructions."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "批量排期"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.append([sheets.cell(v) if v else None for v in EXAMPLE[: len(HEADERS)]])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS):
        letter = _letter(index)
        sheet.column_dimensions[letter].width = max(12, min(40, len(column.header) * 2 + 4))
        choices = {"disclosure": list(DISCLOSURE_LABELS.values()), "kind": list(CONTENT_KIND_LABELS.values())}.get(
            column.field
        )
        if choices:
            validation = DataValidation(type="list", formula1=f'"{",".join(choices)}"', allow_blank=True)
            validation.error = "请从下拉列表中选择"
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}10001")
    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        notes.append([column.header, "必填" if column.required else "", column.note])
    notes.append([])
    for line in (
        "整份文件（连同压缩包）全部通过校验才会写入；有任何错误，系统列出行号、列名和原因，不写入任何数据。",
        "每一行生成一篇稿件（草稿；导入时选择“提交审核”则同时提交初审），仍须经过三审才会发布。",
        "图片和附件放进一个 .zip 压缩包随表格上传，表格中按文件名引用；"
        "只接受真实的图片（PNG/JPEG/GIF/WebP）和 PDF/Word 文件。",
        "第 2 行是示例，导入前请删除或改写。",
    ):
        notes.append(["规则", "", line])
    notes.column_dimensions["A"].width = 22
    notes.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_csv() -> bytes:
    """The same columns as a CSV (UTF-8 with BOM, so Excel opens it in Chinese)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    writer.writerow([sheets.csv_cell(v) for v in EXAMPLE[: len(HEADERS)]])
    return text.getvalue().encode("utf-8-sig")


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
