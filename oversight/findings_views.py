"""Findings workbench, discovery and reports: /api/v1 and the pages.

Blueprints: ``findings_api`` (JSON, /api/v1), ``findings`` (pages, /findings — the workbench)
and ``reports`` (pages, /reports). Auditors (网信办) and admins see and work every finding;
operators see their own unit's findings read-only; other roles get 403. Objects outside the
caller's scope answer 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Date, Dict, File, Float, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from auth.models import Role, User
from auth.scoping import current_user, get_scoped, scope_filter
from common.errors import ApiError, Forbidden, Invalid
from common.fields import DateTime, Integer
from common.pagination import MAX_PER_PAGE, PageOut, paginate
from extensions import db
from jobs import runner
from jobs.views import accepted
from oversight import discovery, discovery_jobs, evidence_text, finding_compare, finding_links, finding_units
from oversight import findings as service
from oversight import findings_remedies as remedies
from oversight.models import FINDING_LABELS, Finding, FindingKind, FindingStatus
from oversight.workorders import service as workorders
from oversight.workorders import views as workorder_views
from platforms.types import PLATFORM_LABELS
from registry.models import Platform, Unit
from registry.service import FIELD_LABELS

api = APIBlueprint("findings_api", __name__, url_prefix="/api/v1", tag="问题线索与报表")
pages = Blueprint("findings", __name__, url_prefix="/findings")

VIEW_ROLES = service.VIEW_ROLES
WORK_ROLES = (Role.auditor, Role.admin)


def _require(roles: tuple[Role, ...], message: str) -> User:
    user = current_user()
    if not user.has_role(*roles):
        raise Forbidden(message, details={"required_roles": [r.value for r in roles]})
    return user


def viewer() -> User:
    return _require(VIEW_ROLES, "您的角色无权查看问题线索")


def _worker() -> User:
    return _require(WORK_ROLES, "只有网信办（审计）或管理员可以处理问题线索")


# ----------------------------------------------------------------------------- schemas


class FindingQuery(Schema):
    kind = String(load_default=None, validate=OneOf([k.value for k in FindingKind]))
    status = String(
        load_default=None,
        validate=OneOf([s.value for s in FindingStatus] + [service.ACTIVE_FILTER]),
        metadata={"description": "a status, or active: 未办结 (open and confirmed)"},
    )
    unit_id = Integer(load_default=None)
    account_id = Integer(load_default=None)
    platform = String(load_default=None, validate=OneOf([p.value for p in Platform]))
    page = Integer(load_default=1, validate=Range(min=1))
    per_page = Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE))


class FindingOut(Schema):
    id = Integer()
    kind = String()
    kind_label = String()
    status = String()
    status_label = String()
    confidence = Float()
    message = String(allow_none=True)
    unit_id = Integer(allow_none=True)
    unit_name = String(allow_none=True)
    account_id = Integer(allow_none=True)
    account_name = String(allow_none=True)
    discovered_id = Integer(allow_none=True)
    platform = String(allow_none=True)
    platform_label = String(allow_none=True)
    uid = String(allow_none=True)
    found_name = String(
        allow_none=True,
        metadata={"description": "重复开设：平台上发现的第二个账号的名称（uid 即它的平台ID；account_id 是台账账号）"},
    )
    due_on = Date(allow_none=True)
    overdue = Boolean()
    reason = String(allow_none=True)
    decided_by = String(allow_none=True)
    first_seen_at = DateTime()
    last_seen_at = DateTime()


class FindingPage(PageOut):
    items = List(Nested(FindingOut))


class FindingDetail(FindingOut):
    evidence = Dict()
    decision = Dict(allow_none=True)
    history = List(Dict())
    comparison = Dict(metadata={"description": "台账与平台信息并列对照：registry、platform、rows"})
    actions = List(String(), metadata={"description": "当前用户在当前状态下可执行的操作"})
    remedies = List(
        Dict(),
        metadata={
            "description": "resolve 可附带的处置：remedy、label、available（现在能否执行）、"
            "why_not、prefill（预填内容）"
        },
    )


class ActionIn(Schema):
    reason = String(
        load_default=None,
        allow_none=True,
        validate=Length(max=2000),
        metadata={
            "description": "原因；排除（dismiss）和解决（resolve）时必填；确认（confirm）时作为整改要求写入工单；"
            "assign_unit 时为整改要求（不填沿用确认时的意见）"
        },
    )
    due_on = Date(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "confirm、assign_unit：整改期限（北京日期，今天至 180 天内）；"
            "缺省为 FINDING_DEADLINE_WORKDAYS 个工作日后"
        },
    )
    remedy = String(
        load_default=None,
        allow_none=True,
        validate=OneOf(remedies.REMEDIES),
        metadata={
            "description": "resolve 时可选的处置：register（登记入台账，仅 unregistered）、"
            "close（发起注销，仅 closed_but_active / zombie_90d / inactive_14d）；缺省只标记已解决"
        },
    )
    unit_id = Integer(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "register：主办单位（缺省为比对出的单位）；confirm：问题线索没有对应单位时的责任单位"
            "（整改工单发给该单位；设定 due_on 时必填，不填则只确认、不生成整改工单）；assign_unit：责任单位（必填）"
        },
    )
    name = String(
        load_default=None,
        allow_none=True,
        validate=Length(max=200),
        metadata={"description": "register：账号名称（缺省为平台显示名称）"},
    )
    duplicate_reason = String(
        load_default=None,
        allow_none=True,
        validate=Length(max=2000),
        metadata={"description": "register：该单位在此平台已有在用账号时必填的重复开设理由"},
    )
    closure_notice_url = String(
        load_default=None,
        allow_none=True,
        validate=Length(max=500),
        metadata={"description": "close：停更公告链接（必填）"},
    )
    closure_notice_on = Date(
        load_default=None, allow_none=True, metadata={"description": "close：停更公告日期，默认今天"}
    )


ASYNC_HELP = "true：交给后台任务执行，立即返回 202 和任务（GET /api/v1/jobs/{id} 查看进度和结果）"


class RunIn(Schema):
    platforms = List(
        String(validate=OneOf([p.value for p in Platform])),
        load_default=None,
        metadata={"description": "只检索这些平台；缺省为全部已配置平台"},
    )
    keywords = List(String(validate=Length(min=2, max=100)), load_default=list, validate=Length(max=200))
    run_async = Boolean(
        load_default=False,
        data_key="async",
        metadata={"description": ASYNC_HELP},
    )


class ImportIn(Schema):
    file = File(required=True, metadata={"description": "CSV 或 XLSX（表头：平台、账号ID、账号名称、认证主体…）"})
    source = String(load_default=None, validate=Length(max=200), metadata={"description": "名单来源（第三方机构名称）"})
    run_async = Boolean(
        load_default=False,
        data_key="async",
        metadata={"description": ASYNC_HELP},
    )


class RunOut(Schema):
    source = String()
    source_ref = String(allow_none=True)
    started_at = String()
    finished_at = String()
    accounts_seen = Integer()
    snapshots_new = Integer()
    had_history = Boolean()
    findings = Dict()
    findings_by_kind = Dict()
    created_ids = List(Integer())
    reopened_ids = List(Integer())
    resolved_ids = List(Integer())
    platforms = Dict()
    errors = List(Dict())
    rows = Integer()
    queued = Boolean()


# ----------------------------------------------------------------------------- queries


def _actions_for(user: User, f: Finding) -> list[str]:
    if not user.has_role(*WORK_ROLES):
        return []
    allowed = {
        FindingStatus.open: ["confirm", "dismiss", "resolve"],
        FindingStatus.confirmed: ["dismiss", "resolve"],
    }
    late_unit = [service.ASSIGN_UNIT] if f.status is FindingStatus.confirmed and service.unit_refusal(f) is None else []
    return allowed.get(f.status, []) + late_unit


def _detail(user: User, f: Finding) -> dict[str, Any]:
    out = service.finding_dict(f, with_evidence=True)
    out["comparison"] = finding_compare.side_by_side(f)
    out["actions"] = _actions_for(user, f)
    out["remedies"] = remedies.remedies_for(user, f, can_work=user.has_role(*WORK_ROLES))
    return out


def _apply_action(finding: Finding, action: str, user: User, data: dict[str, Any]) -> None:
    """confirm / dismiss / resolve, or resolve with a remedy (then the other fields are its input),
    or assign_unit (the 责任单位 of a finding confirmed without one)."""
    if action not in (*service.ACTIONS, service.ASSIGN_UNIT):
        raise ApiError(status=404, code="not_found", message=f"未知操作：{action}")
    remedy = data.get("remedy")
    if remedy:
        if action != "resolve":
            raise Invalid("只有“标记已解决”（resolve）可以附带处置", details={"remedy": ["只能与 resolve 一起使用"]})
        remedies.resolve(finding, remedy, user, data.get("reason"), data)
    elif action == service.ASSIGN_UNIT:
        service.assign_unit(finding, user, data.get("unit_id"), due_on=data.get("due_on"), reason=data.get("reason"))
    else:
        unit = finding_units.responsible_unit(finding, user, data.get("unit_id")) if action == "confirm" else None
        service.act(finding, action, user, data.get("reason"), due_on=data.get("due_on"), unit=unit)


# ----------------------------------------------------------------------------- API: findings


@api.get("/findings")
@api.input(FindingQuery, location="query", arg_name="q")
@api.output(FindingPage)
@api.doc(summary="问题线索列表（按类型、状态、单位、平台筛选）", security="BearerAuth")
def list_findings(q: dict[str, Any]) -> Any:
    user = viewer()
    return paginate(service.listing(user, q), q["page"], q["per_page"], service.finding_dict)


@api.get("/findings/<int:finding_id>")
@api.output(FindingDetail)
@api.doc(summary="问题线索详情：证据、台账与平台信息对照、处理记录", security="BearerAuth")
def get_finding(finding_id: int) -> Any:
    user = viewer()
    return _detail(user, get_scoped(Finding, finding_id))


@api.post("/findings/<int:finding_id>/actions/<string:action>")
@api.input(ActionIn, arg_name="data")
@api.output(FindingDetail)
@api.doc(
    summary="处理问题线索：confirm（确认并下发整改期限）、dismiss（排除，须填原因）、resolve（已解决，须填原因）、"
    "assign_unit（已确认但没有责任单位的线索补选责任单位并下发整改）",
    description="assign_unit：`unit_id` 必填，`due_on`、`reason`（整改要求）可选，与 confirm 相同；线索须为已确认、"
    "没有对应单位且没有整改工单，否则 409。"
    "resolve 可附带处置：`remedy=register` 以平台所见信息申请开设账号（登记入台账）并关联；"
    "`remedy=close` 为关联账号提交关停申请（发起注销，须填 closure_notice_url）。"
    "处置被拒绝（422/409/403）时不做任何更改。",
    security="BearerAuth",
)
def finding_action(finding_id: int, action: str, data: dict[str, Any]) -> Any:
    viewer()
    finding = get_scoped(Finding, finding_id)
    user = _worker()
    _apply_action(finding, action, user, data)
    db.session.commit()
    return _detail(user, finding)


# ----------------------------------------------------------------------------- API: discovery


@api.post("/discovery/runs")
@api.input(RunIn, arg_name="data")
@api.output(RunOut, status_code=201)
@api.doc(summary="按单位名称和认证主体在各平台检索账号，并与台账比对", security="BearerAuth")
def discovery_run(data: dict[str, Any]) -> Any:
    user = _worker()
    if data.get("run_async"):
        job = runner.start(
            discovery_jobs.DISCOVERY_RUN,
            user,
            {"platforms": data.get("platforms"), "keywords": data.get("keywords") or []},
        )
        return accepted(job)
    summary = discovery.run_search(data.get("platforms"), data.get("keywords") or [], actor=user)
    db.session.commit()
    return summary, 201


@api.post("/discovery/imports")
@api.input(ImportIn, location="form_and_files", arg_name="data")
@api.output(RunOut, status_code=201)
@api.doc(
    summary="导入第三方监测名单（CSV/XLSX），全部校验通过才写入；有错误时返回 422 和逐行错误",
    security="BearerAuth",
)
def discovery_import(data: dict[str, Any]) -> Any:
    user = _worker()
    upload = data["file"]
    content = upload.read()
    if data.get("run_async"):
        params = {"filename": upload.filename or "", "source": data.get("source")}
        return accepted(runner.start(discovery_jobs.DISCOVERY_IMPORT, user, params, upload=content))
    summary = discovery.import_list(content, upload.filename or "", actor=user, source_ref=data.get("source"))
    db.session.commit()
    return summary, 201


# ----------------------------------------------------------------------------- pages: workbench


def list_args(args: Any = None) -> dict[str, Any]:
    """The list's filters and page, carried to a finding's page and back (its 返回 link, its forms)."""
    args = request.args if args is None else args
    kept = page_query(args)
    if (args.get("page") or "").isdigit() and int(args["page"]) > 1:
        kept["page"] = int(args["page"])
    return kept


def page_query(args: Any = None) -> dict[str, Any]:
    """Workbench filters from the query string (or a form); anything invalid is ignored."""
    args = request.args if args is None else args
    q: dict[str, Any] = {}
    if args.get("kind") in {k.value for k in FindingKind}:
        q["kind"] = args["kind"]
    if args.get("status") in {s.value for s in FindingStatus} | {service.ACTIVE_FILTER}:
        q["status"] = args["status"]
    if args.get("platform") in {p.value for p in Platform}:
        q["platform"] = args["platform"]
    for key in ("unit_id", "account_id"):
        if (args.get(key) or "").isdigit():
            q[key] = int(args[key])
    return q


#: accounts gone quiet: shown with their counts at the top of the workbench
SILENT_KINDS = (FindingKind.inactive_14d, FindingKind.zombie_90d)


@pages.get("/")
def workbench() -> Any:
    user = viewer()
    q = page_query()
    page = max(int(request.args.get("page", "1")), 1) if request.args.get("page", "1").isdigit() else 1
    result = paginate(service.listing(user, q), page, 50, service.finding_dict)
    counts = dict(
        db.session.execute(
            sa.select(Finding.status, sa.func.count(Finding.id))
            .where(scope_filter(user, Finding.unit_id))
            .group_by(Finding.status)
        ).all()
    )
    units = db.session.scalars(sa.select(Unit).where(scope_filter(user, Unit.id)).order_by(Unit.name)).all()
    silent = dict(
        db.session.execute(
            sa.select(Finding.kind, sa.func.count(Finding.id))
            .where(
                scope_filter(user, Finding.unit_id),
                Finding.kind.in_(SILENT_KINDS),
                Finding.status.in_(service.ACTIVE_STATUSES),
            )
            .group_by(Finding.kind)
        ).all()
    )
    return render_template(
        "findings/workbench.html",
        result=result,
        q=q,
        pages=(result["total"] + 49) // 50,
        counts={s.value: counts.get(s, 0) for s in FindingStatus},
        due=workorders.due_counts(user),
        silent=[(k.value, FINDING_LABELS[k], silent.get(k, 0)) for k in SILENT_KINDS],
        kinds=FINDING_LABELS,
        statuses=service.STATUS_LABELS,
        platforms=PLATFORM_LABELS,
        units=units,
        can_work=user.has_role(*WORK_ROLES),
        export_args={k: v for k, v in q.items() if v is not None},
        list_args=list_args(),
    )


@pages.get("/<int:finding_id>")
def detail(finding_id: int) -> Any:
    user = viewer()
    finding = get_scoped(Finding, finding_id)
    f = _detail(user, finding)
    f["comparison"] = finding_links.readable_comparison(f["comparison"])
    units: list[Unit] = []
    if any(r["remedy"] == remedies.REGISTER and r["available"] for r in f["remedies"]):
        units = list(db.session.scalars(sa.select(Unit).where(scope_filter(user, Unit.id)).order_by(Unit.name)))
    picks_unit = {"confirm", service.ASSIGN_UNIT} & set(f["actions"]) and finding.unit_id is None
    unit_choices = finding_units.choices(user) if picks_unit else []
    order = workorders.order_of(finding)
    return render_template(
        "findings/detail.html",
        f=f,
        o=workorders.order_dict(order, user, with_events=True) if order is not None else None,
        back=url_for("findings.detail", finding_id=finding.id),
        **workorder_views.panel_context(),
        units=units,
        unit_choices=unit_choices,
        today=service.today_cn(),
        list_args=list_args(),
        max_deadline=timedelta(days=service.MAX_DEADLINE_DAYS),
        default_workdays=service.deadline_workdays(),
        action_labels=service.ACTION_LABELS,
        evidence_labels=evidence_text.EVIDENCE_LABELS,
        evidence_rows=evidence_text.readable(f["evidence"]),
        links=finding_links.links_for(finding),
        show_comparison=finding_links.shows_comparison(finding, f["comparison"]),
        status_labels={k.value: v for k, v in service.STATUS_LABELS.items()},
        reopen_labels=service.REOPEN_LABELS,
    )


ACTION_FORM_FIELDS = (
    "reason",
    "remedy",
    "unit_id",
    "name",
    "duplicate_reason",
    "closure_notice_url",
    "closure_notice_on",
    "due_on",
)


def _action_form() -> dict[str, Any]:
    """The page form through the API's schema (same rules, same messages)."""
    raw = {k: v for k in ACTION_FORM_FIELDS if (v := (request.form.get(k) or "").strip())}
    try:
        return ActionIn().load(raw)
    except ValidationError as exc:
        raise Invalid("填写的内容有误", details=exc.messages) from exc


