"""Registry errors: each maps to one HTTP status through common.errors.ApiError."""

from __future__ import annotations

from datetime import date
from typing import Any

from common.errors import Conflict, Forbidden, Invalid


class TransitionError(Conflict):
    """The account's current status does not allow the action (409)."""

    code = "invalid_transition"


class ActionRoleError(Forbidden):
    """The actor's roles do not allow the action (403)."""

    code = "forbidden"


class ClosureNoticeError(Conflict):
    """confirm_closed before the 停更公告期 has run its working days (409)."""

    code = "closure_notice_period"

    def __init__(self, notice_on: date, possible_on: date, workdays: int) -> None:
        super().__init__(
            f"停更公告期未满 {workdays} 个工作日（公告日期 {notice_on.isoformat()}），"
            f"最早可于 {possible_on.isoformat()} 确认关停",
            details={"notice_on": notice_on.isoformat(), "possible_on": possible_on.isoformat(), "workdays": workdays},
        )


class DuplicateAccountError(Conflict):
    """A second live account of one unit on one platform without a duplicate_reason (409)."""

    code = "duplicate_account"


class UidTakenError(Conflict):
    """(platform, platform_uid) already belongs to another account (409)."""

    code = "uid_taken"


class LedgerImportError(Invalid):
    """An import file with at least one bad row; nothing was written (422)."""

    code = "import_rejected"

    def __init__(self, errors: list[dict[str, Any]], rows: int) -> None:
        super().__init__(
            f"导入失败：共 {len(errors)} 处错误，未写入任何数据",
            details={"rows": rows, "errors": errors},
        )
        self.errors = errors
        self.rows = rows
