"""WeChat 群发 (mass send to all followers), beside 发布 (freepublish) in platforms/wechat.py.

Official pages (developers.weixin.qq.com, service/subscription docs):
``/doc/service/api/notify/message/api_sendall`` (``POST /cgi-bin/message/mass/sendall``),
``/doc/service/api/notify/message/api_massmsgget`` (``POST /cgi-bin/message/mass/get``),
``/doc/service/api/notify/message/api_deletemassmsg`` (``POST /cgi-bin/message/mass/delete``),
``/doc/service/guide/product/message/Batch_Sends.html`` (quotas, clientmsgid, API群发保护).

- The article goes up as a draft (``draft/add``) and its media_id is sent as ``mpnews`` with
  ``filter.is_to_all = true`` — this reaches followers' message lists and the history list.
- ``clientmsgid`` (≤ 64 chars) makes the send idempotent: a repeat answers 45065 "clientmsgid
  exist" with the existing ``msg_id``, which we take as the result, so a retry never pushes twice.
- With "API群发保护" on, an administrator must confirm in WeChat within 30 minutes, else the send
  fails; meanwhile ``mass/get`` answers ``SENDING``: the delivery stays pending.
- ``mass/delete`` makes the article page invalid; cards already delivered stay on followers'
  phones — withdraw says so.

Post ids of mass sends are ``"mass:<msg_id>"``; ``status_of``/``withdraw_of`` route any WeChat
post id (mass or 发布) to the right calls.
"""

from __future__ import annotations

from typing import Any

from platforms.base import ChannelAdapter
from platforms.errors import InvalidRequest, RateLimited, TransientError
from platforms.text import json_dumps
from platforms.types import Credentials, PublishResult, RenderedPost

PREFIX = "mass:"
CLIENTMSGID_MAX = 64
#: codes of the 群发 endpoints (besides the common ones of platforms/wechat.py)
MASS_CODES: dict[int, tuple[type, str]] = {
    45028: (RateLimited, "群发额度已用完（认证订阅号每天 1 次，服务号每月 4 次）"),
    45066: (RateLimited, "相同 clientmsgid 重试过快，请间隔 1 分钟重试"),
    45067: (InvalidRequest, "clientmsgid 长度超过 64 个字符"),
    40059: (InvalidRequest, "群发消息 msg_id 无效（或尚未发送成功，不能删除）"),
}
MSG_STATUS = {
    "SEND_SUCCESS": ("published", "群发成功，已推送给粉丝"),
    "SENDING": ("pending", "群发中；如公众号开启了“API群发保护”，需管理员在 30 分钟内于微信中确认"),
    "SEND_FAIL": ("rejected", "群发失败（管理员拒绝或 30 分钟内未确认“API群发保护”，或原创校验未通过）"),
    "DELETE": ("withdrawn", "群发已被删除，图文详情页已失效"),
}
WITHDRAW_DETAIL = "已删除群发：图文详情页已失效；已送达粉丝的消息卡片仍保留在对方手机上，无法收回"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})


def is_mass(post_id: str | None) -> bool:
    return bool(post_id) and str(post_id).startswith(PREFIX)


def client_msg_id(idempotency_key: str) -> str:
    """The delivery's clientmsgid: stable across retries, within the 64-character limit."""
    return f"gm{idempotency_key}"[:CLIENTMSGID_MAX]


