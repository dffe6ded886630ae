"""考评 API under /api/v1/scoring and pages under /scoring.

Auditors (网信办) and admins see every unit and act (compute, rules, fraud records, 抽查);
operators see their own unit's scores (sub-units included), read-only. Objects outside the
caller's scope answer 404. Nothing is sorted or ranked by followers; list endpoints accept no
sort parameter at all.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Date, Dict, Float, List, Raw, String
from apiflask.validators import Length, OneOf
from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from marshmallow import RAISE

from auth.models import Role, User
from auth.scoping import current_user, ensure_visible, get_scoped, visible_unit_ids
from common.errors import ApiError, Forbidden, NotFound
from common.fields import Integer
from common.formal_sheet import XLSX_MIME
from extensions import db
from oversight.scoring import charts, rollups, service, spotcheck
from oversight.scoring.models import (
    FRAUD_LABELS,
    SPOT_RESULT_LABELS,
    AccountScore,
    FraudKind,
    SpotCheckItem,
    SpotCheckResult,
)
from registry.models import Account, Unit

api = APIBlueprint("scoring_api", __name__, url_prefix="/api/v1/scoring", tag="考评")
pages = Blueprint("scoring", __name__, url_prefix="/scoring")

VIEW_ROLES = (Role.operator, Role.auditor, Role.admin)
OFFICE_ROLES = (Role.auditor, Role.admin)


def _require(roles: tuple[Role, ...], message: str) -> User:
    user = current_user()
    if not user.has_role(*roles):
        raise Forbidden(message, details={"required_roles": [r.value for r in roles]})
    return user


def _viewer() -> User:
    return _require(VIEW_ROLES, "您的角色无权查看考评结果")


def _office() -> User:
    return _require(OFFICE_ROLES, "只有网信办（审计）人员或管理员可以执行此操作")


def _score(score_id: int) -> AccountScore:
    score = db.session.get(AccountScore, score_id)
    if score is None:
        raise NotFound()
    ensure_visible(current_user(), score.unit_id)
    return score


def _issuer(user: User) -> str:
    return user.unit.name if user.unit is not None else ""


SORT_PARAMS = frozenset({"sort", "sort_by", "order", "order_by", "orderby", "rank", "ranking"})


@api.before_request
def _no_sorting() -> None:
    """Scores are listed by unit, platform and name only; nothing ranks by followers (R27)."""
    asked = SORT_PARAMS & {k.lower() for k in request.args}
    if asked:
        raise ApiError(
            "考评结果按单位、平台、账号名称排列，不提供排序或排名参数（不按粉丝数排名）",
            code="sorting_not_offered",
            details={k: ["不支持此参数"] for k in sorted(asked)},
        )


# ----------------------------------------------------------------------------- schemas


class _Strict(Schema):
    class Meta:
        unknown = RAISE  # an unknown parameter (e.g. sort=followers) is refused, not ignored


class PeriodQuery(_Strict):
    period = String(load_default=None, metadata={"description": "季度 2026Q4 或月份 2026-11，默认本季度"})
    unit_id = Integer(load_default=None)


class ScoreOut(Schema):
    id = Integer()
    account_id = Integer()
    account_name = String()
    platform = String()
    platform_label = String()
    unit_id = Integer()
    unit_name = String(allow_none=True)
    period = String()
    period_start = String()
    period_end = String()
    checkpoint_at = String(metadata={"description": "检查点（UTC，页面显示北京时间）"})
    rules_version = String()
    vetoed = Boolean()
    veto_items = List(Dict())
    deductions = List(Dict())
    indicators = List(Dict())
    deducted = Float()
    total = Float()
    passed = Boolean()
    result_label = String()
    data_gaps = List(String())
    indices = Dict()
    computed_at = String()
    computed_by = String()


class ScoreList(Schema):
    period = String()
    items = List(Raw())
    total = Integer()


class ComputeIn(_Strict):
    period = String(required=True, validate=Length(min=6, max=8))
    account_id = Integer(load_default=None)


class RulesIn(_Strict):
    text = String(required=True, validate=Length(min=1, max=256 * 1024), metadata={"description": "规则文件（YAML）"})
    note = String(load_default=None, allow_none=True, validate=Length(max=1000))


class FraudIn(_Strict):
    kind = String(required=True, validate=OneOf([k.value for k in FraudKind]))
    decided_on = Date(load_default=None)
    decision_ref = String(load_default=None, allow_none=True, validate=Length(max=200))
    note = String(required=True, validate=Length(min=4, max=2000))


class DrawIn(_Strict):
    month = String(required=True, validate=Length(equal=7))
    seed = String(load_default=None, allow_none=True, validate=Length(max=64))
    stratified = Boolean(load_default=True)


class ResultIn(_Strict):
    result = String(required=True, validate=OneOf([r.value for r in SpotCheckResult]))
    problems = String(load_default=None, allow_none=True, validate=Length(max=2000))


XLSX_FILE = {"type": "string", "format": "binary"}


# ----------------------------------------------------------------------------- API


def _unit_scope(user: User, unit_id: int | None) -> set[int] | None:
    scope = visible_unit_ids(user)
    if unit_id is None:
        return scope
    ensure_visible(user, unit_id)
    return {unit_id}


@api.get("/scores")
@api.input(PeriodQuery, location="query", arg_name="q")
@api.output(ScoreList)
@api.doc(summary="本期各账号得分（按单位、平台、账号名排列，不按粉丝排名）", security="BearerAuth")
def list_scores(q: dict[str, Any]) -> Any:
    user = _viewer()
    period = service.parse_period(q["period"] or service.current_quarter())
    items = [service.score_dict(s) for s in service.latest_scores(period.key, _unit_scope(user, q["unit_id"]))]
    return {"period": period.key, "items": items, "total": len(items)}


@api.get("/scores/<int:score_id>")
@api.output(ScoreOut)
@api.doc(summary="一个账号一期的计分卡：否决项、扣分明细（含证据）、得分、规则版本", security="BearerAuth")
def get_score(score_id: int) -> Any:
    _viewer()
    return service.score_dict(_score(score_id))


@api.get("/accounts/<int:account_id>/scores")
@api.output(ScoreList)
@api.doc(summary="账号各期得分（新到旧）", security="BearerAuth")
def account_scores(account_id: int) -> Any:
    _viewer()
    get_scoped(Account, account_id)
    items = [service.score_dict(s) for s in service.account_history(account_id)]
    return {"period": "", "items": items, "total": len(items)}


@api.post("/compute")
@api.input(ComputeIn, arg_name="data")
@api.doc(summary="按当前规则版本计算本期得分（记入审计日志）", security="BearerAuth")
def compute(data: dict[str, Any]) -> Any:
    user = _office()
    period = service.parse_period(data["period"])
    summary = service.compute(period, user, account_id=data["account_id"])
    db.session.commit()
    return summary


@api.get("/rollup")
@api.input(PeriodQuery, location="query", arg_name="q")
@api.doc(summary="单位与全县汇总：合格率、平均分、否决原因、季度趋势", security="BearerAuth")
def rollup(q: dict[str, Any]) -> Any:
    user = _viewer()
    period = service.parse_period(q["period"] or service.current_quarter())
    return rollups.rollup(period, _unit_scope(user, q["unit_id"]))


@api.get("/scores.xlsx")
@api.input(PeriodQuery, location="query", arg_name="q")
@api.output(XLSX_FILE, content_type=XLSX_MIME, description="XLSX 文件")
@api.doc(summary="导出本期得分表（标题行、序号、边框、打印设置，北京时间）", security="BearerAuth")
def export_scores(q: dict[str, Any]) -> Any:
    user = _viewer()
    period = service.parse_period(q["period"] or service.current_quarter())
    data = rollups.scores_xlsx(period, _unit_scope(user, q["unit_id"]), _issuer(user))
    return send_file(
        io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=f"得分表-{period.key}.xlsx"
    )


@api.get("/rules")
@api.doc(summary="考评规则版本（当前在前）", security="BearerAuth")
def list_rules() -> Any:
    _viewer()
    current = service.current_rules()
    db.session.commit()
    return {"current": service.rules_dict(current), "history": [service.rules_dict(r) for r in service.rules_history()]}


@api.get("/rules/<string:version>")
@api.doc(summary="一个规则版本（含原文）", security="BearerAuth")
def get_rules(version: str) -> Any:
    _viewer()
    row = next((r for r in service.rules_history() if r.version == version), None)
    if row is None:
        raise NotFound("没有这个规则版本")
    return service.rules_dict(row, with_text=True)


@api.post("/rules/validate")
@api.input(RulesIn, arg_name="data")
@api.doc(summary="只校验规则文件，不载入", security="BearerAuth")
def validate_rules(data: dict[str, Any]) -> Any:
    _office()
    parsed = service.validate_rules(data["text"])
    return {"valid": True, "version": parsed.version, "indicators": len(parsed.data["indicators"])}


@api.post("/rules")
@api.input(RulesIn, arg_name="data")
@api.doc(summary="载入新的规则版本（校验、留痕、审计；之后计算的分数使用它）", security="BearerAuth")
def load_rules(data: dict[str, Any]) -> Any:
    user = _office()
    row = service.load_rules(data["text"], user, note=data["note"])
    db.session.commit()
    return service.rules_dict(row), 201


@api.post("/accounts/<int:account_id>/fraud")
@api.input(FraudIn, arg_name="data")
@api.doc(summary="记录弄虚作假认定（单项否决，记入审计日志）", security="BearerAuth")
def record_fraud(account_id: int, data: dict[str, Any]) -> Any:
    user = _office()
    account = get_scoped(Account, account_id)
    rec = service.record_fraud(account, user, data)
    db.session.commit()
    return service.fraud_dict(rec), 201


@api.get("/spot-checks/<string:month>")
@api.doc(summary="某月抽查样本与结果（含是否可按种子复现）", security="BearerAuth")
def get_draw(month: str) -> Any:
    user = _viewer()
    return spotcheck.draw_dict(spotcheck.get_draw(month), visible_unit_ids(user))


@api.post("/spot-checks")
@api.input(DrawIn, arg_name="data")
@api.doc(summary="抽取本月样本（按单位分层，记录随机种子，每月一次）", security="BearerAuth")
def draw(data: dict[str, Any]) -> Any:
    user = _office()
    row = spotcheck.draw(data["month"], user, seed=data["seed"], stratified=data["stratified"])
    db.session.commit()
    return spotcheck.draw_dict(row), 201


@api.post("/spot-checks/items/<int:item_id>")
@api.input(ResultIn, arg_name="data")
@api.doc(summary="登记一个抽查账号的检查结论", security="BearerAuth")
def record_result(item_id: int, data: dict[str, Any]) -> Any:
    user = _office()
    item = db.session.get(SpotCheckItem, item_id)
    if item is None:
        raise NotFound()
    spotcheck.record_result(item, user, data["result"], data["problems"])
    db.session.commit()
    return {"id": item.id, "result": item.result.value if item.result else None, "problems": item.problems}


# ----------------------------------------------------------------------------- pages


def _page_period(*, fallback: bool = True) -> service.Period:
    """The page's 考评期间 (``period`` in the URL, default this quarter). One that is not a period
    (or has not begun) is said in words; the page then shows this quarter, a download refuses (400)."""
    raw = request.args.get("period") or service.current_quarter()
    try:
        return service.parse_period(raw)
    except ApiError as exc:
        said = "".join(ch for ch in raw[:20] if ch.isprintable())
        message = f"没有“{said}”这个考评期间：{exc.message}。请从“考评期间”的列表中选择"
        if not fallback:
            raise ApiError(message, code="invalid_period", details=exc.detail) from exc
        current = service.parse_period(service.current_quarter())
        flash(f"{message}；现在显示的是{current.label}。", "error")
        return current


def _period_select(period: service.Period) -> dict[str, Any]:
    """What the pages' 考评期间 select needs (scoring/_period.html)."""
    return {
        "period_choices": service.period_choices(period),
        "current_periods": {service.current_quarter(): "本季度", service.current_month(): "本月"},
    }


