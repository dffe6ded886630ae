"""互动回应 in the sandbox: comments and private messages "from the public", and the platform
endpoints our adapters call to read them and reply (platforms/interaction.py).

Test/demo endpoints (``/_sandbox``):
- ``POST /_sandbox/comments`` ``{platform, uid, post_id, text, author?, created_at?}`` — a
  comment by a member of the public on a post of the account (weibo, douyin; wechat: a 群发
  message's post, ``mass-<msg_id>``, the only kind the 留言 API can address);
- ``POST /_sandbox/comments/reply`` ``{platform, id, text, by?}`` — the account answers a comment
  on the platform itself (公众平台 backend, Weibo/Douyin app), outside govmedia; ``by: "public"``
  makes it a reply by a member of the public in the thread instead (not an answer);
- ``POST /_sandbox/wechat/comment-privilege`` ``{uid, enabled}`` — a 公众号 without (or with
  again) the 留言 capability: the comment endpoints answer 88000;
- ``POST /_sandbox/messages`` ``{platform, uid, text, author?, created_at?, push_url?, push_token?}``
  — a private message; for wechat the answer carries the 消息推送 XML the platform pushes to
  the account's server URL (and it is POSTed to ``push_url`` when given, signed with
  ``push_token``);
- ``GET /_sandbox/comments`` / ``GET /_sandbox/messages`` ``?platform&uid`` — what is there,
  with the replies the account made.

Platform endpoints (same paths and shapes as the real ones):
- Weibo ``GET /weibo/2/comments/to_me.json``, ``GET /weibo/2/comments/by_me.json`` (the
  account's replies, made through the API or in the app, with ``reply_comment``),
  ``GET /weibo/2/comments/show.json``, ``POST /weibo/2/comments/reply.json``;
- Douyin ``GET /douyin/item/comment/list/``, ``GET /douyin/item/comment/reply/list/`` (replies to
  one comment, the account's with its open_id as ``comment_user_id``),
  ``POST /douyin/item/comment/reply/``;
- WeChat ``POST /wechat/cgi-bin/message/custom/send`` (客服消息; 45015 after 48 hours);
  the 留言 endpoints ``comment/list`` and ``comment/reply/add`` are in sandbox/wechat/comments.py.

Everything lives next to the sandbox state: it is cleared by ``POST /_sandbox/reset``, written
to the ``--state`` file with the rest (key ``interaction``) and read back on start, and shown
under the posts on the timeline pages (``/_sandbox/timeline/<platform>``).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from functools import wraps
from typing import Any

import requests
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from sandbox.common import EXTENSION_KEY, all_params, cn_time, get_state, iso, json_body, parse_time
from sandbox.douyin import core as douyin
from sandbox.endpoint import Call
from sandbox.state import SandboxState, attach_store
from sandbox.wechat.core import WECHAT, WxError
from sandbox.weibo import core as weibo

STORE_KEY = "govmedia_sandbox_interaction"
COMMENT_PLATFORMS = ("weibo", "douyin", "wechat")
MESSAGE_PLATFORMS = ("wechat", "weibo", "douyin")
WECHAT_WINDOW_SECONDS = 48 * 3600

bp = Blueprint("sandbox_interaction", __name__)


@dataclass
class Reply:
    reply_id: str
    text: str
    created_at: float
    #: "" = the account itself; otherwise a member of the public answering in the thread.
    author_id: str = ""
    author: str = ""

    @property
    def by_account(self) -> bool:
        return not self.author_id


@dataclass
class Entry:
    kind: str  # comment | message
    platform: str
    uid: str  # the account addressed
    entry_id: str
    text: str
    created_at: float
    author: str
    author_id: str
    post_id: str | None = None
    replies: list[Reply] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = iso(self.created_at)
        out["replies"] = [{**asdict(r), "created_at": iso(r.created_at)} for r in self.replies]
        return out


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.entries: dict[tuple[str, str, str], Entry] = {}  # (kind, platform, id)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()

    def dump(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(e) for e in self.entries.values()]

    def load(self, rows: list[dict[str, Any]]) -> None:
        with self.lock:
            self.entries.clear()
            for row in rows:
                replies = [Reply(**r) for r in row.get("replies") or []]
                entry = Entry(**{**row, "replies": replies})
                self.entries[(entry.kind, entry.platform, entry.entry_id)] = entry

    def of(self, kind: str, platform: str | None = None, uid: str | None = None) -> list[Entry]:
        rows = [
            e
            for (k, p, _), e in self.entries.items()
            if k == kind and (platform is None or p == platform) and (uid is None or e.uid == uid)
        ]
        return sorted(rows, key=lambda e: (e.created_at, e.entry_id), reverse=True)


@bp.record_once
def _attach(setup: Any) -> None:
    """One store per sandbox app, emptied whenever the sandbox state is reset and saved in
    (and read back from) the ``--state`` file with the rest of the state."""
    app: Flask = setup.app
    store = Store()
    app.extensions[STORE_KEY] = store
    state: SandboxState = app.extensions[EXTENSION_KEY]
    attach_store(state, "interaction", store, [])


def _keep(entry: Entry) -> None:
    """Store an entry (or a reply just added to it) and mark the state for saving."""
    with _store().lock:
        _store().entries[(entry.kind, entry.platform, entry.entry_id)] = entry
    state = get_state()
    with state.lock:
        state.dirty = True


def _store() -> Store:
    return current_app.extensions[STORE_KEY]  # type: ignore[no-any-return]


class _Bad(Exception):
    pass


@bp.errorhandler(_Bad)
def _bad(err: _Bad) -> Response:
    response = jsonify({"error": str(err)})
    response.status_code = 400
    return response


def _required_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"{name} 必须是非空字符串")
    if len(value) > 2000:
        raise _Bad(f"{name} 不能超过 2000 字")
    return value.strip()


def _digits(n: int) -> str:
    return str(10 ** (n - 1) + secrets.randbelow(9 * 10 ** (n - 1)))


# ----------------------------------------------------------------------------- /_sandbox


@bp.route("/_sandbox/comments", methods=["POST"])
def add_comment() -> tuple[Response, int]:
    body = json_body()
    if body is None:
        raise _Bad("请求体必须是 JSON 对象")
    platform = body.get("platform")
    if platform not in COMMENT_PLATFORMS:
        raise _Bad(f"评论只支持 {', '.join(COMMENT_PLATFORMS)}")
    uid = _required_text(body, "uid")
    text = _required_text(body, "text")
    post_id = _required_text(body, "post_id")
    state = get_state()
    with state.lock:
        post = state.post(platform, post_id)
        if post is None or post.uid != uid:
            raise _Bad("该账号没有这条内容（post_id）")
        if platform == "wechat" and post.kind != "mass":
            raise _Bad("公众号留言只模拟群发的文章（接口只认群发返回的 msg_data_id）")
        try:
            created = parse_time(body.get("created_at"), state.now())
        except ValueError as exc:
            raise _Bad(str(exc)) from exc
    entry = Entry(
        kind="comment",
        platform=platform,
        uid=uid,
        entry_id={"weibo": _digits(16), "wechat": _digits(9)}.get(platform) or "@" + secrets.token_hex(12),
        text=text,
        created_at=created,
        author=str(body.get("author") or "网友" + _digits(4)),
        author_id=_commenter_id(platform),
        post_id=post_id,
    )
    _keep(entry)
    return jsonify({"comment": entry.view()}), 201


def _commenter_id(platform: str) -> str:
    """A member of the public's id as the platform shows it: Douyin's ``comment_user_id`` is an
    open_id (a UUID in the SDK's sample, like the account's own open_id), the others' are digits."""
    return str(uuid.uuid4()) if platform == "douyin" else _digits(10)


