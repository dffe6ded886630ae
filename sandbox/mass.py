"""WeChat 群发 (mass send) under ``/wechat/cgi-bin/message/mass/...`` (platforms/wechat_mass.py).

- ``sendall``: ``filter.is_to_all`` + ``mpnews.media_id`` of a draft (which then leaves the
  draft box); ``clientmsgid`` ≤ 64 chars, a repeat answers 45065 with the existing ``msg_id``;
  quotas per account ``wechat_mass_daily`` (Beijing day) and ``wechat_mass_monthly`` → 45028.
- ``get``: ``SENDING`` for ``wechat_mass_polls`` polls, then ``SEND_SUCCESS``. With
  ``wechat_mass_protection`` on (API群发保护) it stays ``SENDING`` until an administrator
  confirms (``POST /_sandbox/wechat/mass/confirm`` ``{"msg_id", "approve"}``) or
  ``wechat_mass_confirm_seconds`` (30 min) pass → ``SEND_FAIL``.
- ``delete``: only a sent message (else 40059); marks it ``DELETE``; the article page is gone.
Mass posts are kept with ``kind="mass"`` and states ``mass_*`` (``freepublish/batchget`` does
not list them, as on the platform). :func:`app_mass_post` makes one "in the 公众平台 backend"
(``POST /_sandbox/app/posts`` with ``"mass": true``): sent at once, with its own msg_data_id,
known to govmedia only through the statistics API (``datacube/getarticleread``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.common import get_state, json_body
from sandbox.state import Post, SandboxState
from sandbox.wechat.core import (
    PLATFORM,
    WxError,
    _auth,
    _envelope,
    _require_post,
    _require_usable,
    article_url,
)
from sandbox.wechat.core import read_json as _body
from sandbox.wechat.drafts import _owned_draft

bp = Blueprint("sandbox_wechat_mass", __name__)
ERRMSG = {
    45028: "has no masssend quota",
    45065: "clientmsgid exist",
    45066: "same clientmsgid retry too fast",
    45067: "clientmsgid size out of limit",
    40059: "invalid msg id",
}


@bp.errorhandler(WxError)
def _wx_error(err: WxError) -> Response:
    return jsonify(_envelope(err.code, err.detail or ERRMSG.get(err.code)))


def _cid_key(uid: str, clientmsgid: str) -> str:
    return f"wechat:mass:cid:{uid}:{clientmsgid}"


def _settle(state: SandboxState, post: Post) -> None:
    status = post.extra.get("msg_status")
    if status != "SENDING":
        return
    if post.extra.get("protected"):
        if state.now() - post.created_at >= float(state.config["wechat_mass_confirm_seconds"]):
            _set(state, post, "SEND_FAIL")
        return
    if int(post.extra.get("polls_left", 0)) > 0:
        post.extra["polls_left"] = int(post.extra["polls_left"]) - 1
        state.dirty = True
        return
    _set(state, post, "SEND_SUCCESS")


def _set(state: SandboxState, post: Post, status: str) -> None:
    post.extra["msg_status"] = status
    post.state = {"SEND_SUCCESS": "mass_sent", "SEND_FAIL": "mass_failed", "DELETE": "mass_deleted"}.get(
        status, "mass_sending"
    )
    state.dirty = True


def _mass(state: SandboxState, uid: str, msg_id: Any) -> Post:
    post = state.post(PLATFORM, f"mass-{msg_id}")
    if post is None or post.uid != uid:
        raise WxError(40059)
    return post


@bp.route("/wechat/cgi-bin/message/mass/sendall", methods=["GET", "POST"])
def sendall() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
        _require_usable(account)
        flt = body.get("filter") or {}
        if body.get("msgtype") != "mpnews" or not isinstance(flt, dict) or flt.get("is_to_all") is not True:
            raise WxError(47001, "sandbox: only mpnews to all followers is simulated")
        clientmsgid = str(body.get("clientmsgid") or "")
        if len(clientmsgid) > 64:
            raise WxError(45067)
        if clientmsgid and state.count(_cid_key(account.uid, clientmsgid)):
            msg_id = state.count(_cid_key(account.uid, clientmsgid))
            return jsonify({**_envelope(45065, ERRMSG[45065]), "msg_id": msg_id})
        day_key = f"wechat:mass:day:{account.uid}:{state.day_key()}"
        month_key = f"wechat:mass:month:{account.uid}:{state.month_key()}"
        if state.count(day_key) >= int(state.config["wechat_mass_daily"]) or state.count(month_key) >= int(
            state.config["wechat_mass_monthly"]
        ):
            raise WxError(45028)
        draft = _owned_draft(state, account, body.get("mpnews") or {})
        msg_id = int(state.new_digits(9))
        msg_data_id = int(state.new_digits(10))
        first = draft.articles[0]
        state.add_post(
            Post(
                platform=PLATFORM,
                uid=account.uid,
                post_id=f"mass-{msg_id}",
                kind="mass",
                title=first["title"],
                text=first["digest"],
                url=article_url(f"mass-{msg_id}", 1),
                created_at=state.now(),
                state="mass_sending",
                content=first["content"],
                extra={
                    "msg_id": msg_id,
                    "msg_data_id": msg_data_id,
                    "msg_status": "SENDING",
                    "clientmsgid": clientmsgid,
                    "protected": bool(state.config["wechat_mass_protection"]),
                    "polls_left": int(state.config["wechat_mass_polls"]),
                    "articles": [dict(a) for a in draft.articles],
                },
            )
        )
        del state.drafts[draft.media_id]  # a sent draft leaves the draft box
        if clientmsgid:
            state.counters[_cid_key(account.uid, clientmsgid)] = msg_id
        state.bump(day_key)
        state.bump(month_key)
        return jsonify(
            {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id, "msg_data_id": msg_data_id}
        )


@bp.route("/wechat/cgi-bin/message/mass/get", methods=["GET", "POST"])
def get() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
        post = _mass(state, account.uid, body.get("msg_id"))
        _settle(state, post)
        return jsonify({"msg_id": post.extra["msg_id"], "msg_status": post.extra["msg_status"]})


@bp.route("/wechat/cgi-bin/message/mass/delete", methods=["GET", "POST"])
def delete() -> Response:
    _require_post()
    body = _body()
    state = get_state()
    with state.lock:
        account = _auth(state)
        _require_usable(account)
        post = _mass(state, account.uid, body.get("msg_id"))
        _settle(state, post)
        if post.extra.get("msg_status") != "SEND_SUCCESS":
            raise WxError(40059)
        _set(state, post, "DELETE")
        state.delete_post(post, "user")
        return jsonify({"errcode": 0, "errmsg": "ok"})


@bp.route("/_sandbox/wechat/mass/confirm", methods=["POST"])
def confirm() -> Response:
    """The administrator's answer to the API群发保护 prompt (simulated)."""
    body = json_body() or {}
    state = get_state()
    with state.lock:
        post = state.post(PLATFORM, f"mass-{body.get('msg_id')}")
        if post is None or post.extra.get("msg_status") != "SENDING":
            return jsonify({"error": "no such waiting mass send"}), 404  # type: ignore[return-value]
        _set(state, post, "SEND_SUCCESS" if body.get("approve", True) else "SEND_FAIL")
        return jsonify({"msg_id": post.extra["msg_id"], "msg_status": post.extra["msg_status"]})


