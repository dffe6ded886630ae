"""A sample government website (政府网站) whose columns publish feeds — RSS 2.0 and JSON Feed —
for govmedia's website intake (intake/feeds.py), so it runs offline and in the demo.

Feeds (public, no token):

* ``GET /site/<column>/rss.xml`` — RSS 2.0; each item has ``guid``, ``link``, ``category`` (the
  kind, e.g. 政策文件 / 政策解读, and the 公开属性), and for a 解读 ``<atom:link rel="related">``
  pointing at its policy;
* ``GET /site/<column>/feed.json`` — JSON Feed 1.1 with the same items (``tags``,
  ``_govmedia: {disclosure, policy_url}``).

Both send ``ETag`` and ``Last-Modified`` and answer ``304 Not Modified`` to a matching
``If-None-Match`` or an ``If-Modified-Since`` not older than the column's last change.

Controls (``/_sandbox``):

* ``POST /_sandbox/site/items`` ``{"column", "title", "summary"?, "category"?, "disclosure"?,
  "guid"?, "link"?, "policy_guid"?, "published_at"?}`` — a new item on the site (201, the item);
* ``POST /_sandbox/site/columns/<column>/malformed`` ``{"on": true}`` — that column's feeds answer
  broken content (truncated XML / not JSON) until switched off;
* ``GET /_sandbox/site/items[?column=]`` and ``GET /_sandbox/site/stats`` (requests and 304s
  served per column).

Emptied by ``POST /_sandbox/reset`` and kept in the ``--state`` file with the rest.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from sandbox.common import EXTENSION_KEY, get_state, json_body
from sandbox.state import SandboxState, attach_store

bp = Blueprint("sandbox_site", __name__)
STORE_KEY = "sandbox.sitefeed"
SITE = "示范县人民政府门户网站"


@dataclass
class SiteItem:
    column: str
    guid: str
    title: str
    summary: str
    link: str
    category: str
    disclosure: str
    published_at: float
    policy_guid: str | None = None


@dataclass
class Column:
    name: str
    changed_at: float
    malformed: bool = False
    hits: int = 0
    not_modified: int = 0


@dataclass
class Store:
    lock: threading.RLock = field(default_factory=threading.RLock)
    items: list[SiteItem] = field(default_factory=list)
    columns: dict[str, Column] = field(default_factory=dict)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.columns.clear()

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {"items": [asdict(i) for i in self.items], "columns": [asdict(c) for c in self.columns.values()]}

    def load(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.items = [SiteItem(**row) for row in data.get("items") or []]
            self.columns = {c["name"]: Column(**c) for c in data.get("columns") or []}

    def column(self, name: str, now: float) -> Column:
        if name not in self.columns:
            self.columns[name] = Column(name=name, changed_at=now)
        return self.columns[name]


@bp.record_once
def _attach(setup: Any) -> None:
    app: Flask = setup.app
    store = Store()
    app.extensions[STORE_KEY] = store
    state: SandboxState = app.extensions[EXTENSION_KEY]
    attach_store(state, "site", store, {})


def _store() -> Store:
    return current_app.extensions[STORE_KEY]  # type: ignore[no-any-return]


def _bad(message: str, status: int = 400) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _text(body: dict[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    return value.strip() if isinstance(value, str) else default


def _base() -> str:
    return request.host_url.rstrip("/")


@bp.post("/_sandbox/site/items")
def add_item() -> Response | tuple[Response, int]:
    body = json_body()
    if body is None:
        return _bad("请求体必须是 JSON 对象")
    column = _text(body, "column", "zwgk") or "zwgk"
    title = _text(body, "title")
    if not title or not column.isidentifier():
        return _bad("title 必填；column 只能含字母、数字和下划线")
    state = get_state()
    store = _store()
    with store.lock:
        now = state.now()
        number = len(store.items) + 1
        guid = _text(body, "guid") or f"{SITE}-{column}-{number:05d}"
        link = _text(body, "link") or f"{_base()}/site/{column}/art_{number:05d}.html"
        published = body.get("published_at")
        stamp = now
        if isinstance(published, str) and published:
            try:
                stamp = datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp()
            except ValueError:
                return _bad("published_at 须为 ISO 8601 时间")
        item = SiteItem(
            column=column,
            guid=guid,
            title=title,
            summary=_text(body, "summary"),
            link=link,
            category=_text(body, "category", "通知公告") or "通知公告",
            disclosure=_text(body, "disclosure", "主动公开") or "主动公开",
            published_at=stamp,
            policy_guid=_text(body, "policy_guid") or None,
        )
        store.items.append(item)
        store.column(column, now).changed_at = max(now, store.column(column, now).changed_at + 1)
    with state.lock:
        state.dirty = True
    return jsonify(asdict(item)), 201


@bp.post("/_sandbox/site/columns/<column>/malformed")
def malformed(column: str) -> Response:
    body = json_body() or {}
    store = _store()
    with store.lock:
        col = store.column(column, get_state().now())
        col.malformed = bool(body.get("on", True))
        col.changed_at += 1
    return jsonify(asdict(col))


@bp.get("/_sandbox/site/items")
def list_items() -> Response:
    column = request.args.get("column")
    store = _store()
    with store.lock:
        rows = [asdict(i) for i in store.items if column in (None, "", i.column)]
    return jsonify({"items": rows})


@bp.get("/_sandbox/site/stats")
def stats() -> Response:
    store = _store()
    with store.lock:
        return jsonify(
            {"columns": {c.name: {"hits": c.hits, "not_modified": c.not_modified} for c in store.columns.values()}}
        )


def _conditional(column: Column, kind: str) -> tuple[str, str, bool]:
    """(ETag, Last-Modified, whether the request's validators match)."""
    changed = datetime.fromtimestamp(int(column.changed_at), UTC)
    etag = (
        '"'
        + hashlib.sha256(f"{column.name}:{kind}:{column.changed_at}:{column.malformed}".encode()).hexdigest()[:20]
        + '"'
    )
    last_modified = format_datetime(changed, usegmt=True)
    match = request.headers.get("If-None-Match")
    if match is not None:
        return etag, last_modified, etag in [m.strip() for m in match.split(",")] or match.strip() == "*"
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return etag, last_modified, parsedate_to_datetime(since) >= changed
        except (TypeError, ValueError):
            return etag, last_modified, False
    return etag, last_modified, False


def _serve(column_name: str, kind: str, render: Any, mime: str) -> Response:
    store = _store()
    with store.lock:
        column = store.column(column_name, get_state().now())
        column.hits += 1
        etag, last_modified, fresh = _conditional(column, kind)
        if fresh:
            column.not_modified += 1
            response = Response(status=304)
        else:
            items = sorted((i for i in store.items if i.column == column_name), key=lambda i: -i.published_at)
            by_guid = {i.guid: i for i in store.items}
            text = _broken(kind) if column.malformed else render(column_name, items, by_guid)
            response = Response(text, mimetype=mime)
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = last_modified
    return response


def _broken(kind: str) -> str:
    if kind == "json":
        return '{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "未闭合'
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>栏目</title>'
        "<item><title>未闭合的条目</item>"
    )


