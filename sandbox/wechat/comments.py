"""WeChat 留言 (comments on articles sent by 群发): ``comment/list`` and ``comment/reply/add``.

Official pages: developers.weixin.qq.com/doc/service/api/leaving/api_listcomment (``POST
/cgi-bin/comment/list``: msg_data_id, index, begin, count < 50, type 0/1/2; answers ``comment``
[user_comment_id, create_time, content, comment_type, openid, reply {content, create_time}] and
``total``) and …/api_replycomment (``POST /cgi-bin/comment/reply/add``: msg_data_id, index,
user_comment_id, content). Errors used: 88000 without comment privilege, 88001 msg_data is not
exists, 88008 comment is not exists (listed on those pages); count ≥ 50 → 40097 invalid args.

Only a 群发 message has a ``msg_data_id`` (``mass/sendall`` returns it, sandbox/mass.py keeps it
in the post's ``extra``); 发布 (freepublish) articles have none, as on the real platform.
Comments live in the interaction store (sandbox/interaction.py: ``POST /_sandbox/comments``
with ``platform: wechat`` adds one from the public, ``POST /_sandbox/comments/reply`` answers
one "in the 公众平台 backend"); an account without the 留言 capability (most accounts
registered after 2018) is simulated with ``POST /_sandbox/wechat/comment-privilege``
``{uid, enabled: false}`` — both endpoints then answer 88000.

``POST /datacube/getarticleread`` (…/doc/service/api/wedata/news/api_getarticleread:
begin_date, end_date at most yesterday; ``list`` [{ref_date, msgid "<msg_data_id>_<n>", detail}],
``is_delay``) lists, for one Beijing day, every 群发 article of the account "read" that day — the
sandbox counts an article as read on each of the ``READ_DAYS`` days from its sending day. Sent
through the API or in the backend alike; a span longer than one day, a date not before today or
a bad date → 61501 / 61500 (the datacube codes).
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from flask import Response, jsonify

from sandbox.endpoint import Call
from sandbox.interaction import Reply
from sandbox.interaction import _store as store
from sandbox.state import Account, Post, SandboxState
from sandbox.wechat.core import PLATFORM, WECHAT, WxError, bp

COMMENT_ERRORS = {
    88000: "without comment privilege",
    88001: "msg_data is not exists",
    88008: "comment is not exists",
    40097: "invalid args",
}


def privilege_key(uid: str) -> str:
    return f"wechat:no_comment_privilege:{uid}"


def mass_article(state: SandboxState, account: Account | None, msg_data_id: Any, index: Any = 0) -> Post:
    """The 群发 post of ``account`` with this msg_data_id (88001 when there is none or the index
    is beyond its articles; 88000 when the account has no 留言 capability)."""
    if account is not None and state.counters.get(privilege_key(account.uid)):
        raise WxError(88000, COMMENT_ERRORS[88000])
    try:
        wanted, idx = int(msg_data_id), int(index or 0)
    except (TypeError, ValueError):
        raise WxError(40097, COMMENT_ERRORS[40097]) from None
    for post in state.posts_of(PLATFORM, account.uid if account is not None else None):
        if post.kind == "mass" and int(post.extra.get("msg_data_id") or 0) == wanted:
            if post.deleted or post.state == "mass_deleted" or idx < 0 or idx >= len(post.extra.get("articles") or [1]):
                break
            return post
    raise WxError(88001, COMMENT_ERRORS[88001])


def _store() -> Any:

    return store()


def _comment_view(entry: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "user_comment_id": int(entry.entry_id),
        "create_time": int(entry.created_at),
        "content": entry.text,
        "comment_type": 0,
        "openid": entry.author_id,
    }
    own = [r for r in entry.replies if r.by_account]  # 留言 have no public replies; only the account's count
    if own:
        last = own[-1]
        out["reply"] = {"content": last.text, "create_time": int(last.created_at)}
    return out


@bp.route("/cgi-bin/comment/list", methods=["GET", "POST"])
@WECHAT.endpoint(usable=True)
def comment_list(call: Call) -> Response:
    body = call.params
    post = mass_article(call.state, call.account, body.get("msg_data_id"), body.get("index"))
    try:
        begin, count, kind = int(body.get("begin", 0)), int(body.get("count", 0)), int(body.get("type", 0))
    except (TypeError, ValueError):
        raise WxError(40097, COMMENT_ERRORS[40097]) from None
    if begin < 0 or count < 1 or count >= 50 or kind not in (0, 1, 2):
        raise WxError(40097, COMMENT_ERRORS[40097])
    # Oldest first, as the platform pages them; no comment is 精选 in the sandbox (type 2 → none).
    rows = sorted(
        (e for e in _store().of("comment", PLATFORM, call.account.uid) if e.post_id == post.post_id),
        key=lambda e: (e.created_at, e.entry_id),
    )
    if kind == 2:
        rows = []
    window = rows[begin : begin + count]
    return jsonify({"errcode": 0, "errmsg": "ok", "total": len(rows), "comment": [_comment_view(e) for e in window]})


@bp.route("/cgi-bin/comment/reply/add", methods=["GET", "POST"])
@WECHAT.endpoint(usable=True)
def comment_reply(call: Call) -> Response:

    body = call.params
    post = mass_article(call.state, call.account, body.get("msg_data_id"), body.get("index"))
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        raise WxError(40097, COMMENT_ERRORS[40097])
    entry = _store().entries.get(("comment", PLATFORM, str(body.get("user_comment_id") or "")))
    if entry is None or entry.post_id != post.post_id or entry.uid != call.account.uid:
        raise WxError(88008, COMMENT_ERRORS[88008])
    entry.replies.append(Reply(reply_id="", text=content, created_at=call.state.now()))
    call.state.dirty = True
    return jsonify({"errcode": 0, "errmsg": "ok"})


READ_DAYS = 7
DATACUBE_ERRORS = {61500: "date format error", 61501: "date range error"}


def _cn_date(ts: float) -> date:
    return date.fromisoformat(time.strftime("%Y-%m-%d", time.gmtime(ts + 8 * 3600)))


@bp.route("/datacube/getarticleread", methods=["GET", "POST"])
@WECHAT.endpoint(usable=True)
def article_read(call: Call) -> Response:
    body = call.params
    try:
        begin, end = date.fromisoformat(str(body.get("begin_date"))), date.fromisoformat(str(body.get("end_date")))
    except ValueError:
        raise WxError(61500, DATACUBE_ERRORS[61500]) from None
    if begin != end or end >= _cn_date(call.state.now()):
        raise WxError(61501, DATACUBE_ERRORS[61501])
    rows = []
    for post in call.state.posts_of(PLATFORM, call.account.uid):
        if post.kind != "mass" or post.deleted or post.extra.get("msg_status") != "SEND_SUCCESS":
            continue
        age = (end - _cn_date(post.created_at)).days
        if 0 <= age < READ_DAYS:
            for n, _ in enumerate(post.extra.get("articles") or [{}], start=1):
                rows.append(
                    {
                        "ref_date": end.isoformat(),
                        "msgid": f"{post.extra['msg_data_id']}_{n}",
                        "detail": {"read_user": 0},
                    }
                )
    return jsonify({"list": rows, "is_delay": False})