def mass_posts(state: SandboxState, uid: str | None = None) -> list[dict[str, Any]]:
    """For tests and the admin API: every mass send with its status and clientmsgid."""
    return [
        {
            "msg_id": p.extra["msg_id"],
            "status": p.extra["msg_status"],
            "clientmsgid": p.extra["clientmsgid"],
            "uid": p.uid,
        }
        for p in state.posts_of(PLATFORM, uid)
        if p.kind == "mass"
    ]


@bp.route("/_sandbox/wechat/mass", methods=["GET"])
def listing() -> Response:
    state = get_state()
    with state.lock:
        return jsonify({"mass": mass_posts(state, request.args.get("uid"))})


def app_mass_post(state: SandboxState, uid: str, text: str, title: str, created_at: float) -> Post:
    """A 群发 sent in the 公众平台 backend (not through the API): already ``SEND_SUCCESS``."""
    msg_id, msg_data_id = int(state.new_digits(9)), int(state.new_digits(10))
    article = {"title": title or text[:20], "digest": text[:54], "content": f"<p>{escape(text)}</p>"}
    return state.add_post(
        Post(
            platform=PLATFORM,
            uid=uid,
            post_id=f"mass-{msg_id}",
            kind="mass",
            title=article["title"],
            text=text,
            url=article_url(f"mass-{msg_id}", 1),
            created_at=created_at,
            state="mass_sent",
            source="app",
            content=article["content"],
            extra={"msg_id": msg_id, "msg_data_id": msg_data_id, "msg_status": "SEND_SUCCESS", "articles": [article]},
        )
    )
