"""台账 import and export: CSV and XLSX with Chinese column headers.

Import is all-or-nothing: every row is parsed and checked first; a single bad row means nothing
is written and the report lists every problem as (row number, column, reason). Rows match
existing accounts on (platform, platform uid), so importing the same file twice changes nothing
the second time. Export writes the filtered ledger; its files import back unchanged.

XLSX export uses a small streaming writer (openpyxl's write-only mode needs ~60 s for 100,000
rows without lxml; ``common/xlsx_stream.py``); reading and the template use openpyxl. The columns,
cell parsing and the template are ``registry/ledger_columns.py``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import sqlalchemy as sa

from audit import service as audit
from auth.models import Role, User
from auth.scoping import visible_unit_ids
from common import sheets
from common.db import utcnow
from common.workdays import ESTIMATE_NOTE
from common.xlsx_stream import FormalHead, XlsxWriter
from extensions import db
from jobs import ProgressFn, no_progress
from platforms.types import PLATFORM_LABELS
from registry import deadlines, hooks, ledger, service
from registry.errors import ActionRoleError, LedgerImportError
from registry.ledger_columns import (
    BY_HEADER,
    COLUMNS,
    EXPORT_HEADERS,
    EXPORT_ONLY,
    OPERATOR_KEYS,
    Column,
    parse_cell,
    read_table,
    template_workbook,
)
from registry.ledger_columns import (
    row_error as _err,
)
from registry.models import STATUS_LABELS, Account, AccountEvent, AccountStatus, Platform, Unit

__all__ = [  # with the columns, the template and the writer callers reach through this module
    "COLUMNS",
    "CSV_MIME",
    "EVENT_KEYS",
    "EXPORT_HEADERS",
    "ROW_KEYS",
    "XLSX_MIME",
    "Column",
    "CreatedAccount",
    "FormalHead",
    "ImportReport",
    "LedgerImport",
    "ParsedRow",
    "Plan",
    "XlsxWriter",
    "count_rows",
    "export_ledger",
    "export_rows",
    "import_ledger",
    "initial_filing_due",
    "parse_cell",
    "read_table",
    "template_workbook",
    "write_csv",
]

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"

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