@bp.route("/_sandbox/comments/reply", methods=["POST"])
def reply_on_platform() -> tuple[Response, int]:
    """The account answers a comment on the platform itself (not through govmedia), or with
    ``by: "public"`` a member of the public replies in the thread."""
    body = json_body()
    if body is None:
        raise _Bad("请求体必须是 JSON 对象")
    text = _required_text(body, "text")
    platform = str(body.get("platform") or "")
    entry = _store().entries.get(("comment", platform, str(body.get("id") or "")))
    if entry is None:
        raise _Bad("没有这条评论（platform, id）")
    by = body.get("by") or "account"
    if by not in ("account", "public"):
        raise _Bad("by 只能是 account 或 public")
    reply_id = {"weibo": _digits(16), "douyin": "@" + secrets.token_hex(12)}.get(platform, "")
    state = get_state()
    with state.lock:
        reply = Reply(reply_id=reply_id, text=text, created_at=state.now())
        if by == "public":
            reply.author_id, reply.author = _commenter_id(platform), str(body.get("author") or "网友" + _digits(4))
        entry.replies.append(reply)
    _keep(entry)
    return jsonify({"comment": entry.view()}), 201


@bp.route("/_sandbox/wechat/comment-privilege", methods=["POST"])
def comment_privilege() -> tuple[Response, int]:
    from sandbox.wechat.comments import privilege_key  # noqa: PLC0415  cycle: the comments routes import this module's store

    body = json_body()
    if body is None or not isinstance(body.get("enabled"), bool):
        raise _Bad("请求体须为 {uid, enabled: true|false}")
    uid = _required_text(body, "uid")
    state = get_state()
    with state.lock:
        if body["enabled"]:
            state.counters.pop(privilege_key(uid), None)
        else:
            state.counters[privilege_key(uid)] = 1
        state.dirty = True
    return jsonify({"uid": uid, "comment_privilege": body["enabled"]}), 200


