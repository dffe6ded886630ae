"""Request/response schemas for the registry API (also used to validate the page forms).

Validation messages are in 简体中文: they reach API clients in ``error.details`` and the page
forms show them next to the field.
"""

from __future__ import annotations

from typing import Any, ClassVar

from apiflask import Schema
from apiflask.fields import (
    Boolean,
    Date,
    Dict,
    Email,
    File,
    List,
    Nested,
    String,
)
from apiflask.validators import URL, Length, OneOf, Range, Regexp

from common.fields import DateTime, Integer
from common.pagination import MAX_PER_PAGE, PageOut
from common.validation import NO_CONTROL, NO_CONTROL_TEXT
from registry.models import AccountStatus, Platform, UnitKind

REQUIRED = "此项为必填"
ZH: dict[str, str] = {"required": REQUIRED, "null": "此项不能为空", "invalid": "格式不正确"}
ZH_DATE = {**ZH, "invalid": "日期格式应为 YYYY-MM-DD"}
ZH_BOOL = {**ZH, "invalid": "请填写 是/否"}
ZH_INT = {**ZH, "invalid": "应为整数"}
PLATFORMS = [p.value for p in Platform]
STATUSES = [s.value for s in AccountStatus]
URL_CHECK = URL(relative=False, schemes={"http", "https"}, error="链接格式不正确（须以 http:// 或 https:// 开头）")


def _len(max_len: int, min_len: int | None = None) -> Length:
    if min_len:
        return Length(min=min_len, max=max_len, error=f"长度应为 {min_len}–{max_len} 个字")
    return Length(max=max_len, error=f"不能超过 {max_len} 个字")


def _text(max_len: int, description: str, *, single_line: bool = True, **kw: Any) -> String:
    control = NO_CONTROL if single_line else NO_CONTROL_TEXT
    return String(
        allow_none=True,
        validate=[_len(max_len), control],
        error_messages=ZH,
        metadata={"description": description},
        **kw,
    )


class ZhSchema(Schema):
    error_messages: ClassVar[dict[str, str]] = {"unknown": "未知字段", "type": "数据格式不正确"}  # type: ignore[misc]


# ----------------------------------------------------------------------------- units


