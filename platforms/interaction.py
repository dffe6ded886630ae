"""互动回应 protocol calls: read comments and messages, reply — per platform, over the
existing adapters' HTTP session, token upkeep and error tables (no database, no Flask).

What each platform allows (official documentation; docs/monitoring.md 互动回应):

======== ============================================ ============================================
platform comments (评论/留言)                          private messages (私信)
======== ============================================ ============================================
weibo    read ``GET /2/comments/to_me.json`` (comments  no API for ordinary apps (the 粉丝服务平台
         on the authorised user's posts), reply         push for 蓝V accounts is not built): record
         ``POST /2/comments/reply.json`` (cid, id,      it, handle on the platform
         comment); replies the account made in the
         app: ``GET /2/comments/by_me.json`` (each
         reply's ``reply_comment`` names the comment)
wechat   read ``POST /cgi-bin/comment/list``           pushed to our server URL as XML (消息推送),
         (msg_data_id, index, begin, count < 50,        replied through ``/cgi-bin/message/custom/send``
         type 0) per article govmedia sent by 群发,      (客服消息) within 48 hours of the user's
         and per article found by ``POST /datacube/     message (45015 after that)
         getarticleread`` (msgid "<msg_data_id>_<n>"
         of every article read that day, also those
         sent in the 公众平台 backend); reply ``POST
         /cgi-bin/comment/reply/add`` (msg_data_id,
         index, user_comment_id, content); needs the
         留言 capability (88000)
douyin   read ``GET /item/comment/list/`` per video,    only with the 企业号 IM capability
         reply ``POST /item/comment/reply/``            (``/im/...``, webhook); not built
         (scope ``item.comment``); replies made in the
         app: ``GET /item/comment/reply/list/`` for a
         comment whose ``reply_comment_total`` > 0, a
         reply by the account's own open_id counts
toutiao  no documented API                              no documented API
======== ============================================ ============================================
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from platforms._bytedance import data_of
from platforms.base import ChannelAdapter
from platforms.errors import AdapterError, InvalidRequest, Unsupported
from platforms.text import from_unix
from platforms.types import Credentials
from platforms.weibo import parse_weibo_time

#: platform → what the API allows: read/reply for comments and messages.
CAPABILITIES: dict[str, dict[str, bool]] = {
    "weibo": {"comments_read": True, "comments_reply": True, "messages_read": False, "messages_reply": False},
    "wechat": {"comments_read": True, "comments_reply": True, "messages_read": True, "messages_reply": True},
    "douyin": {"comments_read": True, "comments_reply": True, "messages_read": False, "messages_reply": False},
    "toutiao": {"comments_read": False, "comments_reply": False, "messages_read": False, "messages_reply": False},
}

#: Why not, per platform and kind (shown to operators when they try to reply).
NOT_POSSIBLE = {
    ("weibo", "message"): "微博开放平台没有面向普通应用的私信接口，请在微博客户端回复后标记“已在平台处理”",
    (
        "wechat",
        "comment",
    ): (
        "公众号留言只能在群发的文章（经本平台群发或阅读统计能找到的）上通过接口回复；"
        "其他文章请在公众平台后台回复后标记“已在平台处理”"
    ),
    ("douyin", "message"): "抖音私信需企业号私信能力，本系统未接入，请在抖音客户端回复后标记“已在平台处理”",
    ("toutiao", "comment"): "头条号没有公开的评论接口，请在头条号后台回复后标记“已在平台处理”",
    ("toutiao", "message"): "头条号没有公开的私信接口，请在头条号后台回复后标记“已在平台处理”",
}

#: WeChat 客服消息: a reply must follow the user's message within this many hours.
WECHAT_REPLY_WINDOW_HOURS = 48
WECHAT_OUT_OF_WINDOW = 45015
WECHAT_REPLY_LIMIT = 45047
#: 留言 (comment management) codes, official pages …/api/leaving/api_listcomment and
#: …/api_replycomment (88000, 88001, 88008 listed there).
WECHAT_NO_COMMENT_PRIVILEGE = 88000
WECHAT_ARTICLE_GONE = 88001
WECHAT_COMMENT_GONE = 88008
#: comment/list refuses count ≥ 50.
WECHAT_COMMENT_PAGE = 49


@dataclass(frozen=True)
class WechatArticle:
    """An article the account sent by 群发: the comment API addresses it by msg_data_id and the
    article's position (index, from 0) in the message."""

    msg_data_id: str
    index: int = 0
    post_ref: str | None = None  # our platform post id of the message ("mass:<msg_id>")

    @property
    def ref(self) -> str:
        return f"{self.msg_data_id}:{self.index}"