def push_xml(entry: Entry) -> str:
    return (
        "<xml>"
        f"<ToUserName><![CDATA[{entry.uid}]]></ToUserName>"
        f"<FromUserName><![CDATA[{entry.author_id}]]></FromUserName>"
        f"<CreateTime>{int(entry.created_at)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{entry.text.replace(']]>', ']]&gt;')}]]></Content>"
        f"<MsgId>{entry.entry_id}</MsgId>"
        "</xml>"
    )


def _push(url: str, token: str, xml: str) -> dict[str, Any]:
    timestamp, nonce = str(int(time.time())), _digits(9)
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324
    try:
        resp = requests.post(
            url,
            params={"signature": signature, "timestamp": timestamp, "nonce": nonce},
            data=xml.encode("utf-8"),
            headers={"Content-Type": "text/xml"},
            timeout=5,
        )
    except requests.RequestException as exc:
        return {"delivered": False, "error": type(exc).__name__}
    return {"delivered": resp.status_code == 200, "status": resp.status_code}


@bp.route("/_sandbox/messages", methods=["POST"])
def add_message() -> tuple[Response, int]:
    body = json_body()
    if body is None:
        raise _Bad("请求体必须是 JSON 对象")
    platform = body.get("platform")
    if platform not in MESSAGE_PLATFORMS:
        raise _Bad(f"私信只支持 {', '.join(MESSAGE_PLATFORMS)}")
    uid = _required_text(body, "uid")
    text = _required_text(body, "text")
    state = get_state()
    with state.lock:
        state.ensure_account(platform, uid)
        try:
            created = parse_time(body.get("created_at"), state.now())
        except ValueError as exc:
            raise _Bad(str(exc)) from exc
    entry = Entry(
        kind="message",
        platform=platform,
        uid=uid,
        entry_id=_digits(19),
        text=text,
        created_at=created,
        author=str(body.get("author") or "网友" + _digits(4)),
        author_id=("o" + secrets.token_urlsafe(20)) if platform == "wechat" else _digits(10),
    )
    _keep(entry)
    payload: dict[str, Any] = {"message": entry.view()}
    if platform == "wechat":
        xml = push_xml(entry)
        payload["push"] = {"xml": xml}
        if body.get("push_url"):
            payload["push"].update(_push(str(body["push_url"]), str(body.get("push_token") or ""), xml))
    return jsonify(payload), 201


