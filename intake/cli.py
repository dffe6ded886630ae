"""``flask intake poll``: poll every enabled website feed now (what the scheduler does)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from extensions import db
from intake import feeds
from intake.models import SiteFeed


@click.group("intake")
def intake_cli() -> None:
    """批量排期与政府网站订阅。"""


@intake_cli.command("poll")
@with_appcontext
def poll_command() -> None:
    """抓取所有启用的政府网站订阅源，新条目生成草稿。"""
    feed_ids = feeds.enabled_feed_ids()
    if not feed_ids:
        print("没有启用的政府网站订阅源（在“网站订阅”页登记）")
    for feed_id in feed_ids:
        feed = db.session.get(SiteFeed, feed_id)
        if feed is None:
            continue
        result = feeds.poll(feed)
        db.session.commit()
        print(
            f"{feed.name}：{feed.status_label}，新条目 {result.new_items} 条"
            + (f"（{result.error}）" if result.error else "")
        )