#: datacube ``getarticleread``: one day per call (end_date at most yesterday, Beijing time).
WECHAT_DATACUBE_PATH = "/datacube/getarticleread"


def wechat_read_articles(adapter: Any, creds: Credentials, *, days: int, today: date) -> tuple[WechatArticle, ...]:
    """The articles read on each of the ``days`` days before ``today`` (Beijing date), from the
    statistics API: its ``msgid`` is "<msg_data_id>_<n>" (n counts from 1; the comment API's
    index from 0). This finds 群发 articles sent in the 公众平台 backend too — the only official
    way to learn their msg_data_id. An error stops the search (what was found is kept)."""
    found: dict[str, WechatArticle] = {}
    for back in range(1, max(0, days) + 1):
        day = (today - timedelta(days=back)).isoformat()
        try:
            body = adapter._call(creds, WECHAT_DATACUBE_PATH, json_body={"begin_date": day, "end_date": day})
        except AdapterError:
            break
        for row in body.get("list") or []:
            data_id, _, n = str(row.get("msgid") or "").partition("_")
            if data_id.isdigit() and n.isdigit() and int(n) >= 1:
                article = WechatArticle(data_id, int(n) - 1)
                found.setdefault(article.ref, article)
    return tuple(found.values())


def wechat_comment_ref(post_ref: str | None) -> tuple[int, int] | None:
    """(msg_data_id, index) from a stored comment's post_ref "<msg_data_id>:<index>"."""
    try:
        data_id, index = str(post_ref or "").split(":", 1)
        return int(data_id), int(index)
    except ValueError:
        return None


@dataclass(frozen=True)
class RemoteItem:
    """A comment or message as the platform gave it. Times are aware (UTC)."""

    kind: str  # comment | message
    platform_item_id: str
    text: str
    created_at: datetime | None
    post_ref: str | None = None
    author_ref: str | None = None
    author_name: str | None = None
    #: A reply the platform already shows (made on the platform itself), aware UTC.
    replied_at: datetime | None = None
    reply_text: str | None = None


def can(platform: str, what: str) -> bool:
    return CAPABILITIES.get(platform, {}).get(what, False)


def not_possible(platform: str, kind: str) -> str:
    return NOT_POSSIBLE.get((platform, kind), "该平台不支持通过接口回复，请在平台处理后标记“已在平台处理”")


# ----------------------------------------------------------------------------- reading


def fetch_comments(
    adapter: ChannelAdapter,
    creds: Credentials,
    *,
    limit: int = 100,
    articles: tuple[WechatArticle, ...] = (),
) -> list[RemoteItem]:
    """Comments to the account's posts, newest first (Unsupported where there is no API).
    WeChat: the comments of ``articles`` (those govmedia sent by 群发)."""
    platform = adapter.platform
    if platform == "weibo":
        return _weibo_comments(adapter, creds, limit)
    if platform == "douyin":
        return _douyin_comments(adapter, creds, limit)
    if platform == "wechat":
        return _wechat_comments(adapter, creds, limit, articles)
    raise Unsupported(platform, None, not_possible(platform, "comment"))