@bp.route("/_sandbox/comments", methods=["GET"])
def list_comments() -> Response:
    rows = _store().of("comment", request.args.get("platform") or None, request.args.get("uid") or None)
    return jsonify({"comments": [e.view() for e in rows]})


@bp.route("/_sandbox/messages", methods=["GET"])
def list_messages() -> Response:
    rows = _store().of("message", request.args.get("platform") or None, request.args.get("uid") or None)
    return jsonify({"messages": [e.view() for e in rows]})


# ----------------------------------------------------------------------------- Weibo


def _weibo_errors(fn: Any) -> Any:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except weibo.WbError as err:
            return weibo._error_response(err.code, err.text)

    return wrapper


def _weibo_comment(entry: Entry, state: SandboxState) -> dict[str, Any]:
    post = state.post("weibo", entry.post_id or "")
    return {
        "created_at": weibo.weibo_time(entry.created_at),
        "id": int(entry.entry_id),
        "idstr": entry.entry_id,
        "mid": entry.entry_id,
        "text": entry.text,
        "source": "微博 weibo.com",
        "user": {"id": int(entry.author_id), "idstr": entry.author_id, "screen_name": entry.author},
        "status": {"id": int(post.post_id), "idstr": post.post_id, "text": post.text} if post else None,
    }


def _paging(params: dict[str, Any]) -> tuple[int, int]:
    try:
        count = min(max(int(params.get("count", 50)), 1), 200)
        page = max(int(params.get("page", 1)), 1)
    except (TypeError, ValueError):
        raise weibo.WbError(10008, text="count/page must be integers") from None
    return count, page


@bp.route("/weibo/2/comments/to_me.json", methods=["GET"])
@_weibo_errors
def weibo_to_me() -> Response:
    params = all_params()
    state = get_state()
    with state.lock:
        account, _ = weibo._auth(state, params)
        weibo._require_usable(account)
        count, page = _paging(params)
        rows = _store().of("comment", "weibo", account.uid)
        window = rows[(page - 1) * count : page * count]
        comments = [_weibo_comment(e, state) for e in window]
    return jsonify({"comments": comments, "total_number": len(rows), "previous_cursor": 0, "next_cursor": 0})


@bp.route("/weibo/2/comments/by_me.json", methods=["GET"])
@_weibo_errors
def weibo_by_me() -> Response:
    """Comments the authorised user made, newest first: its replies to comments on its posts
    (through the API or in the app), each with ``reply_comment`` (the comment answered)."""
    params = all_params()
    state = get_state()
    with state.lock:
        account, _ = weibo._auth(state, params)
        weibo._require_usable(account)
        count, page = _paging(params)
        mine = [
            (reply, entry)
            for entry in _store().of("comment", "weibo", account.uid)
            for reply in entry.replies
            if reply.by_account and reply.reply_id
        ]
        mine.sort(key=lambda pair: (pair[0].created_at, pair[0].reply_id), reverse=True)
        me = {
            "id": int(account.uid) if account.uid.isdigit() else account.uid,
            "idstr": account.uid,
            "screen_name": account.name,
        }
        comments = []
        for reply, entry in mine[(page - 1) * count : page * count]:
            target = _weibo_comment(entry, state)
            status = target.pop("status")
            if status is not None:
                status["user"] = me
            comments.append(
                {
                    "created_at": weibo.weibo_time(reply.created_at),
                    "id": int(reply.reply_id),
                    "idstr": reply.reply_id,
                    "mid": reply.reply_id,
                    "text": reply.text,
                    "source": "微博 weibo.com",
                    "user": me,
                    "status": status,
                    "reply_comment": target,
                }
            )
    return jsonify({"comments": comments, "total_number": len(mine), "previous_cursor": 0, "next_cursor": 0})


