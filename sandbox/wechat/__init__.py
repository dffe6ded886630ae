"""WeChat Official Account (微信公众号) simulator, split by route group.

``core`` holds the blueprint, the envelope, authentication, quotas and the endpoint opening;
``auth``, ``media``, ``drafts``, ``publishing``, ``quotas`` and ``comments`` (留言) hold the routes. Importing the
package attaches every route module to ``core.bp``.
"""

from flask import Blueprint

from sandbox.wechat import auth, comments, drafts, media, publishing, quotas  # noqa: F401 - routes join core.bp
from sandbox.wechat.core import bp


def blueprint() -> Blueprint:
    """The WeChat blueprint with every route group attached."""
    return bp
