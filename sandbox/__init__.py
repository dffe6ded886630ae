"""A standalone Flask app simulating WeChat OA, Weibo, Douyin and Toutiao on one port.

See docs/sandbox.md. Nothing happens at import time; call :func:`create_sandbox_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.app import create_sandbox_app as _create

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_sandbox_app"]


def create_sandbox_app(config: dict[str, Any] | None = None) -> Flask:
    return _create(config)