@bp.route("/weibo/2/comments/show.json", methods=["GET"])
@_weibo_errors
def weibo_show() -> Response:
    params = all_params()
    state = get_state()
    with state.lock:
        weibo._auth(state, params)
        post = state.post("weibo", str(params.get("id") or ""))
        if post is None or post.deleted:
            raise weibo.WbError(20101)
        count, page = _paging(params)
        rows = [e for e in _store().of("comment", "weibo") if e.post_id == post.post_id]
        comments = [_weibo_comment(e, state) for e in rows[(page - 1) * count : page * count]]
    return jsonify({"comments": comments, "total_number": len(rows)})


@bp.route("/weibo/2/comments/reply.json", methods=["GET", "POST"])
@_weibo_errors
def weibo_reply() -> Response:
    weibo._require_post()
    params = all_params()
    state = get_state()
    with state.lock:
        account, _ = weibo._auth(state, params)
        weibo._require_usable(account)
        for name in ("cid", "id", "comment"):
            if not params.get(name):
                raise weibo.WbError(10016, name)
        post = state.post("weibo", str(params["id"]))
        if post is None or post.deleted:
            raise weibo.WbError(20101)
        if post.uid != account.uid:
            raise weibo.WbError(20102)
        entry = _store().entries.get(("comment", "weibo", str(params["cid"])))
        if entry is None or entry.post_id != post.post_id:
            raise weibo.WbError(10008, text="comment (cid) does not exist on this weibo")
        text = str(params["comment"])
        if len(text) > 140:
            raise weibo.WbError(20012)
        reply = Reply(reply_id=_digits(16), text=text, created_at=state.now())
        entry.replies.append(reply)
        state.dirty = True
        out = _weibo_comment(entry, state)
    out.update(
        id=int(reply.reply_id),
        idstr=reply.reply_id,
        text=text,
        reply_comment={"id": int(entry.entry_id), "idstr": entry.entry_id, "text": entry.text},
    )
    return jsonify(out)


# ----------------------------------------------------------------------------- Douyin


#: 评论回复列表 (developer.open-douyin.com …/comment-management-user/comment-reply-list): 必填 query parameters.
DOUYIN_DEVICE_PARAMS = ("device_brand", "device_platform", "device_type", "ip", "os_version", "shark_channel")


def _douyin_call(fn: Any) -> Any:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except douyin.BdError as err:
            return douyin.reply("douyin", None, err.kind, err.detail)

    return wrapper


@bp.route("/douyin/item/comment/list/", methods=["GET"])
@_douyin_call
def douyin_comments() -> Response:
    state = get_state()
    with state.lock:
        account = douyin._user(state, "douyin", header_token=True)
        item_id = request.args.get("item_id", "")
        post = state.post("douyin", item_id)
        if post is None or post.uid != account.uid:
            raise douyin.BdError("bad_param", "item_id无效")
        try:
            cursor = max(int(request.args.get("cursor", "0")), 0)
            count = min(max(int(request.args.get("count", "20")), 1), 50)
        except ValueError:
            raise douyin.BdError("bad_param", "cursor/count必须是整数") from None
        rows = [e for e in _store().of("comment", "douyin", account.uid) if e.post_id == item_id]
        window = rows[cursor : cursor + count]
        data = {
            "cursor": cursor + len(window),
            "has_more": cursor + len(window) < len(rows),
            "list": [
                {
                    "comment_id": e.entry_id,
                    "comment_user_id": e.author_id,
                    "nick_name": e.author,
                    "content": e.text,
                    "create_time": int(e.created_at),
                    "digg_count": 0,
                    "reply_comment_total": len(e.replies),
                    "top": False,
                }
                for e in window
            ],
        }
    return douyin.reply("douyin", data)