@pages.get("/")
def index() -> Any:
    user = _viewer()
    period = _page_period()
    scope = visible_unit_ids(user)
    data = rollups.rollup(period, scope)
    rules = service.current_rules()
    db.session.commit()
    return render_template(
        "scoring/index.html",
        data=data,
        period=period,
        rules=rules,
        is_office=user.has_role(*OFFICE_ROLES),
        chart_data=charts.scope_charts(period, scope),
        **_period_select(period),
    )


@pages.get("/accounts")
def scores_page() -> Any:
    user = _viewer()
    period = _page_period()
    unit_id = request.args.get("unit_id", "")
    scope = visible_unit_ids(user)
    unit_name = None
    if unit_id.isdigit():
        ensure_visible(user, int(unit_id))
        scope = {int(unit_id)}
        unit = db.session.get(Unit, int(unit_id))
        unit_name = unit.name if unit is not None else None
    scores = [service.score_dict(s) for s in service.latest_scores(period.key, scope)]
    return render_template(
        "scoring/scores.html",
        scores=scores,
        period=period,
        unit_id=unit_id if unit_id.isdigit() else "",
        unit_name=unit_name,
        is_office=user.has_role(*OFFICE_ROLES),
        chart_data=charts.scope_charts(period, scope),
        **_period_select(period),
    )


