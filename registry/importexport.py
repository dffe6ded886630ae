"""台账 import and export: CSV and XLSX with Chinese column headers.

Import is all-or-nothing: every row is parsed and checked first; a single bad row means nothing
is written and the report lists every problem as (row number, column, reason). Rows match
existing accounts on (platform, platform uid), so importing the same file twice changes nothing
the second time. Export writes the filtered ledger; its files import back unchanged.

XLSX export uses a small streaming writer (openpyxl's write-only mode needs ~60 s for 100,000
rows without lxml); reading and the template use openpyxl.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any
from xml.sax.saxutils import escape

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from audit import service as audit
from auth.models import Role, User
from auth.scoping import visible_unit_ids
from common import sheets
from common.db import utcnow
from common.validation import control_char_problem, http_url
from common.workdays import ESTIMATE_NOTE
from extensions import db
from jobs import ProgressFn, no_progress
from platforms.types import PLATFORM_LABELS
from registry import deadlines, hooks, ledger, service
from registry.errors import LedgerImportError
from registry.models import STATUS_LABELS, Account, AccountEvent, AccountStatus, Platform, Unit

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    kind: str = "str"  # str | platform | unit | date | bool | status | url | email
    max_len: int = 200
    required: bool = False
    note: str = ""


COLUMNS: tuple[Column, ...] = (
    Column(
        "platform", "平台", "platform", required=True, note="微博、微信公众号、抖音、今日头条…，或代码 weibo/wechat/…"
    ),
    Column(
        "platform_uid",
        "平台账号ID",
        max_len=128,
        required=True,
        note="微信原始ID、微博UID、抖音号等；与平台一起唯一确定账号",
    ),
    Column("name", "账号名称", required=True),
    Column("unit_id", "主办单位", "unit", required=True, note="须与系统中的单位名称完全一致"),
    Column("supervisor_unit", "主管单位"),
    Column("operator_org", "运维单位"),
    Column("operator_contract_end", "运维合同到期日", "date", note="YYYY-MM-DD"),
    Column("person_in_charge", "负责人（分管领导）", max_len=100),
    Column("admin_name", "管理员", max_len=100),
    Column("contact_phone", "联系电话", max_len=50),
    Column("contact_email", "联系邮箱", "email"),
    Column("verified_subject", "认证主体", note="平台上显示的认证主体，应与主办单位一致"),
    Column("verified", "是否已认证", "bool", note="是 / 否"),
    Column("profile_url", "主页链接", "url", max_len=500),
    Column("purpose", "功能定位", max_len=2000),
    Column("is_primary", "是否主账号", "bool", note="是 / 否"),
    Column("duplicate_reason", "重复开设理由", max_len=2000, note="同一单位同一平台第二个在用账号必填"),
    Column("opened_on", "开设日期", "date", note="YYYY-MM-DD"),
    Column("filing_number", "备案编号", max_len=100),
    Column("filed_on", "备案日期", "date", note="YYYY-MM-DD"),
    Column("status", "状态", "status", note="运行中、申请中…；新账号留空为运行中（运营人员导入为申请中）"),
    Column("closure_notice_on", "停更公告日期", "date"),
    Column("closure_notice_url", "停更公告链接", "url", max_len=500),
    Column("closure_requested_on", "注销申请日期", "date"),
    Column("closed_on", "平台注销日期", "date"),
    Column("closure_filed_on", "关停备案日期", "date"),
)
# Exported for reading only; import ignores them.
EXPORT_ONLY: tuple[tuple[str, str], ...] = (
    ("id", "系统ID"),
    ("filing_due_on", "备案时限"),
    ("filing_due_note", "备案时限说明"),
    ("filing_overdue", "备案逾期"),
    ("last_post_at", "最后发布时间（北京时间）"),
    ("followers", "粉丝数"),
)
BY_HEADER = {c.header: c for c in COLUMNS}
EXPORT_HEADERS = [c.header for c in COLUMNS] + [h for _, h in EXPORT_ONLY]
# Fields an operator's import may change on an existing account (as a change request).
OPERATOR_KEYS = frozenset({"platform", "platform_uid", "status"})

PLATFORM_ALIASES: dict[str, Platform] = {
    **{p.value: p for p in Platform},
    **{label: Platform(p) for p, label in PLATFORM_LABELS.items()},
    "微信": Platform.wechat,
    "公众号": Platform.wechat,
    "服务号": Platform.wechat,
    "订阅号": Platform.wechat,
    "新浪微博": Platform.weibo,
    "头条": Platform.toutiao,
    "头条号": Platform.toutiao,
    "B站": Platform.bilibili,
    "b站": Platform.bilibili,
    "微信视频号": Platform.channels,
    "客户端": Platform.app,
    "APP": Platform.app,
}
STATUS_ALIASES: dict[str, AccountStatus] = {
    **{s.value: s for s in AccountStatus},
    **{label: s for s, label in STATUS_LABELS.items()},
    "拟关停": AccountStatus.closing,
    "已关停": AccountStatus.closed,
    "已注销": AccountStatus.closed_on_platform,
}
TRUE_WORDS = frozenset({"是", "y", "yes", "true", "1", "已认证", "t"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "0", "未认证", "f"})
DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# ----------------------------------------------------------------------------- reading


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = sheets.unguard(str(value).strip())  # our exports' guard against formula injection
    return text or None


def read_table(data: bytes, filename: str = "") -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """(headers, [(row number, cells)]) from an XLSX or CSV file; header is row 1."""
    name = filename.lower()
    if name.endswith(".xls") and not data.startswith(b"PK"):
        raise LedgerImportError([_err(1, None, "不支持旧版 .xls 文件，请另存为 .xlsx 或 .csv")], 0)
    limits = sheets.upload_limits()
    try:
        rows = sheets.read_rows(data, sheet_name="台账", **limits)
    except sheets.SheetError as exc:
        raise LedgerImportError([_err(exc.row or 1, None, exc.reason)], 0) from None
    if not rows:
        raise LedgerImportError([_err(1, None, "文件为空，缺少表头")], 0)
    start = _header_index(rows)
    headers = [_cell_text(h) or "" for h in rows[start][1]]
    body = [(n, cells) for n, cells in rows[start + 1 :] if any(_cell_text(c) for c in cells)]
    return headers, body


def _header_index(rows: list[tuple[int, list[Any]]]) -> int:
    """Which row is the header: the first non-empty one, unless it is the title or 制表单位 line of
    an exported 台账 (the filed form), in which case the first of the next rows that names a
    column. A file whose first rows name no column keeps row 1, and the import reports it."""
    for index, (_, cells) in enumerate(rows[:3]):
        if any((_cell_text(c) or "") in BY_HEADER for c in cells):
            return index
    return 0


def _err(row: int, column: str | None, reason: str) -> dict[str, Any]:
    return {"row": row, "column": column, "reason": reason}


def parse_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    match = DATE_RE.match(text)
    if not match:
        raise ValueError("日期格式应为 YYYY-MM-DD")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError("日期不存在") from None


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _cell_text(value)
    if text is None:
        return None
    if text.lower() in TRUE_WORDS:
        return True
    if text.lower() in FALSE_WORDS:
        return False
    raise ValueError("请填写 是 或 否")


def parse_cell(column: Column, value: Any) -> Any:
    """The typed value of one cell, or ValueError with a Chinese reason."""
    if column.kind == "date":
        return parse_date(value)
    if column.kind == "bool":
        return parse_bool(value)
    text = _cell_text(value)
    if text is None:
        if column.required:
            raise ValueError("此项为必填")
        return None
    if column.kind == "platform":
        if text not in PLATFORM_ALIASES:
            raise ValueError(f"无法识别的平台“{text}”")
        return PLATFORM_ALIASES[text]
    if column.kind == "status":
        if text not in STATUS_ALIASES:
            raise ValueError(f"无法识别的状态“{text}”")
        return STATUS_ALIASES[text]
    if len(text) > column.max_len:
        raise ValueError(f"不能超过 {column.max_len} 个字")
    problem = control_char_problem(text, single_line=column.max_len <= 500)
    if problem:
        raise ValueError(problem)
    if column.kind == "url" and http_url(text) is None:
        raise ValueError("链接须以 http:// 或 https:// 开头")
    if column.kind == "email" and not EMAIL_RE.match(text):
        raise ValueError("邮箱格式不正确")
    return text


# ----------------------------------------------------------------------------- import


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]  # field → typed value, for the columns the file has
    unit_name: str | None = None
    ok: bool = True  # False when a cell did not parse (the row is still checked for its unit)


@dataclass
class Plan:
    creates: list[tuple[ParsedRow, dict[str, Any]]] = field(default_factory=list)
    updates: list[tuple[ParsedRow, Account, dict[str, Any]]] = field(default_factory=list)
    change_requests: list[tuple[ParsedRow, Account, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class ImportReport:
    rows: int
    created: int
    updated: int
    unchanged: int
    change_requests: int
    dry_run: bool
    errors: list[dict[str, Any]] = field(default_factory=list)
    account_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "change_requests": self.change_requests,
            "dry_run": self.dry_run,
            "errors": self.errors,
        }


class LedgerImport:
    """One import run for one actor. ``actor`` None is the system (CLI) with full scope."""

    def __init__(self, actor: User | None, source: str = "") -> None:
        self.actor = actor
        self.source = source
        self.authoritative = actor is None or actor.has_role(Role.auditor, Role.admin)
        self.scope = visible_unit_ids(actor) if actor is not None else None
        self.errors: list[dict[str, Any]] = []

    def run(self, data: bytes, *, dry_run: bool = False, progress: ProgressFn | None = None) -> ImportReport:
        if self.actor is not None and not self.actor.has_role(*service.APPLICANTS):
            from registry.errors import ActionRoleError

            raise ActionRoleError("您的角色无权导入台账")
        report_progress = progress or no_progress
        report_progress(0, None, "正在读取文件…")
        headers, body = read_table(data, self.source)
        columns = self._columns(headers)
        if self.errors:
            raise LedgerImportError(self.errors, len(body))
        total = len(body) + 1  # + the write step
        parsed = []
        for i, (n, cells) in enumerate(body, start=1):
            parsed.append(self._parse(n, cells, columns))
            if i % 500 == 0:
                report_progress(i, total, f"正在校验第 {i} / {len(body)} 行…")
        report_progress(len(body), total, "正在与已有账号比对…")
        plan = self._plan(parsed)
        if self.errors:
            raise LedgerImportError(sorted(self.errors, key=lambda e: (e["row"], e["column"] or "")), len(body))
        report = ImportReport(
            rows=len(body),
            created=len(plan.creates),
            updated=len(plan.updates),
            unchanged=plan.unchanged,
            change_requests=len(plan.change_requests),
            dry_run=dry_run,
        )
        if not dry_run:
            report_progress(len(body), total, "校验通过，正在写入…")
            with db.session.begin_nested():
                report.account_ids = self._apply(plan, len(body))
        report_progress(total, total, "完成", force=True)
        return report

    # -- headers and cells

    def _columns(self, headers: list[str]) -> list[Column | None]:
        known_extra = {h for _, h in EXPORT_ONLY} | {"序号"}  # 序号: the filed form's row number
        columns: list[Column | None] = []
        seen: set[str] = set()
        for header in headers:
            column = BY_HEADER.get(header)
            if header in seen and header:
                self.errors.append(_err(1, header, "列名重复"))
            seen.add(header)
            if column is None and header and header not in known_extra:
                self.errors.append(_err(1, header, "无法识别的列名（请使用模板中的列名）"))
            columns.append(column)
        for column in COLUMNS:
            if column.required and column.header not in seen:
                self.errors.append(_err(1, column.header, "缺少必填列"))
        return columns

    def _parse(self, number: int, cells: list[Any], columns: list[Column | None]) -> ParsedRow:
        row = ParsedRow(number, {})
        for index, column in enumerate(columns):
            if column is None:
                continue
            value = cells[index] if index < len(cells) else None
            try:
                typed = parse_cell(column, value)
            except ValueError as exc:
                self.errors.append(_err(number, column.header, str(exc)))
                row.ok = False
                continue
            if column.kind == "unit":
                row.unit_name = typed
            else:
                row.values[column.field] = typed
        return row

    # -- planning (reads only)

    def _plan(self, rows: list[ParsedRow]) -> Plan:
        units = self._units({r.unit_name for r in rows if r.unit_name})
        existing = self._existing(rows)
        live = self._live_pairs(units.values())
        plan = Plan()
        first_row: dict[tuple[Platform, str], int] = {}
        for row in rows:
            unit_id = units.get(row.unit_name or "")
            if unit_id is None and row.unit_name:
                self.errors.append(_err(row.row, "主办单位", f"主办单位不存在或不在您的权限范围内：{row.unit_name}"))
            if not row.ok or unit_id is None:
                continue
            key = (row.values["platform"], row.values["platform_uid"])
            if key in first_row:
                self.errors.append(_err(row.row, "平台账号ID", f"与第 {first_row[key]} 行重复（同一平台同一账号ID）"))
                continue
            first_row[key] = row.row
            row.values["unit_id"] = unit_id
            account = existing.get(key)
            if account is None:
                self._plan_create(row, live, plan)
            else:
                self._plan_update(row, account, plan)
        return plan

    def _units(self, names: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        ordered = sorted(names)
        for start in range(0, len(ordered), 500):
            stmt = sa.select(Unit.name, Unit.id).where(Unit.name.in_(ordered[start : start + 500]))
            found.update(db.session.execute(stmt).tuples().all())
        if self.scope is not None:
            found = {name: uid for name, uid in found.items() if uid in self.scope}
        return found

    def _existing(self, rows: list[ParsedRow]) -> dict[tuple[Platform, str], Account]:
        by_platform: dict[Platform, list[str]] = {}
        for row in rows:
            if not row.ok:
                continue
            by_platform.setdefault(row.values["platform"], []).append(row.values["platform_uid"])
        found: dict[tuple[Platform, str], Account] = {}
        for platform, uids in by_platform.items():
            for start in range(0, len(uids), 500):
                stmt = sa.select(Account).where(
                    Account.platform == platform, Account.platform_uid.in_(uids[start : start + 500])
                )
                found.update(((a.platform, a.platform_uid or ""), a) for a in db.session.scalars(stmt))
        return found

    def _live_pairs(self, unit_ids: Iterable[int]) -> dict[tuple[int, Platform], int]:
        ids = sorted(set(unit_ids))
        counts: dict[tuple[int, Platform], int] = {}
        for start in range(0, len(ids), 500):
            stmt = (
                sa.select(Account.unit_id, Account.platform, sa.func.count())
                .where(Account.unit_id.in_(ids[start : start + 500]), Account.status.in_(service.LIVE_STATUSES))
                .group_by(Account.unit_id, Account.platform)
            )
            for unit_id, platform, n in db.session.execute(stmt):
                counts[(unit_id, Platform(platform))] = n
        return counts

    def _plan_create(self, row: ParsedRow, live: dict[tuple[int, Platform], int], plan: Plan) -> None:
        values = row.values
        if not values.get("name"):
            self.errors.append(_err(row.row, "账号名称", "此项为必填"))
            return
        status = values.get("status")
        if not self.authoritative and status not in (None, AccountStatus.applying):
            self.errors.append(_err(row.row, "状态", "运营人员导入的新账号只能是“申请中”，由网信办审批后开通"))
            return
        status = status or (AccountStatus.active if self.authoritative else AccountStatus.applying)
        values["status"] = status
        pair = (values["unit_id"], values["platform"])
        if status in service.LIVE_STATUSES:
            if live.get(pair) and not values.get("duplicate_reason"):
                self.errors.append(
                    _err(row.row, "重复开设理由", "该单位在此平台已有在用账号；第二个账号须填写重复开设理由")
                )
                return
            if values.get("is_primary") is None:
                values["is_primary"] = not live.get(pair)
            live[pair] = live.get(pair, 0) + 1
        plan.creates.append((row, values))

    def _plan_update(self, row: ParsedRow, account: Account, plan: Plan) -> None:
        if self.scope is not None and account.unit_id not in self.scope:
            self.errors.append(_err(row.row, "平台账号ID", "该平台账号ID已在台账中登记，且不在您的权限范围内"))
            return
        status = row.values.get("status")
        if status is not None and status is not account.status:
            self.errors.append(
                _err(
                    row.row,
                    "状态",
                    f"状态变更须通过审批操作办理（台账：{STATUS_LABELS[account.status]}，文件：{STATUS_LABELS[status]}）",
                )
            )
            return
        changes = self._changes(row, account)
        if not changes:
            plan.unchanged += 1
        elif self.authoritative:
            plan.updates.append((row, account, changes))
        else:
            self._plan_change_request(row, account, changes, plan)

    @staticmethod
    def _changes(row: ParsedRow, account: Account) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name, value in row.values.items():
            if name in OPERATOR_KEYS:
                continue
            column = next((c for c in COLUMNS if c.field == name), None)
            if value is None and column is not None and column.kind == "bool":
                continue  # NOT NULL flags: an empty cell leaves them as they are
            if getattr(account, name) != value:
                changes[name] = value
        return changes

    def _plan_change_request(self, row: ParsedRow, account: Account, changes: dict[str, Any], plan: Plan) -> None:
        headers = {c.field: c.header for c in COLUMNS}
        for name in sorted(set(changes) - set(service.CHANGEABLE_FIELDS)):
            self.errors.append(_err(row.row, headers.get(name, name), "运营人员不能通过导入修改此项（请联系网信办）"))
        if set(changes) - set(service.CHANGEABLE_FIELDS):
            return
        pending = {k: service.jsonable(v) for k, v in changes.items()}
        if account.status is AccountStatus.changing and account.pending_change == pending:
            plan.unchanged += 1
            return
        if account.status is not AccountStatus.active:
            self.errors.append(
                _err(row.row, None, f"账号当前状态为“{STATUS_LABELS[account.status]}”，不能通过导入申请变更")
            )
            return
        plan.change_requests.append((row, account, changes))

    # -- writing

    def _apply(self, plan: Plan, rows: int) -> list[int]:
        created = self._create(plan.creates)
        updated = [self._update(account, changes) for _row, account, changes in plan.updates]
        requested = []
        for _row, account, changes in plan.change_requests:
            service.advance(
                account, service.AccountAction.request_change, self.actor, changes=changes, reason="批量导入变更申请"
            )
            requested.append(account)
        db.session.flush()
        touched: list[Any] = [*created, *updated]
        hooks.accounts_touched(touched)
        audit.record(
            "account:import",
            object_type="accounts",
            after={
                "file": self.source,
                "rows": rows,
                "created": [a.id for a in created],
                "updated": [a.id for a in updated],
                "change_requests": [a.id for a in requested],
                "unchanged": plan.unchanged,
            },
            actor=self.actor,
        )
        return [a.id for a in touched + requested]

    def _create(self, creates: list[tuple[ParsedRow, dict[str, Any]]]) -> list[CreatedAccount]:
        """Bulk INSERT (10,000 ORM objects would cost seconds), then one event per account."""
        if not creates:
            return []
        now = utcnow()
        rows = [_account_row(values, now) for _row, values in creates]
        ids = _insert_accounts(rows)
        actor_id = getattr(self.actor, "id", None)
        reason = f"导入台账：{self.source}" if self.source else "导入台账"
        events = [
            {
                "account_id": account_id,
                "action": service.EVENT_IMPORT,
                "from_status": None,
                "to_status": row["status"].value,
                "changes": _initial_values(row),
                "actor_id": actor_id,
                "approver_id": actor_id if self.authoritative else None,
                "reason": reason,
                "filing_date": row["filed_on"],
                "at": now,
            }
            for account_id, row in zip(ids, rows, strict=True)
        ]
        db.session.execute(sa.insert(AccountEvent.__table__), events)
        return [
            CreatedAccount(i, r["unit_id"], r["platform"], r["platform_uid"], r["status"], r["verified_subject"])
            for i, r in zip(ids, rows, strict=True)
        ]

    def _update(self, account: Account, changes: dict[str, Any]) -> Account:
        diffs = service.diff(account, changes)
        for name, value in changes.items():
            setattr(account, name, value)
        if "filed_on" in changes and account.filed_on and account.status is AccountStatus.active:
            account.filing_due_on = None
        actor_id = getattr(self.actor, "id", None)
        db.session.add(
            AccountEvent(
                account_id=account.id,
                action=service.EVENT_IMPORT_UPDATE,
                from_status=account.status.value,
                to_status=account.status.value,
                changes=diffs,
                actor_id=actor_id,
                approver_id=actor_id,
                reason=f"导入台账：{self.source}" if self.source else "导入台账",
            )
        )
        return account


@dataclass(frozen=True)
class CreatedAccount:
    """What the duplicate and subject checks need of an account created by bulk insert."""

    id: int
    unit_id: int
    platform: Platform
    platform_uid: str | None
    status: AccountStatus
    verified_subject: str | None


ROW_KEYS = (*(c.field for c in COLUMNS if c.kind != "unit"), "unit_id")
EVENT_KEYS = frozenset((*ROW_KEYS, "filing_due_on"))


def _account_row(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A full parameter set for the bulk INSERT (every row has the same keys)."""
    row = {key: values.get(key) for key in ROW_KEYS}
    row["verified"] = bool(row["verified"])
    row["is_primary"] = True if row["is_primary"] is None else row["is_primary"]
    row["filing_due_on"] = initial_filing_due(row)
    row["created_at"] = row["updated_at"] = now
    return row


