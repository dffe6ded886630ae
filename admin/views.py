"""系统管理 pages (/admin): the unit tree, users, the checks' dictionaries. Admins only.

Every change goes through a service that writes the audit log; a refused change answers a 4xx
page with the Chinese reason and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from admin import dictionaries
from audit.models import AuditEntry
from auth import service as auth_service
from auth.models import ROLE_LABELS, ApiToken, Role, User
from auth.scoping import current_user, unit_subtree_ids
from common.errors import ApiError, Forbidden, Invalid, NotFound
from extensions import db
from registry import unit_changes
from registry import units as unit_service
from registry.models import Unit, UnitKind

# An APIBlueprint only so that its before_request guard is allowed (APIFlask's spec builder reads
# enable_openapi from every blueprint with one); the pages are not part of the API document.
bp = APIBlueprint("admin", __name__, url_prefix="/admin", enable_openapi=False)
aliases = Blueprint("admin_aliases", __name__)

UNIT_KIND_LABELS = {
    UnitKind.government: "人民政府",
    UnitKind.department: "部门",
    UnitKind.town: "乡镇（街道）",
    UnitKind.institution: "事业单位",
    UnitKind.other: "其他",
}
UNIT_FIELD_LABELS = {
    "name": "名称",
    "credit_code": "统一社会信用代码",
    "parent_id": "上级单位",
    "kind": "单位类型",
    "region": "地区",
    "is_active": "状态",
}
UNIT_ACTION_LABELS = {
    "unit:create": "建立",
    "unit:update": "修改",
    "unit:deactivate": "停用",
    "unit:reactivate": "重新启用",
}


@bp.before_request
def _admins_only() -> None:
    if not current_user().has_role(Role.admin):
        raise Forbidden("系统管理只对管理员开放", details={"required_roles": [Role.admin.value]})


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"UNIT_KIND_LABELS": UNIT_KIND_LABELS}


@aliases.get("/units")
def units_alias() -> Any:
    return redirect(url_for("admin.units"))


@aliases.get("/users")
def users_alias() -> Any:
    return redirect(url_for("admin.users"))


def _failed(exc: ApiError) -> int:
    """Undo the request's changes and tell the person why; the status for the page."""
    db.session.rollback()
    flash(exc.message, "error")
    return exc.status_code


def _apply(change: Callable[[], Any], failed: Callable[[int], Any], done: Callable[[Any], str], back: str) -> Any:
    """Run a change, commit and go ``back`` with the ``done(result)`` message; on a refusal,
    undo it and answer ``failed(status)`` (the page again, with the reason)."""
    try:
        result = change()
        db.session.commit()
    except ApiError as exc:
        return failed(_failed(exc))
    flash(done(result), "success")
    return redirect(back)


def _credentials_url() -> str | None:
    """The admins' credentials overview (publishers' account pages), when that package is wired."""
    if "publishing_accounts.overview_page" in current_app.view_functions:
        return url_for("publishing_accounts.overview_page")
    return None


@bp.get("/")
def index() -> Any:
    counts = {
        "units": db.session.scalar(sa.select(sa.func.count()).select_from(Unit).where(Unit.is_active.is_(True))),
        "users": db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.is_active.is_(True))),
    }
    return render_template("admin/index.html", counts=counts, credentials_url=_credentials_url())


# ----------------------------------------------------------------------------- units


def _all_units() -> list[Unit]:
    return list(db.session.scalars(sa.select(Unit).order_by(Unit.name)))


def _tree(units: list[Unit]) -> list[dict[str, Any]]:
    by_parent: dict[int | None, list[Unit]] = {}
    ids = {u.id for u in units}
    for unit in units:
        by_parent.setdefault(unit.parent_id if unit.parent_id in ids else None, []).append(unit)

    def node(unit: Unit) -> dict[str, Any]:
        return {"unit": unit, "children": [node(c) for c in by_parent.get(unit.id, [])]}

    return [node(u) for u in by_parent.get(None, [])]


def _unit_form() -> dict[str, Any]:
    form = request.form
    parent = form.get("parent_id", "").strip()
    return {
        "name": form.get("name", "").strip(),
        "parent_id": int(parent) if parent.isdigit() else None,
        "kind": form.get("kind") or UnitKind.department.value,
        "credit_code": form.get("credit_code", "").strip() or None,
        "region": form.get("region", "").strip() or None,
    }


def _validate_unit(data: dict[str, Any]) -> None:
    if not data["name"]:
        raise Invalid("请填写单位名称", details={"name": ["请填写单位名称"]})
    if len(data["name"]) > 200:
        raise Invalid("单位名称不超过 200 字", details={"name": ["单位名称不超过 200 字"]})
    if data.get("credit_code") and len(data["credit_code"]) != 18:
        raise Invalid("统一社会信用代码应为 18 位", details={"credit_code": ["统一社会信用代码应为 18 位"]})
    if data.get("kind") not in {k.value for k in UnitKind}:
        raise Invalid("单位类型无效", details={"kind": ["单位类型无效"]})


