"""互动回应 inbox: JSON API under /api/v1/interaction, pages under /interaction, and the WeChat
消息推送 endpoint.

Operators see and work their own unit's accounts (sub-units included); auditors (网信办) and
admins see every unit; auditors only read. Objects outside the caller's scope answer 404.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for

from auth.models import Role, User
from auth.scoping import current_user, get_scoped, scope_filter
from common.errors import ApiError, Forbidden, NotFound
from common.fields import DateTime, Integer
from common.pagination import MAX_PER_PAGE, PageOut, paginate
from extensions import db
from oversight.inspection.models import LivePost
from oversight.interaction import service
from oversight.interaction.models import KIND_LABELS, InteractionItem, ItemKind
from oversight.probes import adapter_or_none
from platforms import interaction as protocol
from platforms import wechat_component
from platforms.errors import AdapterError, InvalidRequest
from platforms.types import PLATFORM_LABELS
from publishers import wechat_authorize
from registry.models import Account, Platform, Unit

api = APIBlueprint("interaction_api", __name__, url_prefix="/api/v1/interaction", tag="互动回应")
pages = Blueprint("interaction", __name__, url_prefix="/interaction")
push = Blueprint("interaction_push", __name__, url_prefix="/interaction/push")

VIEW_ROLES = (Role.operator, Role.auditor, Role.admin)
ACT_ROLES = (Role.operator, Role.admin)
STATE_LABELS = {"unanswered": "未回复", "overdue": "超期未回复", "answered": "已回复/已处理", "all": "全部"}


def _require(roles: tuple[Role, ...], message: str) -> User:
    user = current_user()
    if not user.has_role(*roles):
        raise Forbidden(message, details={"required_roles": [r.value for r in roles]})
    return user


def _viewer() -> User:
    return _require(VIEW_ROLES, "您的角色无权查看互动回应")


def _actor() -> User:
    return _require(ACT_ROLES, "只有本单位运营人员或管理员可以回复或处理留言")


def _item(item_id: int) -> InteractionItem:
    item = db.session.get(InteractionItem, item_id)
    if item is None:
        raise NotFound()
    get_scoped(Account, item.account_id)  # 404 outside the caller's units
    return item


# ----------------------------------------------------------------------------- schemas


class ItemQuery(Schema):
    state = String(load_default="all", validate=OneOf(service.STATES))
    kind = String(load_default=None, validate=OneOf([k.value for k in ItemKind]))
    platform = String(load_default=None, validate=OneOf([p.value for p in Platform]))
    account_id = Integer(load_default=None)
    unit_id = Integer(load_default=None)
    page = Integer(load_default=1, validate=Range(min=1))
    per_page = Integer(load_default=50, validate=Range(min=1, max=MAX_PER_PAGE))


class ItemOut(Schema):
    id = Integer()
    account_id = Integer()
    account_name = String()
    unit_id = Integer()
    unit_name = String(allow_none=True)
    platform = String()
    platform_label = String()
    kind = String()
    kind_label = String()
    platform_item_id = String()
    post_ref = String(allow_none=True)
    author_name = String(allow_none=True)
    text = String()
    source = String()
    received_at = DateTime()
    waited_hours = Integer()
    waited_label = String()
    overdue = Boolean()
    severe = Boolean()
    answered = Boolean()
    replied_at = DateTime(allow_none=True)
    reply_text = String(allow_none=True)
    handled_elsewhere = Boolean()
    handled_reason = String(allow_none=True)
    handler = String(allow_none=True)
    can_reply_via_api = Boolean()
    reply_hint = String(allow_none=True)


class ItemPage(PageOut):
    items = List(Nested(ItemOut))


class ReplyIn(Schema):
    text = String(required=True, validate=Length(min=1, max=2000), metadata={"description": "回复内容"})


class HandledIn(Schema):
    reason = String(
        required=True, validate=Length(min=2, max=1000), metadata={"description": "在平台上如何处理（至少 2 个字）"}
    )


class ChannelIn(Schema):
    comments_open = Boolean(load_default=None, allow_none=True, metadata={"description": "评论/留言是否开放"})
    messages_open = Boolean(load_default=None, allow_none=True, metadata={"description": "私信/消息是否开放"})
    note = String(load_default=None, allow_none=True, validate=Length(max=1000))


class ChannelOut(Schema):
    account_id = Integer()
    account_name = String()
    platform = String()
    comments_open = Boolean(allow_none=True)
    messages_open = Boolean(allow_none=True)
    note = String(allow_none=True)
    comments_readable = Boolean(allow_none=True)
    messages_readable = Boolean(allow_none=True)
    polled_at = DateTime(allow_none=True)
    last_error = Dict(allow_none=True)
    has_channel = Boolean()
    status = String()
    capabilities = Dict()


# ----------------------------------------------------------------------------- API


@api.get("/items")
@api.input(ItemQuery, location="query", arg_name="q")
@api.output(ItemPage)
@api.doc(summary="评论与私信（未回复在前，按等待时长）", security="BearerAuth")
def list_items(q: dict[str, Any]) -> Any:
    user = _viewer()
    return paginate(service.listing(user, q), q["page"], q["per_page"], service.item_dict)


@api.get("/items/<int:item_id>")
@api.output(ItemOut)
@api.doc(summary="一条评论或私信", security="BearerAuth")
def get_item(item_id: int) -> Any:
    _viewer()
    return service.item_dict(_item(item_id))


@api.post("/items/<int:item_id>/reply")
@api.input(ReplyIn, arg_name="data")
@api.output(ItemOut)
@api.doc(
    summary="通过平台接口回复（记入审计日志）",
    description="平台不支持接口回复时返回 409（reply_not_possible），请在平台处理后调用 handled。",
    security="BearerAuth",
)
def reply_item(item_id: int, data: dict[str, Any]) -> Any:
    _viewer()
    item = _item(item_id)
    user = _actor()
    item = service.reply(item, user, data["text"])
    db.session.commit()
    return service.item_dict(item)


@api.post("/items/<int:item_id>/handled")
@api.input(HandledIn, arg_name="data")
@api.output(ItemOut)
@api.doc(summary="标记“已在平台处理”（须说明原因，记入审计日志）", security="BearerAuth")
def handled_item(item_id: int, data: dict[str, Any]) -> Any:
    _viewer()
    item = _item(item_id)
    user = _actor()
    service.mark_handled(item, user, data["reason"])
    db.session.commit()
    return service.item_dict(item)


@api.get("/accounts/<int:account_id>/channel")
@api.output(ChannelOut)
@api.doc(summary="账号的互动渠道：单位登记、接口可读情况、是否有有效渠道", security="BearerAuth")
def get_channel(account_id: int) -> Any:
    _viewer()
    return service.channel_dict(get_scoped(Account, account_id))


@api.put("/accounts/<int:account_id>/channel")
@api.input(ChannelIn, arg_name="data")
@api.output(ChannelOut)
@api.doc(summary="登记账号的互动渠道（评论/私信是否开放）", security="BearerAuth")
def put_channel(account_id: int, data: dict[str, Any]) -> Any:
    _viewer()
    account = get_scoped(Account, account_id)
    user = _actor()
    service.record_channel(account, user, data)
    db.session.commit()
    return service.channel_dict(account)


# ----------------------------------------------------------------------------- pages


def _page_query() -> dict[str, Any]:
    args = request.args
    q: dict[str, Any] = {"state": args.get("state") if args.get("state") in service.STATES else "unanswered"}
    if args.get("kind") in {k.value for k in ItemKind}:
        q["kind"] = args["kind"]
    if args.get("platform") in {p.value for p in Platform}:
        q["platform"] = args["platform"]
    for key in ("unit_id", "account_id"):
        if (args.get(key) or "").isdigit():
            q[key] = int(args[key])
    return q


@pages.get("/")
def inbox() -> Any:
    user = _viewer()
    q = _page_query()
    raw_page = request.args.get("page", "1")
    page = max(int(raw_page), 1) if raw_page.isdigit() else 1
    result = paginate(service.listing(user, q), page, 50, service.item_dict)
    _attach_posts(result["items"])
    waiting = db.session.scalar(
        sa.select(sa.func.count(InteractionItem.id))
        .join(Account, Account.id == InteractionItem.account_id)
        .where(scope_filter(user, Account.unit_id), InteractionItem.replied_at.is_(None))
    )
    units = db.session.scalars(sa.select(Unit).where(scope_filter(user, Unit.id)).order_by(Unit.name)).all()
    return render_template(
        "interaction/inbox.html",
        result=result,
        q=q,
        page_args={k: v for k, v in q.items() if v is not None},
        pages=(result["total"] + 49) // 50,
        waiting=waiting or 0,
        units=units,
        platforms=PLATFORM_LABELS,
        kinds=KIND_LABELS,
        states=STATE_LABELS,
        can_act=user.has_role(*ACT_ROLES),
        thresholds=service.Thresholds.from_settings(),
    )


def _attach_posts(items: list[dict[str, Any]]) -> None:
    """Each comment's post as the inspection last read it (``post``: label and link), so that the
    person answering sees what the comment is about; ``None`` when the post was never read."""
    refs = {(i["account_id"], i["post_ref"]) for i in items if i.get("post_ref")}
    posts: dict[tuple[int, str], LivePost] = {}
    if refs:
        rows = db.session.scalars(
            sa.select(LivePost).where(
                LivePost.account_id.in_({a for a, _ in refs}),
                LivePost.platform_post_id.in_({r for _, r in refs}),
            )
        )
        posts = {(lp.account_id, lp.platform_post_id): lp for lp in rows}
    for i in items:
        lp = posts.get((i["account_id"], i.get("post_ref") or ""))
        label = ((lp.title or lp.text or "").strip() if lp is not None else "") or ""
        i["post"] = {"label": label[:40] + ("…" if len(label) > 40 else ""), "url": lp.url} if lp else None


def _back() -> Any:
    target = request.form.get("next") or ""
    if not target.startswith("/interaction"):
        target = url_for("interaction.inbox")
    return redirect(target)


@pages.post("/items/<int:item_id>/reply")
def reply_page(item_id: int) -> Any:
    _viewer()
    item = _item(item_id)
    try:
        user = _actor()
        service.reply(item, user, request.form.get("text"))
        db.session.commit()
        flash("已通过平台接口回复", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return _back()


@pages.post("/items/<int:item_id>/handled")
def handled_page(item_id: int) -> Any:
    _viewer()
    item = _item(item_id)
    try:
        user = _actor()
        service.mark_handled(item, user, request.form.get("reason"))
        db.session.commit()
        flash("已标记为“已在平台处理”", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return _back()


OPEN_CHOICES = {"": None, "1": True, "0": False}


@pages.get("/accounts/<int:account_id>/channel")
def channel_page(account_id: int) -> Any:
    user = _viewer()
    account = get_scoped(Account, account_id)
    return render_template(
        "interaction/channel.html",
        account=account,
        channel=service.channel_dict(account),
        platform_label=PLATFORM_LABELS.get(account.platform.value, account.platform.value),
        can_act=user.has_role(*ACT_ROLES),
    )


@pages.post("/accounts/<int:account_id>/channel")
def channel_form(account_id: int) -> Any:
    """The page form behind ``PUT /api/v1/interaction/accounts/{id}/channel`` (audited)."""
    _viewer()
    account = get_scoped(Account, account_id)
    target = redirect(url_for("interaction.channel_page", account_id=account.id))
    try:
        user = _actor()
        form = request.form
        if form.get("comments_open", "") not in OPEN_CHOICES or form.get("messages_open", "") not in OPEN_CHOICES:
            raise ApiError("评论、私信是否开放只能选择“开放”“关闭”或“未登记”", status=422, code="validation_error")
        note = (form.get("note") or "").strip()
        if len(note) > 1000:
            raise ApiError("说明不能超过 1000 字", status=422, code="validation_error")
        data = {
            "comments_open": OPEN_CHOICES[form.get("comments_open", "")],
            "messages_open": OPEN_CHOICES[form.get("messages_open", "")],
            "note": note or None,
        }
        service.record_channel(account, user, data)
        db.session.commit()
        flash("互动渠道已登记", "success")
    except ApiError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return target


# ----------------------------------------------------------------------------- WeChat push


@push.route("/wechat/<int:account_id>", methods=["GET", "POST"])
def wechat_push(account_id: int) -> Any:
    """The account's 服务器地址 (URL) in the 公众平台: GET verifies (echostr), POST delivers.

    Both carry ``signature = sha1(sort(Token, timestamp, nonce))``; the Token is the account's
    ``push_token`` credential (or ``WECHAT_PUSH_TOKEN``). Replies "success" (no passive reply).
    """

    account = db.session.get(Account, account_id)
    if account is None or account.platform is not Platform.wechat:
        abort(404)
    token = service.push_token(account_id)
    args = request.args
    if not token or not protocol.wechat_signature_ok(
        token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", "")
    ):
        return Response("invalid signature", status=403, mimetype="text/plain")
    if request.method == "GET":
        return Response(args.get("echostr", ""), mimetype="text/plain")
    try:
        service.ingest_wechat_push(account, request.get_data(cache=False))
    except InvalidRequest as exc:
        db.session.rollback()
        return Response(exc.message, status=400, mimetype="text/plain")
    db.session.commit()
    return Response("success", mimetype="text/plain")


@push.route("/wechat/component", methods=["POST"])
def wechat_component_push() -> Any:
    """The office's 第三方平台 授权事件接收 URL: WeChat pushes the component_verify_ticket here every
    10 minutes (安全模式: ``msg_signature`` over the ciphertext, AES with the EncodingAESKey). The
    ticket is kept 12 hours in the shared token store; the 主体 reads use it
    (platforms/wechat_component.py). ``unauthorized`` removes the 公众号's grant (the account is
    not authorised any more); ``updateauthorized`` of an account authorised this way takes the new
    grant; ``authorized`` is acknowledged (the callback, which knows the ledger account, stores a new
    grant: publishers/wechat_authorize.py). An ``unauthorized``/``updateauthorized`` push whose
    CreateTime is over 10 minutes old or over 5 minutes ahead is a replay: logged and ignored.
    Replies "success"."""

    adapter = adapter_or_none("wechat")
    options = adapter.options if adapter is not None else {}
    if not (
        wechat_component.configured(options) and options.get("component_token") and options.get("component_aes_key")
    ):
        abort(404)
    args = request.args
    try:
        event = wechat_component.open_push(
            request.get_data(cache=False),
            token=str(options["component_token"]),
            encoding_aes_key=str(options["component_aes_key"]),
            appid=str(options["component_appid"]),
            msg_signature=args.get("msg_signature", ""),
            timestamp=args.get("timestamp", ""),
            nonce=args.get("nonce", ""),
        )
    except InvalidRequest as exc:
        status = 403 if exc.code == "bad_signature" else 400
        return Response(exc.message, status=status, mimetype="text/plain")
    kind, authorizer = event.get("InfoType"), event.get("AuthorizerAppid") or ""
    if kind in wechat_component.GRANT_PUSHES and not wechat_component.fresh_push(event):
        current_app.logger.warning(
            "第三方平台推送 %s（%s）的 CreateTime %s 不在有效时间内，可能是重放，已忽略",
            kind,
            authorizer,
            event.get("CreateTime"),
        )
        return Response("success", mimetype="text/plain")
    if kind == "component_verify_ticket" and event.get("ComponentVerifyTicket"):
        wechat_component.keep_ticket(
            adapter.token_store, str(options["component_appid"]), event["ComponentVerifyTicket"]
        )
    elif kind == "unauthorized" and authorizer:
        wechat_authorize.withdrawn(authorizer)
        db.session.commit()
    elif kind == "updateauthorized" and authorizer:
        try:
            wechat_authorize.renewed(authorizer, event.get("AuthorizationCode") or "")
        except AdapterError as exc:  # acknowledged all the same: WeChat would only push again
            db.session.rollback()
            current_app.logger.warning("第三方平台授权更新未能换取授权信息：%s", exc.code)
        else:
            db.session.commit()
    return Response("success", mimetype="text/plain")