class UnitIn(ZhSchema):
    name = String(
        required=True, validate=[_len(200, 2), NO_CONTROL], error_messages=ZH, metadata={"description": "单位名称"}
    )
    credit_code = String(
        load_default=None,
        allow_none=True,
        validate=Regexp(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$", error="统一社会信用代码格式不正确"),
    )
    parent_id = Integer(load_default=None, allow_none=True)
    kind = String(load_default=UnitKind.department.value, validate=OneOf([k.value for k in UnitKind]))
    region = String(load_default=None, allow_none=True, validate=[Length(max=100), NO_CONTROL])


class UnitPatchIn(ZhSchema):
    """Only the fields sent are changed. A new name proposes renaming the unit's accounts."""

    name = String(validate=[_len(200, 2), NO_CONTROL], error_messages=ZH, metadata={"description": "单位名称"})
    credit_code = String(
        allow_none=True,
        validate=Regexp(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$", error="统一社会信用代码格式不正确"),
    )
    parent_id = Integer(allow_none=True, error_messages=ZH_INT)
    kind = String(validate=OneOf([k.value for k in UnitKind], error="单位类型无效"))
    region = String(allow_none=True, validate=[_len(100), NO_CONTROL])


class UnitOut(Schema):
    id = Integer()
    name = String()
    credit_code = String(allow_none=True)
    parent_id = Integer(allow_none=True)
    kind = String()
    region = String(allow_none=True)


class UnitPage(PageOut):
    items = List(Nested(UnitOut))


class RenameProposalOut(Schema):
    account_id = Integer()
    platform = String()
    name = String()
    verified_subject = String(allow_none=True)
    proposed_changes = Dict(metadata={"description": "建议通过 request_change 提交的变更"})


class UnitUpdateOut(UnitOut):
    rename_proposals = List(
        Nested(RenameProposalOut), metadata={"description": "单位更名后，各在用账号的更名建议（同时生成主体不符线索）"}
    )


# ----------------------------------------------------------------------------- accounts


class AccountFields(ZhSchema):
    """The fields an application or a change request may carry (all optional here)."""

    platform_uid = _text(128, "平台账号ID（微信原始ID/微博UID/抖音号…）")
    supervisor_unit = _text(200, "主管单位")
    operator_org = _text(200, "运维单位（承办/运维服务商）")
    operator_contract_end = Date(allow_none=True, error_messages=ZH_DATE, metadata={"description": "运维合同到期日"})
    person_in_charge = _text(100, "负责人（分管领导）")
    admin_name = _text(100, "管理员")
    contact_phone = String(
        allow_none=True,
        validate=Regexp(r"^[0-9+\-() ]{5,50}$", error="联系电话格式不正确"),
        error_messages=ZH,
        metadata={"description": "联系电话"},
    )
    contact_email = Email(
        allow_none=True, error_messages={**ZH, "invalid": "邮箱格式不正确"}, metadata={"description": "联系邮箱"}
    )
    verified_subject = _text(200, "平台上显示的认证主体")
    verified = Boolean(allow_none=True, error_messages=ZH_BOOL, metadata={"description": "是否已认证"})
    profile_url = String(allow_none=True, validate=[_len(500), URL_CHECK], metadata={"description": "主页链接"})
    purpose = _text(2000, "功能定位", single_line=False)


class ChangeIn(AccountFields):
    name = String(validate=[_len(200, 2), NO_CONTROL], error_messages=ZH, metadata={"description": "账号名称"})


class AccountIn(AccountFields):
    platform = String(
        required=True,
        validate=OneOf(PLATFORMS, error="平台无效"),
        error_messages=ZH,
        metadata={"description": "平台：" + "、".join(PLATFORMS)},
    )
    name = String(
        required=True, validate=[_len(200, 2), NO_CONTROL], error_messages=ZH, metadata={"description": "账号名称"}
    )
    unit_id = Integer(required=True, error_messages=ZH_INT, metadata={"description": "主办单位 id"})
    opened_on = Date(allow_none=True, error_messages=ZH_DATE, metadata={"description": "开设日期（默认今天）"})
    duplicate_reason = _text(
        2000, "重复开设理由：本单位在该平台已有在用账号时必填（同时生成“重复开设”线索）", single_line=False
    )
    reason = _text(2000, "申请说明", single_line=False)


class ActionIn(ZhSchema):
    """Each action reads only its own fields (see docs/registry.md)."""

    reason = _text(2000, "理由：reject、suspend、request_close 必填", single_line=False)
    changes = Nested(ChangeIn, metadata={"description": "request_change：拟变更的字段及新值"})
    filing_number = _text(100, "approve：报送系统备案编号")
    filing_date = Date(
        allow_none=True,
        error_messages=ZH_DATE,
        metadata={
            "description": "approve / approve_change / confirm_closed（平台已注销→关停备案）：备案日期，默认今天"
        },
    )
    opened_on = Date(allow_none=True, error_messages=ZH_DATE, metadata={"description": "approve：开设日期"})
    closure_notice_on = Date(
        allow_none=True, error_messages=ZH_DATE, metadata={"description": "request_close：停更公告日期，默认今天"}
    )
    closure_notice_url = String(
        allow_none=True,
        validate=[_len(500), URL_CHECK],
        metadata={"description": "request_close：停更公告链接（必填）"},
    )
    closure_requested_on = Date(
        allow_none=True, error_messages=ZH_DATE, metadata={"description": "向平台提交注销申请的日期"}
    )
    closed_on = Date(
        allow_none=True,
        error_messages=ZH_DATE,
        metadata={"description": "confirm_closed（拟关停→平台已注销）：平台确认注销日期，默认今天"},
    )


class AccountQuery(ZhSchema):
    page = Integer(load_default=1, validate=Range(min=1), error_messages=ZH_INT)
    per_page = Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE), error_messages=ZH_INT)
    platform = String(load_default=None, validate=OneOf(PLATFORMS, error="平台无效"))
    unit_id = Integer(load_default=None, error_messages=ZH_INT)
    status = String(load_default=None, validate=OneOf(STATUSES, error="状态无效"))
    q = String(load_default=None, validate=_len(100), metadata={"description": "按账号名称或平台账号ID搜索"})
    overdue = Boolean(
        load_default=None,
        error_messages=ZH_BOOL,
        metadata={"description": "true：只看备案逾期；false：排除备案逾期"},
    )


class ExportQuery(ZhSchema):
    platform = String(load_default=None, validate=OneOf(PLATFORMS, error="平台无效"))
    unit_id = Integer(load_default=None, error_messages=ZH_INT)
    status = String(load_default=None, validate=OneOf(STATUSES, error="状态无效"))
    q = String(load_default=None, validate=_len(100))
    overdue = Boolean(load_default=None, error_messages=ZH_BOOL)


class ExportJobIn(ExportQuery):
    format = String(load_default="xlsx", validate=OneOf(("xlsx", "csv"), error="格式只能是 xlsx 或 csv"))


