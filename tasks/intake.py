"""Government website feeds on the schedule: ``run_poll`` (every ``FEED_POLL_MINUTES``,
tasks/jobs.py) queues :func:`poll_feeds`, which polls each enabled feed in its own transaction
(intake/feeds.py), so one broken feed never keeps the others from their drafts.
``flask intake poll`` does the same now, in its own process."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from extensions import db
from intake import feeds
from intake.models import SiteFeed
from tasks.scheduler import get_app


@shared_task(name="tasks.intake.poll_feeds")
def poll_feeds() -> dict[str, Any]:
    outcome: dict[str, Any] = {"feeds": 0, "new_items": 0, "errors": 0}
    for feed_id in feeds.enabled_feed_ids():
        feed = db.session.get(SiteFeed, feed_id)
        if feed is None or not feed.enabled:
            continue
        result = feeds.poll(feed)
        db.session.commit()
        outcome["feeds"] += 1
        outcome["new_items"] += result.new_items
        outcome["errors"] += result.status == "error"
    return outcome


def run_poll() -> None:
    get_app()
    poll_feeds.delay()