def _wechat_comments(
    adapter: Any, creds: Credentials, limit: int, articles: tuple[WechatArticle, ...]
) -> list[RemoteItem]:
    """``comment/list`` per article (type 0: ordinary and selected), paged by 49 until a short
    page: ``total`` (“评论总数”) does not end the paging, as developers report it equals the
    page's size. A comment is identified by "<msg_data_id>:<index>:<user_comment_id>"
    (user_comment_id is per article); a reply the account made on the platform comes back with
    it — ``reply`` is an object on the page, a list in the maintained SKIT client: both read.
    An article that no longer exists (88001) is skipped; no 留言 capability (88000) stops the read."""
    out: list[RemoteItem] = []
    for article in articles:
        begin = 0
        while len(out) < limit:
            body = {
                "msg_data_id": int(article.msg_data_id),
                "index": article.index,
                "begin": begin,
                "count": WECHAT_COMMENT_PAGE,
                "type": 0,
            }
            try:
                answer = adapter._call(creds, "/cgi-bin/comment/list", json_body=body)
            except AdapterError as exc:
                if str(exc.code) == str(WECHAT_NO_COMMENT_PRIVILEGE):
                    raise Unsupported(
                        "wechat", exc.code, "公众号没有留言功能（88000 without comment privilege），无法读取留言"
                    ) from None
                if str(exc.code) == str(WECHAT_ARTICLE_GONE):
                    break  # the article was deleted: nothing to read
                raise
            rows = answer.get("comment") or []
            for c in rows:
                reply = _wechat_answer(c.get("reply"))
                out.append(
                    RemoteItem(
                        kind="comment",
                        platform_item_id=f"{article.ref}:{c.get('user_comment_id')}",
                        text=str(c.get("content") or ""),
                        created_at=from_unix(c.get("create_time")),
                        post_ref=article.ref,
                        author_ref=c.get("openid") or None,  # absent for non-WeChat identities
                        author_name=None,  # the API gives no nickname
                        replied_at=from_unix(reply.get("create_time")) if reply.get("content") else None,
                        reply_text=reply.get("content") or None,
                    )
                )
            begin += len(rows)
            if len(rows) < WECHAT_COMMENT_PAGE:
                break
    return out[:limit]


def _wechat_answer(value: Any) -> Mapping[str, Any]:
    """The account's reply to a 留言: ``{content, create_time}`` (the page) or a list of them (the
    SKIT client's model): the earliest one with text; none → {}."""
    replies = value if isinstance(value, list) else [value]
    found = [r for r in replies if isinstance(r, Mapping) and r.get("content")]
    return min(found, key=lambda r: int(r.get("create_time") or 0)) if found else {}


def _weibo_comments(adapter: Any, creds: Credentials, limit: int) -> list[RemoteItem]:
    """``comments/to_me`` (comments on the account's posts), then ``comments/by_me`` (comments the
    account made — also those made in the app): a reply whose ``reply_comment`` is a comment on
    one of the account's posts marks that comment answered on the platform (earliest reply)."""
    out: list[RemoteItem] = []
    page = 1
    while len(out) < limit:
        count = min(50, limit - len(out))
        body, _ = adapter._call(creds, "GET", "/2/comments/to_me.json", params={"count": count, "page": page})
        rows = body.get("comments") or []
        for c in rows:
            user = c.get("user") or {}
            status = c.get("status") or {}
            out.append(
                RemoteItem(
                    kind="comment",
                    platform_item_id=_weibo_id(c),
                    text=str(c.get("text") or ""),
                    created_at=parse_weibo_time(c.get("created_at")),
                    post_ref=_weibo_id(status) or None,
                    author_ref=_weibo_id(user) or None,
                    author_name=user.get("screen_name"),
                )
            )
        total = int(body.get("total_number") or 0)
        if not rows or page * count >= total:
            break
        page += 1
    out = out[:limit]
    return _with_replies(out, _weibo_own_replies(adapter, creds, limit))


def _weibo_id(obj: Any) -> str:
    return str((obj or {}).get("idstr") or (obj or {}).get("id") or "") if isinstance(obj, dict) else ""