def _insert_accounts(rows: list[dict[str, Any]]) -> list[int]:
    """INSERT the rows, returning their ids in order.

    PostgreSQL: ids drawn from the table's sequence first, then one executemany (psycopg's
    pipeline); INSERT … RETURNING through insertmanyvalues spends ~4 s per 10,000 rows building
    the statements. SQLite: INSERT … RETURNING in batches (fast there).
    """
    table = Account.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        allocate = sa.text("SELECT nextval(pg_get_serial_sequence('accounts', 'id')) FROM generate_series(1, :n)")
        ids = list(db.session.scalars(allocate, {"n": len(rows)}))
        db.session.execute(sa.insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    ids = []
    for start in range(0, len(rows), 1000):
        insert = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids.extend(db.session.execute(insert, rows[start : start + 1000]).scalars().all())
    return ids


def _initial_values(row: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [None, service.jsonable(v)] for k, v in row.items() if v is not None and k in EVENT_KEYS}


def initial_filing_due(row: dict[str, Any]) -> date | None:
    """备案时限 of an imported account that has no filing yet."""
    workdays = deadlines.filing_workdays()
    status = row["status"]
    if status is AccountStatus.closed_on_platform and row.get("closure_filed_on") is None:
        return deadlines.workdays_after(row.get("closed_on") or service.today(), workdays)
    if status in service.LIVE_STATUSES and row.get("filed_on") is None:
        return deadlines.workdays_after(row.get("opened_on") or service.today(), workdays)
    return None


def import_ledger(
    data: bytes, actor: User | None, *, source: str = "", dry_run: bool = False, progress: ProgressFn | None = None
) -> ImportReport:
    """Import a CSV/XLSX 台账; raises LedgerImportError (422) listing every bad row."""
    return LedgerImport(actor, source).run(data, dry_run=dry_run, progress=progress)


# ----------------------------------------------------------------------------- export


def export_rows(user: User | None, flt: ledger.LedgerFilter) -> Iterator[list[Any]]:
    """The filtered ledger as rows of typed values (dates stay dates), in id order."""
    cols = [Account.__table__.c[c.field] for c in COLUMNS if c.kind != "unit"]
    stmt = (
        sa.select(*cols, Unit.name, Account.id, Account.filing_due_on, Account.last_post_at, Account.followers)
        .join(Unit, Unit.id == Account.unit_id)
        .where(*ledger.ledger_where(user, flt))
        .order_by(Account.id)
        .execution_options(yield_per=5000)
    )
    today = service.today()
    workdays = deadlines.filing_workdays()
    unit_index = next(i for i, c in enumerate(COLUMNS) if c.kind == "unit")
    kinds = [c.kind for c in COLUMNS if c.kind != "unit"]
    for record in db.session.execute(stmt):
        values = [_export_value(kind, value) for kind, value in zip(kinds, record[: len(kinds)], strict=True)]
        unit_name, account_id, due, last_post_at, followers = record[len(kinds) :]
        values.insert(unit_index, unit_name)
        overdue = due is not None and due < today
        note = ESTIMATE_NOTE if deadlines.due_is_estimated(due, workdays) else None
        values.extend([account_id, due, note, "是" if overdue else "否", last_post_at, followers])
        yield values


def _export_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "platform":
        return PLATFORM_LABELS[Platform(value)]
    if kind == "status":
        return STATUS_LABELS[AccountStatus(value)]
    if kind == "bool":
        return "是" if value else "否"
    return value


def write_csv(rows: Iterable[list[Any]], out: IO[bytes]) -> int:
    """UTF-8 with BOM (Excel opens it correctly); dates as YYYY-MM-DD. Returns data rows written."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(EXPORT_HEADERS)
    count = 0
    for row in rows:
        writer.writerow([sheets.csv_cell(v) for v in row])
        count += 1
    text.flush()
    text.detach()
    return count


def count_rows(user: User | None, flt: ledger.LedgerFilter) -> int:
    stmt = sa.select(sa.func.count(Account.id)).join(Unit, Unit.id == Account.unit_id)
    return int(db.session.scalar(stmt.where(*ledger.ledger_where(user, flt))) or 0)


def _counted(rows: Iterable[list[Any]], total: int, progress: ProgressFn) -> Iterator[list[Any]]:
    for i, row in enumerate(rows, start=1):
        yield row
        if i % 1000 == 0:
            progress(i, total, f"已导出 {i} / {total} 行…")


def export_ledger(
    user: User | None, flt: ledger.LedgerFilter, out: IO[bytes], fmt: str, progress: ProgressFn | None = None
) -> int:
    rows: Iterable[list[Any]] = export_rows(user, flt)
    if progress is not None:
        total = count_rows(user, flt)
        progress(0, total, "正在导出…")
        rows = _counted(rows, total, progress)
    if fmt == "csv":
        return write_csv(rows, out)
    head = FormalHead(
        title="政务新媒体台账",
        issuer=user.unit.name if user is not None and user.unit is not None else "",
        made_at=utcnow(),
    )
    return XlsxWriter(EXPORT_HEADERS, formal=head).write(rows, out)


# ----------------------------------------------------------------------------- xlsx writer

_EPOCH = date(1899, 12, 30)
_STATIC_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>'
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
        '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
        '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="16"/><name val="Calibri"/></font></fonts>'
        '<fills count="3"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFEEF0F3"/></patternFill></fill></fills>'
        '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
        '<border><left style="thin"><color rgb="FF000000"/></left><right style="thin"><color rgb="FF000000"/></right>'
        '<top style="thin"><color rgb="FF000000"/></top><bottom style="thin"><color rgb="FF000000"/></bottom>'
        "<diagonal/></border></borders>"
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="9"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        # 4-7: the same with thin borders (the filed form: text, date, datetime, header)
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0" applyBorder="1"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="1" xfId="0" applyNumberFormat="1" applyBorder="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="1" xfId="0" applyNumberFormat="1" applyBorder="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" '
        'applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
        # 8: the title
        '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
        '<alignment horizontal="center" vertical="center"/></xf></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class FormalHead:
    """The filed form of a streamed sheet (as common/formal_sheet.py lays out a small one)."""

    title: str
    issuer: str = ""
    made_at: datetime | None = None  # naive UTC; shown in Beijing time


class XlsxWriter:
    """A minimal streaming XLSX writer: one sheet, inline strings, dates as styled serials.

    With ``formal`` the sheet has the filed form: merged title row, 制表单位/制表时间 line, the
    header on row 3 with a 序号 column first, thin borders, frozen header, A4 landscape fit to
    width with the header row repeated on every printed page. The 台账 import skips the two
    lines above the header and ignores 序号, so such a file imports back unchanged.
    """

    def __init__(self, headers: list[str], sheet_name: str = "台账", formal: FormalHead | None = None) -> None:
        self.formal = formal
        self.headers = ["序号", *headers] if formal else headers
        self.sheet_name = sheet_name
        self.letters = [_column_letter(i) for i in range(len(self.headers))]
        self.header_row = 3 if formal else 1
        self.base = 4 if formal else 0  # style offset: bordered styles

    def write(self, rows: Iterable[list[Any]], out: IO[bytes]) -> int:
        count = 0
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, body in _STATIC_PARTS.items():
                archive.writestr(name, body)
            archive.writestr("xl/workbook.xml", self._workbook())
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                sheet.write(self._sheet_head().encode())
                if self.formal:
                    sheet.write(self._formal_head().encode())
                sheet.write(self._row(self.header_row, self.headers, style=7 if self.formal else 3).encode())
                chunk: list[str] = []
                for count, row in enumerate(rows, start=1):
                    chunk.append(self._row(self.header_row + count, [count, *row] if self.formal else row))
                    if len(chunk) >= 1000:
                        sheet.write("".join(chunk).encode())
                        chunk = []
                sheet.write(("".join(chunk) + "</sheetData>" + self._sheet_tail() + "</worksheet>").encode())
        return count

    def _formal_head(self) -> str:
        from common.timefmt import bj

        formal = self.formal or FormalHead("")
        last = self.letters[-1]
        made = bj(formal.made_at, "%Y年%m月%d日 %H:%M") if formal.made_at else ""
        issuer = f"制表单位：{formal.issuer}" if formal.issuer else ""
        title = self._cell("A1", formal.title, 8)
        line = self._cell("A2", issuer, 0) if issuer else ""
        return (
            f'<row r="1" ht="30" customHeight="1">{title}</row>'
            f'<row r="2">{line}{self._cell(f"{last}2", f"制表时间：{made}（北京时间）", 0)}</row>'
        )

    def _sheet_tail(self) -> str:
        if not self.formal:
            return ""
        last = self.letters[-1]
        before_last = self.letters[-2] if len(self.letters) > 1 else last
        return (
            f'<mergeCells count="2"><mergeCell ref="A1:{last}1"/><mergeCell ref="A2:{before_last}2"/></mergeCells>'
            '<printOptions horizontalCentered="1"/>'
            '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        )

    def _workbook(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{escape(self.sheet_name)}" sheetId="1" r:id="rId1"/></sheets>'
            f"{self._print_titles()}</workbook>"
        )

    def _print_titles(self) -> str:
        if not self.formal:
            return ""
        name = escape(self.sheet_name.replace("'", "''"))
        row = self.header_row
        return (
            '<definedNames><definedName name="_xlnm.Print_Titles" localSheetId="0">'
            f"'{name}'!${row}:${row}</definedName></definedNames>"
        )

    def _sheet_head(self) -> str:
        widths = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{min(40, max(10, len(h) * 2 + 2))}" customWidth="1"/>'
            for i, h in enumerate(self.headers)
        )
        split = self.header_row
        fit = '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if self.formal else ""
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{fit}'
            f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{split}" topLeftCell="A{split + 1}" '
            'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            f"<cols>{widths}</cols><sheetData>"
        )

    def _row(self, number: int, values: list[Any], style: int = 0) -> str:
        cells = []
        for index, letter in enumerate(self.letters):
            value = values[index] if index < len(values) else None
            ref = f"{letter}{number}"
            if value is not None:
                cells.append(self._cell(ref, value, style or self.base))
            elif self.formal:  # the filed form borders the empty cells of the table too
                cells.append(f'<c r="{ref}" s="{style or self.base}"/>')
        return f'<row r="{number}">{"".join(cells)}</row>'

    @staticmethod
    def _cell(ref: str, value: Any, style: int) -> str:
        value = sheets.cell(value)  # the one guard: no formulas, no XML-illegal characters
        bordered = 4 if style >= 4 and style != 8 else 0
        plain = f' s="{bordered}"' if bordered else ""
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"{plain}><v>{int(value)}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{ref}"{plain}><v>{value}</v></c>'
        if isinstance(value, datetime):
            delta = value - datetime(1899, 12, 30)
            serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
            return f'<c r="{ref}" s="{bordered + 2}"><v>{serial!r}</v></c>'
        if isinstance(value, date):
            return f'<c r="{ref}" s="{bordered + 1}"><v>{(value - _EPOCH).days}</v></c>'
        text = str(value)
        style_attr = f' s="{style}"' if style else ""
        return f'<c r="{ref}" t="inlineStr"{style_attr}><is><t xml:space="preserve">{escape(text)}</t></is></c>'


# ----------------------------------------------------------------------------- template


def template_workbook() -> bytes:
    """The import template: the header row, drop-down lists, and a sheet of instructions."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "台账"
    sheet.append([c.header for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(COLUMNS):
        letter = _column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(column.header) * 2 + 2)
        choices = _choices(column)
        if choices:
            validation = DataValidation(type="list", formula1=f'"{",".join(choices)}"', allow_blank=True)
            validation.error = "请从下拉列表中选择"
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}5000")
    notes = workbook.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        notes.append([column.header, "必填" if column.required else "", column.note or _default_note(column)])
    notes.append([])
    notes.append(
        ["规则", "", "整份文件全部通过校验才会写入；有任何一行错误，系统列出行号、列名和原因，不写入任何数据。"]
    )
    notes.append(
        [
            "",
            "",
            "按“平台 + 平台账号ID”匹配已有账号：已有的更新有变化的字段，没有的新建；同一文件重复导入不会产生重复账号。",
        ]
    )
    notes.append(
        [
            "",
            "",
            "文件中有的列以文件为准（空单元格表示清空该项）；没有的列保持不变。“系统ID”“备案时限”等导出列导入时忽略。",
        ]
    )
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["C"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _choices(column: Column) -> list[str]:
    if column.kind == "platform":
        return list(PLATFORM_LABELS.values())
    if column.kind == "status":
        return list(STATUS_LABELS.values())
    if column.kind == "bool":
        return ["是", "否"]
    return []


def _default_note(column: Column) -> str:
    if column.kind == "date":
        return "日期，YYYY-MM-DD"
    if column.kind == "url":
        return "以 http:// 或 https:// 开头"
    return f"文本，不超过 {column.max_len} 个字"