@bp.route("/units", methods=["GET", "POST"])
def units() -> Any:
    status, values = 200, {}
    if request.method == "POST":
        values = _unit_form()
        try:
            _validate_unit(values)
            unit = unit_service.create_unit(values, actor=current_user())
            db.session.commit()
            flash(f"已建立单位“{unit.name}”", "success")
            return redirect(url_for("admin.units"))
        except ApiError as exc:
            status = _failed(exc)
    all_units = _all_units()
    return render_template(
        "admin/units.html",
        tree=_tree(all_units),
        parents=[u for u in all_units if u.is_active],
        values=values,
    ), status


def _unit(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在")
    return unit


def _actor_names(entries: list[AuditEntry]) -> dict[int, str]:
    ids = {e.actor_id for e in entries if e.actor_id}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(ids))).tuples().all())


def _unit_action_label(action: str, fields: list[str]) -> str:
    if action == "unit:update" and fields == ["name"]:
        return "更名"
    if action == "unit:update" and fields == ["parent_id"]:
        return "调整上级单位"
    return UNIT_ACTION_LABELS.get(action, "修改")


def _unit_history(unit: Unit) -> list[dict[str, Any]]:
    entries = list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.object_type == "units", AuditEntry.object_id == str(unit.id))
            .order_by(AuditEntry.id.desc())
        )
    )
    names = _actor_names(entries)
    unit_names = dict(db.session.execute(sa.select(Unit.id, Unit.name)).tuples().all())

    def show(field: str, value: Any) -> str:
        if value is None or value == "":
            return "（空）"
        if field == "parent_id":
            return unit_names.get(value, "（已删除的单位）")
        if field == "kind":
            return UNIT_KIND_LABELS.get(UnitKind(value), value)
        if field == "is_active":
            return "在用" if value else "已停用"
        return str(value)

    rows = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        fields = [f for f in UNIT_FIELD_LABELS if f in before or f in after]
        if entry.action == "unit:create":
            fields = [f for f in ("name", "parent_id", "kind", "credit_code") if after.get(f) not in (None, "")]
        changes = [
            {
                "label": UNIT_FIELD_LABELS[f],
                "before": None if entry.action == "unit:create" else show(f, before.get(f)),
                "after": show(f, after.get(f)),
            }
            for f in fields
        ]
        rows.append(
            {
                "at": entry.at,
                "action": _unit_action_label(entry.action, fields),
                "actor": names.get(entry.actor_id or 0, "系统（命令行）"),
                "changes": changes,
            }
        )
    return rows


def _unit_page(unit: Unit, status: int = 200) -> Any:
    below = unit_subtree_ids(unit.id)
    parents = [u for u in _all_units() if u.is_active and u.id not in below]
    users = list(db.session.scalars(sa.select(User).where(User.unit_id == unit.id).order_by(User.username)))
    return render_template(
        "admin/unit.html", unit=unit, parents=parents, users=users, history=_unit_history(unit)
    ), status


def _unit_url(unit: Unit) -> str:
    return url_for("admin.unit_detail", unit_id=unit.id)


@bp.get("/units/<int:unit_id>")
def unit_detail(unit_id: int) -> Any:
    return _unit_page(_unit(unit_id))


@bp.post("/units/<int:unit_id>/rename")
def unit_rename(unit_id: int) -> Any:
    unit = _unit(unit_id)
    name = request.form.get("name", "").strip()

    def rename() -> list[dict[str, Any]]:
        _validate_unit({"name": name, "kind": unit.kind.value})
        return unit_changes.update_unit(unit, {"name": name}, current_user())

    def done(proposals: list[dict[str, Any]]) -> str:
        message = f"单位已更名为“{unit.name}”"
        if proposals:
            message += f"；其 {len(proposals)} 个在用账号已生成“主办单位更名”提示，请运营人员申请变更账号名称与认证主体"
        return message

    return _apply(rename, lambda status: _unit_page(unit, status), done, _unit_url(unit))


@bp.post("/units/<int:unit_id>/move")
def unit_move(unit_id: int) -> Any:
    unit = _unit(unit_id)
    raw = request.form.get("parent_id", "").strip()
    parent_id = int(raw) if raw.isdigit() else None

    def move() -> None:
        parent = db.session.get(Unit, parent_id) if parent_id is not None else None
        if parent is not None and not parent.is_active:
            raise Invalid("上级单位已停用", details={"parent_id": ["上级单位已停用"]})
        unit_changes.update_unit(unit, {"parent_id": parent_id}, current_user())

    def done(_: None) -> str:
        return f"已将“{unit.name}”移到“{unit.parent.name}”之下" if unit.parent else f"“{unit.name}”已成为顶层单位"

    return _apply(move, lambda status: _unit_page(unit, status), done, _unit_url(unit))