def _weibo_own_replies(adapter: Any, creds: Credentials, limit: int) -> dict[str, RemoteItem]:
    """comment id → the comment, answered, for every reply in ``comments/by_me`` to a comment on
    one of the account's own posts (the earliest reply wins)."""
    answered: dict[str, RemoteItem] = {}
    page, seen = 1, 0
    while seen < limit:
        count = min(50, limit - seen)
        body, _ = adapter._call(creds, "GET", "/2/comments/by_me.json", params={"count": count, "page": page})
        rows = body.get("comments") or []
        seen += len(rows)
        for c in rows:
            target = c.get("reply_comment") or {}
            status = c.get("status") or {}
            me = _weibo_id(c.get("user"))
            post_owner = _weibo_id(status.get("user")) if isinstance(status, dict) else ""
            target_id = _weibo_id(target)
            if not target_id or (me and post_owner and post_owner != me):
                continue  # not a reply, or a reply under someone else's post
            replied_at = parse_weibo_time(c.get("created_at"))
            known = answered.get(target_id)
            if known is not None and known.replied_at and replied_at and known.replied_at <= replied_at:
                continue
            author = target.get("user") or {}
            answered[target_id] = RemoteItem(
                kind="comment",
                platform_item_id=target_id,
                text=str(target.get("text") or ""),
                created_at=parse_weibo_time(target.get("created_at")),
                post_ref=_weibo_id(status) or None,
                author_ref=_weibo_id(author) or None,
                author_name=author.get("screen_name") if isinstance(author, dict) else None,
                replied_at=replied_at,
                reply_text=str(c.get("text") or "") or None,
            )
        total = int(body.get("total_number") or 0)
        if not rows or page * count >= total:
            break
        page += 1
    return answered


def _with_replies(items: list[RemoteItem], answered: dict[str, RemoteItem]) -> list[RemoteItem]:
    """The comments read, each carrying the account's own reply where one was found; answered
    comments outside the read window are added (the inbox may hold them unanswered)."""
    out = []
    for item in items:
        reply = answered.pop(item.platform_item_id, None)
        if reply is not None and item.replied_at is None:
            out.append(replace(item, replied_at=reply.replied_at, reply_text=reply.reply_text))
        else:
            out.append(item)
    return out + list(answered.values())


#: Douyin ``item/comment/reply/list`` answers at most 20 a page; pages read per comment.
DOUYIN_REPLY_PAGE = 20
DOUYIN_REPLY_PAGES = 5
#: The device parameters the official 评论回复列表 page marks 必填 (device_brand, device_platform,
#: device_type, ip, os_version, shark_channel). A server poll has no user device: it says so
#: (``server``) and names the documented channel ``open_api``; ``ip`` is ``options["client_ip"]``
#: (the page: the client's IP, not the server's; ``DOUYIN_CLIENT_IP``), and
#: ``options["device_params"]`` overrides any of them (docs/adapters.md, 平台实况核对（三）).
DOUYIN_DEVICE_DEFAULTS = {
    "device_brand": "server",
    "device_platform": "server",
    "device_type": "server",
    "os_version": "0",
    "shark_channel": "open_api",
}


def douyin_device_params(options: Mapping[str, Any]) -> dict[str, str]:
    """The documented device parameters for Douyin's comment reads, from the adapter options."""
    params = {**DOUYIN_DEVICE_DEFAULTS, "ip": str(options.get("client_ip") or "127.0.0.1")}
    extra = options.get("device_params")
    if isinstance(extra, Mapping):
        params.update({k: str(v) for k, v in extra.items() if k in params and v not in (None, "")})
    return params


def _douyin_comments(adapter: Any, creds: Credentials, limit: int) -> list[RemoteItem]:
    """``item/comment/list`` per recent video; for a comment with replies
    (``reply_comment_total`` > 0) ``item/comment/reply/list`` tells whether one is by the account
    itself (``comment_user_id`` = the account's open_id): answered on the platform. The token goes
    in the ``access-token`` header with ``open_id`` in the query, as the pages' 请求头 and the
    maintained SDK send it (docs/adapters.md, "平台实况核对")."""
    auth = adapter._prepare(creds)
    me = str(auth.creds.open_id or "")
    device = douyin_device_params(adapter.options)
    out: list[RemoteItem] = []
    for post in adapter.recent_posts(auth.creds, 20):
        cursor: Any = 0
        while len(out) < limit:
            body = adapter._call(
                auth,
                "GET",
                "/item/comment/list/",
                params={"item_id": post.post_id, "cursor": cursor, "count": 20, **device},
            )
            data = data_of(body)
            rows = data.get("list") or []
            for c in rows:
                comment_id = str(c.get("comment_id") or "")
                own = None
                if me and comment_id and int(c.get("reply_comment_total") or 0) > 0:
                    own = _douyin_own_reply(adapter, auth, post.post_id, comment_id, me=me, device=device)
                out.append(
                    RemoteItem(
                        kind="comment",
                        platform_item_id=comment_id,
                        text=str(c.get("content") or ""),
                        created_at=from_unix(c.get("create_time")),
                        post_ref=post.post_id,
                        author_ref=str(c.get("comment_user_id") or "") or None,
                        # ``nick_name`` in the maintained SDK's model and sample (SKIT.FlurlHttpClient.ByteDance)
                        author_name=c.get("nick_name") or c.get("nickname"),
                        replied_at=from_unix(own.get("create_time")) if own else None,
                        reply_text=str(own.get("content") or "") or None if own else None,
                    )
                )
            if not data.get("has_more") or not rows:
                break
            cursor = data.get("cursor", 0)
    return out[:limit]