_FORM_LABELS = {**FIELD_LABELS, "reason": "原因", "remedy": "处置", "due_on": "整改期限"}


def _error_text(exc: ApiError) -> str:
    """The message, plus the field errors of a 422 (the page has no field-level display)."""
    details = exc.detail if isinstance(exc.detail, dict) else {}
    parts = [
        f"{_FORM_LABELS.get(k, k)}：{'；'.join(said)}"
        for k, v in details.items()
        if isinstance(v, list) and v and all(isinstance(m, str) for m in v)
        if (said := [m for m in v if m not in exc.message])  # not the message said twice
    ]
    return exc.message + ("（" + "；".join(parts) + "）" if parts and exc.status_code == 422 else "")


def _done_text(action: str, finding: Finding) -> str:
    done = ((finding.evidence or {}).get("decision") or {}).get("remedy")
    if action == "confirm" and finding.unit is None:
        return "已确认。该问题线索没有责任单位，未生成整改工单；需要整改时可在本页“指定责任单位并下发整改”"
    if action in ("confirm", service.ASSIGN_UNIT):
        return f"已{service.ACTION_LABELS[action]}：整改工单已发给“{finding.unit.name}”"
    if not done:
        return f"已{service.ACTION_LABELS[action]}"
    if done["remedy"] == remedies.REGISTER:
        return f"已登记入台账：账号「{done['account_name']}」已提交开设申请（申请中，待另一位审批人批准），线索已解决"
    return f"已发起注销：账号「{done['account_name']}」进入停更公告期（拟关停），线索已解决"