@bp.post("/units/<int:unit_id>/deactivate")
def unit_deactivate(unit_id: int) -> Any:
    unit = _unit(unit_id)
    return _apply(
        lambda: unit_service.deactivate_unit(unit, actor=current_user()),
        lambda status: _unit_page(unit, status),
        lambda _: f"已停用单位“{unit.name}”",
        _unit_url(unit),
    )


@bp.post("/units/<int:unit_id>/reactivate")
def unit_reactivate(unit_id: int) -> Any:
    unit = _unit(unit_id)
    return _apply(
        lambda: unit_service.reactivate_unit(unit, actor=current_user()),
        lambda status: _unit_page(unit, status),
        lambda _: f"已重新启用单位“{unit.name}”",
        _unit_url(unit),
    )


# ----------------------------------------------------------------------------- users

ROLE_ORDER = list(Role)


def _roles_from_form() -> list[Role]:
    chosen = set(request.form.getlist("roles"))
    return [r for r in ROLE_ORDER if r.value in chosen]


@bp.route("/users", methods=["GET", "POST"])
def users() -> Any:
    status, values = 200, {}
    if request.method == "POST":
        form = request.form
        values = {
            "username": form.get("username", "").strip(),
            "display_name": form.get("display_name", "").strip(),
            "unit_id": form.get("unit_id", ""),
            "roles": set(form.getlist("roles")),
        }
        try:
            if not values["username"] or len(values["username"]) > 64:
                raise Invalid("请填写用户名（不超过 64 个字符）", details={"username": ["请填写用户名"]})
            if not values["display_name"]:
                raise Invalid("请填写姓名", details={"display_name": ["请填写姓名"]})
            unit = db.session.get(Unit, int(values["unit_id"])) if values["unit_id"].isdigit() else None
            if unit is None or not unit.is_active:
                raise Invalid("请选择在用的单位", details={"unit_id": ["请选择在用的单位"]})
            user = auth_service.create_user(
                values["username"],
                unit_id=unit.id,
                roles=_roles_from_form(),
                password=form.get("password", ""),
                display_name=values["display_name"],
                actor=current_user(),
            )
            db.session.commit()
            flash(f"已建立用户“{user.display_name}”（登录名 {user.username}）", "success")
            return redirect(url_for("admin.users"))
        except ApiError as exc:
            status = _failed(exc)
    unit_filter = request.args.get("unit_id", "")
    stmt = sa.select(User).order_by(User.is_active.desc(), User.username)
    if unit_filter.isdigit():
        stmt = stmt.where(User.unit_id == int(unit_filter))
    q = request.args.get("q", "").strip()
    if q:
        matches = (User.username.contains(q, autoescape=True), User.display_name.contains(q, autoescape=True))
        stmt = stmt.where(sa.or_(*matches))
    all_units = _all_units()
    return render_template(
        "admin/users.html",
        users=list(db.session.scalars(stmt.limit(500))),
        units=all_units,
        active_units=[u for u in all_units if u.is_active],
        roles=ROLE_ORDER,
        values=values,
        unit_filter=unit_filter,
        q=q,
    ), status


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


def _user_page(user: User, status: int = 200) -> Any:
    stmt = sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    tokens = list(db.session.scalars(stmt))
    return render_template("admin/user.html", user=user, roles=ROLE_ORDER, tokens=tokens), status


def _user_url(user: User) -> str:
    return url_for("admin.user_detail", user_id=user.id)


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int) -> Any:
    return _user_page(_user(user_id))


@bp.post("/users/<int:user_id>/roles")
def user_roles(user_id: int) -> Any:
    user = _user(user_id)

    def done(changed: bool) -> str:
        labels = "、".join(ROLE_LABELS[r] for r in ROLE_ORDER if r in user.roles)
        return f"已更新角色：{labels}（该用户需重新登录）" if changed else "角色没有变化"

    return _apply(
        lambda: auth_service.set_roles(user, _roles_from_form(), actor=current_user()),
        lambda status: _user_page(user, status),
        done,
        _user_url(user),
    )


@bp.post("/users/<int:user_id>/password")
def user_password(user_id: int) -> Any:
    user = _user(user_id)
    password = request.form.get("password", "")

    def reset() -> None:
        if password != request.form.get("password_again", ""):
            raise Invalid("两次输入的密码不一致", details={"password_again": ["两次输入的密码不一致"]})
        auth_service.reset_password(user, password, actor=current_user())

    return _apply(
        reset,
        lambda status: _user_page(user, status),
        lambda _: f"已重置“{user.display_name}”的密码，其已登录的会话全部失效",
        _user_url(user),
    )