def _douyin_own_reply(
    adapter: Any, auth: Any, item_id: str, comment_id: str, *, me: str, device: Mapping[str, str]
) -> dict[str, Any] | None:
    """The account's earliest reply to a comment, from ``item/comment/reply/list`` (oldest first),
    with the device parameters the page requires."""
    cursor: Any = 0
    for _ in range(DOUYIN_REPLY_PAGES):
        body = adapter._call(
            auth,
            "GET",
            "/item/comment/reply/list/",
            params={
                "item_id": item_id,
                "comment_id": comment_id,
                "cursor": cursor,
                "count": DOUYIN_REPLY_PAGE,
                "sort_type": "time_asc",
                **device,
            },
        )
        data = data_of(body)
        rows = data.get("list") or []
        for r in rows:
            if str(r.get("comment_user_id") or "") == me:
                return dict(r)
        if not data.get("has_more") or not rows:
            return None
        cursor = data.get("cursor", 0)
    return None


def parse_wechat_push(xml: bytes) -> dict[str, str]:
    """The fields of a WeChat 消息推送 XML packet (plain mode). Raises InvalidRequest on bad XML."""

    # The pushes never carry a DTD; refusing one rules out entity expansion tricks.
    if b"<!DOCTYPE" in xml.upper() or b"<!ENTITY" in xml.upper():
        raise InvalidRequest("wechat", "bad_xml", "消息推送不能包含 DTD")
    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 - DTDs refused above
    except ElementTree.ParseError as exc:
        raise InvalidRequest("wechat", "bad_xml", "消息推送不是有效的 XML") from exc
    return {child.tag: (child.text or "") for child in root}


def wechat_push_item(fields: dict[str, str]) -> RemoteItem | None:
    """A user's message from a push packet; None for events and non-message packets."""
    if fields.get("MsgType") in (None, "", "event"):
        return None
    kind_text = {
        "text": fields.get("Content", ""),
        "image": "[图片]",
        "voice": "[语音]" + (f" {fields['Recognition']}" if fields.get("Recognition") else ""),
        "video": "[视频]",
        "shortvideo": "[小视频]",
        "location": f"[位置] {fields.get('Label', '')}".strip(),
        "link": f"[链接] {fields.get('Title', '')} {fields.get('Url', '')}".strip(),
    }
    return RemoteItem(
        kind="message",
        platform_item_id=str(fields.get("MsgId") or f"{fields.get('FromUserName')}:{fields.get('CreateTime')}"),
        text=kind_text.get(fields.get("MsgType", ""), f"[{fields.get('MsgType')}]"),
        created_at=from_unix(fields.get("CreateTime")),
        author_ref=fields.get("FromUserName") or None,
        author_name=None,  # the push carries only the openid
    )