def _post(adapter: ChannelAdapter, creds: Credentials, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST with ``?access_token=``; a token error refreshes once. Returns the body as it came
    (errcode included) so that 45065's ``msg_id`` is not lost."""
    token = adapter._token(creds)  # type: ignore[attr-defined]
    for attempt in (0, 1):
        resp = adapter._request(
            "POST",
            path,
            params={"access_token": token},
            data=json_dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        answer = adapter._json(resp)
        code = _errcode(answer)
        if code in TOKEN_ERRORS and attempt == 0:
            token = adapter._token(creds, failed=token)  # type: ignore[attr-defined]
            continue
        if code in MASS_CODES:
            cls, message = MASS_CODES[code]
            kwargs = {"scope": "day" if code == 45028 else "minute"} if cls is RateLimited else {}
            raise cls(adapter.platform, code, message, platform_message=answer.get("errmsg"), **kwargs)
        if code and code != 45065:
            raise adapter.refusal(creds, code, answer.get("errmsg"), resp)  # type: ignore[attr-defined]
        return answer
    raise TransientError(adapter.platform, "token_retry_failed")  # pragma: no cover - loop returns


def _errcode(body: dict[str, Any]) -> int:
    try:
        return int(body.get("errcode") or 0)
    except (TypeError, ValueError):
        return 0


def send(adapter: ChannelAdapter, creds: Credentials, post: RenderedPost, clientmsgid: str) -> PublishResult:
    """Draft, then ``mass/sendall`` to all followers with ``clientmsgid``."""
    if len(clientmsgid) > CLIENTMSGID_MAX:
        raise InvalidRequest(adapter.platform, 45067, MASS_CODES[45067][1])
    adapter._acquire(creds, "publish")
    media_id = adapter.add_draft(creds, post)  # type: ignore[attr-defined]
    answer = _post(
        adapter,
        creds,
        "/cgi-bin/message/mass/sendall",
        {
            "filter": {"is_to_all": True},
            "mpnews": {"media_id": media_id},
            "msgtype": "mpnews",
            "send_ignore_reprint": 0,
            "clientmsgid": clientmsgid,
        },
    )
    msg_id = answer.get("msg_id")
    if msg_id in (None, ""):
        raise TransientError(adapter.platform, "invalid_response", "群发的响应缺少 msg_id")
    again = _errcode(answer) == 45065
    data_id = answer.get("msg_data_id")
    return PublishResult(
        post_id=f"{PREFIX}{msg_id}",
        url=None,
        state="pending",
        detail="此前已提交过同一群发（clientmsgid 相同），未重复推送" if again else "群发已提交，等待微信处理",
        raw_status="clientmsgid_exist" if again else "mass_submitted",
        # The 留言 API's article id (a repeat answer carries none: the first send stored it).
        data_id=str(data_id) if data_id not in (None, "") else None,
    )


def status(adapter: ChannelAdapter, creds: Credentials, post_id: str) -> PublishResult:
    msg_id = str(post_id)[len(PREFIX) :]
    answer = _post(adapter, creds, "/cgi-bin/message/mass/get", {"msg_id": msg_id})
    raw = str(answer.get("msg_status") or "")
    state, detail = MSG_STATUS.get(raw, ("pending", "未知的群发状态，稍后再查询"))
    return PublishResult(
        post_id=post_id,
        url=None,
        state=state,  # type: ignore[arg-type]
        platform_code=f"msg_status:{raw}" if state == "rejected" else None,
        detail=detail,
        raw_status=f"msg_status={raw}",
    )


def withdraw(adapter: ChannelAdapter, creds: Credentials, post_id: str) -> PublishResult:
    adapter._acquire(creds, "withdraw")
    _post(adapter, creds, "/cgi-bin/message/mass/delete", {"msg_id": str(post_id)[len(PREFIX) :], "article_idx": 0})
    return PublishResult(post_id=post_id, url=None, state="withdrawn", detail=WITHDRAW_DETAIL, raw_status="deleted")


def status_of(adapter: ChannelAdapter, creds: Credentials, post_id: str) -> PublishResult:
    """``adapter.status``, or the 群发 status for a mass post id."""
    return status(adapter, creds, post_id) if is_mass(post_id) else adapter.status(creds, post_id)


def withdraw_of(adapter: ChannelAdapter, creds: Credentials, post_id: str) -> PublishResult:
    """``adapter.withdraw``, or ``mass/delete`` for a mass post id."""
    return withdraw(adapter, creds, post_id) if is_mass(post_id) else adapter.withdraw(creds, post_id)