@pages.post("/<int:finding_id>/act")
def act(finding_id: int) -> Any:
    viewer()
    finding = get_scoped(Finding, finding_id)
    action = request.form.get("action", "")
    try:
        user = _worker()
        _apply_action(finding, action, user, _action_form())
        db.session.commit()
        flash(_done_text(action, finding), "success")
    except ApiError as exc:
        db.session.rollback()
        flash(_error_text(exc), "error")
    kept = list_args({k.removeprefix("list_"): v for k, v in request.form.items() if k.startswith("list_")})
    return redirect(url_for("findings.detail", finding_id=finding_id, **kept))


@pages.post("/discovery/import")
def import_page() -> Any:
    user = _worker()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的 CSV 或 XLSX 文件", "error")
        return redirect(url_for("findings.workbench"))
    params = {"filename": upload.filename, "source": request.form.get("source") or None}
    job = runner.start(discovery_jobs.DISCOVERY_IMPORT, user, params, upload=upload.read())
    return redirect(url_for("jobs.detail", job_id=job.id))


@pages.post("/discovery/run")
def run_page() -> Any:
    user = _worker()
    job = runner.start(discovery_jobs.DISCOVERY_RUN, user, {"platforms": None, "keywords": []})
    return redirect(url_for("jobs.detail", job_id=job.id))