def wechat_signature_ok(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """The 消息推送 check: sha1 of the sorted token, timestamp and nonce."""

    raw = "".join(sorted([token, timestamp, nonce])).encode("utf-8")
    return hmac.compare_digest(hashlib.sha1(raw).hexdigest(), signature or "")  # noqa: S324 - the protocol's hash


# ----------------------------------------------------------------------------- replying


@dataclass(frozen=True)
class ReplyTarget:
    kind: str
    platform_item_id: str
    post_ref: str | None
    author_ref: str | None
    received_at: datetime | None  # aware


def reply(adapter: ChannelAdapter, creds: Credentials, target: ReplyTarget, text: str, *, now: datetime) -> str:
    """Send ``text`` as the reply; returns the platform id of the reply ('' when none is given).

    Raises Unsupported (with the Chinese reason) where the platform cannot, and the adapter's
    errors for what the platform refuses.
    """
    platform = adapter.platform
    what = "comments_reply" if target.kind == "comment" else "messages_reply"
    if not can(platform, what):
        raise Unsupported(platform, None, not_possible(platform, target.kind))
    if platform == "weibo":
        return _weibo_reply(adapter, creds, target, text)
    if platform == "douyin":
        return _douyin_reply(adapter, creds, target, text)
    return _wechat_reply(adapter, creds, target, text, now=now)


def _weibo_reply(adapter: Any, creds: Credentials, target: ReplyTarget, text: str) -> str:
    if not target.post_ref:
        raise InvalidRequest("weibo", "missing_post", "缺少评论所属微博的 ID，无法回复")
    data: dict[str, Any] = {"cid": target.platform_item_id, "id": target.post_ref, "comment": text}
    if adapter.options.get("rip"):
        data["rip"] = str(adapter.options["rip"])
    body, _ = adapter._call(creds, "POST", "/2/comments/reply.json", data=data)
    return str(body.get("idstr") or body.get("id") or "")


def _douyin_reply(adapter: Any, creds: Credentials, target: ReplyTarget, text: str) -> str:
    auth = adapter._prepare(creds)
    body = adapter._call(
        auth,
        "POST",
        "/item/comment/reply/",
        json_body={"item_id": target.post_ref, "comment_id": target.platform_item_id, "content": text},
    )
    return str(data_of(body).get("comment_id") or "")


def _wechat_comment_reply(adapter: Any, creds: Credentials, target: ReplyTarget, text: str) -> str:
    """``comment/reply/add``. No time window is documented for replying to a comment (the 48 hours
    are the 客服消息 rule); the article must still exist and the comment too."""
    where = wechat_comment_ref(target.post_ref)
    comment_id = target.platform_item_id.rsplit(":", 1)[-1]
    if where is None or not comment_id.isdigit():
        raise InvalidRequest("wechat", "missing_article", "缺少留言所属文章的 msg_data_id，无法回复")
    data_id, index = where
    body = {"msg_data_id": data_id, "index": index, "user_comment_id": int(comment_id), "content": text}
    try:
        adapter._call(creds, "/cgi-bin/comment/reply/add", json_body=body)
    except AdapterError as exc:
        gone = {
            str(WECHAT_NO_COMMENT_PRIVILEGE): "公众号没有留言功能",
            str(WECHAT_ARTICLE_GONE): "该文章已不存在",
            str(WECHAT_COMMENT_GONE): "该留言已不存在（可能已被删除）",
        }
        if str(exc.code) in gone:
            raise Unsupported(
                "wechat", exc.code, f"平台答复：{gone[str(exc.code)]}，请在公众平台处理后标记“已在平台处理”"
            ) from None
        raise
    return ""


def _wechat_reply(adapter: Any, creds: Credentials, target: ReplyTarget, text: str, *, now: datetime) -> str:
    if target.kind == "comment":
        return _wechat_comment_reply(adapter, creds, target, text)
    if target.received_at is not None and (now - target.received_at).total_seconds() > WECHAT_REPLY_WINDOW_HOURS * 3600:
        raise Unsupported(
            "wechat",
            WECHAT_OUT_OF_WINDOW,
            "已超过公众号客服消息 48 小时回复时限，无法通过接口回复；请在公众平台处理后标记“已在平台处理”",
        )
    if not target.author_ref:
        raise InvalidRequest("wechat", "missing_openid", "缺少用户 openid，无法回复")
    try:
        adapter._call(
            creds,
            "/cgi-bin/message/custom/send",
            json_body={"touser": target.author_ref, "msgtype": "text", "text": {"content": text}},
        )
    except AdapterError as exc:
        if str(exc.code) == str(WECHAT_OUT_OF_WINDOW):
            raise Unsupported(
                "wechat", exc.code, "平台答复：已超过回复时限或用户已取消关注，请在公众平台处理后标记“已在平台处理”"
            ) from None
        if str(exc.code) == str(WECHAT_REPLY_LIMIT):
            raise Unsupported("wechat", exc.code, "平台答复：对该用户的客服消息条数已达上限") from None
        raise
    return ""