@bp.route("/douyin/item/comment/reply/list/", methods=["GET"])
@_douyin_call
def douyin_comment_replies() -> Response:
    """Replies to one comment (the account's carry its open_id as ``comment_user_id``); ``count``
    at most 20, ``sort_type`` ``time`` (newest first) or ``time_asc``. The device parameters the
    official page marks 必填 are required (a missing one: 2100005 "<name> must have a value", the
    wording of the documented 参数不合法 sample)."""
    state = get_state()
    with state.lock:
        account = douyin._user(state, "douyin", header_token=True)
        for name in DOUYIN_DEVICE_PARAMS:
            if not request.args.get(name):
                raise douyin.BdError("missing_param", f"{name} must have a value")
        entry = _store().entries.get(("comment", "douyin", request.args.get("comment_id", "")))
        if entry is None or entry.uid != account.uid or entry.post_id != request.args.get("item_id", ""):
            raise douyin.BdError("bad_param", "comment_id无效")
        try:
            cursor = max(int(request.args.get("cursor", "0")), 0)
            count = int(request.args.get("count", "10"))
        except ValueError:
            raise douyin.BdError("bad_param", "cursor/count必须是整数") from None
        if not 1 <= count <= 20:
            raise douyin.BdError("bad_param", "count须在1到20之间")
        rows = sorted(entry.replies, key=lambda r: r.created_at, reverse=request.args.get("sort_type") != "time_asc")
        window = rows[cursor : cursor + count]
        data = {
            "cursor": cursor + len(window),
            "has_more": cursor + len(window) < len(rows),
            "list": [
                {
                    "comment_id": r.reply_id,
                    "comment_user_id": account.uid if r.by_account else r.author_id,
                    "nick_name": account.name if r.by_account else r.author,
                    "content": r.text,
                    "create_time": int(r.created_at),
                    "digg_count": 0,
                    "reply_comment_total": 0,
                    "top": False,
                }
                for r in window
            ],
        }
    return douyin.reply("douyin", data)


@bp.route("/douyin/item/comment/reply/", methods=["POST"])
@_douyin_call
def douyin_reply() -> Response:
    state = get_state()
    body = json_body() or {}
    with state.lock:
        account = douyin._user(state, "douyin", header_token=True)
        for name in ("item_id", "comment_id", "content"):
            if not body.get(name):
                raise douyin.BdError("missing_param", f"缺少参数{name}")
        entry = _store().entries.get(("comment", "douyin", str(body["comment_id"])))
        if entry is None or entry.uid != account.uid or entry.post_id != body["item_id"]:
            raise douyin.BdError("bad_param", "comment_id无效")
        reply = Reply(reply_id="@" + secrets.token_hex(12), text=str(body["content"]), created_at=state.now())
        entry.replies.append(reply)
        state.dirty = True
    return douyin.reply("douyin", {"comment_id": reply.reply_id})


# ----------------------------------------------------------------------------- WeChat


@bp.route("/wechat/cgi-bin/message/custom/send", methods=["GET", "POST"])
@WECHAT.endpoint(usable=True)
def wechat_custom_send(call: Call) -> Response:
    state, body, account = call.state, call.params, call.account
    openid = str(body.get("touser") or "")
    content = ((body.get("text") or {}) if isinstance(body.get("text"), dict) else {}).get("content")
    if not openid or body.get("msgtype") != "text" or not content:
        raise WxError(47001)
    latest = next(
        (e for e in _store().of("message", "wechat", account.uid) if e.author_id == openid),
        None,
    )
    if latest is None:
        raise WxError(40003, "invalid openid")
    if state.now() - latest.created_at > WECHAT_WINDOW_SECONDS:
        raise WxError(45015, "response out of time limit or subscription is canceled")
    latest.replies.append(Reply(reply_id="", text=str(content), created_at=state.now()))
    state.dirty = True
    return jsonify({"errcode": 0, "errmsg": "ok"})


def timeline_extras(platform: str, uid: str | None) -> dict[str, list[dict[str, Any]]]:
    """Comments and messages of a timeline page (``pages.py`` shows them), newest first, with
    Beijing-time ``created`` strings for people to read."""

    def shown(entry: Entry) -> dict[str, Any]:
        out = entry.view()
        out["created"] = cn_time(entry.created_at)
        for view, reply in zip(out["replies"], entry.replies, strict=True):
            view["created"] = cn_time(reply.created_at)
        return out

    return {
        "comments": [shown(e) for e in _store().of("comment", platform, uid)],
        "messages": [shown(e) for e in _store().of("message", platform, uid)],
    }


__all__ = ["bp", "push_xml", "timeline_extras"]