@pages.get("/scores/<int:score_id>")
def card(score_id: int) -> Any:
    _viewer()
    score = _score(score_id)
    history = [service.score_dict(s) for s in service.account_history(score.account_id)]
    user = current_user()
    return render_template(
        "scoring/card.html",
        s=service.score_dict(score),
        row=score,
        history=history,
        is_office=user.has_role(*OFFICE_ROLES),
        chart_data=charts.account_charts(score),
        fraud_kinds=[(k.value, label) for k, label in FRAUD_LABELS.items()],
    )


@pages.post("/compute")
def compute_page() -> Any:
    user = _office()
    raw = request.form.get("period", "")
    try:
        period = service.parse_period(raw)
        summary = service.compute(period, user)
        db.session.commit()
        flash(
            f"已按规则版本 {summary['rules_version']} 计算 {summary['accounts']} 个账号：合格 {summary['passed']} 个，"
            f"单项否决 {summary['vetoed']} 个",
            "success",
        )
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("scoring.index"))
    return redirect(url_for("scoring.index", period=period.key))


@pages.get("/export.xlsx")
def export_page() -> Any:
    user = _viewer()
    period = _page_period(fallback=False)
    data = rollups.scores_xlsx(period, visible_unit_ids(user), _issuer(user))
    return send_file(
        io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=f"得分表-{period.key}.xlsx"
    )


