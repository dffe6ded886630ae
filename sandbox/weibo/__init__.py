"""Weibo (微博开放平台) under ``/weibo/2/...``, ``/weibo/oauth2/...`` and
``/weibo/proxy/article/publish.json`` (PROTOCOLS.md §2), split by route group.

``core`` holds the blueprint, the errors, authentication, the text rules and the endpoint
opening (``WEIBO``); ``objects`` the status and user objects; ``oauth``, ``statuses`` and
``articles`` the routes. Importing the package attaches every route module to ``core.bp``.
"""

from flask import Blueprint

from sandbox.weibo import articles, oauth, statuses  # noqa: F401 - routes join core.bp
from sandbox.weibo.core import bp, issue_account_token, seed_post, weibo_time
from sandbox.weibo.objects import status_object, user_object

__all__ = ["blueprint", "bp", "issue_account_token", "seed_post", "status_object", "user_object", "weibo_time"]


def blueprint() -> Blueprint:
    """The Weibo blueprint with every route group attached."""
    return bp
