"""Douyin (``/douyin``) and Toutiao (``/toutiao``, ``/toutiao-mp``): the ByteDance open
platform (PROTOCOLS.md §3–4), split by route group.

``core`` holds codes, envelopes, tokens, the blueprints and the endpoint opening
(``BYTEDANCE``, whose ``route`` registers a view on each platform's blueprint); ``oauth``,
``content``, ``chunked`` and ``articles`` hold the routes. Importing the package attaches
every route module to the blueprints.
"""

from flask import Blueprint

from sandbox.douyin import articles, chunked, content, oauth  # noqa: F401 - routes join the blueprints
from sandbox.douyin.core import (
    BLUEPRINTS,
    TOUTIAO_MP,
    BdError,
    cover_url,
    issue_account_credentials,
    reply,
    seed_post,
)

__all__ = [
    "BdError",
    "cover_url",
    "issue_account_credentials",
    "make_blueprint",
    "make_toutiao_mp_blueprint",
    "reply",
    "seed_post",
]


def make_blueprint(platform: str) -> Blueprint:
    """The blueprint of one ByteDance platform ("douyin" or "toutiao") with its routes."""
    return BLUEPRINTS[platform]


def make_toutiao_mp_blueprint() -> Blueprint:
    """``/toutiao-mp/open/new_article_post/`` (the real host is mp.toutiao.com)."""
    return TOUTIAO_MP