@pages.route("/rules", methods=["GET", "POST"])
def rules_page() -> Any:
    user = _viewer()
    is_office = user.has_role(*OFFICE_ROLES)
    errors: Any = None
    text = None
    if request.method == "POST":
        _office()
        text = request.form.get("text", "")
        try:
            if request.form.get("action") == "validate":
                parsed = service.validate_rules(text)
                flash(f"校验通过：版本 {parsed.version}（尚未载入）", "success")
            else:
                row = service.load_rules(text, user, note=request.form.get("note"))
                db.session.commit()
                flash(f"已载入规则版本 {row.version}，之后计算的分数使用此版本；已有分数不变", "success")
                return redirect(url_for("scoring.rules_page"))
        except ApiError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            errors = exc.detail
    current = service.current_rules()
    db.session.commit()
    return render_template(
        "scoring/rules.html",
        current=current,
        history=service.rules_history(),
        text=text if text is not None else current.text,
        errors=errors,
        is_office=is_office,
    ), (400 if errors is not None else 200)


@pages.route("/spot", methods=["GET", "POST"])
def spot_page() -> Any:
    user = _viewer()
    month = request.values.get("month") or spotcheck.month_now()
    if request.method == "POST":
        _office()
        try:
            row = spotcheck.draw(
                month, user, seed=request.form.get("seed"), stratified=bool(request.form.get("stratified"))
            )
            db.session.commit()
            flash(f"已抽取 {row.month} 样本 {len(row.items)} 个账号（种子 {row.seed}）", "success")
        except ApiError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        return redirect(url_for("scoring.spot_page", month=month[:7]))
    try:
        row = spotcheck.get_draw(month)
        data = spotcheck.draw_dict(row, visible_unit_ids(user))
    except ApiError:
        row = data = None
    return render_template(
        "scoring/spot.html",
        data=data,
        row=row,
        month=month[:7],
        share=spotcheck.spot_share(),
        is_office=user.has_role(*OFFICE_ROLES),
        results=[(r.value, label) for r, label in SPOT_RESULT_LABELS.items()],
    )


@pages.post("/spot/items/<int:item_id>")
def spot_result_page(item_id: int) -> Any:
    user = _office()
    item = db.session.get(SpotCheckItem, item_id)
    if item is None:
        raise NotFound()
    try:
        spotcheck.record_result(item, user, request.form.get("result"), request.form.get("problems"))
        db.session.commit()
        flash("已登记抽查结论", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("scoring.spot_page", month=item.draw.month))


@pages.post("/accounts/<int:account_id>/fraud")
def fraud_page(account_id: int) -> Any:
    user = _office()
    account = get_scoped(Account, account_id)
    raw = request.form.get("decided_on") or ""
    try:
        decided = date.fromisoformat(raw) if raw else None
        service.record_fraud(
            account,
            user,
            {
                "kind": request.form.get("kind"),
                "decided_on": decided,
                "decision_ref": request.form.get("decision_ref"),
                "note": request.form.get("note"),
            },
        )
        db.session.commit()
        flash("已记录弄虚作假认定；重新计算后该账号本期单项否决", "success")
    except ValueError:
        flash("认定日期格式无效", "error")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(request.referrer or url_for("scoring.index"))