def _rfc822(stamp: float) -> str:
    return format_datetime(datetime.fromtimestamp(stamp, UTC), usegmt=True)


def _rss(column: str, items: list[SiteItem], by_guid: dict[str, SiteItem]) -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>',
        f"<title>{escape(SITE)}·{escape(column)}</title><link>{escape(_base())}/site/{escape(column)}/</link>",
        "<description>政府信息公开</description><language>zh-cn</language>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item.title)}</title><link>{escape(item.link)}</link>")
        parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        parts.append(
            f"<description>{escape(item.summary)}</description><pubDate>{_rfc822(item.published_at)}</pubDate>"
        )
        parts.append(f"<category>{escape(item.category)}</category><category>{escape(item.disclosure)}</category>")
        policy = by_guid.get(item.policy_guid or "")
        if policy is not None:
            parts.append(f'<atom:link rel="related" href={quoteattr(policy.link)} />')
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)


def _json(column: str, items: list[SiteItem], by_guid: dict[str, SiteItem]) -> str:
    out = []
    for item in items:
        extra: dict[str, Any] = {"disclosure": item.disclosure}
        policy = by_guid.get(item.policy_guid or "")
        if policy is not None:
            extra["policy_url"] = policy.link
        out.append(
            {
                "id": item.guid,
                "url": item.link,
                "title": item.title,
                "summary": item.summary,
                "content_text": item.summary,
                "date_published": datetime.fromtimestamp(item.published_at, UTC).isoformat().replace("+00:00", "Z"),
                "tags": [item.category, item.disclosure],
                "_govmedia": extra,
            }
        )
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"{SITE}·{column}",
        "home_page_url": f"{_base()}/site/{column}/",
        "items": out,
    }
    return json.dumps(doc, ensure_ascii=False)


@bp.get("/site/<column>/rss.xml")
def rss(column: str) -> Response:
    return _serve(column, "rss", _rss, "application/rss+xml")


@bp.get("/site/<column>/feed.json")
def feed_json(column: str) -> Response:
    return _serve(column, "json", _json, "application/feed+json")