@bp.post("/users/<int:user_id>/deactivate")
def user_deactivate(user_id: int) -> Any:
    user = _user(user_id)
    return _apply(
        lambda: auth_service.deactivate_user(user, actor=current_user()),
        lambda status: _user_page(user, status),
        lambda _: f"已停用“{user.display_name}”：不能再登录，已登录的会话和全部接口令牌已失效",
        _user_url(user),
    )


@bp.post("/users/<int:user_id>/reactivate")
def user_reactivate(user_id: int) -> Any:
    user = _user(user_id)

    def reactivate() -> None:
        unit = db.session.get(Unit, user.unit_id)
        if unit is not None and not unit.is_active:
            raise Invalid("所属单位已停用，请先启用单位或调整所属单位")
        auth_service.reactivate_user(user, actor=current_user())

    return _apply(
        reactivate,
        lambda status: _user_page(user, status),
        lambda _: f"已重新启用“{user.display_name}”",
        _user_url(user),
    )


@bp.post("/users/<int:user_id>/tokens/<int:token_id>/revoke")
def user_token_revoke(user_id: int, token_id: int) -> Any:
    user = _user(user_id)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("令牌不存在")
    auth_service.revoke_token(token.id, actor=current_user())
    db.session.commit()
    flash("已吊销该接口令牌", "success")
    return redirect(_user_url(user))


@bp.post("/users/<int:user_id>/tokens/revoke-all")
def user_tokens_revoke_all(user_id: int) -> Any:
    user = _user(user_id)
    count = auth_service.revoke_all_tokens(user, actor=current_user())
    db.session.commit()
    flash(f"已吊销 {count} 个接口令牌", "success")
    return redirect(_user_url(user))


# ----------------------------------------------------------------------------- dictionaries


@bp.get("/dictionaries")
def dictionary_list() -> Any:
    return render_template(
        "admin/dictionaries.html", files=dictionaries.overview(), office_dir=dictionaries.office_dir()
    )


def _dictionary_page(name: str, text: str | None = None, note: str = "", status: int = 200) -> Any:
    return render_template(
        "admin/dictionary.html",
        name=name,
        label=dictionaries.FILE_LABELS[name],
        text=dictionaries.read(name) if text is None else text,
        note=note,
        versions=dictionaries.versions(name),
        editable=dictionaries.office_dir() is not None,
        office=dictionaries.source_path(name).parent == dictionaries.office_dir(),
    ), status


def _dictionary_name(name: str) -> str:
    if name not in dictionaries.FILE_LABELS:
        raise NotFound("没有这个词库文件")
    return name


@bp.get("/dictionaries/<name>")
def dictionary(name: str) -> Any:
    return _dictionary_page(_dictionary_name(name))


@bp.post("/dictionaries/<name>")
def dictionary_save(name: str) -> Any:
    name = _dictionary_name(name)
    text, note = request.form.get("text", ""), request.form.get("note", "")
    try:
        version = dictionaries.save(name, text, current_user(), note)
        db.session.commit()
    except ApiError as exc:
        return _dictionary_page(name, text, note, _failed(exc))
    if version is None:
        flash("内容没有变化，未保存新版本", "info")
    else:
        flash("已保存并重新加载词库，新的检查立即使用修改后的词库", "success")
    return redirect(url_for("admin.dictionary", name=name))


@bp.get("/dictionaries/<name>/versions/<version_id>")
def dictionary_version(name: str, version_id: str) -> Any:
    name = _dictionary_name(name)
    found = dictionaries.versions(name)
    index = next((i for i, v in enumerate(found) if v.id == version_id), None)
    if index is None:
        raise NotFound("没有这个版本")
    text = dictionaries.version_text(name, version_id)
    previous = dictionaries.version_text(name, found[index + 1].id) if index + 1 < len(found) else ""
    return render_template(
        "admin/dictionary_version.html",
        name=name,
        label=dictionaries.FILE_LABELS[name],
        version=found[index],
        text=text,
        changes=dictionaries.diff_lines(previous, text),
        editable=dictionaries.office_dir() is not None,
    )


@bp.post("/dictionaries/<name>/versions/<version_id>/restore")
def dictionary_restore(name: str, version_id: str) -> Any:
    name = _dictionary_name(name)
    text = dictionaries.version_text(name, version_id)
    try:
        version = dictionaries.save(name, text, current_user(), "恢复到较早的版本")
        db.session.commit()
    except ApiError as exc:
        return _dictionary_page(name, status=_failed(exc))
    flash("已恢复该版本并重新加载词库" if version else "当前内容已与该版本相同", "success")
    return redirect(url_for("admin.dictionary", name=name))