class AccountOut(Schema):
    id = Integer()
    platform = String()
    platform_label = String()
    platform_uid = String(allow_none=True)
    name = String()
    unit_id = Integer()
    unit_name = String()
    supervisor_unit = String(allow_none=True)
    operator_org = String(allow_none=True)
    operator_contract_end = Date(allow_none=True)
    person_in_charge = String(allow_none=True)
    admin_name = String(allow_none=True)
    contact_phone = String(allow_none=True)
    contact_email = String(allow_none=True)
    verified_subject = String(allow_none=True)
    verified = Boolean()
    profile_url = String(allow_none=True)
    purpose = String(allow_none=True)
    is_primary = Boolean()
    duplicate_reason = String(allow_none=True)
    opened_on = Date(allow_none=True)
    filing_number = String(allow_none=True)
    filed_on = Date(allow_none=True)
    filing_due_on = Date(allow_none=True, metadata={"description": "备案时限（开设/变更/关停后若干工作日）"})
    filing_overdue = Boolean(metadata={"description": "备案时限已过仍未备案"})
    filing_due_estimated = Boolean(
        metadata={
            "description": "备案时限按周一至周五估算：chinesecalendar 和节假日文件（EXTRA_HOLIDAYS_FILE）"
            "都没有所跨年份的节假日安排；无备案时限时为 false"
        }
    )
    status = String()
    status_label = String()
    pending_change = Dict(allow_none=True, metadata={"description": "待审批的变更（字段→新值）"})
    closure_notice_on = Date(allow_none=True)
    closure_notice_url = String(allow_none=True)
    closure_requested_on = Date(allow_none=True)
    closable_on = Date(allow_none=True, metadata={"description": "拟关停账号最早可确认关停的日期"})
    closable_on_estimated = Boolean(
        metadata={"description": "closable_on 按周一至周五估算（同 filing_due_estimated）；无该日期时为 false"}
    )
    closed_on = Date(allow_none=True)
    closure_filed_on = Date(allow_none=True)
    last_post_at = DateTime(allow_none=True)
    followers = Integer(allow_none=True)
    created_at = DateTime()
    updated_at = DateTime()
    allowed_actions = List(
        String(),
        metadata={
            "description": "当前用户此刻可执行的操作（已除去四眼原则不允许的：本人提出或经办的申请不能由本人批准）"
        },
    )


class FindingBrief(Schema):
    id = Integer()
    kind = String()
    kind_label = String()
    status = String()
    message = String(allow_none=True)
    evidence = Dict()


class AccountDetailOut(AccountOut):
    findings = List(Nested(FindingBrief), metadata={"description": "该账号未处理的问题线索"})


class AccountPage(PageOut):
    items = List(Nested(AccountOut))


class EventOut(Schema):
    id = Integer()
    account_id = Integer()
    action = String()
    action_label = String()
    from_status = String(allow_none=True)
    to_status = String(allow_none=True)
    changes = Dict(metadata={"description": "字段 → [原值, 新值]"})
    actor_id = Integer(allow_none=True)
    actor_name = String()
    approver_id = Integer(allow_none=True)
    approver_name = String(allow_none=True)
    reason = String(allow_none=True)
    filing_date = Date(allow_none=True)
    at = DateTime()


class EventPage(PageOut):
    items = List(Nested(EventOut))


class ActionOut(Schema):
    account = Nested(AccountOut)
    event = Nested(EventOut)


# ----------------------------------------------------------------------------- import


class ImportIn(ZhSchema):
    file = File(required=True, error_messages={**ZH, "invalid": "请上传文件"}, metadata={"description": "CSV 或 XLSX"})
    dry_run = Boolean(load_default=False, error_messages=ZH_BOOL, metadata={"description": "只校验，不写入"})
    run_async = Boolean(
        load_default=False,
        data_key="async",
        error_messages=ZH_BOOL,
        metadata={"description": "true：交给后台任务执行，立即返回 202 和任务（GET /api/v1/jobs/{id} 查看进度和结果）"},
    )


class RowErrorOut(Schema):
    row = Integer(metadata={"description": "行号（表头为第 1 行）"})
    column = String(allow_none=True)
    reason = String()


class ImportReportOut(Schema):
    rows = Integer()
    created = Integer()
    updated = Integer()
    unchanged = Integer()
    change_requests = Integer(metadata={"description": "运营人员导入时对在用账号生成的变更申请数"})
    dry_run = Boolean()
    errors = List(Nested(RowErrorOut))
